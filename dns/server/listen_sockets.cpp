// ListenSockets: socket(), options, bind() and listen() for every address (control plane).
#include "dns/server/listen_sockets.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <set>
#include <string>
#include <system_error>

#include "dns/server/socket_address.hpp"
#include "dns/server/socket_options.hpp"

namespace globaldns::dns {
namespace {

enum class Protocol { Udp, Tcp };

// Generous: the kernel caps it at net.core.somaxconn anyway.
constexpr int kListenBacklog = 1024;
// Port 0: how many ephemeral ports to try before giving up on one free for both UDP and TCP.
constexpr int kEphemeralAttempts = 16;

const char* protocol_name(Protocol protocol) {
  return protocol == Protocol::Udp ? "UDP" : "TCP";
}

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

struct GroupFailure {
  std::string message;
  int error = 0;
};

// Opens `count` sockets on `address`. When its port is 0 the first socket's ephemeral port is
// written back to `address`, and the others bind to that same port: SO_REUSEPORT groups
// sockets by exact address and port.
bool open_group(Protocol protocol, SocketAddress& address, unsigned count, int receive_buffer,
                std::vector<UniqueFd>& out, GroupFailure& failure) {
  out.clear();
  const char* name = protocol_name(protocol);
  const auto fail = [&](const std::string& what) {
    failure.error = errno;  // read before to_string(), which may clobber errno
    failure.message =
        what + " " + name + " " + address.to_string() + ": " + errno_text(failure.error);
    out.clear();
    return false;
  };
  bool reuseport = count > 1;
  for (unsigned i = 0; i < count; ++i) {
    if (i > 0 && !reuseport) {
      UniqueFd shared(::fcntl(out.front().get(), F_DUPFD_CLOEXEC, 0));
      if (!shared.valid()) return fail("cannot duplicate");
      out.push_back(std::move(shared));
      continue;
    }
    const int type = (protocol == Protocol::Udp ? SOCK_DGRAM : SOCK_STREAM);
    UniqueFd fd(::socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return fail("cannot create");
    if (reuseport && !enable_reuseport(fd.get())) {
      reuseport = false;
      warn_once("reuseport-fallback",
                "SO_REUSEPORT unavailable: the workers share one socket per address");
      if (i > 0) {
        --i;  // this fresh socket is not needed: the next round dup()s the first one
        continue;
      }
    }
    if (protocol == Protocol::Udp) {
      set_udp_options(fd.get(), address, receive_buffer);
    } else {
      set_tcp_listener_options(fd.get());
      if (address.family() == AF_INET6) set_v6only(fd.get());
    }
    if (::bind(fd.get(), address.get(), address.size()) != 0) return fail("cannot bind");
    if (address.port() == 0) {
      auto bound = SocketAddress::bound_to(fd.get());
      if (!bound) return fail("cannot read the port of");
      address.set_port(bound->port());
    }
    if (protocol == Protocol::Tcp && ::listen(fd.get(), kListenBacklog) != 0) {
      return fail("cannot listen on");
    }
    out.push_back(std::move(fd));
  }
  return true;
}

}  // namespace

Result<std::vector<ListenSockets>> open_listen_sockets(const ServerOptions& options,
                                                       unsigned workers) {
  std::vector<ListenSockets> result;
  std::set<std::string> seen;
  for (const ListenAddress& listen : options.listen) {
    auto parsed = SocketAddress::parse(listen);
    if (!parsed) return Error{parsed.error()};
    // With SO_REUSEPORT a duplicate would bind silently and split the traffic; refuse it.
    if (parsed->port() != 0 && !seen.insert(parsed->to_string()).second) {
      return Error{"listen address " + parsed->to_string() + " given twice"};
    }
    ListenSockets sockets;
    sockets.family = parsed->family();
    sockets.wildcard = parsed->is_wildcard();
    for (int attempt = 1;; ++attempt) {
      SocketAddress address = *parsed;
      GroupFailure failure;
      if (!open_group(Protocol::Udp, address, workers, options.udp_receive_buffer, sockets.udp,
                      failure)) {
        return Error{failure.message};
      }
      if (open_group(Protocol::Tcp, address, workers, 0, sockets.tcp, failure)) {
        sockets.udp_bound = ListenAddress{address.host(), address.port()};
        sockets.tcp_bound = sockets.udp_bound;
        break;
      }
      // An ephemeral UDP port may be taken for TCP; pick another so that a client retrying
      // over TCP after a truncated answer (RFC 7766 §5) finds us on the same port.
      if (parsed->port() != 0 || failure.error != EADDRINUSE || attempt >= kEphemeralAttempts) {
        return Error{failure.message};
      }
      sockets.udp.clear();
    }
    result.push_back(std::move(sockets));
  }
  if (result.empty()) return Error{"no listen address configured"};
  return result;
}

}  // namespace globaldns::dns
