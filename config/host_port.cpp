// HostPort parsing: "ADDR:PORT" with IPv6 in brackets.
#include "config/host_port.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <variant>

namespace globaldns::config {
namespace {

// The split address or the reason it failed; both public functions are views of this one.
std::variant<HostPort, std::string> split(std::string_view text, EmptyHost empty) {
  std::string_view host;
  std::string_view port;
  bool v6 = false;
  const bool any = empty == EmptyHost::Any && !text.empty() && text.front() == ':';
  if (any) {
    port = text.substr(1);
  } else if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos)
      return std::string("missing \"]:PORT\" after the IPv6 address");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    v6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::string("missing \":PORT\"");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return std::string("an IPv6 address goes in brackets, as in [::1]:5353");
    }
    port = text.substr(colon + 1);
  }
  std::array<uint8_t, 16> bytes{};
  std::string host_text(host);
  if (!any && inet_pton(v6 ? AF_INET6 : AF_INET, host_text.c_str(), bytes.data()) != 1) {
    return "\"" + host_text + "\" is not an " + (v6 ? "IPv6" : "IPv4") + " address";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || port.size() > 5 || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return "the port must be a number from 0 to 65535";
  }
  return HostPort{std::move(host_text), static_cast<uint16_t>(value)};
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text, EmptyHost empty) {
  auto result = split(text, empty);
  if (auto* hp = std::get_if<HostPort>(&result)) return std::move(*hp);
  return std::nullopt;
}

std::optional<std::string> host_port_error(std::string_view text, EmptyHost empty) {
  auto result = split(text, empty);
  if (auto* why = std::get_if<std::string>(&result)) return std::move(*why);
  return std::nullopt;
}

}  // namespace globaldns::config
