// Socket options for the listeners (control plane: runs once per socket, logs at most once each).
#include "dns/server/socket_options.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <system_error>

#include <spdlog/spdlog.h>

#include "dns/server/socket_address.hpp"

namespace globaldns::dns {
namespace {

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

// Sets an int option; on failure warns once under `name` and returns false.
bool set_int_option(int fd, int level, int option, int value, const char* name) {
  if (::setsockopt(fd, level, option, &value, sizeof(value)) == 0) return true;
  warn_once(name, std::string("cannot set ") + name + ": " + errno_text(errno) +
                      "; continuing without it");
  return false;
}

void set_receive_buffer(int fd, int wanted) {
  if (wanted <= 0) return;  // keep the kernel default
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof(wanted));
  int got = 0;
  socklen_t size = sizeof(got);
  // Linux reports twice the size asked (bookkeeping overhead), capped by net.core.rmem_max.
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &size) == 0 && got / 2 >= wanted) return;
  // SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN; usually absent in a pod.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof(wanted)) == 0) return;
  warn_once("SO_RCVBUF", "UDP receive buffer is " + std::to_string(got / 2) + " bytes, not the " +
                             std::to_string(wanted) +
                             " asked for; raise net.core.rmem_max to absorb bursts");
}

}  // namespace

void warn_once(const std::string& key, const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> seen;
  {
    const std::lock_guard lock(mutex);
    if (!seen.insert(key).second) return;
  }
  spdlog::warn("{}", message);
}

bool enable_reuseport(int fd) {
  return set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
}

void set_v6only(int fd) {
  (void)set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
}

void set_udp_options(int fd, const SocketAddress& address, int receive_buffer) {
  set_receive_buffer(fd, receive_buffer);
  if (address.family() == AF_INET) {
    // Never shrink answers for a forged ICMP "fragmentation needed": the kernel would then
    // fragment them, which is what cache-poisoning by fragments relies on (Knot does the same).
    (void)set_int_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT, "IP_MTU_DISCOVER");
    if (address.is_wildcard()) {
      (void)set_int_option(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    }
  } else {
    set_v6only(fd);
    (void)set_int_option(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_OMIT,
                         "IPV6_MTU_DISCOVER");
    if (address.is_wildcard()) {
      (void)set_int_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    }
  }
}

void set_tcp_listener_options(int fd) {
  (void)set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
}

void set_tcp_connection_options(int fd) noexcept {
  const int one = 1;
  // Best effort and silent: this runs per connection, and Nagle only costs latency.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace globaldns::dns
