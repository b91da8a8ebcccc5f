// Test support: the zone the resolver tests answer from.
#pragma once

#include <memory>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "resolver/zone_data.hpp"

namespace globaldns::resolver::testzone {

inline ZoneData data() {
  ZoneData d;
  ZoneSpec global;
  global.apex = "global.";
  global.soa.minimum = 20;  // below the SOA TTL, so the negative TTL must be 20
  global.soa.ttl = 60;
  d.zones.push_back(global);
  ZoneSpec mesh;
  mesh.apex = "mesh.example.";
  d.zones.push_back(mesh);
  d.hosts.push_back({"httpbin.istio-testing.global", {{240, 0, 0, 2}}, {}});
  d.hosts.push_back({"multi.istio-testing.global", {{240, 0, 0, 3}, {240, 0, 0, 4}}, {}});
  d.hosts.push_back({"dual.istio-testing.global",
                     {{240, 0, 0, 5}},
                     {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}}});
  d.hosts.push_back({"*.wild.global", {{240, 0, 0, 10}}, {}});
  d.hosts.push_back({"exact.wild.global", {{240, 0, 0, 11}}, {}});
  d.hosts.push_back({"deep.a.b.global", {{240, 0, 0, 12}}, {}});
  d.hosts.push_back({"svc.mesh.example", {{240, 0, 0, 20}}, {}});
  d.chaos.version = "globaldns 1.2.3";
  d.chaos.hostname = "node-7";
  return d;
}

}  // namespace globaldns::resolver::testzone
