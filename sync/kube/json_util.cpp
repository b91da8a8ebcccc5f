// JSON helpers for the Kubernetes decoders: Boost.JSON errors and exceptions stop here.
#include "sync/kube/json_util.hpp"

#include <exception>
#include <new>

namespace globaldns::sync::kube {

Result<boost::json::object> parse_json_object(std::string_view text, std::string_view what,
                                              const JsonLimits& limits,
                                              boost::json::storage_ptr storage) {
  if (text.size() > limits.max_bytes) {
    return Error{std::string(what) + ": " + std::to_string(text.size()) +
                 " bytes is more than the limit of " + std::to_string(limits.max_bytes)};
  }
  try {
    boost::json::parse_options options;
    options.max_depth = limits.max_depth;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(
        boost::json::string_view(text.data(), text.size()), ec, std::move(storage), options);
    if (ec) return Error{std::string(what) + ": malformed JSON: " + ec.message()};
    if (!value.is_object()) return Error{std::string(what) + ": JSON is not an object"};
    return std::move(value.as_object());
  } catch (const std::bad_alloc&) {
    return Error{std::string(what) + ": out of memory while parsing JSON"};
  } catch (const std::exception& e) {
    return Error{std::string(what) + ": " + e.what()};
  }
}

std::string_view string_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(boost::json::string_view(key));
  if (value == nullptr || !value->is_string()) return {};
  const boost::json::string& s = value->get_string();
  return {s.data(), s.size()};
}

const boost::json::object* object_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(boost::json::string_view(key));
  return value == nullptr ? nullptr : value->if_object();
}

std::string object_label(const boost::json::object& object) {
  std::string ns, name;
  if (const auto* metadata = object_field(object, "metadata")) {
    ns = string_field(*metadata, "namespace");
    name = string_field(*metadata, "name");
  }
  // Same defaults as the YAML decoder, so one object reads the same from a file or a cluster.
  if (ns.empty()) ns = "default";
  if (name.empty()) name = "<unnamed>";
  return ns + "/" + name;
}

}  // namespace globaldns::sync::kube
