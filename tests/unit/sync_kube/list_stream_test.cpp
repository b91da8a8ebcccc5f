// Tests of stream_list against decode_list: the same objects and page for every page it accepts,
// and it accepts the plain pages API servers write.
#include "sync/kube/list_stream.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sync/kube/list_decoder.hpp"

namespace globaldns::sync::kube {
namespace {

struct Streamed {
  std::optional<DecodedList> page;
  std::vector<KubeObject> objects;
};

Streamed stream(const std::string& body) {
  Streamed out;
  out.page = stream_list(body, Origin("cluster1"),
                         [&](const KubeObject& object) { out.objects.push_back(object); });
  return out;
}

// Accepted: exactly decode_list()'s result, which then has no problems.
void expect_agrees(const std::string& body, const Streamed& got) {
  const auto want = decode_list(body, Origin("cluster1"));
  ASSERT_TRUE(want.ok()) << want.error() << "\n" << body;
  EXPECT_TRUE(want->problems.empty()) << want->problems.front() << "\n" << body;
  EXPECT_EQ(got.objects, want->objects) << body;
  EXPECT_EQ(got.page->resource_version, want->resource_version);
  EXPECT_EQ(got.page->continue_token, want->continue_token);
  EXPECT_EQ(got.page->remaining_item_count, want->remaining_item_count);
  EXPECT_TRUE(got.page->objects.empty());
}

std::string plain_item(int i, const std::string& extra_metadata = "",
                       const std::string& extra_spec = "", const std::string& status = "") {
  std::string item = R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry",)";
  item += R"("metadata":{"creationTimestamp":"2026-11-27T07:00:00Z","generation":1,)";
  item += R"("labels":{"app":"x","nested":{"deep":[1,2,{"a":null}]}},"name":"svc)" +
          std::to_string(i) + R"(","namespace":"ns)" + std::to_string(i % 3) +
          R"(","resourceVersion":")" + std::to_string(100 + i) + R"(","uid":"u-)" +
          std::to_string(i) + "\"" + extra_metadata + "},";
  item += R"("spec":{"addresses":["240.0.0.)" + std::to_string(i % 250) + R"("],"hosts":["svc)" +
          std::to_string(i) + R"(.ns.global","other.global"],"location":"MESH_INTERNAL",)";
  item += R"("ports":[{"name":"http","number":80,"protocol":"HTTP"}],"resolution":"STATIC")" +
          extra_spec + "}";
  item += status;
  return item + "}";
}

std::string page_of(const std::vector<std::string>& items,
                    const std::string& metadata =
                        R"({"continue":"abc","remainingItemCount":7,"resourceVersion":"2000"})") {
  std::string body = R"({"apiVersion":"networking.istio.io/v1","items":[)";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) body += ',';
    body += items[i];
  }
  return body + R"(],"kind":"ServiceEntryList","metadata":)" + metadata + "}";
}

TEST(StreamListTest, APlainPageIsDecodedAsDecodeListDoes) {
  std::vector<std::string> items;
  for (int i = 0; i < 50; ++i) items.push_back(plain_item(i));
  // Also plain: no namespace (default), a null creationTimestamp, status addresses, every served
  // version, an escaped name, another resolution.
  items.push_back(R"({"apiVersion":"networking.istio.io/v1beta1","kind":"ServiceEntry",)"
                  R"("metadata":{"name":"nons","creationTimestamp":null},)"
                  R"("spec":{"hosts":["a.global"],"resolution":"DNS"},)"
                  R"("status":{"addresses":[{"value":"240.1.1.1","host":"a.global"},)"
                  R"({"value":"240.1.1.2"}],"conditions":[]}})");
  items.push_back(R"({"kind":"ServiceEntry","apiVersion":"networking.istio.io/v1alpha3",)"
                  R"("spec":{"hosts":["b\u002eglobal","c.glob\"al"]},)"
                  R"("metadata":{"namespace":"n\\s","name":"esc\u00e9"}})");
  const std::string body = page_of(items);
  const Streamed got = stream(body);
  ASSERT_TRUE(got.page.has_value());
  ASSERT_EQ(got.objects.size(), items.size());
  expect_agrees(body, got);
  EXPECT_EQ(got.objects.back().entry.hosts[1], "c.glob\"al");
}

TEST(StreamListTest, PagesWithoutItemsOrMetadataAgree) {
  for (const std::string& body :
       {std::string(R"({"kind":"List","items":[],"metadata":{"resourceVersion":"5"}})"),
        std::string(R"({"kind":"ServiceEntryList","metadata":{"resourceVersion":"5"}})"),
        page_of({plain_item(1)}, R"({"resourceVersion":"9","remainingItemCount":1.5})")}) {
    const Streamed got = stream(body);
    ASSERT_TRUE(got.page.has_value()) << body;
    expect_agrees(body, got);
  }
}

// Every page decode_list() refuses, or whose items it skips or warns about, or whose meaning
// hangs on a detail (a key twice, a null for a list): declined, so decode_list() decides.
TEST(StreamListTest, DeclinesWhatDecodeListWouldRefuseSkipOrWarnAbout) {
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "{",
      page_of({plain_item(1)}) + "x",
      R"({"kind":"Status","status":"Failure","code":410,"metadata":{}})",
      R"({"kind":"ServiceEntryList","items":[]})",  // no RV
      R"({"kind":"ServiceEntryList","items":{},"metadata":{"resourceVersion":"1"}})",
      R"({"kind":"ServiceEntryList","items":null,"metadata":{"resourceVersion":"1"}})",
      R"({"kind":"ServiceEntryList","items":[1],"metadata":{"resourceVersion":"1"}})",
      R"({"kind":["x"],"items":[],"metadata":{"resourceVersion":"1"}})",
      R"({"kind":"ServiceEntryList","kind":"List","items":[],"metadata":{"resourceVersion":"1"}})",
      R"({"kind":"ServiceEntryList","items":[],"metadata":{"resourceVersion":1}})",
      R"({"kind":"ServiceEntryList","items":[],"metadata":{"resourceVersion":"1","resourceVersion":"2"}})",
      page_of({plain_item(1, R"(,"name":"again")")}),
      page_of({plain_item(1, R"(,"creationTimestamp2":1)")
                   .replace(plain_item(1).find("2026-11-27T07:00:00Z"), 20, "yesterday")}),
      page_of({plain_item(1, "", R"(,"resolution":"MAYBE")")}),
      page_of({plain_item(1, "", R"(,"hosts":[])")}),
      page_of(
          {R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":[]}})"}),
      page_of({plain_item(1, "", R"(,"addresses":null)")}),
      page_of({plain_item(1, "", R"(,"addresses":[1])")}),
      page_of({plain_item(1, "", "", R"(,"status":{"addresses":[{"host":"a.global"}]})")}),
      page_of({plain_item(1, "", "", R"(,"status":{"addresses":[{"value":1}]})")}),
      page_of(
          {plain_item(1, "", "", R"(,"status":{"addresses":[{"value":"1.2.3.4","host":null}]})")}),
      page_of({plain_item(1, "", "", R"(,"status":"broken")")}),
      page_of({plain_item(
          1, "", "", R"(,"status":{"addresses":[{"value":"240.1.1.1","value":"240.1.1.2"}]})")}),
      page_of({plain_item(
          1, "", "",
          R"(,"status":{"addresses":[{"value":"240.1.1.1","host":"a.global","host":"b.global"}]})")}),
      page_of({plain_item(1)},
              R"({"resourceVersion":"9","remainingItemCount":1,"remainingItemCount":2})"),
      page_of(
          {R"({"apiVersion":"networking.istio.io/v1","kind":"Service","metadata":{"name":"a"},"spec":{"hosts":["a"]}})"}),
      page_of(
          {R"({"apiVersion":"v1","kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"]}})"}),
      page_of(
          {R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"namespace":"x"},"spec":{"hosts":["a"]}})"}),
      page_of(
          {R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"a"}})"}),
      page_of(
          {R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":7},"spec":{"hosts":["a"]}})"}),
      page_of(
          {R"({"apiVersion":{"v":1},"kind":"ServiceEntry","metadata":{"name":"a"},"spec":{"hosts":["a"]}})"}),
  };
  for (const std::string& body : bodies) {
    const Streamed got = stream(body);
    EXPECT_FALSE(got.page.has_value()) << body;
  }
}

// Random pages built from plain items with one detail changed here and there: whatever is
// accepted agrees with decode_list(), and every page of plain items alone is accepted.
TEST(StreamListTest, RandomPagesAgreeWithDecodeList) {
  std::mt19937 rng(20261127);
  const auto below = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const std::vector<std::pair<std::string, std::string>> edits = {
      {R"("resolution":"STATIC")", R"("resolution":"NONE")"},
      {R"("resolution":"STATIC")", R"("resolution":null)"},
      {R"("resolution":"STATIC")", R"("resolution":5)"},
      {R"("generation":1,)", R"("generation":1.5e3,"annotations":{"k":"v\n\t"},)"},
      {R"("namespace":"ns)", R"("namespace":"Ns)"},
      {R"("namespace":"ns0",)", ""},
      {R"("uid":"u-)", R"("uid":"\u0041-)"},
      {R"("hosts":["svc)", R"("hosts":[null,"svc)"},
      {R"("hosts":["svc)", R"("hosts":["*.svc)"},
      {R"("addresses":["240.)", R"("addresses":["10.)"},
      {R"("addresses":[")", R"("addresses":[],"x":[")"},
      {"2026-11-27T07:00:00Z", "2026-11-27T07:00:00.5+01:00"},
      {"2026-11-27T07:00:00Z", "not a time"},
      {R"("kind":"ServiceEntry")", R"("kind":"ServiceEntry","kind":"ServiceEntry")"},
      {R"("apiVersion":"networking.istio.io/v1")", R"("apiVersion":"networking.istio.io/v2")"},
      {R"("spec":{)",
       R"("status":{"addresses":[{"value":"240.9.9.9","host":"other.global"}]},"spec":{)"},
      {R"("metadata":{)", R"("metadata":{"name":"",)"},
  };
  size_t accepted = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<std::string> items;
    const size_t n = below(6);
    bool edited = false;
    for (size_t i = 0; i < n; ++i) {
      std::string item = plain_item(static_cast<int>(below(1000)));
      if (below(4) == 0) {
        const auto& [from, to] = edits[below(edits.size())];
        if (const size_t at = item.find(from); at != std::string::npos) {
          item.replace(at, from.size(), to);
          edited = true;
        }
      }
      items.push_back(item);
    }
    const std::string body = page_of(items);
    const Streamed got = stream(body);
    if (!edited) {
      EXPECT_TRUE(got.page.has_value()) << body;
    }
    if (got.page) {
      ++accepted;
      expect_agrees(body, got);
    }
    if (HasFailure()) return ADD_FAILURE() << "round " << round;
  }
  EXPECT_GT(accepted, 200u);
}

}  // namespace
}  // namespace globaldns::sync::kube
