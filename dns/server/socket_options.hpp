// Socket options for the listeners: each optional one that fails logs once and degrades.
#pragma once

#include <string>

namespace globaldns::dns {

class SocketAddress;

// Logs `message` as a warning the first time `key` is seen in this process, then stays quiet:
// N workers x M addresses must not repeat the same complaint (Knot, NSD habit).
void warn_once(const std::string& key, const std::string& message);

// SO_REUSEPORT: lets every worker own a socket on the same address, the kernel spreading
// queries and connections among them. False (and logged once) when the kernel refuses.
bool enable_reuseport(int fd);

// IPV6_V6ONLY on every IPv6 socket, so "::" and "0.0.0.0" can both be bound.
void set_v6only(int fd);

// UDP listener: receive buffer (SO_RCVBUF, then SO_RCVBUFFORCE if capped), no path-MTU
// discovery, and packet info when bound to a wildcard address.
void set_udp_options(int fd, const SocketAddress& address, int receive_buffer);

// TCP listener: SO_REUSEADDR so a restart does not wait out TIME_WAIT connections.
void set_tcp_listener_options(int fd);

// Accepted TCP connection: TCP_NODELAY, so a pipelined second answer is not held back by
// Nagle waiting for the client's delayed ACK of the first.
void set_tcp_connection_options(int fd) noexcept;

}  // namespace globaldns::dns
