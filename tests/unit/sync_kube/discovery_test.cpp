// Tests of discovery decoding and the version choice.
#include "sync/kube/discovery.hpp"

#include <gtest/gtest.h>

namespace globaldns::sync::kube {
namespace {

constexpr std::string_view kGroupList =
    R"({"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"networking.istio.io","versions":[{"groupVersion":"networking.istio.io/v1","version":"v1"},{"groupVersion":"networking.istio.io/v1beta1","version":"v1beta1"},{"groupVersion":"networking.istio.io/v1alpha3","version":"v1alpha3"}],"preferredVersion":{"groupVersion":"networking.istio.io/v1","version":"v1"}}]})";

constexpr std::string_view kGroup =
    R"({"kind":"APIGroup","apiVersion":"v1","name":"networking.istio.io","versions":[{"groupVersion":"networking.istio.io/v1beta1","version":"v1beta1"},{"groupVersion":"networking.istio.io/v1alpha3","version":"v1alpha3"}],"preferredVersion":{"groupVersion":"networking.istio.io/v1beta1","version":"v1beta1"}})";

TEST(Discovery, DecodesGroupList) {
  auto group = decode_api_group(kGroupList);
  ASSERT_TRUE(group.ok()) << group.error();
  EXPECT_EQ(group->versions, (std::vector<std::string>{"v1", "v1beta1", "v1alpha3"}));
  EXPECT_EQ(group->preferred, "v1");
}

TEST(Discovery, DecodesGroup) {
  auto group = decode_api_group(kGroup);
  ASSERT_TRUE(group.ok()) << group.error();
  EXPECT_EQ(group->versions, (std::vector<std::string>{"v1beta1", "v1alpha3"}));
  EXPECT_EQ(group->preferred, "v1beta1");
}

struct DecodeErrorCase {
  const char* name;
  std::string_view body;
  const char* error_part;
};

class DiscoveryDecodeError : public testing::TestWithParam<DecodeErrorCase> {};

TEST_P(DiscoveryDecodeError, IsAnError) {
  auto group = decode_api_group(GetParam().body);
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.error().find(GetParam().error_part), std::string::npos) << group.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, DiscoveryDecodeError,
    testing::Values(
        DecodeErrorCase{"GroupMissing",
                        R"({"kind":"APIGroupList","groups":[{"name":"apps","versions":[]}]})",
                        "does not serve API group networking.istio.io"},
        DecodeErrorCase{"OtherGroup", R"({"kind":"APIGroup","name":"apps","versions":[]})",
                        "got apps"},
        DecodeErrorCase{
            "NotFoundStatus",
            R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404})",
            "could not find"},
        DecodeErrorCase{"Malformed", "{", "malformed JSON"},
        DecodeErrorCase{"NoVersions", R"({"kind":"APIGroup","name":"networking.istio.io"})",
                        "no versions"}),
    [](const testing::TestParamInfo<DecodeErrorCase>& info) { return info.param.name; });

struct ChoiceCase {
  const char* name;
  std::vector<std::string> versions;
  const char* preferred;
  const char* pinned;
  const char* chosen;  // nullptr: an error containing `error_part`
  const char* error_part;
};

class DiscoveryChoice : public testing::TestWithParam<ChoiceCase> {};

TEST_P(DiscoveryChoice, Chooses) {
  const ChoiceCase& c = GetParam();
  auto chosen = choose_version(ApiGroupVersions{c.versions, c.preferred}, c.pinned);
  if (c.chosen != nullptr) {
    ASSERT_TRUE(chosen.ok()) << chosen.error();
    EXPECT_EQ(*chosen, c.chosen);
  } else {
    ASSERT_FALSE(chosen.ok()) << *chosen;
    EXPECT_NE(chosen.error().find(c.error_part), std::string::npos) << chosen.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DiscoveryChoice,
    testing::Values(
        ChoiceCase{"PreferredV1", {"v1", "v1beta1", "v1alpha3"}, "v1", "", "v1", ""},
        ChoiceCase{"PreferredBeta", {"v1", "v1beta1"}, "v1beta1", "", "v1beta1", ""},
        ChoiceCase{
            "PreferredUnknownFallsBack", {"v2", "v1alpha3", "v1beta1"}, "v2", "", "v1beta1", ""},
        ChoiceCase{"NoPreferred", {"v1alpha3"}, "", "", "v1alpha3", ""},
        ChoiceCase{"OldIstioWithoutV1", {"v1alpha3", "v1beta1"}, "v1alpha3", "", "v1alpha3", ""},
        ChoiceCase{"Pinned", {"v1", "v1beta1", "v1alpha3"}, "v1", "v1alpha3", "v1alpha3", ""},
        ChoiceCase{"PinnedUnserved",
                   {"v1beta1", "v1alpha3"},
                   "v1beta1",
                   "v1",
                   nullptr,
                   "pinned version v1 of networking.istio.io is not served; the server offers: "
                   "v1beta1, v1alpha3"},
        ChoiceCase{"PinnedUndecodable", {"v2"}, "v2", "v2", nullptr, "not one globaldns decodes"},
        ChoiceCase{"NoneServed",
                   {"v2", "v3"},
                   "v3",
                   "",
                   nullptr,
                   "none of v1, v1beta1, v1alpha3 of networking.istio.io is served; the server "
                   "offers: v2, v3"},
        ChoiceCase{"Empty", {}, "", "", nullptr, "offers: none"}),
    [](const testing::TestParamInfo<ChoiceCase>& info) { return info.param.name; });

}  // namespace
}  // namespace globaldns::sync::kube
