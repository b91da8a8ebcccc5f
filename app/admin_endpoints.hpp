// Admin endpoints on the health listener: /zone (what is served, as a zone file) and /explain
// (why a name is or is not served), plus the URL query helpers they and `explain` share.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_server.hpp"
#include "sync/explain.hpp"

namespace globaldns::resolver {
class Snapshot;
}

namespace globaldns::app {

// HTTP status of an /explain answer: the command maps it to its exit status.
inline constexpr unsigned kExplainServed = 200;
inline constexpr unsigned kExplainNotServed = 404;
inline constexpr unsigned kExplainNothingPublished = 503;

// The value of `key` in a URL query ("name=a.global&format=json"), percent-decoded ('+' is a
// space); nullopt when absent or badly encoded.
std::optional<std::string> query_parameter(std::string_view query, std::string_view key);
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view text);

// The explanation as JSON (Boost.JSON): the same facts as explanation_text(), for scripts.
std::string explanation_json(const sync::Explanation& explanation);

// GET /explain?name=NAME[&format=json]: 200 served, 404 not served, 503 nothing published yet
// (each with the explanation), 400 without a name.
http::Response explain_endpoint(std::string_view query,
                                const std::function<sync::Explanation(std::string_view)>& explain);

// GET /zone: the snapshot as RFC 1035 text (ldns); 503 before the first one.
http::Response zone_endpoint(const resolver::Snapshot* snapshot);

}  // namespace globaldns::app
