// ListenSockets: binds the UDP and TCP sockets of every listen address before any worker starts.
#pragma once

#include <vector>

#include "dns/server/server.hpp"
#include "dns/server/unique_fd.hpp"
#include "resolver/result.hpp"

namespace globaldns::dns {

// The sockets of one listen address: element i of `udp` and `tcp` belongs to worker i. With
// SO_REUSEPORT each is its own socket on the same port; without it they are dup()s of one
// socket, which the workers then share (NSD's fallback).
struct ListenSockets {
  ListenAddress udp_bound;  // the port actually bound, when 0 was asked
  ListenAddress tcp_bound;
  int family = 0;
  bool wildcard = false;  // 0.0.0.0 or ::: replies need IP_PKTINFO / IPV6_PKTINFO
  std::vector<UniqueFd> udp;
  std::vector<UniqueFd> tcp;
};

// Binds everything, so that "port in use" is reported here, naming the address and the errno
// text ("cannot bind UDP 127.0.0.1:53: Address already in use"). Port 0 picks one ephemeral
// port shared by UDP and TCP and by every worker.
Result<std::vector<ListenSockets>> open_listen_sockets(const ServerOptions& options,
                                                       unsigned workers);

}  // namespace globaldns::dns
