// Tests of service_entry_from_json: the YAML decoder's rules and reasons, applied to JSON.
#include "sync/kube/json_service_entry.hpp"

#include <gtest/gtest.h>

#include "sync/kube/json_util.hpp"

namespace globaldns::sync::kube {
namespace {

boost::json::object object_of(std::string_view text) {
  auto parsed = parse_json_object(text, "test");
  EXPECT_TRUE(parsed.ok()) << parsed.error();
  return parsed.ok() ? std::move(parsed).value() : boost::json::object();
}

TEST(JsonServiceEntry, DecodesAllFields) {
  const auto object = object_of(R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry",
    "metadata":{"creationTimestamp":"2024-01-02T03:04:05Z","name":"a","namespace":"ns1",
                "resourceVersion":"1234","uid":"u-1"},
    "spec":{"addresses":["240.0.0.1"],"hosts":["a.ns1.global"],"resolution":"DNS"},
    "status":{"addresses":[{"value":"240.240.0.1","host":"a.ns1.global"},{"value":"240.240.0.2"}]}})");
  std::vector<std::string> warnings;
  auto decoded = kube_object_from_json(object, "cluster1", &warnings);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  const ServiceEntry& entry = decoded->entry;
  EXPECT_EQ(entry.key(), "ns1/a");
  EXPECT_EQ(entry.created_unix, 1704164645);
  EXPECT_EQ(entry.hosts, std::vector<std::string>{"a.ns1.global"});
  EXPECT_EQ(entry.addresses, std::vector<std::string>{"240.0.0.1"});
  EXPECT_EQ(entry.resolution, Resolution::Dns);
  ASSERT_EQ(entry.status_addresses.size(), 2u);
  EXPECT_EQ(entry.status_addresses[0], (StatusAddress{"240.240.0.1", "a.ns1.global"}));
  EXPECT_EQ(entry.status_addresses[1], (StatusAddress{"240.240.0.2", ""}));
  EXPECT_EQ(entry.origin, "cluster1");
  EXPECT_EQ(decoded->resource_version, "1234");
  EXPECT_EQ(decoded->uid, "u-1");
  EXPECT_TRUE(warnings.empty());
}

TEST(JsonServiceEntry, DefaultsAndNulls) {
  // No namespace -> "default"; null creationTimestamp, addresses, resolution and status are absent.
  const auto object = object_of(R"({"apiVersion":"networking.istio.io/v1alpha3",
    "kind":"ServiceEntry","metadata":{"name":"b","creationTimestamp":null},
    "spec":{"hosts":["b.global"],"addresses":null,"resolution":null},"status":null})");
  auto decoded = service_entry_from_json(object, "c");
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->key(), "default/b");
  EXPECT_FALSE(decoded->created_unix.has_value());
  EXPECT_TRUE(decoded->addresses.empty());
  EXPECT_EQ(decoded->resolution, Resolution::Unset);
}

TEST(JsonServiceEntry, BadTimestampKeepsEntryWithWarning) {
  const auto object = object_of(R"({"apiVersion":"networking.istio.io/v1beta1",
    "kind":"ServiceEntry","metadata":{"name":"c","namespace":"n","creationTimestamp":"yesterday"},
    "spec":{"hosts":["c.global"]}})");
  std::vector<std::string> warnings;
  auto decoded = service_entry_from_json(object, "c", &warnings);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_FALSE(decoded->created_unix.has_value());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "n/c: creationTimestamp \"yesterday\" is not RFC 3339; treated as newest");
}

struct BadCase {
  const char* name;
  const char* json;
  const char* error;
};

class JsonServiceEntryBad : public testing::TestWithParam<BadCase> {};

TEST_P(JsonServiceEntryBad, RejectsWithYamlReason) {
  const auto object = object_of(GetParam().json);
  auto decoded = service_entry_from_json(object, "c");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonServiceEntryBad,
    testing::Values(
        BadCase{"NoKind", R"({"metadata":{"name":"a","namespace":"n"}})", "n/a: no kind"},
        BadCase{"OtherKind", R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}})",
                "default/a: not a ServiceEntry (kind Service)"},
        BadCase{
            "OldApiVersion",
            R"({"apiVersion":"networking.istio.io/v1alpha2","kind":"ServiceEntry","metadata":{"name":"a"}})",
            "default/a: unsupported apiVersion \"networking.istio.io/v1alpha2\" for ServiceEntry"},
        BadCase{"NoMetadata",
                R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","spec":{}})",
                "default/<unnamed>: missing metadata"},
        BadCase{
            "NoName",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"namespace":"n"}})",
            "n/<unnamed>: missing metadata.name"},
        BadCase{
            "NoSpec",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"}})",
            "default/a: missing spec"},
        BadCase{
            "SpecNotObject",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":[]})",
            "default/a: spec is not a mapping"},
        BadCase{
            "NoHosts",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{}})",
            "default/a: spec.hosts is missing or empty"},
        BadCase{
            "EmptyHosts",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":[]}})",
            "default/a: spec.hosts is missing or empty"},
        BadCase{
            "HostsNotStrings",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":[1]}})",
            "default/a: spec.hosts is not a list of strings"},
        BadCase{
            "AddressesNotList",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"],"addresses":"1.2.3.4"}})",
            "default/a: spec.addresses is not a list of strings"},
        BadCase{
            "ResolutionNotString",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"],"resolution":3}})",
            "default/a: spec.resolution is not a string"},
        BadCase{
            "UnknownResolution",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"],"resolution":"MAGIC"}})",
            "default/a: unknown spec.resolution \"MAGIC\""},
        BadCase{
            "StatusAddressNoValue",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"]},"status":{"addresses":[{"host":"a"}]}})",
            "default/a: status.addresses is not a list of {value, host}"},
        BadCase{
            "StatusAddressHostNotString",
            R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"]},"status":{"addresses":[{"value":"1.1.1.1","host":7}]}})",
            "default/a: status.addresses is not a list of {value, host}"}),
    [](const testing::TestParamInfo<BadCase>& info) { return info.param.name; });

}  // namespace
}  // namespace globaldns::sync::kube
