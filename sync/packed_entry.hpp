// PackedEntry: a ServiceEntry held as one block of bytes, for the index that keeps a million.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resolver/zone_data.hpp"
#include "sync/origin.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync {

// The translation index keeps every entry it holds, but reads little of it after translating
// it: the winner rule's fields, the key, the origin for messages, the usual claim's host and
// addresses, and the whole entry only to translate it again (when another copy of its key goes)
// or to explain it. As a ServiceEntry the usual entry takes about 300 bytes in five allocations
// (its strings and vectors); packed, one block of about 50: a header of about 9 bytes (creation
// time, origin, resolution), then namespace, name, hosts, addresses and status addresses as
// length-prefixed bytes (an address written as a plain dotted quad as its 4 bytes). Immutable;
// move-only.
class PackedEntry {
 public:
  PackedEntry() = default;  // empty: every accessor reads as a default ServiceEntry's
  explicit PackedEntry(const ServiceEntry& entry);
  ~PackedEntry();
  PackedEntry(PackedEntry&& other) noexcept : tagged_(std::exchange(other.tagged_, nullptr)) {}
  PackedEntry& operator=(PackedEntry&& other) noexcept;

  // The block: header, then body; size_bytes() of it (0 for an empty entry, whose data() is
  // null).
  const char* data() const noexcept { return borrowed() ? tagged_ - 1 : tagged_; }
  size_t size_bytes() const noexcept;
  // A copy of `from` whose block is written to `room` (`size` bytes, from.size_bytes(), which
  // the caller needed to find room and passes rather than have the body walked again; 2-aligned)
  // and stays the caller's: the translation index keeps its entries' blocks in an arena of its
  // own (EntryArena), where a block takes its size rounded up to 2 bytes rather than malloc's
  // chunk (64 bytes for the usual 50). The copy must not outlive `room`; `from` may be empty.
  static PackedEntry copy_into(const PackedEntry& from, size_t size, char* room) noexcept;
  // Whether the block is someone else's (copy_into) rather than freed by this object.
  bool borrowed() const noexcept { return (reinterpret_cast<uintptr_t>(tagged_) & 1) != 0; }
  // A copy that owns its block.
  PackedEntry clone() const;
  // Appends the block PackedEntry(entry) would hold to `out`, allocating nothing of its own: how
  // PackedEntries packs many into one buffer.
  static void append_block(const ServiceEntry& entry, std::string& out);
  // A borrowed entry of the block at `block` (2-aligned, as append_block wrote it), which must
  // outlive it.
  static PackedEntry borrow(const char* block) noexcept;

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
  Header header() const noexcept;
  const char* body() const noexcept;  // after the header; namespace first
  size_t body_size() const noexcept;

  // The block's address, or for a borrowed block its address plus one: a block is at least
  // 2-aligned, so an odd address says borrowed, where a flag beside the pointer would cost 8
  // bytes in each of the index's million copies.
  char* tagged_ = nullptr;
};

}  // namespace globaldns::sync
