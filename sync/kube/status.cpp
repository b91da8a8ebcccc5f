// Status decoding and classification for Kubernetes API errors.
#include "sync/kube/status.hpp"

#include "sync/kube/json_util.hpp"

namespace globaldns::sync::kube {
namespace {

// A plain-text or HTML error page can be large; a log line needs only its start.
constexpr size_t kMaxMessage = 1024;

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

StatusClass classify(const KubeStatus& status) {
  // Servers up to 1.17 said "Gone"; client-go's isExpiredError accepts both (reflector.go).
  if (status.code == 410 || status.reason == "Expired" || status.reason == "Gone") {
    return StatusClass::Expired;
  }
  // apiserver storage/errors.go: 504, reason Timeout, cause ResourceVersionTooLarge.
  if (status.cause_reason == "ResourceVersionTooLarge" ||
      status.message.starts_with("Too large resource version")) {
    return StatusClass::ResourceVersionTooLarge;
  }
  if (status.code == 429 || status.reason == "TooManyRequests") {
    return StatusClass::TooManyRequests;
  }
  if (status.code == 401 || status.code == 403 || status.reason == "Unauthorized" ||
      status.reason == "Forbidden") {
    return StatusClass::Unauthorized;
  }
  if ((status.code >= 500 && status.code <= 599) || status.reason == "InternalError" ||
      status.reason == "ServiceUnavailable" || status.reason == "Timeout") {
    return StatusClass::ServerError;
  }
  return StatusClass::Other;
}

std::string_view to_string(StatusClass value) {
  switch (value) {
    case StatusClass::Expired:
      return "expired";
    case StatusClass::ResourceVersionTooLarge:
      return "resource-version-too-large";
    case StatusClass::TooManyRequests:
      return "too-many-requests";
    case StatusClass::Unauthorized:
      return "unauthorized";
    case StatusClass::ServerError:
      return "server-error";
    case StatusClass::Other:
      return "other";
  }
  return "other";
}

KubeStatus status_from_json(const boost::json::object& object) {
  KubeStatus out;
  out.from_json = true;
  if (const auto* code = object.if_contains("code"); code != nullptr && code->is_int64()) {
    const int64_t value = code->get_int64();
    if (value > 0 && value < 1000) out.code = static_cast<int>(value);
  }
  out.reason = string_field(object, "reason");
  out.message = string_field(object, "message").substr(0, kMaxMessage);
  if (const auto* details = object_field(object, "details")) {
    const auto* causes = details->if_contains("causes");
    if (causes != nullptr && causes->is_array() && !causes->get_array().empty()) {
      if (const auto* cause = causes->get_array().front().if_object()) {
        out.cause_reason = string_field(*cause, "reason");
      }
    }
  }
  return out;
}

KubeStatus decode_status_body(int http_status, std::string_view body) {
  KubeStatus out;
  const std::string_view trimmed = trim(body);
  // Only something that starts like an object is worth a JSON parse.
  if (!trimmed.empty() && trimmed.front() == '{') {
    auto parsed = parse_json_object(trimmed, "error body");
    if (parsed && (string_field(*parsed, "kind") == "Status" || parsed->contains("code"))) {
      out = status_from_json(*parsed);
    }
  }
  if (!out.from_json) out.message = trimmed.substr(0, kMaxMessage);
  if (out.code == 0) out.code = http_status;
  return out;
}

std::string describe(const KubeStatus& status) {
  std::string out = std::to_string(status.code);
  if (!status.reason.empty()) out += " " + status.reason;
  if (!status.message.empty()) out += ": " + status.message;
  return out;
}

}  // namespace globaldns::sync::kube
