// Test support: the fake kube-apiserver for the sync/kube unit tests; one copy lives in
// tests/support/fake_kube_server.hpp, shared with the end-to-end tests of `globaldns serve`.
#pragma once

#include "tests/support/fake_kube_server.hpp"

namespace globaldns::sync::kube::fakes {

using FakeServer = globaldns::testing::FakeKubeServer;
inline constexpr const char* kToken = globaldns::testing::kFakeKubeToken;

}  // namespace globaldns::sync::kube::fakes
