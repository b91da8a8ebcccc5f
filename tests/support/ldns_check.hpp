// Test support: build queries and decode responses with ldns, an implementation independent of
// ours.
#pragma once

#include <ldns/ldns.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace globaldns::testing {

struct LdnsPktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using LdnsPkt = std::unique_ptr<ldns_pkt, LdnsPktDeleter>;

struct QueryOptions {
  uint16_t id = 0x1234;
  bool rd = true;
  bool edns = false;
  uint16_t edns_udp = 1232;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  uint16_t qclass = LDNS_RR_CLASS_IN;
};

// A query built by ldns, as wire bytes. The name keeps the case given (0x20 tests).
inline std::vector<uint8_t> make_query(const std::string& name, uint16_t qtype,
                                       const QueryOptions& o = {}) {
  ldns_rdf* dname = ldns_dname_new_frm_str(name.c_str());
  if (!dname) return {};
  ldns_pkt* pkt = ldns_pkt_query_new(dname, static_cast<ldns_rr_type>(qtype),
                                     static_cast<ldns_rr_class>(o.qclass), o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(pkt, o.id);
  if (o.edns) {
    ldns_pkt_set_edns_udp_size(pkt, o.edns_udp);
    ldns_pkt_set_edns_version(pkt, o.edns_version);
    if (o.dnssec_ok) ldns_pkt_set_edns_do(pkt, true);
  }
  uint8_t* wire = nullptr;
  size_t len = 0;
  std::vector<uint8_t> out;
  if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK) out.assign(wire, wire + len);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}

inline LdnsPkt decode(const uint8_t* data, size_t len) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, data, len) != LDNS_STATUS_OK) return nullptr;
  return LdnsPkt(pkt);
}

inline std::string rr_string(const ldns_rr* rr) {
  char* s = ldns_rr2str(rr);
  std::string out = s ? s : "";
  free(s);
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}

// Each RR of a section as ldns prints it ("name.\tttl\tIN\tA\t240.0.0.2").
inline std::vector<std::string> section(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i)
    out.push_back(rr_string(ldns_rr_list_rr(list, i)));
  return out;
}

}  // namespace globaldns::testing
