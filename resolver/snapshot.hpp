// Snapshot: one immutable, pre-encoded version of every served zone, read lock-free by workers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace globaldns::resolver {

inline constexpr uint32_t kNoNode = 0xFFFFFFFF;

// An RRset as answer-section bytes: each RR starts with the compression pointer 0xC00C, so the
// owner is whatever name the question carried (right for exact and wildcard answers alike).
struct RRsetRef {
  uint16_t type = 0;
  uint16_t count = 0;
  uint32_t offset = 0;  // into its Shard's rr_bytes
  uint32_t length = 0;
};

struct Node {
  uint64_t hash = 0;         // Snapshot::hash_name of the name
  uint32_t name_offset = 0;  // lower-cased wire name in its Shard's names
  uint8_t name_length = 0;
  uint8_t zone = 0;
  uint8_t rrset_count = 0;
  uint32_t rrset_first = 0;  // into its Shard's rrsets
  // Index, in the same shard, of the node "*.<this name>", if any (RFC 4592 §2.2.1). A wildcard
  // lives in the shard of its parent (Snapshot::shard_hash), so the link survives shards being
  // rebuilt independently.
  uint32_t wildcard_child = kNoNode;
};

// One slice of the names, chosen by the high bits of Snapshot::shard_hash. Immutable once
// built, and shared by every snapshot in which none of its names changed.
class Shard {
 public:
  size_t node_count() const noexcept { return nodes_.size(); }
  size_t record_count() const noexcept { return record_count_; }
  const Node& node(uint32_t index) const noexcept { return nodes_[index]; }
  const std::vector<Node>& nodes() const noexcept { return nodes_; }
  const RRsetRef* rrsets(const Node& n) const noexcept { return rrsets_.data() + n.rrset_first; }
  const uint8_t* rr_bytes(const RRsetRef& r) const noexcept { return rr_bytes_.data() + r.offset; }
  const uint8_t* name_bytes(const Node& n) const noexcept { return names_.data() + n.name_offset; }

  // Node for an exact lower-cased wire name whose hash_name is `hash`, or kNoNode. Hot path.
  uint32_t find(const uint8_t* name, size_t length, uint64_t hash) const noexcept;

 private:
  friend class ShardEncoder;
  friend class Snapshot;

  std::vector<Node> nodes_;
  // Open addressing on the low hash bits, a power of two of slots, kNoNode = empty; a
  // default-constructed shard has one empty slot, so lookups in it need no special case.
  std::vector<uint32_t> slots_ = std::vector<uint32_t>(1, kNoNode);
  uint64_t slot_mask_ = 0;
  std::vector<uint8_t> names_;
  std::vector<RRsetRef> rrsets_;
  std::vector<uint8_t> rr_bytes_;
  size_t record_count_ = 0;
};

// A node found by Snapshot::find: its shard resolves the node's offsets.
struct NodeRef {
  const Shard* shard = nullptr;
  const Node* node = nullptr;
  explicit operator bool() const noexcept { return node != nullptr; }
};

struct ZoneInfo {
  std::string apex_text;  // "global."
  std::string apex_wire;  // lower-cased wire form
  // SOA for the authority section of negative answers: type..rdata, owner written per query
  // as a pointer into the question; TTL is min(SOA TTL, minimum) (RFC 2308 §3).
  std::string negative_soa;
};

class Snapshot {
 public:
  // 1024 shards: at 100k names a shard holds ~100 of them, at 1M ~1000, so re-encoding the two
  // or three shards one change touches costs microseconds, while what every build pays (1024
  // shared_ptr copies) stays small. A constant, so find() indexes a member array directly.
  static constexpr unsigned kShardBits = 10;
  static constexpr size_t kShardCount = size_t{1} << kShardBits;

  uint32_t serial() const noexcept { return serial_; }
  uint16_t edns_udp_size() const noexcept { return edns_udp_size_; }
  size_t node_count() const noexcept { return node_count_; }  // names incl. empty non-terminals
  size_t record_count() const noexcept { return record_count_; }
  const std::vector<ZoneInfo>& zones() const noexcept { return zones_; }

  // Index of the longest zone that contains `name` (lower-cased wire with label offsets),
  // or -1. Hot path.
  int find_zone(const uint8_t* name, size_t length, const uint8_t* label_offsets,
                size_t labels) const noexcept;
  // Node for an exact lower-cased wire name, or an empty NodeRef. Hot path.
  NodeRef find(const uint8_t* name, size_t length) const noexcept;
  // The CH TXT answer RR (owner 0xC00C) for a lower-cased wire name: version.bind.,
  // version.server., hostname.bind. or id.server.; null for any other name or a pair switched
  // off. Only CHAOS queries call it.
  const std::string* chaos_txt(const uint8_t* name, size_t length) const noexcept;

  // Every node, shard by shard (no particular order), as f(const Shard&, const Node&).
  template <typename F>
  void for_each_node(F&& f) const {
    for (const auto& shard : shards_)
      for (const Node& n : shard->nodes()) f(*shard, n);
  }
  size_t shard_count() const noexcept { return shards_.size(); }
  // The shard holding names whose shard_hash has these high bits; for tests of sharing.
  const std::shared_ptr<const Shard>& shard(size_t index) const noexcept { return shards_[index]; }
  static size_t shard_of(const uint8_t* name, size_t length) noexcept {
    return static_cast<size_t>(shard_hash(name, length) >> (64 - kShardBits));
  }

  static uint64_t hash_name(const uint8_t* name, size_t length) noexcept;
  // The hash that picks a name's shard: hash_name of the name without its leading "*" labels,
  // so "*.x", "*.*.x" and "x" share a shard and a node's wildcard_child stays in its shard.
  static uint64_t shard_hash(const uint8_t* name, size_t length) noexcept {
    while (length > 2 && name[0] == 1 && name[1] == '*') {
      name += 2;
      length -= 2;
    }
    return hash_name(name, length);
  }

 private:
  friend class ZoneBuilder;

  // What find() needs of a shard, inside the snapshot object: two dependent loads fewer per
  // lookup than going through the shared_ptr and the shard's vectors. Points into shards_,
  // which keeps it alive.
  struct ShardView {
    const Shard* shard;
    const uint32_t* slots;
    const Node* nodes;
    const uint8_t* names;
    uint64_t slot_mask;
  };
  void index_shards();

  std::vector<std::shared_ptr<const Shard>> shards_;  // kShardCount of them
  std::array<ShardView, kShardCount> views_{};        // one per shard, same order
  std::vector<ZoneInfo> zones_;
  std::string chaos_version_rr_;   // "" when switched off
  std::string chaos_hostname_rr_;  // "" when switched off
  uint32_t serial_ = 0;
  uint16_t edns_udp_size_ = 1232;
  size_t node_count_ = 0;
  size_t record_count_ = 0;
};

}  // namespace globaldns::resolver
