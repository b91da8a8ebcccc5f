// Tests of decode_list: the page as the API server writes it, and bad items skipped alone.
#include "sync/kube/list_decoder.hpp"

#include <gtest/gtest.h>

namespace globaldns::sync::kube {
namespace {

// The shape from the research notes (kubernetes-watch-facts.md §1), with the elisions filled in.
constexpr std::string_view kList =
    R"({"apiVersion":"networking.istio.io/v1","items":[{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"creationTimestamp":"2024-05-01T10:00:00Z","generation":1,"name":"a","namespace":"ns1","resourceVersion":"1234","uid":"0f6c1a8e-1"},"spec":{"addresses":["240.0.0.1"],"hosts":["a.ns1.global"],"ports":[{"name":"http","number":80,"protocol":"HTTP"}],"resolution":"STATIC"}}],"kind":"ServiceEntryList","metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNCwic3RhcnQiOiJuczEvYVx1MDAwMCJ9","remainingItemCount":99500,"resourceVersion":"1234"}})";

TEST(ListDecoder, DecodesResearchExample) {
  auto list = decode_list(kList, "cluster1");
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(list->resource_version, "1234");
  EXPECT_EQ(list->continue_token,
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNCwic3RhcnQiOiJuczEvYVx1MDAwMCJ9");
  EXPECT_EQ(list->remaining_item_count, 99500);
  ASSERT_EQ(list->objects.size(), 1u);
  const KubeObject& object = list->objects[0];
  EXPECT_EQ(object.entry.key(), "ns1/a");
  EXPECT_EQ(object.entry.hosts, std::vector<std::string>{"a.ns1.global"});
  EXPECT_EQ(object.entry.resolution, Resolution::Static);
  EXPECT_EQ(object.entry.origin, "cluster1");
  EXPECT_EQ(object.resource_version, "1234");
  EXPECT_EQ(object.uid, "0f6c1a8e-1");
  EXPECT_TRUE(list->problems.empty());
}

TEST(ListDecoder, BadItemIsSkippedAlone) {
  constexpr std::string_view body =
      R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"77"},"items":[
        {"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"good1","namespace":"n","resourceVersion":"70"},"spec":{"hosts":["g1.global"]}},
        {"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"bad","namespace":"n"},"spec":{"hosts":["b.global"],"resolution":"WHAT"}},
        "not an object",
        {"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"late","namespace":"n","creationTimestamp":"soon"},"spec":{"hosts":["l.global"]}},
        {"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"good2","namespace":"n"},"spec":{"hosts":["g2.global"]}}]})";
  auto list = decode_list(body, "c");
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_TRUE(list->continue_token.empty());
  ASSERT_EQ(list->objects.size(), 3u);
  EXPECT_EQ(list->objects[0].entry.name, "good1");
  EXPECT_EQ(list->objects[0].resource_version, "70");
  EXPECT_EQ(list->objects[1].entry.name, "late");
  EXPECT_EQ(list->objects[2].entry.name, "good2");
  EXPECT_EQ(list->problems,
            (std::vector<std::string>{
                "n/bad: unknown spec.resolution \"WHAT\"; object skipped",
                "list item is not an object; ignored",
                "n/late: creationTimestamp \"soon\" is not RFC 3339; treated as newest"}));
}

TEST(ListDecoder, EmptyAndNullItems) {
  for (const std::string_view body :
       {R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"5"},"items":[]})",
        R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"5"},"items":null})",
        R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"5"}})"}) {
    auto list = decode_list(body, "c");
    ASSERT_TRUE(list.ok()) << body << ": " << list.error();
    EXPECT_TRUE(list->objects.empty());
    EXPECT_EQ(list->resource_version, "5");
  }
}

struct ListErrorCase {
  const char* name;
  std::string_view body;
  const char* error_part;
};

class ListDecoderError : public testing::TestWithParam<ListErrorCase> {};

TEST_P(ListDecoderError, FailsWholePage) {
  auto list = decode_list(GetParam().body, "c");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().find(GetParam().error_part), std::string::npos) << list.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ListDecoderError,
    testing::Values(
        ListErrorCase{"Malformed", R"({"kind":"ServiceEntryList","items":[)", "malformed JSON"},
        ListErrorCase{"Empty", "", "malformed JSON"},
        ListErrorCase{"NotObject", "[1,2]", "not an object"},
        ListErrorCase{"WrongKind", R"({"kind":"PodList","metadata":{"resourceVersion":"1"}})",
                      "expected kind ServiceEntryList"},
        ListErrorCase{"NoResourceVersion", R"({"kind":"ServiceEntryList","items":[]})",
                      "no metadata.resourceVersion"},
        ListErrorCase{
            "ItemsNotList",
            R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"1"},"items":{}})",
            "items is not a list"},
        ListErrorCase{
            "Status",
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410})",
            "410 Expired: The provided continue parameter is too old"},
        ListErrorCase{
            "TooDeep",
            std::string_view(
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
            "malformed JSON"}),
    [](const testing::TestParamInfo<ListErrorCase>& info) { return info.param.name; });

TEST(ListDecoder, SizeLimit) {
  JsonLimits limits;
  limits.max_bytes = 10;
  auto list = decode_list(kList, "c", limits);
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().find("more than the limit of 10"), std::string::npos) << list.error();
}

// Pages decode in memory kept from the page before (grown to what it took): a small page after a
// large one, and a larger one after that, each decode as if alone.
TEST(ListDecoder, PagesInTurnDecodeAlike) {
  const auto page = [](size_t items, const std::string& ns) {
    std::string body = R"({"apiVersion":"networking.istio.io/v1","items":[)";
    for (size_t i = 0; i < items; ++i) {
      const std::string n = std::to_string(i);
      if (i > 0) body += ',';
      body.append(R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry",)")
          .append(R"("metadata":{"name":"s)")
          .append(n)
          .append(R"(","namespace":")")
          .append(ns)
          .append(R"("},"spec":{"hosts":["s)")
          .append(n)
          .append(".")
          .append(ns)
          .append(R"(.global"],"addresses":["240.0.0.1"]}})");
    }
    return body.append(R"(],"kind":"ServiceEntryList","metadata":{"resourceVersion":"5"}})");
  };
  for (const auto& [items, ns] : std::vector<std::pair<size_t, std::string>>{
           {2000, "big"}, {3, "small"}, {8000, "bigger"}, {1, "one"}, {8000, "again"}}) {
    auto list = decode_list(page(items, ns), "c");
    ASSERT_TRUE(list.ok()) << list.error();
    ASSERT_EQ(list->objects.size(), items) << (list->problems.empty() ? "" : list->problems[0]);
    for (size_t i = 0; i < items; ++i) {
      std::string name = "s";
      name.append(std::to_string(i));
      std::string host = name;
      host.append(".").append(ns).append(".global");
      ASSERT_EQ(list->objects[i].entry.name, name);
      ASSERT_EQ(list->objects[i].entry.namespace_, ns);
      ASSERT_EQ(list->objects[i].entry.hosts, std::vector<std::string>{host});
    }
  }
}

TEST(GuessContinue, FindsTheTokenOfAPageAsTheServerWritesIt) {
  auto list = decode_list(kList, "c");
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(guess_continue(kList), list->continue_token);
}

TEST(GuessContinue, LastPageHasNone) {
  constexpr std::string_view last =
      R"({"apiVersion":"v","items":[],"kind":"ServiceEntryList","metadata":{"resourceVersion":"9"}})";
  EXPECT_EQ(guess_continue(last), "");
  EXPECT_EQ(guess_continue(""), "");
  EXPECT_EQ(guess_continue(R"({"metadata":{"continue":"unterminated)"), "");
}

TEST(GuessContinue, AnEscapedTokenIsNotGuessed) {
  EXPECT_EQ(guess_continue(R"({"metadata":{"continue":"a\"b","resourceVersion":"9"}})"), "");
  EXPECT_EQ(guess_continue(R"({"metadata":{"continue":"a\u0041","resourceVersion":"9"}})"), "");
}

// Only a guess: an item's text can look like the token, which is why the caller checks it.
TEST(GuessContinue, AnItemCanLookLikeIt) {
  constexpr std::string_view body =
      R"({"items":[{"metadata":{"annotations":{"continue":"bogus"}}}],"metadata":{"resourceVersion":"9"}})";
  EXPECT_EQ(guess_continue(body), "bogus");
}

// Metadata written first, as for built-in kinds, and items after it: far from the end, no guess
// (the page is then decoded before the next is asked for, as without guessing).
TEST(GuessContinue, LooksOnlyNearTheEnd) {
  std::string body = R"({"metadata":{"continue":"tok","resourceVersion":"9"},"items":[")";
  body.append(5000, 'x').append("\"]}");
  EXPECT_EQ(guess_continue(body), "");
  EXPECT_EQ(guess_continue(std::string_view(body).substr(0, 100)), "tok");
}

}  // namespace
}  // namespace globaldns::sync::kube
