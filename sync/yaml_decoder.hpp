// decode_service_entries: Kubernetes YAML text -> ServiceEntry values, one bad object at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/result.hpp"
#include "sync/packed_entries.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync {

// Bounds on what one text may cost, so that an absurd file is an error and not an
// out-of-memory kill: nodes and depth bound the tree kept for one document.
struct DecodeLimits {
  size_t max_bytes = size_t{16} << 20;
  size_t max_nodes = 2'000'000;  // in one text; aliases count as one
  int max_depth = 64;            // a ServiceEntry nests about 6 levels deep
};

struct DecodedEntries {
  PackedEntries entries;  // packed as each is decoded: see PackedEntries
  // Objects skipped or partly ignored: "FILE:LINE: namespace/name: reason" (warn level).
  std::vector<std::string> problems;
  // Objects of other kinds that were ignored, e.g. a Deployment in the same file (info level).
  std::vector<std::string> notes;
};

// Decodes every YAML document of `text`: ServiceEntries of networking.istio.io v1alpha3,
// v1beta1 and v1, and `kind: List` / `kind: ServiceEntryList` with `items` (as kubectl prints
// them). `source` names the text in messages and in each entry's origin ("FILE:LINE").
// A YAML syntax error (or a limit exceeded) fails the whole text: "FILE:LINE:COL: message".
// Never throws.
Result<DecodedEntries> decode_service_entries(std::string_view text, std::string_view source,
                                              const DecodeLimits& limits = {});

// RFC 3339 date-time ("2024-01-02T03:04:05Z", optional fraction, "Z" or "+hh:mm") -> unix
// seconds, the fraction dropped. nullopt when malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace globaldns::sync
