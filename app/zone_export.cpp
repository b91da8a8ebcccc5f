// Zone export: wraps each RRset in a response-shaped message and lets ldns print it.
#include "app/zone_export.hpp"

#include <ldns/ldns.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "resolver/snapshot.hpp"

namespace globaldns::app {

namespace {

void export_node(const resolver::Snapshot& snap, const resolver::Node& node, std::string& out) {
  {
    const resolver::RRsetRef* sets = snap.rrsets(node);
    for (uint8_t s = 0; s < node.rrset_count; ++s) {
      // Header (QR, QDCOUNT 1, ANCOUNT n) + question = the owner, then the RRs, whose owners
      // are the pointer 0xC00C to that question name.
      std::vector<uint8_t> msg = {0,
                                  0,
                                  0x84,
                                  0,
                                  0,
                                  1,
                                  static_cast<uint8_t>(sets[s].count >> 8),
                                  static_cast<uint8_t>(sets[s].count),
                                  0,
                                  0,
                                  0,
                                  0};
      const uint8_t* name = snap.name_bytes(node);
      msg.insert(msg.end(), name, name + node.name_length);
      msg.insert(msg.end(), {static_cast<uint8_t>(sets[s].type >> 8),
                             static_cast<uint8_t>(sets[s].type), 0, 1});
      const uint8_t* rr = snap.rr_bytes(sets[s]);
      msg.insert(msg.end(), rr, rr + sets[s].length);
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
}

}  // namespace

std::string export_zone_text(const resolver::Snapshot& snap) {
  std::string out;
  // Each apex first, so the file reads like a zone file (SOA leading), then every other name.
  for (const resolver::ZoneInfo& z : snap.zones()) export_node(snap, snap.node(z.apex_node), out);
  for (uint32_t i = 0; i < snap.node_count(); ++i) {
    bool apex = false;
    for (const resolver::ZoneInfo& z : snap.zones()) apex = apex || z.apex_node == i;
    if (!apex) export_node(snap, snap.node(i), out);
  }
  return out;
}

}  // namespace globaldns::app
