// PackedRecords: one host's served records held as one block of bytes, for the index's claims.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>

#include "resolver/zone_data.hpp"

namespace globaldns::sync {

// As HostRecords the usual claim (a name longer than the short-string buffer, one address)
// takes three allocations, about 160 bytes; packed, a block of about 32: the name, then the IPv4
// and IPv6 addresses, each list behind its count. A block that fits (a name of up to about 32
// characters with one address) lives in the object itself: the index's tree of claims compares
// names on every step of a descent, and a block on the heap made each step a cache miss (a fifth
// of a first load at 1M); it also saves the allocation's 48 bytes. Immutable; move-only.
class PackedRecords {
 public:
  PackedRecords() noexcept { bytes_.fill(0); }  // empty: no name, no address
  explicit PackedRecords(const resolver::HostRecords& records);
  PackedRecords(PackedRecords&& other) noexcept;
  PackedRecords& operator=(PackedRecords&& other) noexcept;
  PackedRecords(const PackedRecords&) = delete;
  PackedRecords& operator=(const PackedRecords&) = delete;
  ~PackedRecords();

  std::string_view name() const noexcept;
  size_t address_count() const noexcept;
  // Into `out`, reusing its strings' and vectors' capacity: a loop over a million hosts
  // allocates nothing once the first few have grown them.
  void unpack_into(resolver::HostRecords& out) const;
  resolver::HostRecords unpack() const;
  // Whether the block lives on the heap (it did not fit), for tests.
  bool on_heap() const noexcept { return bytes_[kSize - 1] != 0; }

 private:
  static constexpr size_t kSize = 40;  // the last byte says where the block is
  const char* block() const noexcept;
  void release() noexcept;

  // The block itself, or on_heap(): a pointer to it at the start (from new char[]).
  alignas(char*) std::array<char, kSize> bytes_;
};

}  // namespace globaldns::sync
