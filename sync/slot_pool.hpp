// SlotPool: objects that never move, in chunks of slots, named by handles that go stale.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace globaldns::sync {

// The translation index keeps a million copies linked into intrusive containers, so they must
// not move; in a hash map's nodes each cost its node's pointer and key, malloc's header and a
// bucket, about 40 bytes above the object. Here a slot costs the object and 4 bytes.
//
// A handle is the slot and the slot's generation: erasing bumps the generation, so a handle
// kept past its object's erasure finds nothing instead of whatever reuses the slot. A pool
// whose last object goes returns its chunks to the system, and the next objects take slots
// from 0 again in order.
//
// A chunk is aligned to its size and starts with its number, so an object's slot is found from
// its address (slot_of): the object need not keep it (4 bytes of each of the index's million
// copies, which decided between 48 bytes and 56).
template <typename T>
class SlotPool {
 public:
  using Handle = uint64_t;
  static constexpr size_t kChunkBytes = size_t{1} << 18;
  // The chunk's number, then the slots.
  static constexpr size_t kFirstSlot =
      (sizeof(uint32_t) + alignof(T) - 1) / alignof(T) * alignof(T);
  static constexpr size_t kChunkSlots = (kChunkBytes - kFirstSlot) / sizeof(T);
  static_assert(alignof(T) <= kChunkBytes && kChunkSlots > 0);

  SlotPool() = default;
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;
  ~SlotPool() { clear(); }

  // A default-constructed T in a free slot, and that slot's number.
  std::pair<T&, uint32_t> make() {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(states_.size());
      if (slot % kChunkSlots == 0 && slot / kChunkSlots == chunks_.size()) add_chunk();
      states_.push_back(floor_);
    }
    T* object = new (at(slot)) T();
    ++states_[slot];  // odd: in use
    ++size_;
    return {*object, slot};
  }

  // Destroys the object in `slot`, which must be in use.
  void erase(uint32_t slot) {
    assert(in_use(slot));
    std::destroy_at(std::launder(at(slot)));
    ++states_[slot];  // even: free, and handles to the object are stale
    --size_;
    if (size_ == 0) {
      clear();
      return;
    }
    free_.push_back(slot);
  }

  Handle handle(uint32_t slot) const noexcept { return (Handle{states_[slot]} << 32) | slot; }
  // The object `handle` names, or null once it was erased (or never was).
  T* find(Handle handle) noexcept {
    const auto slot = static_cast<uint32_t>(handle);
    if (slot >= states_.size() || states_[slot] != (handle >> 32) || !in_use(slot)) return nullptr;
    return std::launder(at(slot));
  }
  const T* find(Handle handle) const noexcept { return const_cast<SlotPool*>(this)->find(handle); }

  // The slot of `object`, one of this pool's.
  uint32_t slot_of(const T& object) const noexcept {
    const auto* at = reinterpret_cast<const char*>(&object);
    const size_t offset = reinterpret_cast<uintptr_t>(at) & (kChunkBytes - 1);
    uint32_t number;
    std::memcpy(&number, at - offset, sizeof number);  // the chunk's start
    const auto slot =
        static_cast<uint32_t>(number * kChunkSlots + (offset - kFirstSlot) / sizeof(T));
    assert(&at_slot(slot) == &object);
    return slot;
  }

  // The object in `slot`, which must be in use: for links between objects by slot.
  T& at_slot(uint32_t slot) noexcept {
    assert(in_use(slot));
    return *std::launder(at(slot));
  }
  const T& at_slot(uint32_t slot) const noexcept {
    return const_cast<SlotPool*>(this)->at_slot(slot);
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Room for `n` objects in all, allocated now: a bulk load grows no further.
  void reserve(size_t n) {
    while (chunks_.size() * kChunkSlots < n) add_chunk();
    states_.reserve(n);
  }

  // Every object in use, in slot order.
  template <typename F>
  void for_each(F&& fn) const {
    for (uint32_t slot = 0; slot < states_.size(); ++slot) {
      if (in_use(slot)) fn(*std::launder(const_cast<SlotPool*>(this)->at(slot)));
    }
  }
  template <typename F>
  void for_each(F&& fn) {
    for (uint32_t slot = 0; slot < states_.size(); ++slot) {
      if (in_use(slot)) fn(*std::launder(at(slot)));
    }
  }

 private:
  bool in_use(uint32_t slot) const noexcept { return (states_[slot] & 1U) != 0; }
  T* at(uint32_t slot) noexcept {
    return reinterpret_cast<T*>(chunks_[slot / kChunkSlots].get() + kFirstSlot) +
           slot % kChunkSlots;
  }
  void add_chunk() {
    const auto number = static_cast<uint32_t>(chunks_.size());
    chunks_.emplace_back(
        static_cast<char*>(::operator new (kChunkBytes, std::align_val_t{kChunkBytes})));
    std::memcpy(chunks_.back().get(), &number, sizeof number);
  }
  void clear() noexcept {
    for (uint32_t slot = 0; slot < states_.size(); ++slot) {
      if (in_use(slot)) std::destroy_at(std::launder(at(slot)));
      floor_ = std::max(floor_, (states_[slot] + 2) & ~1U);
    }
    chunks_.clear();
    states_.clear();
    states_.shrink_to_fit();
    free_.clear();
    free_.shrink_to_fit();
    size_ = 0;
  }

  struct Release {
    void operator()(char* chunk) const noexcept {
      ::operator delete (chunk, std::align_val_t{kChunkBytes});
    }
  };
  std::vector<std::unique_ptr<char, Release>> chunks_;
  // Per slot: the generation, odd while in use.
  std::vector<uint32_t> states_;
  // Where new slots' generations start: above every one handed out before the pool last
  // emptied, so that its handles stay stale.
  uint32_t floor_ = 0;
  std::vector<uint32_t> free_;
  size_t size_ = 0;
};

}  // namespace globaldns::sync
