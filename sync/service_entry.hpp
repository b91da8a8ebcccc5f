// ServiceEntry: the fields of an Istio networking.istio.io ServiceEntry that DNS needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/origin.hpp"

namespace globaldns::sync {

enum class Resolution : uint8_t { None, Static, Dns, DnsRoundRobin, Unset };

// spec.resolution as written ("" when absent); nullopt for a value Istio does not define.
inline std::optional<Resolution> parse_resolution(std::string_view text) {
  if (text.empty()) return Resolution::Unset;
  if (text == "NONE") return Resolution::None;
  if (text == "STATIC") return Resolution::Static;
  if (text == "DNS") return Resolution::Dns;
  if (text == "DNS_ROUND_ROBIN") return Resolution::DnsRoundRobin;
  return std::nullopt;
}

// status.addresses (Istio 1.23+ auto-allocation): a VIP for one host of the entry.
struct StatusAddress {
  std::string value;
  std::string host;
  bool operator==(const StatusAddress&) const = default;
};

struct ServiceEntry {
  std::string namespace_;  // metadata.namespace ("default" when absent, as kubectl would apply it)
  std::string name;        // metadata.name
  // metadata.creationTimestamp, parsed: only ever compared, so its text (a decode warning
  // quotes it) is not kept. Absent or not RFC 3339: sorts last (newest).
  std::optional<int64_t> created_unix;
  std::vector<std::string> hosts;      // spec.hosts as written
  std::vector<std::string> addresses;  // spec.addresses as written (IPs or CIDRs)
  std::vector<StatusAddress> status_addresses;
  Resolution resolution = Resolution::Unset;
  Origin origin;  // where it came from, for messages: "file.yaml:12" or "cluster1"

  std::string key() const { return namespace_ + "/" + name; }
  // The file source compares decoded sets to call back only on a real change.
  bool operator==(const ServiceEntry&) const = default;
};

}  // namespace globaldns::sync
