// Cidr: an IPv4 or IPv6 prefix, parsed from text, with containment tests.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resolver/zone_data.hpp"

namespace globaldns::sync {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network address; the first 4 bytes for IPv4
  uint8_t prefix = 0;

  bool contains_v4(const std::array<uint8_t, 4>& ip) const noexcept;
  bool contains_v6(const std::array<uint8_t, 16>& ip) const noexcept;
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

// "240.0.0.0/8", "fd00::/8"; host bits must be zero. nullopt on anything else.
std::optional<Cidr> parse_cidr(std::string_view text);

// What a ServiceEntry address turned out to be. Istio turns a /32 (/128) into the plain IP
// (pilot/pkg/serviceregistry/serviceentry/conversion.go); any other prefix is for listener
// matching only and has no DNS answer.
enum class AddressKind : uint8_t { Ipv4, Ipv6, Prefix, Invalid };

struct ParsedAddress {
  AddressKind kind = AddressKind::Invalid;
  std::array<uint8_t, 16> bytes{};  // the IP for Ipv4 (first 4 bytes) and Ipv6

  resolver::Ipv4 v4() const noexcept;
  resolver::Ipv6 v6() const noexcept;
  // True when `cidr` is of the same family and holds this address; false for Prefix/Invalid.
  bool inside(const Cidr& cidr) const noexcept;
};

// "10.0.0.1", "10.0.0.1/32", "fd00::1/128" -> an IP; "240.0.0.0/24" (any other valid
// prefix, host bits allowed as Istio's net.ParseCIDR allows them) -> Prefix; else Invalid.
ParsedAddress parse_address(std::string_view text);

// Canonical text of an address (inet_ntop), e.g. for messages and tests.
std::string address_to_string(const resolver::Ipv4& ip);
std::string address_to_string(const resolver::Ipv6& ip);

}  // namespace globaldns::sync
