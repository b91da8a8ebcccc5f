// Textual checks of domain names and CIDRs, as used by the settings table.
#include "config/checks.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstdint>

namespace globaldns::config {
namespace {

constexpr size_t kMaxLabel = 63;  // RFC 1035 §2.3.4
constexpr size_t kMaxWire = 255;  // RFC 1035 §2.3.4, counting length octets and the root

bool label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '*';
}

// Digits only (no sign, no spaces), so "+8" or " 8" are not quietly accepted.
std::optional<unsigned> parse_prefix(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> domain_name_error(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name == ".") return std::nullopt;
  if (name.back() == '.') name.remove_suffix(1);
  size_t wire = 1;  // the root label's length octet
  while (true) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty()) return "empty label";
    if (label.size() > kMaxLabel) {
      return "label \"" + std::string(label) + "\" is longer than 63 octets";
    }
    for (char c : label) {
      if (!label_char(c)) return "character '" + std::string(1, c) + "' is not allowed";
    }
    wire += 1 + label.size();
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  if (wire > kMaxWire) return "longer than 255 octets in wire form";
  return std::nullopt;
}

std::optional<std::string> cidr_error(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return "missing /PREFIX";
  std::string address(cidr.substr(0, slash));
  bool v6 = address.find(':') != std::string::npos;
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) {
    return "\"" + address + "\" is not an IPv4 or IPv6 address";
  }
  unsigned max_prefix = v6 ? 128 : 32;
  std::optional<unsigned> prefix = parse_prefix(cidr.substr(slash + 1));
  if (!prefix || *prefix > max_prefix) {
    return "the prefix length must be a number from 0 to " + std::to_string(max_prefix);
  }
  bool host_bits = false;
  for (unsigned bit = *prefix; bit < max_prefix; ++bit) {
    uint8_t mask = uint8_t(0x80u >> (bit % 8));
    if (bytes[bit / 8] & mask) {
      host_bits = true;
      bytes[bit / 8] &= uint8_t(~mask);
    }
  }
  if (host_bits) {
    std::array<char, INET6_ADDRSTRLEN> network{};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), network.data(), network.size());
    return "host bits are set; the network is " + std::string(network.data()) + "/" +
           std::to_string(*prefix);
  }
  return std::nullopt;
}

}  // namespace globaldns::config
