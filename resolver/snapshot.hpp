// Snapshot: one immutable, pre-encoded version of every served zone, read lock-free by workers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dns/wire/constants.hpp"

namespace globaldns::resolver {

inline constexpr uint32_t kNoNode = 0xFFFFFFFF;

// One RRset of a node, as read from its shard. Address RRsets (A, AAAA) are held as their rdata
// alone: every one of them has class IN and the snapshot's address TTL, so the 12 bytes in front
// of each address in an answer (owner pointer 0xC00C, type, class, TTL, rdlength) are written
// per answer, as NSD and Knot write each RR's header, rather than held once per record (12 MB
// at 1M names). Any other RRset (SOA and NS at an apex) is held as answer-section bytes whose
// owners are the pointer 0xC00C, so the owner is whatever name the question carried.
struct RRsetRef {
  uint16_t type = 0;
  uint16_t count = 0;
  const uint8_t* data = nullptr;
  size_t data_length = 0;  // A: 4 x count; AAAA: 16 x count; otherwise the RRs' bytes

  static bool is_address(uint16_t type) noexcept {
    return type == dns::wire::rrtype::A || type == dns::wire::rrtype::AAAA;
  }
  // Bytes the RRset takes in an answer section.
  size_t wire_length() const noexcept {
    return is_address(type) ? data_length + size_t{12} * count : data_length;
  }
  // Writes the RRset's wire_length() bytes to `out`; address RRs get `address_ttl`. Hot path,
  // so inline: each address's 12-byte head costs a few stores.
  void write(uint8_t* out, uint32_t address_ttl) const noexcept {
    namespace w = dns::wire;
    if (type == w::rrtype::A)
      write_addresses<4>(out, address_ttl);
    else if (type == w::rrtype::AAAA)
      write_addresses<16>(out, address_ttl);
    else
      std::memcpy(out, data, data_length);
  }

 private:
  template <size_t kRdLength>
  void write_addresses(uint8_t* out, uint32_t ttl) const noexcept {
    namespace w = dns::wire;
    uint8_t head[12];
    w::store16(head, w::kQuestionPointer);
    w::store16(head + 2, type);
    w::store16(head + 4, w::rrclass::IN);
    w::store32(head + 6, ttl);
    w::store16(head + 10, kRdLength);
    for (size_t i = 0; i < count; ++i, out += sizeof head + kRdLength) {
      std::memcpy(out, head, sizeof head);
      std::memcpy(out + sizeof head, data + i * kRdLength, kRdLength);
    }
  }
};

// A node's RRsets in order (SOA and NS at an apex, then A, then AAAA), each read as it is
// reached: they are stored one after the other behind the node's name, each behind a head
// (type, count, and for a non-address RRset its byte length). A node whose only RRset is one
// A record (most hosts) has no head: its 4 bytes of address follow the name (Node::kBareA; the
// head took 4 MB at 1M names).
class RRsetRange {
 public:
  // An RRset's head: type and count, 16 bits each, big-endian; a non-address RRset's 32-bit byte
  // length follows it.
  static constexpr size_t kHeadSize = 4;
  class Iterator {
   public:
    using value_type = RRsetRef;
    using difference_type = std::ptrdiff_t;
    const RRsetRef& operator*() const noexcept { return current_; }
    const RRsetRef* operator->() const noexcept { return &current_; }
    Iterator& operator++() noexcept {
      if (--left_ != 0) read(current_.data + current_.data_length);
      return *this;
    }
    // Only iterators of one range compare meaningfully: by how many RRsets remain.
    bool operator==(const Iterator& other) const noexcept { return left_ == other.left_; }

   private:
    friend class RRsetRange;
    Iterator(const uint8_t* at, uint8_t left, bool bare_a) noexcept : left_(left) {
      if (left_ == 0) return;
      if (bare_a) {
        current_ = {dns::wire::rrtype::A, 1, at, 4};
        return;
      }
      read(at);
    }
    void read(const uint8_t* head) noexcept {
      current_.type = dns::wire::load16(head);
      current_.count = dns::wire::load16(head + 2);
      if (current_.type == dns::wire::rrtype::A) {
        current_.data = head + kHeadSize;
        current_.data_length = size_t{4} * current_.count;
      } else if (current_.type == dns::wire::rrtype::AAAA) {
        current_.data = head + kHeadSize;
        current_.data_length = size_t{16} * current_.count;
      } else {
        current_.data = head + kHeadSize + 4;
        current_.data_length = dns::wire::load32(head + kHeadSize);
      }
    }
    RRsetRef current_;
    uint8_t left_ = 0;
  };

  // `bare_a`: the one RRset is an A record without a head.
  RRsetRange(const uint8_t* first, uint8_t count, bool bare_a) noexcept
      : first_(first), count_(count), bare_a_(bare_a) {}
  Iterator begin() const noexcept { return {first_, count_, bare_a_}; }
  Iterator end() const noexcept { return {nullptr, 0, false}; }

 private:
  const uint8_t* first_;
  uint8_t count_;
  bool bare_a_;
};

// 8 bytes: with a million of them, each byte here is a megabyte. The name's hash is not kept:
// its shard's slot holds enough of it to pass over other names (Shard), and a rebuild hashes
// the name again. A wildcard child, which few names have, is found in its shard's list
// (Shard::wildcard_child) rather than by 4 bytes in every node. Every name of a zone ends in the
// zone's apex, so a node holds its name without it (Snapshot::name_of puts it back): 8 bytes of
// every name in global., 8 MB at 1M names.
struct Node {
  // In its Shard's bytes: the lower-cased wire name up to its zone's apex, then its RRsets.
  uint32_t offset = 0;
  uint8_t name_length = 0;  // of the name up to its zone's apex (0 for the apex itself)
  uint8_t zone = 0;
  uint8_t rrset_count = 0;
  uint8_t flags = 0;
  // The node "*.<this name>" exists (RFC 4592 §2.2.1); Shard::wildcard_child finds it.
  static constexpr uint8_t kWildcardChild = 1;
  // Its one RRset is one A record, written without a head (RRsetRange).
  static constexpr uint8_t kBareA = 2;
  bool has_wildcard_child() const noexcept { return (flags & kWildcardChild) != 0; }
  bool bare_a() const noexcept { return (flags & kBareA) != 0; }
};
static_assert(sizeof(Node) == 8, "a node grew");

// One slice of the names, chosen by the high bits of Snapshot::shard_hash. Immutable once
// built, and shared by every snapshot in which none of its names changed.
class Shard {
 public:
  size_t node_count() const noexcept { return nodes_.size(); }
  size_t record_count() const noexcept { return record_count_; }
  const Node& node(uint32_t index) const noexcept { return nodes_[index]; }
  const std::vector<Node>& nodes() const noexcept { return nodes_; }
  // The node's name up to its zone's apex (Node::name_length bytes).
  const uint8_t* name_bytes(const Node& n) const noexcept { return bytes_.data() + n.offset; }
  RRsetRange rrsets(const Node& n) const noexcept {
    return {bytes_.data() + n.offset + n.name_length, n.rrset_count, n.bare_a()};
  }
  // Heap bytes the shard holds (its vectors' capacity), for the memory figures.
  size_t allocated_bytes() const noexcept {
    return nodes_.capacity() * sizeof(Node) + slots_.capacity() * sizeof(uint32_t) +
           bytes_.capacity() + wildcards_.capacity() * sizeof(wildcards_[0]);
  }

  // The index of the node "*.<n's name>", which is in this shard (Snapshot::shard_hash), or
  // kNoNode.
  uint32_t wildcard_child(const Node& n) const noexcept;

  // A slot: kNoNode, or a node's index in the low `index_bits` bits and in the others the low
  // bits of the name's hash (its low half shifted up by index_bits), which a probe compares
  // before it reads the node. Its place is chosen from the high bits of the hash's low half
  // (multiplied into the slot count, which need not be a power of two).
  static size_t home(uint64_t hash, size_t slot_count) noexcept {
    return static_cast<size_t>((uint64_t{static_cast<uint32_t>(hash)} * slot_count) >> 32);
  }
  static uint32_t slot_hash_bits(uint64_t hash, uint32_t index_bits) noexcept {
    return static_cast<uint32_t>(hash) << index_bits;
  }
  static uint32_t slot_of(uint64_t hash, uint32_t index, uint32_t index_bits) noexcept {
    return slot_hash_bits(hash, index_bits) | index;
  }
  static uint32_t index_mask(uint32_t index_bits) noexcept {
    return (uint32_t{1} << index_bits) - 1;
  }
  // Puts node `index`, whose name's hash is `hash`, in the first free slot from its home.
  static void place(uint32_t* slots, size_t slot_count, uint64_t hash, uint32_t index,
                    uint32_t index_bits) noexcept {
    size_t s = home(hash, slot_count);
    while (slots[s] != kNoNode) s = s + 1 == slot_count ? 0 : s + 1;
    slots[s] = slot_of(hash, index, index_bits);
  }

 private:
  friend class ShardEncoder;
  friend class Snapshot;

  std::vector<Node> nodes_;
  // Open addressing at a load of at most 3/4 (5.3 bytes a node, where a power of two of slots at
  // a load of at most a half took 8 to 16); a default-constructed shard has one empty slot, so
  // lookups in it need no special case.
  std::vector<uint32_t> slots_ = std::vector<uint32_t>(1, kNoNode);
  uint32_t index_bits_ = 1;  // enough bits for every index below kNoNode's
  // (parent index, wildcard child index), by parent: the few nodes with has_wildcard_child().
  std::vector<std::pair<uint32_t, uint32_t>> wildcards_;
  // Each node's name and RRsets, node after node: a lookup that finds a name finds its records
  // in the same cache line or the next, where separate arrays of names, RRset references and
  // records cost a miss each at 1M names.
  std::vector<uint8_t> bytes_;
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
  struct ShardView;  // below, private

 public:
  // 1024 shards: at 100k names a shard holds ~100 of them, at 1M ~1000, so re-encoding the two
  // or three shards one change touches costs microseconds, while what every build pays (1024
  // shared_ptr copies) stays small. A constant, so find() indexes a member array directly.
  static constexpr unsigned kShardBits = 10;
  static constexpr size_t kShardCount = size_t{1} << kShardBits;

  uint32_t serial() const noexcept { return serial_; }
  uint32_t address_ttl() const noexcept { return address_ttl_; }  // of every A and AAAA RR
  uint16_t edns_udp_size() const noexcept { return edns_udp_size_; }
  size_t node_count() const noexcept { return node_count_; }  // names incl. empty non-terminals
  size_t record_count() const noexcept { return record_count_; }
  const std::vector<ZoneInfo>& zones() const noexcept { return zones_; }

  // Index of the longest zone that contains `name` (lower-cased wire with label offsets),
  // or -1. Hot path.
  int find_zone(const uint8_t* name, size_t length, const uint8_t* label_offsets,
                size_t labels) const noexcept;
  // Node for an exact lower-cased wire name whose zone (find_zone) is `zone`, or an empty
  // NodeRef. Hot path: a node holds its zone and its name up to the zone's apex, so the zone
  // and the name up to the apex decide, and the apex is not compared.
  NodeRef find(const uint8_t* name, size_t length, int zone) const noexcept;
  // The same for a name whose zone is not known yet (tests, exports): finds it first.
  NodeRef find(const uint8_t* name, size_t length) const noexcept;
  // A node's whole name, lower-cased wire form: its bytes in its shard, then its zone's apex.
  std::string name_of(const Shard& shard, const Node& n) const;
  // find() taken apart into steps that only fetch, for a batch of queries (prefetch_batch in
  // answer.hpp): each step asks for the memory the next one reads, and running one step for
  // the whole batch before the next lets the batch's cache misses overlap. A wrong guess (a name
  // past its first slot, or absent) only wastes a fetch.
  class Prefetch {
   public:
    Prefetch() = default;

   private:
    friend class Snapshot;
    const ShardView* view_ = nullptr;  // the name's shard's
    uint64_t hash_ = 0;
    size_t slot_ = 0;
    uint32_t node_ = kNoNode;
  };
  // Steps 1 to 3: the name's slot, its node, its name and RRsets.
  Prefetch prefetch_slot(const uint8_t* name, size_t length) const noexcept;
  void prefetch_node(Prefetch& p) const noexcept;
  void prefetch_rrsets(const Prefetch& p) const noexcept;
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
  // Heap bytes of its shards (each counted once, though snapshots share them), for the memory
  // figures of benchmarks.
  size_t allocated_bytes() const;
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
    const uint8_t* bytes;
    size_t slot_count;
    uint32_t index_bits;
  };
  void index_shards();
  // The shard of a name whose hash_name is `hash`.
  const ShardView& view_of(const uint8_t* name, size_t length, uint64_t hash) const noexcept {
    // Only names that start with a "*" label have a shard hash of their own (see shard_hash).
    const uint64_t sh =
        length > 2 && name[0] == 1 && name[1] == '*' ? shard_hash(name, length) : hash;
    return views_[static_cast<size_t>(sh >> (64 - kShardBits))];
  }

  std::vector<std::shared_ptr<const Shard>> shards_;  // kShardCount of them
  std::array<ShardView, kShardCount> views_{};        // one per shard, same order
  std::vector<ZoneInfo> zones_;
  std::string chaos_version_rr_;   // "" when switched off
  std::string chaos_hostname_rr_;  // "" when switched off
  uint32_t serial_ = 0;
  uint32_t address_ttl_ = 30;
  uint16_t edns_udp_size_ = 1232;
  size_t node_count_ = 0;
  size_t record_count_ = 0;
};

}  // namespace globaldns::resolver
