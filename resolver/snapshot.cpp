// Snapshot lookups: the shard from the high hash bits, then open addressing on the low half.
#include "resolver/snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "dns/wire/name.hpp"

namespace globaldns::resolver {
namespace {

// The probe of Snapshot::find: slots whose hash bits differ are passed over without reading
// their node. A node holds its zone and its name up to the zone's apex: `name` is compared up to
// its zone's apex, `length` bytes, and its zone is `zone`.
inline uint32_t probe(const uint32_t* slots, size_t slot_count, uint32_t index_bits,
                      const Node* nodes, const uint8_t* bytes, uint8_t zone, const uint8_t* name,
                      size_t length, uint64_t hash) noexcept {
  const uint32_t index_mask = Shard::index_mask(index_bits);
  const uint32_t want = Shard::slot_hash_bits(hash, index_bits);
  for (size_t s = Shard::home(hash, slot_count);; s = s + 1 == slot_count ? 0 : s + 1) {
    const uint32_t slot = slots[s];
    if (slot == kNoNode) return kNoNode;
    if ((slot & ~index_mask) != want) continue;
    const uint32_t i = slot & index_mask;
    const Node& n = nodes[i];
    if (n.zone == zone && n.name_length == length &&
        std::memcmp(bytes + n.offset, name, length) == 0)
      return i;
  }
}

}  // namespace

uint64_t Snapshot::hash_name(const uint8_t* name, size_t length) noexcept {
  // Names are short (tens of bytes): a word-at-a-time multiply-xorshift is plenty and
  // needs no seed; the table is rebuilt from trusted data, not from queries.
  uint64_t h = 0x9E3779B97F4A7C15ull ^ length;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t w;
    std::memcpy(&w, name + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, name + i, length - i);
  h = (h ^ tail) * 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h;
}

uint32_t Shard::wildcard_child(const Node& n) const noexcept {
  if (!n.has_wildcard_child()) return kNoNode;
  const auto parent = static_cast<uint32_t>(&n - nodes_.data());
  const auto it = std::lower_bound(wildcards_.begin(), wildcards_.end(),
                                   std::pair<uint32_t, uint32_t>(parent, 0));
  return it != wildcards_.end() && it->first == parent ? it->second : kNoNode;
}

NodeRef Snapshot::find(const uint8_t* name, size_t length, int zone) const noexcept {
  // Equal names have the same longest zone, so a node of another zone is another name.
  if (zone < 0) return {};
  const size_t apex = zones_[static_cast<size_t>(zone)].apex_wire.size();
  if (apex > length) return {};
  const uint64_t h = hash_name(name, length);
  const ShardView& v = view_of(name, length, h);
  const uint32_t i = probe(v.slots, v.slot_count, v.index_bits, v.nodes, v.bytes,
                           static_cast<uint8_t>(zone), name, length - apex, h);
  if (i == kNoNode) return {};
  return {v.shard, &v.nodes[i]};
}

NodeRef Snapshot::find(const uint8_t* name, size_t length) const noexcept {
  namespace w = dns::wire;
  // The label offsets find_zone needs, as a query's name gets them.
  w::ScannedName scanned;
  if (w::scan_uncompressed_name({name, length}, 0, scanned) != w::NameStatus::Ok ||
      scanned.length != length)
    return {};
  return find(scanned.lower, length,
              find_zone(scanned.lower, length, scanned.label_offsets, scanned.labels));
}

std::string Snapshot::name_of(const Shard& shard, const Node& n) const {
  std::string out(reinterpret_cast<const char*>(shard.name_bytes(n)), n.name_length);
  out += zones_[n.zone].apex_wire;
  return out;
}

Snapshot::Prefetch Snapshot::prefetch_slot(const uint8_t* name, size_t length) const noexcept {
  Prefetch p;
  p.hash_ = hash_name(name, length);
  const ShardView& v = view_of(name, length, p.hash_);
  p.view_ = &v;
  p.slot_ = Shard::home(p.hash_, v.slot_count);
  __builtin_prefetch(v.slots + p.slot_);
  return p;
}

void Snapshot::prefetch_node(Prefetch& p) const noexcept {
  if (p.view_ == nullptr) return;  // nothing to look up
  const ShardView& v = *p.view_;
  const uint32_t slot = v.slots[p.slot_];
  const uint32_t index_mask = Shard::index_mask(v.index_bits);
  // Another name in the first slot: a wrong guess, not worth a further probe.
  if (slot == kNoNode || (slot & ~index_mask) != Shard::slot_hash_bits(p.hash_, v.index_bits)) {
    p.node_ = kNoNode;
    return;
  }
  p.node_ = slot & index_mask;
  __builtin_prefetch(v.nodes + p.node_);
}

void Snapshot::prefetch_rrsets(const Prefetch& p) const noexcept {
  if (p.node_ == kNoNode) return;  // none to look up, or no name in its first slot
  const ShardView& v = *p.view_;
  const Node& n = v.nodes[p.node_];
  // The name and its RRsets: a host's fit in 64 bytes, which may straddle two lines.
  const uint8_t* at = v.bytes + n.offset;
  __builtin_prefetch(at);
  __builtin_prefetch(at + 63);
}

size_t Snapshot::allocated_bytes() const {
  std::unordered_set<const Shard*> seen;
  size_t total = 0;
  for (const auto& shard : shards_)
    if (seen.insert(shard.get()).second) total += sizeof(Shard) + shard->allocated_bytes();
  return total;
}

void Snapshot::index_shards() {
  for (size_t i = 0; i < kShardCount; ++i) {
    const Shard& s = *shards_[i];
    views_[i] = {&s,           s.slots_.data(), s.nodes_.data(), s.bytes_.data(), s.slots_.size(),
                 s.index_bits_};
  }
}

const std::string* Snapshot::chaos_txt(const uint8_t* name, size_t length) const noexcept {
  // Wire forms; each literal's terminating NUL is the root label. The four lengths differ, so
  // the length picks the one name to compare.
  static constexpr char kVersionBind[] = "\7version\4bind";
  static constexpr char kVersionServer[] = "\7version\6server";
  static constexpr char kHostnameBind[] = "\10hostname\4bind";
  static constexpr char kIdServer[] = "\2id\6server";
  const std::string* rr = nullptr;
  const char* expected = nullptr;
  switch (length) {
    case sizeof kVersionBind:
      expected = kVersionBind;
      rr = &chaos_version_rr_;
      break;
    case sizeof kVersionServer:
      expected = kVersionServer;
      rr = &chaos_version_rr_;
      break;
    case sizeof kHostnameBind:
      expected = kHostnameBind;
      rr = &chaos_hostname_rr_;
      break;
    case sizeof kIdServer:
      expected = kIdServer;
      rr = &chaos_hostname_rr_;
      break;
    default:
      return nullptr;
  }
  if (rr->empty() || std::memcmp(name, expected, length) != 0) return nullptr;
  return rr;
}

int Snapshot::find_zone(const uint8_t* name, size_t length, const uint8_t* label_offsets,
                        size_t labels) const noexcept {
  // Zones are few; the longest apex that is a label-aligned suffix wins.
  int best = -1;
  size_t best_len = 0;
  for (size_t z = 0; z < zones_.size(); ++z) {
    const std::string& apex = zones_[z].apex_wire;
    if (apex.size() > length || apex.size() <= best_len) continue;
    const size_t cut = length - apex.size();
    if (std::memcmp(name + cut, apex.data(), apex.size()) != 0) continue;
    bool aligned = cut == 0 || cut == length - 1;  // whole name, or the root zone
    for (size_t l = 0; !aligned && l < labels; ++l) aligned = label_offsets[l] == cut;
    if (!aligned) continue;
    best = static_cast<int>(z);
    best_len = apex.size();
  }
  return best;
}

}  // namespace globaldns::resolver
