// QueryOrigin: the listen address and family a socket's queries are counted under.
#pragma once

#include "metrics/query_counters.hpp"

namespace globaldns::dns {

// `server` indexes ServerOptions::listen (the `server` label of coredns_dns_*); the family is
// the socket's (the `family` label: 1 IPv4, 2 IPv6).
struct QueryOrigin {
  unsigned server = 0;
  metrics::Family family = metrics::Family::Ip4;
};

}  // namespace globaldns::dns
