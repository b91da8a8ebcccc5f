// ZoneData: the plain-value input to the snapshot builder (names and addresses, no wire format).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace globaldns::resolver {

struct SoaParams {
  std::string mname = "globaldns.istio-system.svc.cluster.local.";
  std::string rname = "hostmaster.globaldns.istio-system.svc.cluster.local.";
  uint32_t ttl = 30;  // TTL of the SOA record itself
  uint32_t refresh = 60;
  uint32_t retry = 30;
  uint32_t expire = 86400;
  uint32_t minimum = 30;  // negative-caching TTL (RFC 2308 §4)
  bool operator==(const SoaParams&) const = default;
};

struct ZoneSpec {
  std::string apex;  // text form, e.g. "global." (trailing dot optional, any case)
  SoaParams soa;
  std::vector<std::string> nameservers;  // NS targets at the apex; empty means {soa.mname}
  bool operator==(const ZoneSpec&) const = default;
};

using Ipv4 = std::array<uint8_t, 4>;
using Ipv6 = std::array<uint8_t, 16>;

// One owner name and its addresses. `name` is text ("httpbin.istio-testing.global" or
// "*.wild.global"), any case, trailing dot optional; it must lie inside one of the zones.
struct HostRecords {
  std::string name;
  std::vector<Ipv4> v4;
  std::vector<Ipv6> v6;
  bool operator==(const HostRecords&) const = default;
};

// CHAOS-class TXT answers that name the server, a convention of BIND and NSD (RFC 4892 §2 for
// id.server). Each text is served as one character-string, so at most 255 bytes; "" switches
// the pair of names off (REFUSED, like any other CHAOS query).
struct ChaosTexts {
  std::string version;   // version.bind. and version.server.
  std::string hostname;  // hostname.bind. and id.server.
  bool operator==(const ChaosTexts&) const = default;
};

struct ZoneData {
  std::vector<ZoneSpec> zones;
  std::vector<HostRecords> hosts;
  uint32_t ttl = 30;              // TTL of A/AAAA answers
  uint32_t serial = 1;            // SOA serial, the same for every zone of one snapshot
  uint16_t edns_udp_size = 1232;  // our advertised and maximum UDP payload (RFC 6891 §6.2.5)
  ChaosTexts chaos;               // not zone data, but served from the same snapshot
  bool operator==(const ZoneData&) const = default;
};

}  // namespace globaldns::resolver
