// decode_list: one page of a ServiceEntry LIST response -> KubeObjects, one bad item at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/result.hpp"
#include "sync/kube/json_service_entry.hpp"
#include "sync/kube/json_util.hpp"

namespace globaldns::sync::kube {

struct DecodedList {
  std::string resource_version;  // metadata.resourceVersion: the snapshot RV to watch from
  std::string continue_token;    // metadata.continue: empty means the list is complete
  std::optional<int64_t> remaining_item_count;  // metadata.remainingItemCount, informational
  std::vector<KubeObject> objects;
  // Items skipped ("namespace/name: reason; object skipped") or kept with a warning.
  std::vector<std::string> problems;
};

// Decodes a ServiceEntryList body (`kind` ServiceEntryList or List). Fails as a whole only when
// the page itself cannot be trusted: malformed JSON, a Status instead of a list, `items` not a
// list, or no metadata.resourceVersion (without it there is nothing to watch from). Each entry's
// origin is `origin` (made once by the caller, not per item). Never throws.
Result<DecodedList> decode_list(std::string_view body, const Origin& origin,
                                const JsonLimits& limits = {});

// The continue token a page most likely carries, found without parsing it; empty when none is
// seen. The API server writes a custom resource list as a map, keys sorted, so its metadata and
// the token come last (apimachinery, unstructured helpers.go). Only a guess, to ask for the next
// page while this one decodes: an item's own text could match, so the caller checks it against
// decode_list's continue_token.
std::string_view guess_continue(std::string_view body);

}  // namespace globaldns::sync::kube
