// HostPort: a listen address "ADDR:PORT" split into an IP literal and a port.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace globaldns::config {

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (no brackets); "" = every interface (EmptyHost::Any)
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// Whether ":PORT", without ADDR, is accepted: every interface, as Go and CoreDNS read ":8053".
enum class EmptyHost { Refused, Any };

// "127.0.0.1:5353" or "[::1]:5353". ADDR must be an IP literal (a host name would need a
// resolver at startup); port 0 to 65535, where 0 asks the kernel for a free port.
std::optional<HostPort> parse_host_port(std::string_view text,
                                        EmptyHost empty = EmptyHost::Refused);

// Why parse_host_port rejects the text, or nothing when it accepts it.
std::optional<std::string> host_port_error(std::string_view text,
                                           EmptyHost empty = EmptyHost::Refused);

}  // namespace globaldns::config
