// Tests of decode_watch_event, on the exact lines the API server writes.
#include "sync/kube/watch_event.hpp"

#include <gtest/gtest.h>

namespace globaldns::sync::kube {
namespace {

TEST(WatchEvent, Added) {
  auto event = decode_watch_event(
      R"({"type":"ADDED","object":{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a","namespace":"ns1","resourceVersion":"10596","uid":"u1"},"spec":{"addresses":["240.0.0.1"],"hosts":["a.ns1.global"],"resolution":"STATIC"}}})",
      "cluster1");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_EQ(event->type, EventType::Added);
  EXPECT_EQ(event->resource_version, "10596");
  EXPECT_EQ(event->key, "ns1/a");
  ASSERT_TRUE(event->object.has_value());
  EXPECT_EQ(event->object->entry.hosts, std::vector<std::string>{"a.ns1.global"});
  EXPECT_EQ(event->object->entry.origin, "cluster1");
  EXPECT_EQ(event->object->resource_version, "10596");
  EXPECT_EQ(event->object->uid, "u1");
  EXPECT_TRUE(event->problem.empty());
}

TEST(WatchEvent, ModifiedAndDeleted) {
  for (const auto& [type, expected] :
       {std::pair{"MODIFIED", EventType::Modified}, std::pair{"DELETED", EventType::Deleted}}) {
    const std::string line =
        std::string(R"({"type":")") + type +
        R"(","object":{"apiVersion":"networking.istio.io/v1beta1","kind":"ServiceEntry","metadata":{"name":"b","resourceVersion":"20"},"spec":{"hosts":["b.global"]}}})";
    auto event = decode_watch_event(line, "c");
    ASSERT_TRUE(event.ok()) << event.error();
    EXPECT_EQ(event->type, expected);
    EXPECT_EQ(event->key, "default/b");
    EXPECT_EQ(event->resource_version, "20");
    EXPECT_TRUE(event->object.has_value());
  }
}

TEST(WatchEvent, BadObjectKeepsKeyAndResourceVersion) {
  // An update that makes an object invalid must still be applied by key (as a removal).
  auto event = decode_watch_event(
      R"({"type":"MODIFIED","object":{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a","namespace":"n","resourceVersion":"31"},"spec":{"hosts":[]}}})",
      "c");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_EQ(event->type, EventType::Modified);
  EXPECT_FALSE(event->object.has_value());
  EXPECT_EQ(event->key, "n/a");
  EXPECT_EQ(event->resource_version, "31");
  EXPECT_EQ(event->problem, "n/a: spec.hosts is missing or empty");
}

TEST(WatchEvent, Bookmark) {
  // Exact line from API Concepts, "Watch bookmarks".
  auto event = decode_watch_event(
      R"({"type":"BOOKMARK","object":{"kind":"ServiceEntry","apiVersion":"networking.istio.io/v1","metadata":{"resourceVersion":"12746"}}})",
      "c");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_EQ(event->type, EventType::Bookmark);
  EXPECT_EQ(event->resource_version, "12746");
  EXPECT_FALSE(event->initial_events_end);
  EXPECT_FALSE(event->object.has_value());
}

TEST(WatchEvent, InitialEventsEndBookmark) {
  auto event = decode_watch_event(
      R"({"type":"BOOKMARK","object":{"kind":"ServiceEntry","apiVersion":"networking.istio.io/v1","metadata":{"resourceVersion":"500","annotations":{"k8s.io/initial-events-end":"true"}}}})",
      "c");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_TRUE(event->initial_events_end);
  EXPECT_EQ(event->resource_version, "500");
}

struct ErrorEventCase {
  const char* name;
  std::string_view line;
  int code;
  const char* reason;
  StatusClass status_class;
};

class WatchErrorEvent : public testing::TestWithParam<ErrorEventCase> {};

TEST_P(WatchErrorEvent, Classifies) {
  auto event = decode_watch_event(GetParam().line, "c");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_EQ(event->type, EventType::Error);
  EXPECT_EQ(event->status.code, GetParam().code);
  EXPECT_EQ(event->status.reason, GetParam().reason);
  EXPECT_EQ(event->status_class, GetParam().status_class);
}

INSTANTIATE_TEST_SUITE_P(
    Table, WatchErrorEvent,
    testing::Values(
        // Exact line quoted in wso2/apk#571.
        ErrorEventCase{
            "Expired410",
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 657887 (680402)","reason":"Expired","code":410}})j",
            410, "Expired", StatusClass::Expired},
        ErrorEventCase{
            "GoneOldServers",
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Gone","code":410}})j",
            410, "Gone", StatusClass::Expired},
        ErrorEventCase{
            "TooLarge504",
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too large resource version: 20, current: 10","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}]},"code":504}})j",
            504, "Timeout", StatusClass::ResourceVersionTooLarge},
        ErrorEventCase{
            "TooMany429",
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"slow down","reason":"TooManyRequests","code":429}})j",
            429, "TooManyRequests", StatusClass::TooManyRequests},
        ErrorEventCase{
            "Internal500",
            R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcd down","reason":"InternalError","code":500}})j",
            500, "InternalError", StatusClass::ServerError}),
    [](const testing::TestParamInfo<ErrorEventCase>& info) { return info.param.name; });

struct MalformedCase {
  const char* name;
  std::string_view line;
  const char* error_part;
};

class WatchEventMalformed : public testing::TestWithParam<MalformedCase> {};

TEST_P(WatchEventMalformed, IsAnError) {
  auto event = decode_watch_event(GetParam().line, "c");
  ASSERT_FALSE(event.ok());
  EXPECT_NE(event.error().find(GetParam().error_part), std::string::npos) << event.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, WatchEventMalformed,
    testing::Values(
        MalformedCase{"Truncated", R"({"type":"ADDED","object":{"kind")", "malformed JSON"},
        MalformedCase{"Garbage", "hello", "malformed JSON"},
        MalformedCase{"TwoObjects", R"({"type":"ADDED"}{"type":"ADDED"})", "malformed JSON"},
        MalformedCase{"Array", "[]", "not an object"},
        MalformedCase{"NoType", R"({"object":{}})", "missing type"},
        MalformedCase{"TypeNotString", R"({"type":1,"object":{}})", "missing type"},
        MalformedCase{"UnknownType", R"({"type":"SYNC","object":{}})", "unknown type \"SYNC\""},
        MalformedCase{"NoObject", R"({"type":"ADDED"})", "ADDED without an object"},
        MalformedCase{"ObjectNotObject", R"({"type":"DELETED","object":"x"})",
                      "DELETED without an object"},
        MalformedCase{"BookmarkWithoutRv",
                      R"({"type":"BOOKMARK","object":{"kind":"ServiceEntry","metadata":{}}})",
                      "BOOKMARK without resourceVersion"}),
    [](const testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(WatchEvent, DepthAndSizeLimits) {
  const std::string deep =
      R"({"type":"ADDED","object":)" + std::string(100, '[') + std::string(100, ']') + "}";
  auto too_deep = decode_watch_event(deep, "c");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.error().find("malformed JSON"), std::string::npos) << too_deep.error();

  JsonLimits limits;
  limits.max_bytes = 16;
  auto too_big = decode_watch_event(R"({"type":"BOOKMARK","object":{}})", "c", limits);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().find("limit of 16"), std::string::npos) << too_big.error();
}

}  // namespace
}  // namespace globaldns::sync::kube
