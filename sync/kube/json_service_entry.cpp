// ServiceEntry JSON decoding, mirroring sync/yaml_decoder.cpp rule for rule and reason for reason.
#include "sync/kube/json_service_entry.hpp"

#include <exception>
#include <optional>

#include "sync/kube/json_util.hpp"
#include "sync/yaml_decoder.hpp"

namespace globaldns::sync::kube {
namespace {

// Thrown inside one object's decoding and caught at this file's edge.
struct BadObject {
  std::string reason;
};

bool absent_or_null(const boost::json::value* value) {
  return value == nullptr || value->is_null();
}

std::vector<std::string> string_list(const boost::json::value* node, const char* field) {
  std::vector<std::string> out;
  if (absent_or_null(node)) return out;
  const boost::json::array* list = node->if_array();
  if (list == nullptr) throw BadObject{std::string(field) + " is not a list of strings"};
  out.reserve(list->size());
  for (const auto& item : *list) {
    if (!item.is_string()) throw BadObject{std::string(field) + " is not a list of strings"};
    out.emplace_back(item.get_string());
  }
  return out;
}

std::vector<StatusAddress> status_addresses(const boost::json::object& status) {
  std::vector<StatusAddress> out;
  const boost::json::value* node = status.if_contains("addresses");
  if (absent_or_null(node)) return out;
  constexpr const char* kShape = "status.addresses is not a list of {value, host}";
  const boost::json::array* list = node->if_array();
  if (list == nullptr) throw BadObject{kShape};
  for (const auto& element : *list) {
    const boost::json::object* item = element.if_object();
    if (item == nullptr) throw BadObject{kShape};
    const boost::json::value* value = item->if_contains("value");
    const boost::json::value* host = item->if_contains("host");
    if (value == nullptr || !value->is_string()) throw BadObject{kShape};
    if (!absent_or_null(host) && !host->is_string()) throw BadObject{kShape};
    out.push_back(
        StatusAddress{std::string(value->get_string()), std::string(string_field(*item, "host"))});
  }
  return out;
}

ServiceEntry fields(const boost::json::object& object, std::vector<std::string>* warnings) {
  const std::string_view kind = string_field(object, "kind");
  const std::string_view api_version = string_field(object, "apiVersion");
  if (kind.empty()) throw BadObject{"no kind"};
  if (kind != "ServiceEntry")
    throw BadObject{"not a ServiceEntry (kind " + std::string(kind) + ")"};
  if (!served_api_version(api_version)) {
    throw BadObject{"unsupported apiVersion \"" + std::string(api_version) + "\" for ServiceEntry"};
  }

  ServiceEntry entry;
  const boost::json::object* metadata = object_field(object, "metadata");
  if (metadata == nullptr) throw BadObject{"missing metadata"};
  entry.namespace_ = string_field(*metadata, "namespace");
  if (entry.namespace_.empty()) entry.namespace_ = kDefaultNamespace;
  entry.name = string_field(*metadata, "name");
  if (entry.name.empty()) throw BadObject{"missing metadata.name"};

  // The API server writes "creationTimestamp": null for objects built client-side; like a
  // YAML null, that is simply no timestamp.
  const boost::json::value* created = metadata->if_contains("creationTimestamp");
  if (created != nullptr && created->is_string()) {
    const std::string_view text = created->get_string();
    entry.created_unix = parse_rfc3339(text);
    if (!entry.created_unix && warnings != nullptr) {
      // Kept: only precedence suffers, and the entry then counts as the newest.
      warnings->push_back(entry.key() + ": creationTimestamp \"" + std::string(text) +
                          "\" is not RFC 3339; treated as newest");
    }
  }

  const boost::json::value* spec_value = object.if_contains("spec");
  if (absent_or_null(spec_value)) throw BadObject{"missing spec"};
  const boost::json::object* spec = spec_value->if_object();
  if (spec == nullptr) throw BadObject{"spec is not a mapping"};
  entry.hosts = string_list(spec->if_contains("hosts"), "spec.hosts");
  if (entry.hosts.empty()) throw BadObject{"spec.hosts is missing or empty"};
  entry.addresses = string_list(spec->if_contains("addresses"), "spec.addresses");

  const boost::json::value* resolution = spec->if_contains("resolution");
  if (!absent_or_null(resolution)) {
    if (!resolution->is_string()) throw BadObject{"spec.resolution is not a string"};
    const std::string_view text = string_field(*spec, "resolution");
    const auto parsed = parse_resolution(text);
    if (!parsed) throw BadObject{"unknown spec.resolution \"" + std::string(text) + "\""};
    entry.resolution = *parsed;
  }

  if (const boost::json::object* status = object_field(object, "status")) {
    entry.status_addresses = status_addresses(*status);
  }
  return entry;
}

}  // namespace

Result<ServiceEntry> service_entry_from_json(const boost::json::object& object,
                                             const Origin& origin,
                                             std::vector<std::string>* warnings) {
  try {
    ServiceEntry entry = fields(object, warnings);
    entry.origin = origin;
    return entry;
  } catch (const BadObject& bad) {
    return Error{object_label(object) + ": " + bad.reason};
  } catch (const std::exception& e) {
    // bad_alloc and the like: still only this object is lost.
    return Error{object_label(object) + ": " + e.what()};
  }
}

Result<KubeObject> kube_object_from_json(const boost::json::object& object, const Origin& origin,
                                         std::vector<std::string>* warnings) {
  auto entry = service_entry_from_json(object, origin, warnings);
  if (!entry) return Error{entry.error()};
  KubeObject out{std::move(entry).value(), {}, {}};
  if (const auto* metadata = object_field(object, "metadata")) {
    out.resource_version = string_field(*metadata, "resourceVersion");
    out.uid = string_field(*metadata, "uid");
  }
  return out;
}

}  // namespace globaldns::sync::kube
