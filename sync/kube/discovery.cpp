// APIGroup / APIGroupList decoding and the ServiceEntry version choice.
#include "sync/kube/discovery.hpp"

#include <algorithm>
#include <array>

#include "sync/kube/json_util.hpp"

namespace globaldns::sync::kube {
namespace {

// The versions the ServiceEntry decoders accept, most preferred first; all three carry the
// same schema, so any served one will do.
constexpr std::array<std::string_view, 3> kDecodable = {"v1", "v1beta1", "v1alpha3"};

bool decodable(std::string_view version) {
  return std::find(kDecodable.begin(), kDecodable.end(), version) != kDecodable.end();
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

Result<ApiGroupVersions> group_versions(const boost::json::object& group) {
  ApiGroupVersions out;
  const boost::json::value* versions = group.if_contains("versions");
  if (versions == nullptr || !versions->is_array()) {
    return Error{"discovery: API group has no versions list"};
  }
  for (const auto& item : versions->get_array()) {
    const boost::json::object* version = item.if_object();
    if (version == nullptr) continue;
    const std::string_view name = string_field(*version, "version");
    if (!name.empty()) out.versions.emplace_back(name);
  }
  if (const auto* preferred = object_field(group, "preferredVersion")) {
    out.preferred = string_field(*preferred, "version");
  }
  return out;
}

}  // namespace

Result<ApiGroupVersions> decode_api_group(std::string_view body, std::string_view group) {
  auto parsed = parse_json_object(body, "discovery");
  if (!parsed) return Error{parsed.error()};
  const boost::json::object& root = *parsed;
  const std::string_view kind = string_field(root, "kind");

  if (kind == "APIGroupList" || (kind.empty() && root.contains("groups"))) {
    const boost::json::value* groups = root.if_contains("groups");
    if (groups == nullptr || !groups->is_array())
      return Error{"discovery: APIGroupList has no groups"};
    for (const auto& item : groups->get_array()) {
      const boost::json::object* candidate = item.if_object();
      if (candidate != nullptr && string_field(*candidate, "name") == group) {
        return group_versions(*candidate);
      }
    }
    return Error{"discovery: the server does not serve API group " + std::string(group) +
                 " (is Istio installed?)"};
  }
  if (kind == "APIGroup" || (kind.empty() && root.contains("versions"))) {
    const std::string_view name = string_field(root, "name");
    if (!name.empty() && name != group) {
      return Error{"discovery: expected API group " + std::string(group) + ", got " +
                   std::string(name)};
    }
    return group_versions(root);
  }
  if (kind == "Status") {
    return Error{"discovery: server answered Status: " +
                 std::string(string_field(root, "message"))};
  }
  return Error{"discovery: expected APIGroup or APIGroupList, got kind \"" + std::string(kind) +
               "\""};
}

Result<std::string> choose_version(const ApiGroupVersions& served, std::string_view pinned) {
  const auto is_served = [&](std::string_view version) {
    return std::find(served.versions.begin(), served.versions.end(), version) !=
           served.versions.end();
  };
  if (!pinned.empty()) {
    if (!decodable(pinned)) {
      return Error{"discovery: pinned version " + std::string(pinned) +
                   " is not one globaldns decodes (v1, v1beta1, v1alpha3)"};
    }
    if (!is_served(pinned)) {
      return Error{"discovery: pinned version " + std::string(pinned) + " of " +
                   std::string(kIstioNetworkingGroup) +
                   " is not served; the server offers: " + joined(served.versions)};
    }
    return std::string(pinned);
  }
  if (decodable(served.preferred) && is_served(served.preferred)) return served.preferred;
  for (const auto version : kDecodable) {
    if (is_served(version)) return std::string(version);
  }
  return Error{"discovery: none of v1, v1beta1, v1alpha3 of " + std::string(kIstioNetworkingGroup) +
               " is served; the server offers: " + joined(served.versions)};
}

}  // namespace globaldns::sync::kube
