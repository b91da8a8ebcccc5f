// SocketAddress: a parsed listen address (IPv4 or IPv6) as the kernel wants it, and its text form.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "dns/server/server.hpp"
#include "resolver/result.hpp"

namespace globaldns::dns {

class SocketAddress {
 public:
  // Accepts numeric hosts only ("127.0.0.1", "::1", "[::1]", "fe80::1%eth0", "0.0.0.0", "::"):
  // a DNS server must not depend on DNS to find its own listen address.
  static Result<SocketAddress> parse(const ListenAddress& address);
  // Reads the address a socket is bound to (to learn the port the kernel chose for port 0).
  static Result<SocketAddress> bound_to(int fd);

  int family() const noexcept { return storage_.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return size_; }
  uint16_t port() const noexcept;
  void set_port(uint16_t port) noexcept;
  // 0.0.0.0 or ::, where replies need IP_PKTINFO to leave from the address the query came to.
  bool is_wildcard() const noexcept;

  std::string host() const;       // "127.0.0.1", "::1"
  std::string to_string() const;  // "127.0.0.1:53", "[::1]:53"

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

}  // namespace globaldns::dns
