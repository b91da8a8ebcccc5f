// PackedEntries: the packed entries of one decoded file, one after another in one buffer.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <vector>

#include "sync/packed_entry.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync {

// A file of 10,000 entries was decoded into 10,000 ServiceEntry objects (about 3 MB) and then
// packed into 10,000 blocks of malloc's (64 bytes each for the usual 50), which waited for the
// last file of a first load before the index copied them into its arena and freed them: that
// wait, and the holes the freed blocks left between what the index had allocated meanwhile, made
// the start's peak at 100k entries. Here each entry is packed as soon as it is decoded, at the
// end of one buffer: its block, padded to an even size (a PackedEntry's tag bit), and nothing
// else. The entries are read back as borrowed PackedEntry objects, valid while this object lives
// unchanged and unmoved (a short buffer may lie inside it).
class PackedEntries {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = PackedEntry;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = PackedEntry;

    Iterator() = default;
    explicit Iterator(const char* at) noexcept : at_(at) {}
    PackedEntry operator*() const noexcept { return PackedEntry::borrow(at_); }
    Iterator& operator++() noexcept;
    Iterator operator++(int) noexcept {
      Iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const Iterator&, const Iterator&) = default;

   private:
    const char* at_ = nullptr;
  };

  PackedEntries() = default;
  PackedEntries(PackedEntries&&) noexcept = default;
  PackedEntries& operator=(PackedEntries&&) noexcept = default;
  PackedEntries(const PackedEntries&) = delete;
  PackedEntries& operator=(const PackedEntries&) = delete;

  // Packs `entry` at the end.
  void push_back(const ServiceEntry& entry);
  // A copy, in an allocation of this thread's.
  PackedEntries clone() const;
  // Moves every entry of `other` to the end, in order.
  void append(PackedEntries&& other);

  size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // The buffer's bytes: the blocks and their padding.
  size_t size_bytes() const noexcept { return bytes_.size(); }

  Iterator begin() const noexcept { return Iterator(bytes_.data()); }
  Iterator end() const noexcept { return Iterator(bytes_.data() + bytes_.size()); }
  // Every entry, borrowed from this buffer (see the class comment), for an interface that takes
  // a vector.
  std::vector<PackedEntry> borrow() const;
  std::vector<ServiceEntry> unpack() const;

  // A hash of every entry, in order: equal for two decodes of the same entries, as their blocks
  // are the same bytes (PackedEntry).
  size_t hash() const noexcept;

 private:
  std::string bytes_;
  size_t count_ = 0;
};

}  // namespace globaldns::sync
