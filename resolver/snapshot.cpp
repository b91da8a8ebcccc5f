// Snapshot lookups: the shard from the high hash bits, then open addressing on the low bits.
#include "resolver/snapshot.hpp"

#include <cstring>
#include <unordered_set>

namespace globaldns::resolver {

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

uint32_t Shard::find(const uint8_t* name, size_t length, uint64_t hash) const noexcept {
  for (uint64_t s = hash & slot_mask_;; s = (s + 1) & slot_mask_) {
    const uint32_t i = slots_[s];
    if (i == kNoNode) return kNoNode;
    const Node& n = nodes_[i];
    if (n.hash == static_cast<uint32_t>(hash) && n.name_length == length &&
        std::memcmp(bytes_.data() + n.offset, name, length) == 0)
      return i;
  }
}

NodeRef Snapshot::find(const uint8_t* name, size_t length) const noexcept {
  const uint64_t h = hash_name(name, length);
  const ShardView& v = view_of(name, length, h);
  for (uint64_t s = h & v.slot_mask;; s = (s + 1) & v.slot_mask) {
    const uint32_t i = v.slots[s];
    if (i == kNoNode) return {};
    const Node& n = v.nodes[i];
    if (n.hash == static_cast<uint32_t>(h) && n.name_length == length &&
        std::memcmp(v.bytes + n.offset, name, length) == 0)
      return {v.shard, &n};
  }
}

Snapshot::Prefetch Snapshot::prefetch_slot(const uint8_t* name, size_t length) const noexcept {
  Prefetch p;
  p.hash_ = hash_name(name, length);
  const ShardView& v = view_of(name, length, p.hash_);
  p.view_ = &v;
  __builtin_prefetch(v.slots + (p.hash_ & v.slot_mask));
  return p;
}

void Snapshot::prefetch_node(Prefetch& p) const noexcept {
  if (p.view_ == nullptr) return;  // nothing to look up
  const ShardView& v = *p.view_;
  p.node_ = v.slots[p.hash_ & v.slot_mask];
  if (p.node_ != kNoNode) __builtin_prefetch(v.nodes + p.node_);
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
    views_[i] = {&s, s.slots_.data(), s.nodes_.data(), s.bytes_.data(), s.slot_mask_};
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
