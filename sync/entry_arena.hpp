// EntryArena: blocks of a few dozen bytes, each taking its size rounded up to 8.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

namespace globaldns::sync {

// The translation index holds a packed entry per copy, a million at 1M entries, the usual one 50
// bytes: malloc gives each a 64-byte chunk (its 8-byte size field, then rounded up to 16). Here a
// block takes its size rounded up to 2 bytes, carved from large chunks: a packed entry is read a
// byte at a time or with memcpy, so it needs no alignment, and an even address leaves the low bit
// for PackedEntry's tag. Rounded up to 8 instead, the usual block was 56 bytes. A released block
// goes on a free list of its size and is handed out again for that size: an entry replaced by
// one of the same size, the usual update, reuses its block. A free block holds the next one's
// address, so no block is smaller than one. Blocks of sizes that stop being asked for stay on
// their list until the arena is cleared. Not thread-safe: one per index.
class EntryArena {
 public:
  static constexpr size_t kAlign = 2;
  static constexpr size_t kSmallest = sizeof(char*);  // a free block holds the next's address
  // Blocks above this are not the arena's business (the caller keeps them in malloc's).
  static constexpr size_t kLargest = 512;
  static constexpr size_t kChunkBytes = size_t{1} << 18;

  EntryArena() = default;
  EntryArena(const EntryArena&) = delete;
  EntryArena& operator=(const EntryArena&) = delete;

  // `size` bytes, 2-aligned; 0 < size <= kLargest.
  char* allocate(size_t size) {
    assert(size > 0 && size <= kLargest);
    const size_t rounded = round_up(size);
    char*& head = free_[rounded / kAlign];
    if (head != nullptr) {
      char* block = head;
      std::memcpy(&head, block, sizeof head);  // the next free block of this size
      in_use_ += rounded;
      return block;
    }
    if (left_ < rounded) {
      // The tail of the last chunk (less than a block of this size) is dropped.
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(kChunkBytes));
      next_ = chunks_.back().get();
      left_ = kChunkBytes;
    }
    char* block = next_;
    next_ += rounded;
    left_ -= rounded;
    in_use_ += rounded;
    return block;
  }

  // A block from allocate(size), with the same size.
  void release(char* block, size_t size) noexcept {
    const size_t rounded = round_up(size);
    char*& head = free_[rounded / kAlign];
    std::memcpy(block, &head, sizeof head);
    head = block;
    in_use_ -= rounded;
  }

  // Every block released: the chunks go back to the system.
  void clear() noexcept {
    chunks_.clear();
    chunks_.shrink_to_fit();
    free_.fill(nullptr);
    next_ = nullptr;
    left_ = 0;
    in_use_ = 0;
  }

  size_t bytes_in_use() const noexcept { return in_use_; }  // blocks handed out, rounded
  size_t bytes_held() const noexcept { return chunks_.size() * kChunkBytes; }

 private:
  static size_t round_up(size_t size) noexcept {
    return size < kSmallest ? kSmallest : (size + kAlign - 1) & ~(kAlign - 1);
  }

  std::vector<std::unique_ptr<char[]>> chunks_;
  char* next_ = nullptr;
  size_t left_ = 0;
  size_t in_use_ = 0;
  // Per rounded size / kAlign, the first free block; each free block holds the next's address.
  std::array<char*, kLargest / kAlign + 1> free_{};
};

}  // namespace globaldns::sync
