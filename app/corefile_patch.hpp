// corefile_patch: add, replace or remove the `global:53` server block of a CoreDNS Corefile,
// leaving every other byte as it was.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resolver/result.hpp"

namespace globaldns::app {

struct CoreDnsVersion {
  unsigned major = 0, minor = 0, patch = 0;
  auto operator<=>(const CoreDnsVersion&) const = default;
};

// "1.6.2", "v1.6.2", "1.6": an error names what is wrong.
Result<CoreDnsVersion> parse_coredns_version(std::string_view text);

struct CorefilePatchOptions {
  // IPv4 or IPv6 literal, with an optional port: "10.96.0.20", "10.96.0.20:53", "[fd00::20]:53".
  std::string target;
  // Chooses the plugin: before 1.5.0 `proxy` (removed from CoreDNS's default build in 1.5.0),
  // else `forward`. Unset: a current CoreDNS.
  std::optional<CoreDnsVersion> coredns_version;
  bool grpc = false;    // CoreDNS's gRPC DnsService (our :8053) instead of plain DNS
  bool revert = false;  // remove our block instead
};

// The zone the block serves, in the form Corefile keys are compared in.
inline constexpr std::string_view kPatchedZone = "global.";
// The comment line written above the block: it marks the block as ours, so that a second run
// replaces it in place and --revert removes only what we wrote.
inline constexpr std::string_view kPatchMarker =
    "# globaldns: the global zone is served by globaldns (globaldns corefile-patch)";

// The Corefile with our block added (appended when there is no `global` block), or replacing
// the existing `global:53` block in place, or (revert) with our block removed. Idempotent.
// Refuses, with the line number, a Corefile it cannot parse (unbalanced braces, an unterminated
// quote), a server block that serves `global` together with other zones (it cannot be split
// without guessing), more than one `global` block, and on revert a `global` block that is not
// ours.
Result<std::string> patch_corefile(std::string_view corefile, const CorefilePatchOptions& options);

}  // namespace globaldns::app
