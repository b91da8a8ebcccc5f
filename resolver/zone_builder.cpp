// ZoneBuilder: the served names live only in the snapshot's shards; a change decodes the shard it
// touches into a mutable table, and build() re-encodes just those, sharing every other shard.
#include "resolver/zone_builder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "dns/wire/constants.hpp"
#include "dns/wire/name.hpp"
#include "resolver/snapshot.hpp"

namespace globaldns::resolver {

namespace w = dns::wire;

namespace {

constexpr unsigned kShardBits = Snapshot::kShardBits;
constexpr size_t kShards = Snapshot::kShardCount;
void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// type, class, ttl, rdlength, rdata: an RR without its owner.
std::string rr_tail(uint16_t type, uint32_t ttl, std::string_view rdata) {
  std::string out;
  put16(out, type);
  put16(out, w::rrclass::IN);
  put32(out, ttl);
  put16(out, static_cast<uint16_t>(rdata.size()));
  out.append(rdata);
  return out;
}

std::string soa_rdata(const std::string& names, const SoaParams& p, uint32_t serial) {
  std::string rd = names;  // mname then rname, wire form
  put32(rd, serial);
  put32(rd, p.refresh);
  put32(rd, p.retry);
  put32(rd, p.expire);
  put32(rd, p.minimum);
  return rd;
}

// `what` "<name>" `why`, built by appending (g++ 12 warns on literal + string at -O3).
Error name_error(const char* what, std::string_view name, const char* why) {
  std::string m = what;
  m += " \"";
  m.append(name);
  m += "\" ";
  m += why;
  return Error{std::move(m)};
}

// The half of Snapshot::hash_name that a shard's and a table's slots are chosen by.
uint32_t low_half(uint64_t hash) {
  return static_cast<uint32_t>(hash);
}

const uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

size_t label_count(std::string_view wire) {
  size_t n = 0;
  for (size_t pos = 0; pos < wire.size() && wire[pos] != 0;
       pos += 1 + static_cast<uint8_t>(wire[pos]))
    ++n;
  return n;
}

// A name that is a node: a host (it has addresses), a zone apex, or an ancestor of a host inside
// the host's zone, which is an empty non-terminal unless it has addresses itself (RFC 8020).
// A name that is none of these is erased, so "in the table" and "is a node" are the same thing.
// Its name and then its addresses lie together in its NameTable's byte arena, and encoding a
// shard then reads two contiguous arrays. 12 bytes: a first load holds every name's entry at
// once, and the tables must not weigh more than the snapshot they become (1M names): their
// peak is the start's. The name's hash is not kept; the table's slots hold part of it, and
// moving an entry's slot hashes its name again.
struct Entry {
  uint32_t name_at = 0;  // lower-cased wire form, in the table's bytes; then the addresses
  uint16_t v4 = 0;       // v4 addresses (4 bytes each), then v6 (16 bytes each); no duplicates
  uint16_t v6 = 0;
  uint8_t name_length = 0;
  uint8_t zone = 0;
  bool apex = false;
  bool host() const noexcept { return v4 != 0 || v6 != 0; }
  size_t addrs_length() const noexcept { return 4 * size_t{v4} + 16 * size_t{v6}; }
  size_t length() const noexcept { return name_length + addrs_length(); }
};
static_assert(sizeof(Entry) == 12, "an entry grew");

// One shard's names: entries kept contiguous (encoding walks them in order) and indexed by an
// open-addressing table whose slots are a Shard's (Shard::home, Shard::slot_of: an index and
// some of the name's hash bits, compared before the entry is read), with backward-shift
// deletion so no tombstones pile up as hosts come and go. An Entry pointer, and a view of its
// bytes, is valid until the next insert, erase or set_addrs.
class NameTable {
 public:
  std::string_view name(const Entry& e) const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()) + e.name_at, e.name_length};
  }
  std::string_view addrs(const Entry& e) const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()) + e.name_at + e.name_length,
            e.addrs_length()};
  }

  // The low half of the hash_name of e's name.
  uint32_t hash_of(const Entry& e) const noexcept {
    return low_half(Snapshot::hash_name(bytes_.data() + e.name_at, e.name_length));
  }

  const Entry* find(std::string_view name, uint32_t hash) const {
    const uint32_t want = Shard::slot_hash_bits(hash, index_bits_);
    for (size_t s = home(hash); slots_[s] != kNoNode; s = next(s)) {
      if ((slots_[s] & ~index_mask()) != want) continue;
      const Entry& e = entries_[slots_[s] & index_mask()];
      if (this->name(e) == name) return &e;
    }
    return nullptr;
  }
  Entry* find(std::string_view name, uint32_t hash) {
    return const_cast<Entry*>(std::as_const(*this).find(name, hash));
  }
  // `name` (a wire name, at most 255 bytes) must not be in the table yet and must not point
  // into this table.
  // `addrs` as for set_addrs.
  Entry& insert(std::string_view name, uint32_t hash, std::string_view addrs = {}, uint16_t v4 = 0,
                uint16_t v6 = 0) {
    if (over_load(entries_.size() + 1)) grow(slots_.size() * 2);
    place(hash, static_cast<uint32_t>(entries_.size()));
    Entry& e = entries_.emplace_back();
    e.name_at = static_cast<uint32_t>(bytes_.size());
    bytes_.insert(bytes_.end(), name.begin(), name.end());
    bytes_.insert(bytes_.end(), addrs.begin(), addrs.end());
    e.name_length = static_cast<uint8_t>(name.size());
    e.v4 = v4;
    e.v6 = v6;
    return e;
  }
  // Replaces e's addresses: `addrs` holds v4 then v6 addresses, and must not point into this
  // table. Addresses of the old length are overwritten where they are (one address for another,
  // the usual change); otherwise the name moves to the end of the arena with its new addresses.
  void set_addrs(Entry& e, std::string_view addrs, uint16_t v4, uint16_t v6) {
    if (addrs.size() == e.addrs_length()) {
      if (!addrs.empty())
        std::memcpy(bytes_.data() + e.name_at + e.name_length, addrs.data(), addrs.size());
      e.v4 = v4;
      e.v6 = v6;
      return;
    }
    garbage_ += e.length();
    const size_t at = bytes_.size();
    bytes_.resize(at + e.name_length + addrs.size());
    std::memcpy(bytes_.data() + at, bytes_.data() + e.name_at, e.name_length);
    if (!addrs.empty()) std::memcpy(bytes_.data() + at + e.name_length, addrs.data(), addrs.size());
    e.name_at = static_cast<uint32_t>(at);
    e.v4 = v4;
    e.v6 = v6;
    compact_if_wasteful();  // after the entry is whole again: it copies what e says it holds
  }
  void erase(const Entry* e) {
    const uint32_t index = static_cast<uint32_t>(e - entries_.data());
    garbage_ += e->length();
    size_t hole = slot_of(index);
    slots_[hole] = kNoNode;
    // Backward shift: pull later members of the probe run into the hole when their home slot
    // does not lie (cyclically) between the hole and where they sit.
    for (size_t j = next(hole); slots_[j] != kNoNode; j = next(j)) {
      const size_t h = home(hash_of(entries_[slots_[j] & index_mask()]));
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      slots_[j] = kNoNode;
      hole = j;
    }
    const uint32_t last = static_cast<uint32_t>(entries_.size() - 1);
    if (index != last) {
      const size_t s = slot_of(last);
      slots_[s] = (slots_[s] & ~index_mask()) | index;
      entries_[index] = entries_.back();
    }
    entries_.pop_back();
    compact_if_wasteful();
  }
  // Room for `entries` and `bytes`, and slots for `slotted` entries (growing past them rehashes).
  void reserve(size_t entries, size_t bytes, size_t slotted) {
    entries_.reserve(entries);
    bytes_.reserve(bytes);
    if (over_load(slotted)) grow(slotted + slotted / 3 + 1);
  }
  void reserve(size_t entries, size_t bytes) { reserve(entries, bytes, entries); }
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  size_t byte_count() const noexcept { return bytes_.size() - garbage_; }

 private:
  // At most three quarters of the slots in use, as a Shard: a probe past the first compares the
  // slot's hash bits, not another entry (a cache miss at 1M names).
  bool over_load(size_t entries) const noexcept { return entries * 4 > slots_.size() * 3; }
  size_t home(uint32_t hash) const noexcept { return Shard::home(hash, slots_.size()); }
  size_t next(size_t s) const noexcept { return s + 1 == slots_.size() ? 0 : s + 1; }
  uint32_t index_mask() const noexcept { return Shard::index_mask(index_bits_); }
  void place(uint32_t hash, uint32_t index) noexcept {
    Shard::place(slots_.data(), slots_.size(), hash, index, index_bits_);
  }
  // Replaced addresses and erased names leave their bytes behind; once they are over half the
  // arena, copy the live bytes out in entry order (amortised O(1) per change).
  void compact_if_wasteful() {
    if (garbage_ < 4096 || garbage_ * 2 < bytes_.size()) return;
    std::vector<uint8_t> live;
    live.reserve(bytes_.size() - garbage_);
    for (Entry& e : entries_) {
      const auto at = static_cast<uint32_t>(live.size());
      live.insert(live.end(), bytes_.begin() + e.name_at,
                  bytes_.begin() + e.name_at + static_cast<ptrdiff_t>(e.length()));
      e.name_at = at;
    }
    bytes_ = std::move(live);
    garbage_ = 0;
  }
  size_t slot_of(uint32_t index) const {
    size_t s = home(hash_of(entries_[index]));
    while ((slots_[s] & index_mask()) != index) s = next(s);
    return s;
  }
  void grow(size_t slots) {
    slots_.assign(slots, kNoNode);
    // Every index is below the slot count, so below 2^bits - 1: no slot reads as kNoNode.
    index_bits_ = static_cast<uint32_t>(std::bit_width(slots));
    for (uint32_t i = 0; i < entries_.size(); ++i) place(hash_of(entries_[i]), i);
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_ = std::vector<uint32_t>(4, kNoNode);
  uint32_t index_bits_ = 3;     // std::bit_width(slots_.size())
  std::vector<uint8_t> bytes_;  // every entry's name and addresses
  size_t garbage_ = 0;          // bytes of bytes_ no entry refers to
};

struct ZoneState {
  ZoneInfo info;          // negative_soa is filled per build, with the serial
  std::string soa_names;  // mname + rname, wire form
  SoaParams soa;
  std::string ns_rrset;  // the apex NS RRset as answer bytes
  uint16_t ns_count = 0;
};

// A shard's names back as a mutable table: what ShardEncoder::encode made of a table, so encoding
// the result again gives the same shard. The SOA and NS RRsets are left out (they only mark the
// apex): encode writes them afresh from the zone's settings and the serial.
std::unique_ptr<NameTable> decode_shard(const Shard& shard, const std::vector<ZoneState>& zones) {
  auto table = std::make_unique<NameTable>();
  size_t byte_count = 0;
  for (const Node& n : shard.nodes()) {
    byte_count += n.name_length + zones[n.zone].info.apex_wire.size();
    for (const RRsetRef& set : shard.rrsets(n))
      if (RRsetRef::is_address(set.type)) byte_count += set.data_length;
  }
  table->reserve(shard.node_count(), byte_count);
  std::string addrs;
  std::string name;
  for (const Node& n : shard.nodes()) {
    // The node holds its name up to its zone's apex (Node): the table holds it whole.
    name.assign(reinterpret_cast<const char*>(shard.name_bytes(n)), n.name_length);
    name += zones[n.zone].info.apex_wire;
    addrs.clear();
    uint16_t v4 = 0;
    uint16_t v6 = 0;
    bool apex = false;
    // Encoded A before AAAA, so the v4-then-v6 order of the addresses comes back by itself.
    for (const RRsetRef& set : shard.rrsets(n)) {
      if (!RRsetRef::is_address(set.type)) {
        apex = apex || set.type == w::rrtype::SOA;
        continue;
      }
      addrs.append(reinterpret_cast<const char*>(set.data), set.data_length);
      (set.type == w::rrtype::A ? v4 : v6) = set.count;
    }
    // A node keeps no hash: the name is hashed again (a few ns; a shard is decoded only when a
    // change first touches it).
    const auto hash = static_cast<uint32_t>(Snapshot::hash_name(bytes(name), name.size()));
    Entry& e = table->insert(name, hash, addrs, v4, v6);
    e.zone = n.zone;
    e.apex = apex;
  }
  return table;
}

// Transparent, so a name's count is found from a view into the name being added or removed.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const noexcept {
    return std::hash<std::string_view>{}(name);
  }
};
struct NameEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// A CH TXT answer RR of one character-string (RFC 1035 §3.3.14), owner 0xC00C, TTL 0 as
// CoreDNS's chaos plugin and NSD; "" for a text that is switched off.
Result<std::string> chaos_rr(const char* what, const std::string& text) {
  if (text.empty()) return std::string();
  if (text.size() > 255) {
    std::string m = "chaos ";
    m += what;
    m += " is ";
    m += std::to_string(text.size());
    m += " bytes long; a TXT character-string holds at most 255";
    return Error{std::move(m)};
  }
  std::string rr;
  put16(rr, w::kQuestionPointer);
  put16(rr, w::rrtype::TXT);
  put16(rr, w::rrclass::CH);
  put32(rr, 0);
  put16(rr, static_cast<uint16_t>(1 + text.size()));
  rr.push_back(static_cast<char>(text.size()));
  rr += text;
  return rr;
}

// Adds the addresses of `host` not yet in (addrs, v4, v6), keeping their order.
Result<Ok> merge_addresses(const HostRecords& host, std::string& addrs, uint16_t& v4,
                           uint16_t& v6) {
  std::string out;
  out.reserve(addrs.size() + 4 * host.v4.size() + 16 * host.v6.size());
  out.append(addrs, 0, 4 * size_t{v4});
  size_t n4 = v4;
  for (const Ipv4& a : host.v4) {
    const std::string_view rd(reinterpret_cast<const char*>(a.data()), a.size());
    bool seen = false;
    for (size_t i = 0; i < n4 && !seen; ++i) seen = std::string_view(out).substr(4 * i, 4) == rd;
    if (!seen) {
      out.append(rd);
      ++n4;
    }
  }
  const size_t v6_start = out.size();
  out.append(addrs, 4 * size_t{v4}, std::string::npos);
  size_t n6 = v6;
  for (const Ipv6& a : host.v6) {
    const std::string_view rd(reinterpret_cast<const char*>(a.data()), a.size());
    bool seen = false;
    for (size_t i = 0; i < n6 && !seen; ++i)
      seen = std::string_view(out).substr(v6_start + 16 * i, 16) == rd;
    if (!seen) {
      out.append(rd);
      ++n6;
    }
  }
  // Each RR count goes into a 16-bit ANCOUNT; an RRset that large could never be sent anyway.
  if (n4 > 0xFFFF || n6 > 0xFFFF) return name_error("host", host.name, "has too many addresses");
  addrs = std::move(out);
  v4 = static_cast<uint16_t>(n4);
  v6 = static_cast<uint16_t>(n6);
  return Ok{};
}

}  // namespace

// Encodes one shard's names into an immutable Shard (friend of Shard).
class ShardEncoder {
 public:
  static constexpr size_t kHeadSize = RRsetRange::kHeadSize;
  // A name whose only RRset is one A record: written without the RRset's head (Node::kBareA).
  static bool bare_a(const Entry& e) noexcept { return e.v4 == 1 && e.v6 == 0 && !e.apex; }
  static std::shared_ptr<const Shard> encode(const NameTable& names,
                                             const std::vector<ZoneState>& zones, uint32_t serial) {
    auto shard = std::make_shared<Shard>();
    Shard& s = *shard;
    // An apex's SOA RR (it carries the serial), made before sizing the bytes exactly.
    std::vector<std::string> soa(zones.size());
    // A node holds its name up to its zone's apex (Node).
    const auto relative = [&](const Entry& e) {
      const std::string_view name = names.name(e);
      return name.substr(0, name.size() - zones[e.zone].info.apex_wire.size());
    };
    size_t byte_count = 0;
    for (const Entry& e : names.entries()) {
      byte_count += relative(e).size();
      if (bare_a(e)) {
        byte_count += 4;
        continue;
      }
      if (e.v4) byte_count += kHeadSize + 4 * size_t{e.v4};
      if (e.v6) byte_count += kHeadSize + 16 * size_t{e.v6};
      if (e.apex) {
        const ZoneState& z = zones[e.zone];
        put16(soa[e.zone], w::kQuestionPointer);
        soa[e.zone] += rr_tail(w::rrtype::SOA, z.soa.ttl, soa_rdata(z.soa_names, z.soa, serial));
        byte_count += 2 * (kHeadSize + 4) + soa[e.zone].size() + z.ns_rrset.size();
      }
    }
    s.nodes_.reserve(names.entries().size());
    s.bytes_.reserve(byte_count);

    auto put = [&](const void* data, size_t length) {
      const auto* b = static_cast<const uint8_t*>(data);
      s.bytes_.insert(s.bytes_.end(), b, b + length);
    };
    auto head = [&](Node& n, uint16_t type, uint16_t count) {
      uint8_t h[kHeadSize];
      w::store16(h, type);
      w::store16(h + 2, count);
      put(h, sizeof h);
      s.record_count_ += count;
      ++n.rrset_count;
    };
    // A non-address RRset: its head, its byte length, the RRs.
    auto whole_rrset = [&](Node& n, uint16_t type, uint16_t count, std::string_view rrs) {
      head(n, type, count);
      uint8_t length[4];
      w::store32(length, static_cast<uint32_t>(rrs.size()));
      put(length, sizeof length);
      put(rrs.data(), rrs.size());
    };

    std::vector<uint32_t> wildcards;
    for (const Entry& e : names.entries()) {
      const std::string_view name = relative(e);
      Node n;
      n.offset = static_cast<uint32_t>(s.bytes_.size());
      n.name_length = static_cast<uint8_t>(name.size());
      n.zone = e.zone;
      put(name.data(), name.size());
      // SOA first at the apex so a minimal ANY answer (RFC 8482 §4.2) picks it.
      if (e.apex) {
        const ZoneState& z = zones[e.zone];
        whole_rrset(n, w::rrtype::SOA, 1, soa[e.zone]);
        whole_rrset(n, w::rrtype::NS, z.ns_count, z.ns_rrset);
      }
      const std::string_view addrs = names.addrs(e);
      if (bare_a(e)) {
        n.flags |= Node::kBareA;
        n.rrset_count = 1;
        ++s.record_count_;
        put(addrs.data(), 4);
      } else if (e.v4) {
        head(n, w::rrtype::A, e.v4);
        put(addrs.data(), 4 * size_t{e.v4});
      }
      if (e.v6) {
        head(n, w::rrtype::AAAA, e.v6);
        put(addrs.data() + 4 * size_t{e.v4}, 16 * size_t{e.v6});
      }
      if (name.size() >= 2 && name[0] == 1 && name[1] == '*')
        wildcards.push_back(static_cast<uint32_t>(s.nodes_.size()));
      s.nodes_.push_back(n);
    }

    const size_t count = s.nodes_.size();
    const size_t slots = count + count / 3 + 1;  // a load of at most 3/4, one slot empty
    s.slots_.assign(slots, kNoNode);
    // The largest index, count - 1, is below 2^bits - 1: no slot reads as kNoNode.
    s.index_bits_ = std::max<uint32_t>(1, static_cast<uint32_t>(std::bit_width(count)));
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t hash = names.hash_of(names.entries()[i]);
      Shard::place(s.slots_.data(), slots, hash, i, s.index_bits_);
    }
    // A wildcard shares its parent's shard (Snapshot::shard_hash), so the parent is here if it
    // is a node at all; the table's entries are the nodes, in order.
    for (const uint32_t i : wildcards) {
      const std::string_view parent = names.name(names.entries()[i]).substr(2);
      const Entry* found =
          names.find(parent, low_half(Snapshot::hash_name(bytes(parent), parent.size())));
      if (found == nullptr) continue;
      const auto p = static_cast<uint32_t>(found - names.entries().data());
      s.nodes_[p].flags |= Node::kWildcardChild;
      s.wildcards_.emplace_back(p, i);
    }
    std::sort(s.wildcards_.begin(), s.wildcards_.end());
    return shard;
  }
};

struct ZoneBuilder::State {
  uint32_t ttl = 30;
  uint16_t edns_udp_size = 1232;
  std::vector<ZoneState> zones;
  std::string chaos_version_rr;  // Snapshot::chaos_txt's answers; "" when switched off
  std::string chaos_hostname_rr;
  // The served names are the shards' own: a shard is decoded into a table when a change first
  // touches it, and the table lives only until build() has encoded it again. Keeping every
  // name and address a second time here cost about 70 bytes a name (70 MB at 1M).
  std::vector<std::shared_ptr<const Shard>> shards =
      std::vector<std::shared_ptr<const Shard>>(kShards, std::make_shared<Shard>());
  std::vector<std::unique_ptr<NameTable>> open = std::vector<std::unique_ptr<NameTable>>(kShards);
  std::vector<uint32_t> open_list;
  std::vector<uint8_t> dirty = std::vector<uint8_t>(kShards, 0);
  std::vector<uint32_t> dirty_list;
  std::shared_ptr<const Shard> empty = shards[0];
  // For each name with hosts strictly below it inside its zone, how many: the count that makes
  // it an empty non-terminal. Only ancestors of hosts (the namespaces of svc.ns.global, say),
  // so few, and not in the shards, which do not say why a name is a node.
  boost::unordered_flat_map<std::string, uint32_t, NameHash, NameEqual> below;
  size_t hosts = 0;
  size_t node_count = 0;
  size_t record_count = 0;
  bool built = false;
  uint32_t last_serial = 0;

  // `hash` is hash_name(wire); only a name starting with a "*" label hashes again.
  static size_t shard_of(std::string_view wire, uint64_t hash) {
    if (wire.size() > 2 && wire[0] == 1 && wire[1] == '*')
      hash = Snapshot::shard_hash(bytes(wire), wire.size());
    return static_cast<size_t>(hash >> (64 - kShardBits));
  }
  void mark(size_t shard) {
    if (dirty[shard]) return;
    dirty[shard] = 1;
    dirty_list.push_back(static_cast<uint32_t>(shard));
  }
  NameTable& table(size_t shard) {
    if (!open[shard]) {
      open[shard] = decode_shard(*shards[shard], zones);
      open_list.push_back(static_cast<uint32_t>(shard));
    }
    return *open[shard];
  }
  bool has_below(std::string_view wire) const { return below.find(wire) != below.end(); }

  // Room in the tables of shards [first, last) for their part of about `hosts` names, so a
  // first load does not rehash as it grows. Hosts spread over the shards at random, so a shard's
  // count is about Poisson: room for the mean and two standard deviations, and a few empty
  // non-terminals; the few shards with more grow. Slots for the mean only (and about one empty
  // non-terminal in 64 names): sized for the rare fuller shard they would cost a third more in
  // nearly every shard. Until its shard is encoded a table holds about 45 bytes a name: at 1M
  // names the earlier room (a quarter more entries, slots for them) was about 10 MB of the
  // start's peak.
  void reserve_shards(size_t hosts, size_t first, size_t last) {
    const size_t mean = hosts / kShards;
    const size_t per_shard =
        mean + 2 * static_cast<size_t>(std::sqrt(static_cast<double>(mean))) + 8;
    // A host's bytes: about 25 of wire name ("svc<i>.ns<j>.global" at 1M) and one IPv4 address.
    const size_t bytes_per_shard = (mean + 4) * 29;
    for (size_t i = first; i < last; ++i)
      table(i).reserve(per_shard, bytes_per_shard, mean + mean / 64 + 4);
  }

  // The longest zone whose apex is a label-aligned suffix of `name`, or -1.
  int zone_of(std::string_view name) const {
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < zones.size(); ++i) {
      const std::string& apex = zones[i].info.apex_wire;
      if (apex.size() > name.size() || (best >= 0 && apex.size() <= best_len)) continue;
      const size_t cut = name.size() - apex.size();
      if (name.substr(cut) != apex) continue;
      size_t pos = 0;
      while (pos < cut) pos += 1 + static_cast<uint8_t>(name[pos]);
      if (pos != cut) continue;
      best = static_cast<int>(i);
      best_len = apex.size();
    }
    return best;
  }

  // A host appeared (+1) or went (-1): its ancestors strictly between it and its zone's apex
  // count it; one whose count leaves or reaches zero (and has no other reason to be a node)
  // appears or disappears as an empty non-terminal, which dirties its shard. A wildcard's
  // parent shares the wildcard's shard, so its wildcard link is rebuilt along with it.
  void count_below(std::string_view wire, uint8_t zone, int delta) {
    const size_t apex_labels = label_count(zones[zone].info.apex_wire);
    std::string_view up = wire;
    for (size_t n = label_count(wire); n > apex_labels + 1; --n) {
      up = up.substr(1 + static_cast<uint8_t>(up[0]));
      // Only a count leaving or reaching zero can change the nodes: the shard stays closed
      // otherwise, which is every host but the first of a namespace.
      if (delta > 0) {
        if (auto it = below.find(up); it != below.end()) {
          ++it->second;
          continue;
        }
        below.emplace(std::string(up), 1);
      } else {
        auto it = below.find(up);
        if (it == below.end() || --it->second > 0) continue;
        below.erase(it);
      }
      const uint64_t hash = Snapshot::hash_name(bytes(up), up.size());
      const size_t sh = shard_of(up, hash);
      NameTable& names = table(sh);
      Entry* e = names.find(up, low_half(hash));
      if (delta > 0 && !e) {
        names.insert(up, low_half(hash)).zone = zone;
        mark(sh);
      } else if (delta < 0 && e && !e->host() && !e->apex) {
        names.erase(e);
        mark(sh);
      }
    }
  }

  Result<Ok> put(const HostRecords& host, bool merge) {
    auto wire = w::text_to_wire(host.name);
    if (!wire) return name_error("host", host.name, "is not a valid domain name");
    return put_wire(host, *wire, Snapshot::hash_name(bytes(*wire), wire->size()), merge);
  }

  // put() of `host`, whose name is `wire` in wire form, hash_name(wire) `hash`.
  Result<Ok> put_wire(const HostRecords& host, const std::string& wire, uint64_t hash, bool merge) {
    const int zone = zone_of(wire);
    if (zone < 0) return name_error("host", host.name, "is outside every zone");
    if (host.v4.empty() && host.v6.empty()) {
      if (!merge) remove_wire(wire);
      return Ok{};
    }
    const size_t sh = shard_of(wire, hash);
    NameTable& names = table(sh);
    Entry* e = names.find(wire, low_half(hash));
    std::string addrs;
    uint16_t v4 = 0;
    uint16_t v6 = 0;
    if (merge && e) {
      addrs = names.addrs(*e);
      v4 = e->v4;
      v6 = e->v6;
    }
    if (auto merged = merge_addresses(host, addrs, v4, v6); !merged) return merged;
    if (e && e->host() && e->v4 == v4 && e->v6 == v6 && names.addrs(*e) == addrs) return Ok{};
    const bool was_host = e && e->host();
    if (e) {
      names.set_addrs(*e, addrs, v4, v6);
    } else {
      e = &names.insert(wire, low_half(hash), addrs, v4, v6);
      e->zone = static_cast<uint8_t>(zone);
    }
    mark(sh);
    if (!was_host) {
      ++hosts;
      // `wire`, not the entry's bytes: count_below may insert into this table and move them.
      count_below(wire, static_cast<uint8_t>(zone), +1);
    }
    return Ok{};
  }

  // Encodes every shard changed since the last encode into `shards` (its SOA, at an apex, with
  // `serial`), and frees every open table.
  void encode_changed(uint32_t serial) {
    for (const uint32_t i : dirty_list) {
      const NameTable& names = table(i);
      std::shared_ptr<const Shard> fresh =
          names.empty() ? empty : ShardEncoder::encode(names, zones, serial);
      // Freed shard by shard: on a first load the tables' memory goes to the shards being
      // encoded rather than adding to the peak.
      open[i].reset();
      node_count += fresh->node_count();
      node_count -= shards[i]->node_count();
      record_count += fresh->record_count();
      record_count -= shards[i]->record_count();
      shards[i] = std::move(fresh);
      dirty[i] = 0;
    }
    dirty_list.clear();
    for (const uint32_t i : open_list) open[i].reset();  // opened, but nothing changed
    open_list.clear();
  }

  void remove_wire(std::string_view wire) {
    const uint64_t hash = Snapshot::hash_name(bytes(wire), wire.size());
    const size_t sh = shard_of(wire, hash);
    NameTable& names = table(sh);
    Entry* e = names.find(wire, low_half(hash));
    if (!e || !e->host()) return;
    const uint8_t zone = e->zone;
    names.set_addrs(*e, {}, 0, 0);
    --hosts;
    mark(sh);
    if (!e->apex && !has_below(wire)) names.erase(e);
    count_below(wire, zone, -1);
  }
};

ZoneBuilder::ZoneBuilder() : state_(std::make_unique<State>()) {}
ZoneBuilder::~ZoneBuilder() = default;

Result<std::unique_ptr<ZoneBuilder>> ZoneBuilder::create(const ZoneData& settings) {
  std::unique_ptr<ZoneBuilder> builder(new ZoneBuilder());
  State& s = *builder->state_;
  s.ttl = settings.ttl;
  s.edns_udp_size = std::max<uint16_t>(settings.edns_udp_size, w::kUdpClassicLimit);
  if (settings.zones.size() > 255) return Error{"more than 255 zones"};
  auto version = chaos_rr("version", settings.chaos.version);
  if (!version) return Error{version.error()};
  auto hostname = chaos_rr("hostname", settings.chaos.hostname);
  if (!hostname) return Error{hostname.error()};
  s.chaos_version_rr = std::move(*version);
  s.chaos_hostname_rr = std::move(*hostname);
  for (const ZoneSpec& z : settings.zones) {
    auto apex = w::text_to_wire(z.apex);
    if (!apex) return name_error("zone", z.apex, "is not a valid domain name");
    for (const ZoneState& other : s.zones)
      if (other.info.apex_wire == *apex) return name_error("zone", z.apex, "is listed twice");
    auto mname = w::text_to_wire(z.soa.mname);
    auto rname = w::text_to_wire(z.soa.rname);
    if (!mname) return name_error("SOA mname", z.soa.mname, "is not a valid domain name");
    if (!rname) return name_error("SOA rname", z.soa.rname, "is not a valid domain name");
    ZoneState zs;
    zs.info.apex_wire = *apex;
    zs.info.apex_text = w::wire_to_text(std::span(bytes(*apex), apex->size()));
    zs.soa_names = *mname + *rname;
    zs.soa = z.soa;
    const std::vector<std::string> ns =
        z.nameservers.empty() ? std::vector{z.soa.mname} : z.nameservers;
    for (const std::string& target : ns) {
      auto t = w::text_to_wire(target);
      if (!t) return name_error("nameserver", target, "is not a valid domain name");
      put16(zs.ns_rrset, w::kQuestionPointer);
      zs.ns_rrset += rr_tail(w::rrtype::NS, z.soa.ttl, *t);
      ++zs.ns_count;
    }
    s.zones.push_back(std::move(zs));
  }
  for (size_t z = 0; z < s.zones.size(); ++z) {
    const std::string& apex = s.zones[z].info.apex_wire;
    const uint64_t hash = Snapshot::hash_name(bytes(apex), apex.size());
    const size_t sh = State::shard_of(apex, hash);
    Entry& e = s.table(sh).insert(apex, low_half(hash));  // apexes are distinct, checked above
    e.zone = static_cast<uint8_t>(z);
    e.apex = true;
    s.mark(sh);
  }
  return builder;
}

Result<Ok> ZoneBuilder::upsert(const HostRecords& host) {
  return state_->put(host, false);
}

Result<Ok> ZoneBuilder::add(const HostRecords& host) {
  return state_->put(host, true);
}

void ZoneBuilder::reserve(size_t hosts) {
  state_->reserve_shards(hosts, 0, kShards);
}

Result<Ok> ZoneBuilder::load(const HostWalk& walk, size_t hosts) {
  State& s = *state_;
  // A second walk of 1M hosts costs about a tenth of a second; below this many, the tables'
  // few MB are not worth it.
  constexpr size_t kTwoWalksFrom = 32768;
  const size_t walks = hosts >= kTwoWalksFrom ? 2 : 1;
  for (size_t k = 0; k < walks; ++k) {
    const size_t first = kShards * k / walks;
    const size_t last = kShards * (k + 1) / walks;
    s.reserve_shards(hosts, first, last);
    Result<Ok> result = Ok{};
    walk([&](const HostRecords& host) {
      if (!result) return;
      auto wire = w::text_to_wire(host.name);
      if (!wire) {
        result = name_error("host", host.name, "is not a valid domain name");
        return;
      }
      const uint64_t hash = Snapshot::hash_name(bytes(*wire), wire->size());
      const size_t sh = State::shard_of(*wire, hash);
      if (sh < first || sh >= last) return;
      result = s.put_wire(host, *wire, hash, false);
    });
    if (!result) return result;
    // The apexes' shards are encoded again by build(), with its serial.
    s.encode_changed(s.last_serial);
  }
  return Ok{};
}

void ZoneBuilder::remove(std::string_view name) {
  if (auto wire = w::text_to_wire(name)) state_->remove_wire(*wire);
}

std::shared_ptr<const Snapshot> ZoneBuilder::build(uint32_t serial) {
  State& s = *state_;
  // The SOA at each apex carries the serial.
  if (!s.built || serial != s.last_serial)
    for (const ZoneState& z : s.zones) {
      const std::string& apex = z.info.apex_wire;
      s.mark(State::shard_of(apex, Snapshot::hash_name(bytes(apex), apex.size())));
    }
  s.built = true;
  s.last_serial = serial;
  s.encode_changed(serial);

  auto snap = std::make_shared<Snapshot>();
  snap->serial_ = serial;
  snap->address_ttl_ = s.ttl;
  snap->edns_udp_size_ = s.edns_udp_size;
  snap->chaos_version_rr_ = s.chaos_version_rr;
  snap->chaos_hostname_rr_ = s.chaos_hostname_rr;
  snap->shards_ = s.shards;
  snap->index_shards();
  snap->node_count_ = s.node_count;
  snap->record_count_ = s.record_count;
  snap->zones_.reserve(s.zones.size());
  for (const ZoneState& z : s.zones) {
    ZoneInfo info = z.info;
    info.negative_soa = rr_tail(w::rrtype::SOA, std::min(z.soa.ttl, z.soa.minimum),
                                soa_rdata(z.soa_names, z.soa, serial));
    snap->zones_.push_back(std::move(info));
  }
  return snap;
}

size_t ZoneBuilder::host_count() const noexcept {
  return state_->hosts;
}

}  // namespace globaldns::resolver
