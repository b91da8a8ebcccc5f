// ServiceEntryList decoding: the page is judged once, then each item alone.
#include "sync/kube/list_decoder.hpp"

#include <boost/json/monotonic_resource.hpp>

#include "sync/kube/status.hpp"

namespace globaldns::sync::kube {

Result<DecodedList> decode_list(std::string_view body, const Origin& origin,
                                const JsonLimits& limits) {
  // Everything parsed lives only until the entries are extracted: one arena per page.
  boost::json::monotonic_resource arena;
  auto parsed = parse_json_object(body, "list", limits, &arena);
  if (!parsed) return Error{parsed.error()};
  const boost::json::object& root = *parsed;

  const std::string_view kind = string_field(root, "kind");
  if (kind == "Status") return Error{"list: server answered " + describe(status_from_json(root))};
  if (kind != "ServiceEntryList" && kind != "List") {
    return Error{"list: expected kind ServiceEntryList, got \"" + std::string(kind) + "\""};
  }

  DecodedList out;
  if (const auto* metadata = object_field(root, "metadata")) {
    out.resource_version = string_field(*metadata, "resourceVersion");
    out.continue_token = string_field(*metadata, "continue");
    const auto* remaining = metadata->if_contains("remainingItemCount");
    if (remaining != nullptr && remaining->is_int64()) {
      out.remaining_item_count = remaining->get_int64();
    }
  }
  if (out.resource_version.empty()) return Error{"list: no metadata.resourceVersion"};

  const boost::json::value* items = root.if_contains("items");
  if (items == nullptr || items->is_null()) return out;  // Go writes nil slices as null
  if (!items->is_array()) return Error{"list: items is not a list"};
  out.objects.reserve(items->get_array().size());
  for (const auto& item : items->get_array()) {
    const boost::json::object* object = item.if_object();
    if (object == nullptr) {
      out.problems.push_back("list item is not an object; ignored");
      continue;
    }
    auto decoded = kube_object_from_json(*object, origin, &out.problems);
    if (decoded) {
      out.objects.push_back(std::move(decoded).value());
    } else {
      out.problems.push_back(decoded.error() + "; object skipped");
    }
  }
  return out;
}

std::string_view guess_continue(std::string_view body) {
  // The metadata of a page is a few hundred bytes; a token is about a hundred.
  constexpr size_t kTail = 4096;
  constexpr std::string_view kKey = "\"continue\":\"";
  const std::string_view tail = body.substr(body.size() > kTail ? body.size() - kTail : 0);
  const size_t key = tail.rfind(kKey);
  if (key == std::string_view::npos) return {};
  const std::string_view rest = tail.substr(key + kKey.size());
  const size_t end = rest.find('"');
  // An escape would need decoding; Kubernetes' tokens are unpadded URL-safe base64 and have none.
  if (end == std::string_view::npos || rest.substr(0, end).find('\\') != std::string_view::npos)
    return {};
  return rest.substr(0, end);
}

}  // namespace globaldns::sync::kube
