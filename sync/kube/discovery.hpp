// Discovery of networking.istio.io: which versions the server serves, and which one to use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "resolver/result.hpp"

namespace globaldns::sync::kube {

inline constexpr std::string_view kIstioNetworkingGroup = "networking.istio.io";

struct ApiGroupVersions {
  std::vector<std::string> versions;  // served versions in the server's order, e.g. {"v1", ...}
  std::string preferred;              // preferredVersion.version; may be empty
};

// Decodes GET /apis/networking.istio.io (kind APIGroup) or GET /apis (kind APIGroupList, from
// which the group `group` is picked). The legacy shapes only: a client that asks for aggregated
// discovery must still accept them, since a server may answer with these. Never throws.
Result<ApiGroupVersions> decode_api_group(std::string_view body,
                                          std::string_view group = kIstioNetworkingGroup);

// Picks the version to list and watch: `pinned` if not empty (an error unless the server serves
// it and globaldns decodes it); else the preferred version if it is v1, v1beta1 or v1alpha3;
// else the first served of v1, v1beta1, v1alpha3 (v1 appeared in Istio 1.22). None: an error
// naming what the server offers.
Result<std::string> choose_version(const ApiGroupVersions& served, std::string_view pinned = {});

}  // namespace globaldns::sync::kube
