// Zone export: wraps each RRset in a response-shaped message and lets ldns print it.
#include "app/zone_export.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resolver/snapshot.hpp"

namespace globaldns::app {

namespace {

void export_node(const resolver::Snapshot& snap, const resolver::Shard& shard,
                 const resolver::Node& node, std::string& out) {
  const std::string name = snap.name_of(shard, node);
  for (const resolver::RRsetRef& set : shard.rrsets(node)) {
    // Header (QR, QDCOUNT 1, ANCOUNT n) + question = the owner, then the RRs, whose owners
    // are the pointer 0xC00C to that question name.
    std::vector<uint8_t> msg = {
        0, 0, 0x84, 0, 0, 1, static_cast<uint8_t>(set.count >> 8), static_cast<uint8_t>(set.count),
        0, 0, 0,    0};
    msg.insert(msg.end(), name.begin(), name.end());
    msg.insert(msg.end(),
               {static_cast<uint8_t>(set.type >> 8), static_cast<uint8_t>(set.type), 0, 1});
    const size_t at = msg.size();
    msg.resize(at + set.wire_length());
    set.write(msg.data() + at, snap.address_ttl());
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, msg.data(), msg.size()) != LDNS_STATUS_OK) {
      out += "; cannot decode an RRset (a bug)\n";
      continue;
    }
    char* text = ldns_rr_list2str(ldns_pkt_answer(pkt));
    if (text) out += text;
    std::free(text);
    ldns_pkt_free(pkt);
  }
}

}  // namespace

std::string export_zone_text(const resolver::Snapshot& snap) {
  std::string out;
  // Each apex first, so the file reads like a zone file (SOA leading), then every other name
  // in wire-name order (the snapshot's shards hold them in no particular order).
  for (const resolver::ZoneInfo& z : snap.zones()) {
    const resolver::NodeRef apex =
        snap.find(reinterpret_cast<const uint8_t*>(z.apex_wire.data()), z.apex_wire.size());
    if (apex) export_node(snap, *apex.shard, *apex.node, out);
  }
  std::vector<std::pair<std::string, resolver::NodeRef>> others;
  others.reserve(snap.node_count());
  snap.for_each_node([&](const resolver::Shard& shard, const resolver::Node& node) {
    std::string name = snap.name_of(shard, node);
    bool apex = false;
    for (const resolver::ZoneInfo& z : snap.zones()) apex = apex || z.apex_wire == name;
    if (!apex) others.emplace_back(std::move(name), resolver::NodeRef{&shard, &node});
  });
  std::sort(others.begin(), others.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, ref] : others) export_node(snap, *ref.shard, *ref.node, out);
  return out;
}

}  // namespace globaldns::app
