// SocketAddress: parsing and printing listen addresses (control plane, may allocate).
#include "dns/server/socket_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace globaldns::dns {

Result<SocketAddress> SocketAddress::parse(const ListenAddress& address) {
  std::string host = address.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{"invalid listen address '" + address.host +
                 "': not a numeric IPv4 or IPv6 address (" + ::gai_strerror(rc) + ")"};
  }
  SocketAddress result;
  std::memcpy(&result.storage_, found->ai_addr, found->ai_addrlen);
  result.size_ = found->ai_addrlen;
  ::freeaddrinfo(found);
  return result;
}

Result<SocketAddress> SocketAddress::bound_to(int fd) {
  SocketAddress result;
  socklen_t size = sizeof(result.storage_);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&result.storage_), &size) != 0) {
    return Error{"getsockname: " + std::generic_category().message(errno)};
  }
  result.size_ = size;
  return result;
}

uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

void SocketAddress::set_port(uint16_t port) noexcept {
  if (family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

bool SocketAddress::is_wildcard() const noexcept {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  // getnameinfo keeps the "%eth0" scope of a link-local address; inet_ntop would drop it.
  if (::getnameinfo(get(), size_, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return text;
}

std::string SocketAddress::to_string() const {
  // Appended piecewise: g++ 12 -O2 flags `"[" + std::string` with a bogus -Wrestrict.
  std::string text;
  if (family() == AF_INET6) text += '[';
  text += host();
  if (family() == AF_INET6) text += ']';
  text += ':';
  text += std::to_string(port());
  return text;
}

}  // namespace globaldns::dns
