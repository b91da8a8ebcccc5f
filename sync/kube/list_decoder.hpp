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

}  // namespace globaldns::sync::kube
