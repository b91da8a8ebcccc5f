// service_entry_from_json: one ServiceEntry JSON object from the API server -> ServiceEntry.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/result.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync::kube {

// A ServiceEntry plus the bookkeeping the reflector needs: an object's own resourceVersion
// (the RV of its last write) and its uid, which tells a delete-and-recreate from an update.
struct KubeObject {
  ServiceEntry entry;
  std::string resource_version;
  std::string uid;
  bool operator==(const KubeObject&) const = default;
};

// Applies the rules of the YAML decoder (sync/yaml_decoder.cpp) to a JSON object, with the
// same reasons: kind ServiceEntry of networking.istio.io v1alpha3/v1beta1/v1, namespace
// "default" when absent, metadata.name and non-empty spec.hosts required, resolution one of
// NONE/STATIC/DNS/DNS_ROUND_ROBIN, status.addresses a list of {value, host}.
// An error reads "namespace/name: reason". Problems that keep the entry (an unparsable
// creationTimestamp: the entry then counts as newest) are appended to `warnings` when given.
// `origin` becomes the entry's origin ("cluster1"). Never throws.
Result<ServiceEntry> service_entry_from_json(const boost::json::object& object,
                                             const Origin& origin,
                                             std::vector<std::string>* warnings = nullptr);

// service_entry_from_json plus metadata.resourceVersion and metadata.uid.
Result<KubeObject> kube_object_from_json(const boost::json::object& object, const Origin& origin,
                                         std::vector<std::string>* warnings = nullptr);

}  // namespace globaldns::sync::kube
