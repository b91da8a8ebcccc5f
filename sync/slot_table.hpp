// SlotTable: a hash table of 32-bit values by open addressing, 5 bytes a place.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace globaldns::sync {

// The translation index finds its million copies by namespace/name and their claims by host
// name. As intrusive chained hash sets those cost a hook in every copy and every claim (8 bytes
// each) and a bucket per element (8 bytes, a power of two of them): about 33 bytes an entry.
// Here an element is its 32-bit number (a copy's slot, a claim's number), which the caller turns
// back into the object, and a byte of tag beside it: 5 bytes a place, at a load of 0.6-0.8,
// about 7 bytes an element. boost::unordered_flat_set (Boost 1.81) has the same layout but no
// equal keys (two copies of one namespace/name are), and sizes itself to powers of two, which at
// 1M elements leaves it at a load of 0.5.
//
// The table holds no hashes: a caller passes an element's hash when it adds, finds or removes
// it, and `hash_of(value)` when elements move (growing, or closing the gap a removal leaves),
// from what the element keeps. The hash's high bits pick the home place (multiplied into the
// capacity, so any capacity works); its low 7 bits are the tag, compared before the caller
// looks at an element, so that a probe past other elements rarely touches them.
//
// Linear probing, removal by moving later elements of the run back (no tombstones, so runs
// stay as short as the load makes them). Equal hashes and equal keys may be held many times:
// find() visits every candidate. Not thread-safe.
class SlotTable {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFF;

  // `hash_bits`: how many low bits of a hash are used (at most 32); the rest must be 0.
  explicit SlotTable(unsigned hash_bits) noexcept : hash_bits_(hash_bits) {
    assert(hash_bits >= 8 && hash_bits <= 32);
  }
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  // Heap bytes held, for the memory figures.
  size_t allocated_bytes() const noexcept { return capacity_ * (sizeof(uint32_t) + 1); }

  // Calls visit(value) for each element whose tag agrees with `hash`'s, in probe order, until
  // it returns true; returns that value, or kNone when none did.
  template <typename Visit>
  uint32_t find(uint32_t hash, Visit&& visit) const {
    if (capacity_ == 0) return kNone;
    const uint8_t tag = tag_of(hash);
    for (size_t p = home(hash); tags_[p] != 0; p = next(p)) {
      if (tags_[p] == tag && visit(values_[p])) return values_[p];
    }
    return kNone;
  }

  // Adds `value` under `hash`; growing reads every element's hash_of(value).
  template <typename HashOf>
  void insert(uint32_t value, uint32_t hash, HashOf&& hash_of) {
    if ((size_ + 1) * kMaxLoadDen > capacity_ * kMaxLoadNum)
      rehash(capacity_ + capacity_ / 2 + 16, hash_of);
    place(value, hash);
    ++size_;
  }

  // Removes `value`, held under `hash` (a bug otherwise, ignored).
  template <typename HashOf>
  void erase(uint32_t value, uint32_t hash, HashOf&& hash_of) {
    size_t gap = position(value, hash);
    if (gap == kNoPosition) return;
    --size_;
    // Each later element of the run whose home is not between the gap and itself moves back
    // into the gap, which moves to where it was.
    for (size_t p = next(gap); tags_[p] != 0; p = next(p)) {
      const size_t h = home(hash_of(values_[p]));
      const bool stays = gap <= p ? (gap < h && h <= p) : (gap < h || h <= p);
      if (stays) continue;
      tags_[gap] = tags_[p];
      values_[gap] = values_[p];
      gap = p;
    }
    tags_[gap] = 0;
  }

  // Puts `with` in the place of `value`; both under `hash` (a bug otherwise, ignored).
  void replace(uint32_t value, uint32_t with, uint32_t hash) noexcept {
    const size_t p = position(value, hash);
    if (p != kNoPosition) values_[p] = with;
  }

  // Room for `elements` at a load of 3/4, so that a first load places each element once and
  // a few later ones do not grow the table.
  template <typename HashOf>
  void reserve(size_t elements, HashOf&& hash_of) {
    const size_t wanted = elements + elements / 3 + 16;
    if (wanted > capacity_) rehash(wanted, hash_of);
  }

  // A hint: the tag and value of `hash`'s home place are fetched meanwhile.
  void prefetch(uint32_t hash) const noexcept {
    if (capacity_ == 0) return;
    const size_t p = home(hash);
    __builtin_prefetch(&tags_[p]);
    __builtin_prefetch(&values_[p]);
  }

  // Empty, its room handed back.
  void release() noexcept {
    tags_.reset();
    values_.reset();
    capacity_ = 0;
    size_ = 0;
  }

  // Every element, as fn(value), in no particular order.
  template <typename F>
  void for_each(F&& fn) const {
    for (size_t p = 0; p < capacity_; ++p) {
      if (tags_[p] != 0) fn(values_[p]);
    }
  }

 private:
  static constexpr size_t kNoPosition = ~size_t{0};
  // Grows past a load of 4/5: a miss then scans about 13 tags, one cache line or two.
  static constexpr size_t kMaxLoadNum = 4;
  static constexpr size_t kMaxLoadDen = 5;

  static uint8_t tag_of(uint32_t hash) noexcept {
    return static_cast<uint8_t>(0x80 | (hash & 0x7F));
  }
  size_t home(uint32_t hash) const noexcept {
    return static_cast<size_t>((uint64_t{hash} * capacity_) >> hash_bits_);
  }
  size_t next(size_t p) const noexcept { return p + 1 == capacity_ ? 0 : p + 1; }

  size_t position(uint32_t value, uint32_t hash) const noexcept {
    if (capacity_ == 0) return kNoPosition;
    const uint8_t tag = tag_of(hash);
    for (size_t p = home(hash); tags_[p] != 0; p = next(p)) {
      if (tags_[p] == tag && values_[p] == value) return p;
    }
    return kNoPosition;
  }

  void place(uint32_t value, uint32_t hash) noexcept {
    size_t p = home(hash);
    while (tags_[p] != 0) p = next(p);
    tags_[p] = tag_of(hash);
    values_[p] = value;
  }

  template <typename HashOf>
  void rehash(size_t capacity, HashOf& hash_of) {
    auto old_tags = std::exchange(tags_, std::make_unique<uint8_t[]>(capacity));
    auto old_values = std::exchange(values_, std::make_unique_for_overwrite<uint32_t[]>(capacity));
    const size_t old_capacity = std::exchange(capacity_, capacity);
    for (size_t p = 0; p < old_capacity; ++p) {
      if (old_tags[p] != 0) place(old_values[p], hash_of(old_values[p]));
    }
  }

  std::unique_ptr<uint8_t[]> tags_;  // 0: empty; otherwise 0x80 and the hash's low 7 bits
  std::unique_ptr<uint32_t[]> values_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  unsigned hash_bits_;
};

}  // namespace globaldns::sync
