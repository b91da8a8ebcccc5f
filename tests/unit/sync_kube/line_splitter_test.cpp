// Tests of LineSplitter: framing independent of read boundaries, and the line bound.
#include "sync/kube/line_splitter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace globaldns::sync::kube {
namespace {

// Feeds `slices` in order and collects the lines.
std::vector<std::string> split(LineSplitter& splitter,
                               const std::vector<std::string_view>& slices) {
  std::vector<std::string> lines;
  for (const auto slice : slices) {
    auto fed = splitter.feed(slice, [&](std::string_view line) { lines.emplace_back(line); });
    EXPECT_TRUE(fed.ok()) << fed.error();
  }
  return lines;
}

// Exact lines from the research notes: an ADDED, the API Concepts BOOKMARK, the wso2/apk#571
// ERROR 410; a CRLF and an empty line in between, which must not matter.
const std::string kStream =
    R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"10596"}}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"kind":"ServiceEntry","apiVersion":"networking.istio.io/v1","metadata":{"resourceVersion":"12746"}}})"
    "\r\n"
    "\n"
    R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 657887 (680402)","reason":"Expired","code":410}})j"
    "\n";

const std::vector<std::string> kExpected = {
    R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"10596"}}})",
    R"({"type":"BOOKMARK","object":{"kind":"ServiceEntry","apiVersion":"networking.istio.io/v1","metadata":{"resourceVersion":"12746"}}})",
    R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 657887 (680402)","reason":"Expired","code":410}})j",
};

TEST(LineSplitter, ManyEventsInOneSlice) {
  LineSplitter splitter;
  EXPECT_EQ(split(splitter, {kStream}), kExpected);
  EXPECT_EQ(splitter.buffered(), 0u);
}

TEST(LineSplitter, SplitAtEveryBytePosition) {
  const std::string_view stream = kStream;
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    LineSplitter splitter;
    EXPECT_EQ(split(splitter, {stream.substr(0, cut), stream.substr(cut)}), kExpected)
        << "cut at " << cut;
    EXPECT_EQ(splitter.buffered(), 0u);
  }
}

TEST(LineSplitter, OneByteAtATime) {
  std::vector<std::string_view> slices;
  const std::string_view stream = kStream;
  for (size_t i = 0; i < stream.size(); ++i) slices.push_back(stream.substr(i, 1));
  LineSplitter splitter;
  EXPECT_EQ(split(splitter, slices), kExpected);
}

TEST(LineSplitter, IncompleteLineIsBuffered) {
  LineSplitter splitter;
  EXPECT_TRUE(split(splitter, {"{\"a\":1}\n{\"b\""}) == std::vector<std::string>{"{\"a\":1}"});
  EXPECT_EQ(splitter.buffered(), 4u);  // a truncated event if the stream ends here
  EXPECT_EQ(split(splitter, {":2}\n"}), std::vector<std::string>{"{\"b\":2}"});
  EXPECT_EQ(splitter.buffered(), 0u);
}

TEST(LineSplitter, WholeLinesAreNotCopied) {
  LineSplitter splitter;
  const std::string input = "abc\ndef\n";
  std::vector<const char*> starts;
  auto fed = splitter.feed(input, [&](std::string_view line) { starts.push_back(line.data()); });
  ASSERT_TRUE(fed.ok());
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0], input.data());
  EXPECT_EQ(starts[1], input.data() + 4);
}

struct OversizeCase {
  const char* name;
  std::vector<std::string_view> slices;
};

class LineSplitterOversize : public testing::TestWithParam<OversizeCase> {};

TEST_P(LineSplitterOversize, IsAnErrorAndSticks) {
  LineSplitter splitter(8);
  std::vector<std::string> lines;
  bool failed = false;
  for (const auto slice : GetParam().slices) {
    auto fed = splitter.feed(slice, [&](std::string_view line) { lines.emplace_back(line); });
    if (!fed.ok()) {
      failed = true;
      EXPECT_NE(fed.error().find("exceeds the limit of 8"), std::string::npos) << fed.error();
      break;
    }
  }
  EXPECT_TRUE(failed);
  EXPECT_TRUE(splitter.failed());
  EXPECT_EQ(splitter.buffered(), 0u);
  EXPECT_FALSE(splitter.feed("ok\n", [](std::string_view) {}).ok());
  splitter.reset();
  EXPECT_TRUE(splitter.feed("ok\n", [](std::string_view) {}).ok());
}

INSTANTIATE_TEST_SUITE_P(Table, LineSplitterOversize,
                         testing::Values(OversizeCase{"WholeLine", {"123456789\n"}},
                                         OversizeCase{"NoNewlineYet", {"123456789"}},
                                         OversizeCase{"GrowsAcrossReads", {"12345", "6789"}},
                                         OversizeCase{"CompletedAcrossReads", {"12345", "6789\n"}}),
                         [](const testing::TestParamInfo<OversizeCase>& info) {
                           return info.param.name;
                         });

TEST(LineSplitter, LineAtTheLimitIsAccepted) {
  LineSplitter splitter(8);
  EXPECT_EQ(split(splitter, {"1234", "5678\n", "abcdefgh\n"}),
            (std::vector<std::string>{"12345678", "abcdefgh"}));
}

}  // namespace
}  // namespace globaldns::sync::kube
