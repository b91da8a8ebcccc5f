// PackedRecords: one host's served records held as one block of bytes, for the index's claims.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "resolver/zone_data.hpp"

namespace globaldns::sync {

// As HostRecords the usual claim (a name longer than the short-string buffer, one address)
// takes three allocations, about 160 bytes; packed, one of about 32: the name, then the IPv4
// and IPv6 addresses, each list behind its count. Immutable; move-only.
class PackedRecords {
 public:
  PackedRecords() = default;  // empty: no name, no address
  explicit PackedRecords(const resolver::HostRecords& records);

  std::string_view name() const noexcept;
  size_t address_count() const noexcept;
  // Into `out`, reusing its strings' and vectors' capacity: a loop over a million hosts
  // allocates nothing once the first few have grown them.
  void unpack_into(resolver::HostRecords& out) const;
  resolver::HostRecords unpack() const;

 private:
  std::unique_ptr<char[]> bytes_;
};

}  // namespace globaldns::sync
