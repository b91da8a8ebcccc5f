// PackedEntry: a ServiceEntry held as one block of bytes, for the index that keeps a million.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/zone_data.hpp"
#include "sync/origin.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync {

// The translation index keeps every entry it holds, but reads little of it after translating
// it: the winner rule's fields, the key, the origin for messages, the usual claim's host and
// addresses, and the whole entry only to translate it again (when another copy of its key goes)
// or to explain it. As a ServiceEntry the usual entry takes about 300 bytes in five allocations
// (its strings and vectors); packed, one allocation of about 65: a 24-byte header, then
// namespace, name, hosts, addresses and status addresses as length-prefixed bytes (an address
// written as a plain dotted quad as its 4 bytes). Immutable; move-only.
class PackedEntry {
 public:
  PackedEntry() = default;  // empty: every accessor reads as a default ServiceEntry's
  explicit PackedEntry(const ServiceEntry& entry);

  ServiceEntry unpack() const;
  // Into `out`, every field replaced, reusing its strings' and vectors' capacity: translating a
  // million packed entries through one object allocates nothing once it has grown.
  void unpack_into(ServiceEntry& out) const;

  std::string_view namespace_() const noexcept;
  std::string_view name() const noexcept;
  std::string key() const;  // namespace/name, as ServiceEntry::key()
  std::optional<int64_t> created_unix() const noexcept;
  Origin origin() const noexcept;
  Resolution resolution() const noexcept;
  // spec.hosts as written, in order.
  void for_each_host(const std::function<void(std::string_view)>& fn) const;
  std::string_view host(size_t index) const noexcept;  // index < the number of hosts
  // The index of the first of spec.hosts written exactly as `host`; none if none is.
  std::optional<size_t> host_index(std::string_view host) const noexcept;
  size_t address_count() const noexcept;  // spec.addresses
  // When every one of spec.addresses was written as a plain dotted quad (the usual entry): true,
  // with `out` replaced by them in order. Otherwise false, and `out` is unspecified. A claim whose
  // records are just these needs no copy of them (TranslationIndex).
  bool addresses_as_quads(std::vector<resolver::Ipv4>& out) const;

  // Whether unpack() would equal `entry`, without unpacking.
  bool operator==(const ServiceEntry& entry) const;
  // Whether the two unpack() alike: the same fields pack to the same bytes.
  bool operator==(const PackedEntry& other) const;

  // compare_precedence(unpack(), other.unpack()), unpacking only when the winner rule's first
  // fields (creation time, namespace, name, origin) tie: for copies of one object.
  friend std::weak_ordering compare_precedence(const PackedEntry& a, const PackedEntry& b);

 private:
  struct Header;
  const Header* header() const noexcept;
  const char* body() const noexcept;  // after the header; namespace first
  size_t body_size() const noexcept;

  std::unique_ptr<char[]> bytes_;
};

}  // namespace globaldns::sync
