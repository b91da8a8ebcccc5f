// ServiceEntry: the fields of an Istio networking.istio.io ServiceEntry that DNS needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container_hash/hash.hpp>

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

// What kubectl applies when metadata.namespace is absent.
inline constexpr std::string_view kDefaultNamespace = "default";

// Whether `api_version` ("networking.istio.io/v1") is one whose ServiceEntries the decoders
// read: v1alpha3, v1beta1 or v1 of Istio's networking group.
inline bool served_api_version(std::string_view api_version) {
  constexpr std::string_view kGroup = "networking.istio.io/";
  if (!api_version.starts_with(kGroup)) return false;
  const std::string_view version = api_version.substr(kGroup.size());
  return version == "v1alpha3" || version == "v1beta1" || version == "v1";
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
  // The controller keeps a copy it holds when a list or a part brings it again unchanged.
  bool operator==(const ServiceEntry&) const = default;
};

// A 64-bit hash of every field, mixed into `seed`: sources that keep no entries (the file
// source, the Kubernetes reflector) remember this to tell a changed entry from a resent one.
inline size_t hash_entry(const ServiceEntry& e, size_t seed = 0) {
  size_t h = seed;
  const auto mix = [&h](size_t v) { boost::hash_combine(h, v); };
  const auto text = [&mix](std::string_view t) { mix(std::hash<std::string_view>{}(t)); };
  text(e.namespace_);
  text(e.name);
  mix(e.created_unix ? static_cast<size_t>(*e.created_unix) : 0);
  mix(e.created_unix.has_value() ? 1 : 0);
  mix(e.hosts.size());
  for (const auto& host : e.hosts) text(host);
  mix(e.addresses.size());
  for (const auto& address : e.addresses) text(address);
  mix(e.status_addresses.size());
  for (const auto& status : e.status_addresses) {
    text(status.value);
    text(status.host);
  }
  mix(static_cast<size_t>(e.resolution));
  text(e.origin.where());
  mix(e.origin.line());
  return h;
}

}  // namespace globaldns::sync
