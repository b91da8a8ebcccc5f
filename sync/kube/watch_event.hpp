// decode_watch_event: one line of a watch stream -> a typed event; never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resolver/result.hpp"
#include "sync/kube/json_service_entry.hpp"
#include "sync/kube/json_util.hpp"
#include "sync/kube/status.hpp"

namespace globaldns::sync::kube {

enum class EventType : uint8_t { Added, Modified, Deleted, Bookmark, Error };
std::string_view to_string(EventType type);

struct WatchEvent {
  EventType type = EventType::Error;
  // Added/Modified/Deleted/Bookmark: the object's metadata.resourceVersion, to resume from.
  std::string resource_version;
  // Added/Modified/Deleted: "namespace/name", even when the object itself is bad, so that a
  // DELETED or an update to an invalid object can still be applied by key.
  std::string key;
  // Added/Modified/Deleted: the decoded object, or nullopt with `problem` set.
  std::optional<KubeObject> object;
  std::string problem;  // "namespace/name: reason" when the object was not a valid ServiceEntry
  std::string warning;  // a kept object's warning (an unparsable creationTimestamp)
  // Bookmark: metadata.annotations["k8s.io/initial-events-end"] == "true": the end of the
  // synthetic ADDED events of a watch-list (sendInitialEvents=true).
  bool initial_events_end = false;
  // Error: the Status and what to do about it.
  KubeStatus status;
  StatusClass status_class = StatusClass::Other;
};

// Decodes one newline-free line. Malformed JSON, a missing or unknown `type`, or a missing
// `object` is an error (the stream can no longer be trusted: reconnect or relist). A bad
// ServiceEntry inside a well-formed event is not an error: see WatchEvent::problem.
// `origin` becomes each entry's origin. `limits.max_bytes` bounds the line.
Result<WatchEvent> decode_watch_event(std::string_view line, const Origin& origin,
                                      const JsonLimits& limits = {});

}  // namespace globaldns::sync::kube
