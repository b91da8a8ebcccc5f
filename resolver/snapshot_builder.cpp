// Snapshot building: names to nodes, empty non-terminals, wildcard links, RRsets as wire bytes.
#include "resolver/snapshot_builder.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "dns/wire/constants.hpp"
#include "dns/wire/name.hpp"
#include "resolver/snapshot.hpp"

namespace globaldns::resolver {

namespace w = dns::wire;

namespace {

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

std::string soa_rdata(const std::string& mname, const std::string& rname, const SoaParams& p,
                      uint32_t serial) {
  std::string rd = mname + rname;
  put32(rd, serial);
  put32(rd, p.refresh);
  put32(rd, p.retry);
  put32(rd, p.expire);
  put32(rd, p.minimum);
  return rd;
}

// Wire names sort so that the answer RRsets come out in a stable order.
struct PendingNode {
  std::map<uint16_t, std::string> rrsets;  // type -> concatenated RRs with 0xC00C owners
  std::map<uint16_t, uint16_t> counts;
  int zone = -1;
};

// Label boundaries of a lower-cased wire name.
size_t label_count(const std::string& wire) {
  size_t n = 0;
  for (size_t pos = 0; pos < wire.size() && wire[pos] != 0;
       pos += 1 + static_cast<uint8_t>(wire[pos]))
    ++n;
  return n;
}

std::string parent_of(const std::string& wire) {
  return wire.substr(1 + static_cast<uint8_t>(wire[0]));
}

}  // namespace

class SnapshotBuilder {
 public:
  static Result<std::shared_ptr<const Snapshot>> build(const ZoneData& data) {
    auto snap = std::make_shared<Snapshot>();
    snap->serial_ = data.serial;
    snap->edns_udp_size_ = std::max<uint16_t>(data.edns_udp_size, w::kUdpClassicLimit);

    std::map<std::string, PendingNode> pending;
    auto add_rr = [&](const std::string& owner, uint16_t type, uint32_t ttl, std::string_view rd) {
      PendingNode& n = pending[owner];
      std::string& bytes = n.rrsets[type];
      put16(bytes, w::kQuestionPointer);
      bytes += rr_tail(type, ttl, rd);
      ++n.counts[type];
    };

    if (data.zones.size() > 255) return Error{"more than 255 zones"};
    for (const ZoneSpec& z : data.zones) {
      auto apex = w::text_to_wire(z.apex);
      if (!apex) return Error{"zone \"" + z.apex + "\" is not a valid domain name"};
      for (const ZoneInfo& other : snap->zones_)
        if (other.apex_wire == *apex) return Error{"zone \"" + z.apex + "\" is listed twice"};
      auto mname = w::text_to_wire(z.soa.mname);
      auto rname = w::text_to_wire(z.soa.rname);
      if (!mname) return Error{"SOA mname \"" + z.soa.mname + "\" is not a valid domain name"};
      if (!rname) return Error{"SOA rname \"" + z.soa.rname + "\" is not a valid domain name"};
      ZoneInfo info;
      info.apex_wire = *apex;
      info.apex_text =
          w::wire_to_text(std::span(reinterpret_cast<const uint8_t*>(apex->data()), apex->size()));
      const std::string rd = soa_rdata(*mname, *rname, z.soa, data.serial);
      info.negative_soa = rr_tail(w::rrtype::SOA, std::min(z.soa.ttl, z.soa.minimum), rd);
      add_rr(*apex, w::rrtype::SOA, z.soa.ttl, rd);
      std::vector<std::string> ns =
          z.nameservers.empty() ? std::vector{z.soa.mname} : z.nameservers;
      for (const std::string& target : ns) {
        auto t = w::text_to_wire(target);
        if (!t) return Error{"nameserver \"" + target + "\" is not a valid domain name"};
        add_rr(*apex, w::rrtype::NS, z.soa.ttl, *t);
      }
      pending[*apex].zone = static_cast<int>(snap->zones_.size());
      snap->zones_.push_back(std::move(info));
    }

    for (const HostRecords& h : data.hosts) {
      auto name = w::text_to_wire(h.name);
      if (!name) return Error{"host \"" + h.name + "\" is not a valid domain name"};
      const int zone = zone_of(*snap, *name);
      if (zone < 0) return Error{"host \"" + h.name + "\" is outside every zone"};
      PendingNode& node = pending[*name];
      node.zone = zone;
      for (const Ipv4& a : h.v4) {
        std::string_view rd(reinterpret_cast<const char*>(a.data()), a.size());
        if (!contains_rdata(node, w::rrtype::A, rd)) add_rr(*name, w::rrtype::A, data.ttl, rd);
      }
      for (const Ipv6& a : h.v6) {
        std::string_view rd(reinterpret_cast<const char*>(a.data()), a.size());
        if (!contains_rdata(node, w::rrtype::AAAA, rd))
          add_rr(*name, w::rrtype::AAAA, data.ttl, rd);
      }
      // Empty non-terminals between the host and its apex exist as names (RFC 8020: they
      // must answer NODATA, not NXDOMAIN, or resolvers prune everything below them).
      const size_t apex_labels = label_count(snap->zones_[zone].apex_wire);
      std::string up = *name;
      for (size_t n = label_count(up); n > apex_labels + 1; --n) {
        up = parent_of(up);
        pending[up].zone = zone;
      }
    }

    return finish(std::move(snap), pending);
  }

 private:
  static bool contains_rdata(const PendingNode& node, uint16_t type, std::string_view rd) {
    auto it = node.rrsets.find(type);
    if (it == node.rrsets.end()) return false;
    const size_t rr_size = 2 + 10 + rd.size();
    for (size_t off = 0; off + rr_size <= it->second.size(); off += rr_size)
      if (std::string_view(it->second).substr(off + 12, rd.size()) == rd) return true;
    return false;
  }

  static int zone_of(const Snapshot& snap, const std::string& name) {
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < snap.zones_.size(); ++i) {
      const std::string& apex = snap.zones_[i].apex_wire;
      if (apex.size() > name.size()) continue;
      const size_t cut = name.size() - apex.size();
      if (name.compare(cut, std::string::npos, apex) != 0) continue;
      // The suffix must start on a label boundary.
      size_t pos = 0;
      while (pos < cut) pos += 1 + static_cast<uint8_t>(name[pos]);
      if (pos != cut) continue;
      if (best < 0 || apex.size() > best_len) {
        best = static_cast<int>(i);
        best_len = apex.size();
      }
    }
    return best;
  }

  static Result<std::shared_ptr<const Snapshot>> finish(
      std::shared_ptr<Snapshot> snap, std::map<std::string, PendingNode>& pending) {
    if (pending.size() >= kNoNode) return Error{"too many names"};
    snap->nodes_.reserve(pending.size());
    std::map<std::string, uint32_t> index;
    for (auto& [wire, p] : pending) {
      Node n;
      n.name_offset = static_cast<uint32_t>(snap->names_.size());
      n.name_length = static_cast<uint8_t>(wire.size());
      n.zone = static_cast<uint8_t>(p.zone);
      n.hash = Snapshot::hash_name(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
      n.rrset_first = static_cast<uint32_t>(snap->rrsets_.size());
      snap->names_.insert(snap->names_.end(), wire.begin(), wire.end());
      // SOA first at the apex so a minimal ANY answer (RFC 8482 §4.2) picks it.
      auto emit = [&](uint16_t type) {
        auto it = p.rrsets.find(type);
        if (it == p.rrsets.end()) return;
        RRsetRef r;
        r.type = type;
        r.count = p.counts[type];
        r.offset = static_cast<uint32_t>(snap->rr_bytes_.size());
        r.length = static_cast<uint32_t>(it->second.size());
        snap->rr_bytes_.insert(snap->rr_bytes_.end(), it->second.begin(), it->second.end());
        snap->rrsets_.push_back(r);
        snap->record_count_ += r.count;
        ++n.rrset_count;
      };
      emit(w::rrtype::SOA);
      emit(w::rrtype::NS);
      emit(w::rrtype::A);
      emit(w::rrtype::AAAA);
      index.emplace(wire, static_cast<uint32_t>(snap->nodes_.size()));
      snap->nodes_.push_back(n);
    }
    for (const auto& [wire, i] : index) {
      if (wire.size() > 2 && wire[0] == 1 && wire[1] == '*') {
        auto parent = index.find(parent_of(wire));
        if (parent != index.end()) snap->nodes_[parent->second].wildcard_child = i;
      }
    }
    for (ZoneInfo& z : snap->zones_) z.apex_node = index.at(z.apex_wire);

    const size_t slots = std::bit_ceil(std::max<size_t>(16, snap->nodes_.size() * 2));
    snap->slots_.assign(slots, kNoNode);
    snap->slot_mask_ = slots - 1;
    for (uint32_t i = 0; i < snap->nodes_.size(); ++i) {
      uint64_t s = snap->nodes_[i].hash & snap->slot_mask_;
      while (snap->slots_[s] != kNoNode) s = (s + 1) & snap->slot_mask_;
      snap->slots_[s] = i;
    }
    return std::shared_ptr<const Snapshot>(std::move(snap));
  }
};

Result<std::shared_ptr<const Snapshot>> build_snapshot(const ZoneData& data) {
  return SnapshotBuilder::build(data);
}

}  // namespace globaldns::resolver
