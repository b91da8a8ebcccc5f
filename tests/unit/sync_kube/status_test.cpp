// Tests of Status bodies: JSON Status or plain text, and their classification.
#include "sync/kube/status.hpp"

#include <gtest/gtest.h>

namespace globaldns::sync::kube {
namespace {

struct BodyCase {
  const char* name;
  int http_status;
  std::string_view body;
  int code;
  const char* reason;
  const char* message;
  bool from_json;
  StatusClass status_class;
};

class StatusBody : public testing::TestWithParam<BodyCase> {};

TEST_P(StatusBody, Decodes) {
  const BodyCase& c = GetParam();
  const KubeStatus status = decode_status_body(c.http_status, c.body);
  EXPECT_EQ(status.code, c.code);
  EXPECT_EQ(status.reason, c.reason);
  EXPECT_EQ(status.message, c.message);
  EXPECT_EQ(status.from_json, c.from_json);
  EXPECT_EQ(classify(status), c.status_class) << to_string(classify(status));
}

INSTANTIATE_TEST_SUITE_P(
    Table, StatusBody,
    testing::Values(
        BodyCase{
            "Unauthorized", 401,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})",
            401, "Unauthorized", "Unauthorized", true, StatusClass::Unauthorized},
        BodyCase{"PlainText429", 429, "Too many requests, please try again later.\n", 429, "",
                 "Too many requests, please try again later.", false, StatusClass::TooManyRequests},
        BodyCase{
            "ExpiredContinue", 410,
            R"({"kind":"Status","apiVersion":"v1","metadata":{"continue":"x"},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result.","reason":"Expired","code":410})",
            410, "Expired",
            "The provided continue parameter is too old to display a consistent list result.", true,
            StatusClass::Expired},
        BodyCase{
            "InternalError", 500,
            R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"boom","reason":"InternalError","code":500})",
            500, "InternalError", "boom", true, StatusClass::ServerError},
        BodyCase{"HtmlFromProxy", 502, "<html><body>Bad Gateway</body></html>", 502, "",
                 "<html><body>Bad Gateway</body></html>", false, StatusClass::ServerError},
        BodyCase{"BrokenJson", 503, "{\"kind\":\"Status\"", 503, "", "{\"kind\":\"Status\"", false,
                 StatusClass::ServerError},
        BodyCase{"EmptyBody", 404, "", 404, "", "", false, StatusClass::Other},
        BodyCase{"JsonWithoutCodeTakesHttp", 403,
                 R"({"kind":"Status","reason":"Forbidden","message":"no"})", 403, "Forbidden", "no",
                 true, StatusClass::Unauthorized},
        BodyCase{"OtherJsonIsText", 400, R"({"hello":"world"})", 400, "", R"({"hello":"world"})",
                 false, StatusClass::Other}),
    [](const testing::TestParamInfo<BodyCase>& info) { return info.param.name; });

TEST(Status, LongPlainTextIsBounded) {
  const std::string body(100000, 'x');
  EXPECT_EQ(decode_status_body(500, body).message.size(), 1024u);
}

TEST(Status, TooLargeResourceVersion) {
  const KubeStatus status = decode_status_body(
      504,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too large resource version: 20, current: 10","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504})");
  EXPECT_EQ(status.cause_reason, "ResourceVersionTooLarge");
  EXPECT_EQ(classify(status), StatusClass::ResourceVersionTooLarge);
  EXPECT_EQ(describe(status), "504 Timeout: Too large resource version: 20, current: 10");
}

TEST(Status, GoneIsExpired) {
  KubeStatus status;
  status.reason = "Gone";
  EXPECT_EQ(classify(status), StatusClass::Expired);
}

}  // namespace
}  // namespace globaldns::sync::kube
