// Watch event decoding: ADDED/MODIFIED/DELETED/BOOKMARK/ERROR lines as the API server writes them.
#include "sync/kube/watch_event.hpp"

#include <vector>

namespace globaldns::sync::kube {
namespace {

constexpr std::string_view kInitialEventsEnd = "k8s.io/initial-events-end";

std::optional<EventType> parse_type(std::string_view text) {
  if (text == "ADDED") return EventType::Added;
  if (text == "MODIFIED") return EventType::Modified;
  if (text == "DELETED") return EventType::Deleted;
  if (text == "BOOKMARK") return EventType::Bookmark;
  if (text == "ERROR") return EventType::Error;
  return std::nullopt;
}

std::string resource_version_of(const boost::json::object& object) {
  const auto* metadata = object_field(object, "metadata");
  return metadata == nullptr ? std::string()
                             : std::string(string_field(*metadata, "resourceVersion"));
}

}  // namespace

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::Added:
      return "ADDED";
    case EventType::Modified:
      return "MODIFIED";
    case EventType::Deleted:
      return "DELETED";
    case EventType::Bookmark:
      return "BOOKMARK";
    case EventType::Error:
      return "ERROR";
  }
  return "ERROR";
}

Result<WatchEvent> decode_watch_event(std::string_view line, const Origin& origin,
                                      const JsonLimits& limits) {
  auto parsed = parse_json_object(line, "watch event", limits);
  if (!parsed) return Error{parsed.error()};
  const boost::json::object& root = *parsed;

  const std::string_view type_text = string_field(root, "type");
  if (type_text.empty()) return Error{"watch event: missing type"};
  const auto type = parse_type(type_text);
  if (!type) return Error{"watch event: unknown type \"" + std::string(type_text) + "\""};
  const boost::json::object* object = object_field(root, "object");
  if (object == nullptr) {
    return Error{"watch event: " + std::string(type_text) + " without an object"};
  }

  WatchEvent event;
  event.type = *type;
  switch (*type) {
    case EventType::Error:
      // Arrives inside a 200 stream, after which the server ends the stream (cacher.go).
      event.status = status_from_json(*object);
      event.status_class = classify(event.status);
      return event;

    case EventType::Bookmark:
      event.resource_version = resource_version_of(*object);
      if (event.resource_version.empty())
        return Error{"watch event: BOOKMARK without resourceVersion"};
      if (const auto* metadata = object_field(*object, "metadata")) {
        if (const auto* annotations = object_field(*metadata, "annotations")) {
          event.initial_events_end = string_field(*annotations, kInitialEventsEnd) == "true";
        }
      }
      return event;

    case EventType::Added:
    case EventType::Modified:
    case EventType::Deleted: {
      event.resource_version = resource_version_of(*object);
      event.key = object_label(*object);
      std::vector<std::string> warnings;
      auto decoded = kube_object_from_json(*object, origin, &warnings);
      if (decoded) {
        event.object = std::move(decoded).value();
        if (!warnings.empty()) event.warning = std::move(warnings.front());
      } else {
        event.problem = decoded.error();
      }
      return event;
    }
  }
  return Error{"watch event: unreachable type"};
}

}  // namespace globaldns::sync::kube
