// JSON helpers shared by the Kubernetes decoders: bounded parsing and tolerant field access.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "resolver/result.hpp"

namespace globaldns::sync::kube {

// Bounds on one JSON text, so that a hostile or broken server costs an error, not the process.
struct JsonLimits {
  size_t max_bytes = size_t{64} << 20;  // a 500-item list page is far below this
  size_t max_depth = 64;                // a ServiceEntry in a list nests about 8 levels
};

// Parses `text` as one JSON object. Never throws; errors name `what` ("watch event", ...).
// `storage`: where the DOM's memory comes from; a monotonic_resource that outlives the object
// makes a 500-item list page one block instead of tens of thousands of mallocs and frees.
Result<boost::json::object> parse_json_object(std::string_view text, std::string_view what,
                                              const JsonLimits& limits = {},
                                              boost::json::storage_ptr storage = {});

// The member `key` when it is a string, else an empty view (absent, null or another type).
std::string_view string_field(const boost::json::object& object, std::string_view key);

// The member `key` when it is an object, else nullptr.
const boost::json::object* object_field(const boost::json::object& object, std::string_view key);

// "namespace/name" of an object for messages, whatever shape its metadata has.
std::string object_label(const boost::json::object& object);

}  // namespace globaldns::sync::kube
