// KubeStatus: a Kubernetes Status (from an error body or a watch ERROR event) and what it means.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace globaldns::sync::kube {

// What the reflector should do about a failure; decided once here so callers switch on it.
enum class StatusClass : uint8_t {
  Expired,                  // 410 / Expired / Gone: resource version too old -> relist
  ResourceVersionTooLarge,  // 504 ResourceVersionTooLarge: server behind us -> retry later
  TooManyRequests,          // 429: back off (honour Retry-After)
  Unauthorized,             // 401/403: credentials may need a refresh
  ServerError,              // other 5xx, InternalError, ServiceUnavailable, Timeout
  Other,                    // anything else (400 Invalid, 404 NotFound, ...)
};

struct KubeStatus {
  int code = 0;              // Status.code, else the HTTP status
  std::string reason;        // Status.reason, e.g. "Expired"; empty for a plain-text body
  std::string message;       // Status.message, or the plain-text body (trimmed, bounded)
  std::string cause_reason;  // details.causes[0].reason, e.g. "ResourceVersionTooLarge"
  bool from_json = false;    // false: the body was not a JSON Status (e.g. the 429 text)
};

StatusClass classify(const KubeStatus& status);
std::string_view to_string(StatusClass value);

// Reads a Status object; fields that are absent or of the wrong type stay empty/zero.
KubeStatus status_from_json(const boost::json::object& object);

// Decodes the body of a non-2xx answer. The API server does not always send JSON (429 from
// max-in-flight and APF is plain text), so this never assumes it and never fails: a body that
// is not a JSON Status becomes the message. A missing code is taken from `http_status`.
KubeStatus decode_status_body(int http_status, std::string_view body);

// "410 Expired: too old resource version: 1 (2)" for logs.
std::string describe(const KubeStatus& status);

}  // namespace globaldns::sync::kube
