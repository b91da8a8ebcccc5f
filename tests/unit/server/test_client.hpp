// Test client helpers: hand-built DNS queries, a minimal response reader, and loopback sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/server/unique_fd.hpp"
#include "resolver/snapshot_builder.hpp"
#include "resolver/zone_data.hpp"

namespace globaldns::dns::test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Every wait in these tests is bounded by this; none asserts on speed.
constexpr auto kPatience = 10s;

inline constexpr std::string_view kHost = "httpbin.istio-testing.global";
inline constexpr uint16_t kTypeA = 1;

inline std::shared_ptr<const resolver::Snapshot> make_snapshot(resolver::Ipv4 address) {
  resolver::ZoneData data;
  resolver::ZoneSpec zone;
  zone.apex = "global.";
  data.zones.push_back(zone);
  data.hosts.push_back(resolver::HostRecords{std::string(kHost), {address}, {}});
  auto built = resolver::build_snapshot(data);
  if (!built) return nullptr;
  return std::move(built).value();
}

// RFC 1035 §4.1: header (RD clear, one question) then QNAME, QTYPE, QCLASS IN.
inline std::vector<uint8_t> make_query(uint16_t id, std::string_view name = kHost,
                                       uint16_t qtype = kTypeA) {
  std::vector<uint8_t> q = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype), 0, 1});
  return q;
}

// Two-byte length prefix (RFC 1035 §4.2.2).
inline std::vector<uint8_t> frame(const std::vector<uint8_t>& message) {
  std::vector<uint8_t> out(2 + message.size());
  out[0] = static_cast<uint8_t>(message.size() >> 8);
  out[1] = static_cast<uint8_t>(message.size());
  std::copy(message.begin(), message.end(), out.begin() + 2);
  return out;
}

struct Response {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t ancount = 0;
  std::optional<std::array<uint8_t, 4>> first_a;

  bool qr() const { return (flags & 0x8000) != 0; }
  bool aa() const { return (flags & 0x0400) != 0; }
  unsigned rcode() const { return flags & 0x000F; }
};

// Reads just what the tests check; returns nullopt on anything malformed.
inline std::optional<Response> parse_response(const std::vector<uint8_t>& m) {
  if (m.size() < 12) return std::nullopt;
  const auto u16 = [&](size_t at) { return static_cast<uint16_t>((m[at] << 8) | m[at + 1]); };
  Response r;
  r.id = u16(0);
  r.flags = u16(2);
  const uint16_t qdcount = u16(4);
  r.ancount = u16(6);
  size_t at = 12;
  const auto skip_name = [&]() -> bool {
    while (at < m.size()) {
      const uint8_t length = m[at];
      if ((length & 0xC0) == 0xC0) {
        at += 2;
        return at <= m.size();
      }
      at += 1 + length;
      if (length == 0) return at <= m.size();
    }
    return false;
  };
  for (uint16_t i = 0; i < qdcount; ++i) {
    if (!skip_name()) return std::nullopt;
    at += 4;
  }
  for (uint16_t i = 0; i < r.ancount; ++i) {
    if (!skip_name() || at + 10 > m.size()) return std::nullopt;
    const uint16_t type = u16(at);
    const uint16_t rdlength = u16(at + 8);
    at += 10;
    if (at + rdlength > m.size()) return std::nullopt;
    if (type == kTypeA && rdlength == 4 && !r.first_a) {
      r.first_a = std::array<uint8_t, 4>{m[at], m[at + 1], m[at + 2], m[at + 3]};
    }
    at += rdlength;
  }
  return r;
}

inline sockaddr_storage make_address(const std::string& host, uint16_t port, socklen_t& size) {
  sockaddr_storage storage{};
  if (host.find(':') == std::string::npos) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr);
    size = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr);
    size = sizeof(sockaddr_in6);
  }
  return storage;
}

inline int family_of(const std::string& host) {
  return host.find(':') == std::string::npos ? AF_INET : AF_INET6;
}

// Whether `host` can be bound here (no IPv6 in some containers, no 127.0.0.2 in others).
inline bool can_bind(const std::string& host) {
  UniqueFd fd(::socket(family_of(host), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  socklen_t size = 0;
  const sockaddr_storage address = make_address(host, 0, size);
  return ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), size) == 0;
}

inline int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

inline bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

inline UniqueFd udp_socket(const std::string& host) {
  return UniqueFd(::socket(family_of(host), SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

inline bool udp_send(int fd, const std::string& host, uint16_t port,
                     const std::vector<uint8_t>& message) {
  socklen_t size = 0;
  const sockaddr_storage to = make_address(host, port, size);
  return ::sendto(fd, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                  size) == static_cast<ssize_t>(message.size());
}

// Receives one datagram before `deadline`; `from` (if given) gets the sender's address.
inline std::optional<std::vector<uint8_t>> udp_receive(int fd, Clock::time_point deadline,
                                                       sockaddr_storage* from = nullptr) {
  if (!wait_for(fd, POLLIN, deadline)) return std::nullopt;
  std::vector<uint8_t> buffer(65536);
  sockaddr_storage sender{};
  socklen_t size = sizeof(sender);
  const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&sender), &size);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<size_t>(n));
  if (from != nullptr) *from = sender;
  return buffer;
}

// One query, one answer; resent a few times since UDP may lose a datagram.
inline std::optional<Response> udp_ask(const std::string& host, uint16_t port, uint16_t id) {
  UniqueFd fd = udp_socket(host);
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!udp_send(fd.get(), host, port, make_query(id))) return std::nullopt;
    const auto deadline = Clock::now() + 2s;
    while (auto reply = udp_receive(fd.get(), deadline)) {
      auto parsed = parse_response(*reply);
      if (parsed && parsed->id == id) return parsed;
    }
  }
  return std::nullopt;
}

inline UniqueFd tcp_connect(const std::string& host, uint16_t port, int receive_buffer = 0) {
  UniqueFd fd(::socket(family_of(host), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  if (receive_buffer > 0) {
    // Before connect(), so the window advertised in the handshake is small too.
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  socklen_t size = 0;
  const sockaddr_storage to = make_address(host, port, size);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), size) != 0) return UniqueFd();
  return fd;
}

inline bool send_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `n` bytes before `deadline`.
inline bool read_exact(int fd, uint8_t* out, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    if (!wait_for(fd, POLLIN, deadline)) return false;
    const ssize_t r = ::recv(fd, out + got, n - got, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

inline std::optional<std::vector<uint8_t>> read_frame(int fd, Clock::time_point deadline) {
  uint8_t prefix[2];
  if (!read_exact(fd, prefix, 2, deadline)) return std::nullopt;
  std::vector<uint8_t> message((size_t{prefix[0]} << 8) | prefix[1]);
  if (!read_exact(fd, message.data(), message.size(), deadline)) return std::nullopt;
  return message;
}

// True once the server has closed the connection (EOF or reset), false if still open at
// `deadline`. Data that arrives first is read and discarded.
inline bool wait_closed(int fd, Clock::time_point deadline) {
  uint8_t sink[4096];
  for (;;) {
    if (!wait_for(fd, POLLIN | POLLRDHUP, deadline)) return false;
    const ssize_t r = ::recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (r == 0) return true;
    if (r < 0 && errno != EAGAIN && errno != EINTR) return true;  // ECONNRESET
  }
}

}  // namespace globaldns::dns::test
