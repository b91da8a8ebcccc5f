// Cidr parsing and containment, on top of inet_pton so we accept exactly what libc accepts.
#include "sync/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace globaldns::sync {
namespace {

constexpr size_t kMaxAddressText = 64;  // longer than any IPv6 text form plus "/128"

struct IpPrefix {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = -1;  // -1: no "/N" given
};

// Accepts "N" with 0 <= N <= max and no sign, spaces or leading zeros ("/08" is ambiguous).
std::optional<int> parse_prefix_length(std::string_view text, int max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<IpPrefix> parse_ip_prefix(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // inet_pton would stop there
  const size_t slash = text.find('/');
  const std::string_view ip_text = text.substr(0, slash);
  // inet_pton needs a NUL-terminated string; the bound above keeps this on the stack.
  char buffer[kMaxAddressText + 1];
  std::memcpy(buffer, ip_text.data(), ip_text.size());
  buffer[ip_text.size()] = '\0';

  IpPrefix result;
  if (::inet_pton(AF_INET, buffer, result.bytes.data()) == 1) {
    result.v6 = false;
  } else if (::inet_pton(AF_INET6, buffer, result.bytes.data()) == 1) {
    result.v6 = true;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    const auto length = parse_prefix_length(text.substr(slash + 1), result.v6 ? 128 : 32);
    if (!length) return std::nullopt;
    result.prefix = *length;
  }
  return result;
}

// Compares the first `prefix` bits of two byte arrays.
bool prefix_equal(const uint8_t* a, const uint8_t* b, int prefix) noexcept {
  const int whole = prefix / 8;
  if (std::memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool host_bits_zero(const std::array<uint8_t, 16>& bytes, int prefix, int total_bits) noexcept {
  for (int bit = prefix; bit < total_bits; ++bit) {
    if (bytes[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

bool Cidr::contains_v4(const std::array<uint8_t, 4>& ip) const noexcept {
  return !v6 && prefix <= 32 && prefix_equal(bytes.data(), ip.data(), prefix);
}

bool Cidr::contains_v6(const std::array<uint8_t, 16>& ip) const noexcept {
  return v6 && prefix <= 128 && prefix_equal(bytes.data(), ip.data(), prefix);
}

std::string Cidr::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer) == nullptr) {
    return "?";
  }
  return std::string(buffer) + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto parsed = parse_ip_prefix(text);
  if (!parsed || parsed->prefix < 0) return std::nullopt;
  const int total_bits = parsed->v6 ? 128 : 32;
  // Host bits set ("10.0.0.1/8") is almost always a typo in a filter: refuse it.
  if (!host_bits_zero(parsed->bytes, parsed->prefix, total_bits)) return std::nullopt;
  Cidr cidr;
  cidr.v6 = parsed->v6;
  cidr.bytes = parsed->bytes;
  cidr.prefix = static_cast<uint8_t>(parsed->prefix);
  return cidr;
}

resolver::Ipv4 ParsedAddress::v4() const noexcept {
  resolver::Ipv4 ip{};
  std::copy_n(bytes.begin(), ip.size(), ip.begin());
  return ip;
}

resolver::Ipv6 ParsedAddress::v6() const noexcept {
  return bytes;
}

bool ParsedAddress::inside(const Cidr& cidr) const noexcept {
  switch (kind) {
    case AddressKind::Ipv4:
      return cidr.contains_v4(v4());
    case AddressKind::Ipv6:
      return cidr.contains_v6(v6());
    case AddressKind::Prefix:
    case AddressKind::Invalid:
      break;
  }
  return false;
}

ParsedAddress parse_address(std::string_view text) {
  ParsedAddress result;
  const auto parsed = parse_ip_prefix(text);
  if (!parsed) return result;
  const int total_bits = parsed->v6 ? 128 : 32;
  if (parsed->prefix >= 0 && parsed->prefix != total_bits) {
    result.kind = AddressKind::Prefix;
    return result;
  }
  result.kind = parsed->v6 ? AddressKind::Ipv6 : AddressKind::Ipv4;
  result.bytes = parsed->bytes;
  return result;
}

std::string address_to_string(const resolver::Ipv4& ip) {
  char buffer[INET_ADDRSTRLEN] = {};
  if (::inet_ntop(AF_INET, ip.data(), buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

std::string address_to_string(const resolver::Ipv6& ip) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(AF_INET6, ip.data(), buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

}  // namespace globaldns::sync
