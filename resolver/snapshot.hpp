// Snapshot: one immutable, pre-encoded version of every served zone, read lock-free by workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace globaldns::resolver {

inline constexpr uint32_t kNoNode = 0xFFFFFFFF;

// An RRset as answer-section bytes: each RR starts with the compression pointer 0xC00C, so the
// owner is whatever name the question carried (right for exact and wildcard answers alike).
struct RRsetRef {
  uint16_t type = 0;
  uint16_t count = 0;
  uint32_t offset = 0;  // into Snapshot::rr_bytes_
  uint32_t length = 0;
};

struct Node {
  uint64_t hash = 0;
  uint32_t name_offset = 0;  // lower-cased wire name in Snapshot::names_
  uint8_t name_length = 0;
  uint8_t zone = 0;
  uint8_t rrset_count = 0;
  uint32_t rrset_first = 0;           // into Snapshot::rrsets_
  uint32_t wildcard_child = kNoNode;  // node of "*.<this name>", if any (RFC 4592 §2.2.1)
};

struct ZoneInfo {
  std::string apex_text;  // "global."
  std::string apex_wire;  // lower-cased wire form
  uint32_t apex_node = kNoNode;
  // SOA for the authority section of negative answers: type..rdata, owner written per query
  // as a pointer into the question; TTL is min(SOA TTL, minimum) (RFC 2308 §3).
  std::string negative_soa;
};

class Snapshot {
 public:
  uint32_t serial() const noexcept { return serial_; }
  uint16_t edns_udp_size() const noexcept { return edns_udp_size_; }
  size_t node_count() const noexcept { return nodes_.size(); }  // names incl. empty non-terminals
  size_t record_count() const noexcept { return record_count_; }
  const std::vector<ZoneInfo>& zones() const noexcept { return zones_; }

  // Index of the longest zone that contains `name` (lower-cased wire with label offsets),
  // or -1. Hot path.
  int find_zone(const uint8_t* name, size_t length, const uint8_t* label_offsets,
                size_t labels) const noexcept;
  // Node for an exact lower-cased wire name, or kNoNode. Hot path.
  uint32_t find(const uint8_t* name, size_t length) const noexcept;

  const Node& node(uint32_t index) const noexcept { return nodes_[index]; }
  const RRsetRef* rrsets(const Node& n) const noexcept { return rrsets_.data() + n.rrset_first; }
  const uint8_t* rr_bytes(const RRsetRef& r) const noexcept { return rr_bytes_.data() + r.offset; }
  const uint8_t* name_bytes(const Node& n) const noexcept { return names_.data() + n.name_offset; }

  static uint64_t hash_name(const uint8_t* name, size_t length) noexcept;

 private:
  friend class SnapshotBuilder;

  std::vector<Node> nodes_;
  std::vector<uint32_t> slots_;  // open addressing, power of two, kNoNode = empty
  uint64_t slot_mask_ = 0;
  std::vector<uint8_t> names_;
  std::vector<RRsetRef> rrsets_;
  std::vector<uint8_t> rr_bytes_;
  std::vector<ZoneInfo> zones_;
  uint32_t serial_ = 0;
  uint16_t edns_udp_size_ = 1232;
  size_t record_count_ = 0;
};

}  // namespace globaldns::resolver
