// Name codec: bounds, label limits, compression pointers and loops.
#include "dns/wire/name.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace globaldns::dns::wire {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(ScanName, LowercasesAndRecordsLabels) {
  auto msg = bytes({3, 'F', 'o', 'O', 6, 'G', 'l', 'o', 'b', 'a', 'l', 0});
  ScannedName n;
  ASSERT_EQ(scan_uncompressed_name(msg, 0, n), NameStatus::Ok);
  EXPECT_EQ(n.length, 12u);
  EXPECT_EQ(n.labels, 2u);
  EXPECT_EQ(n.label_offsets[0], 0);
  EXPECT_EQ(n.label_offsets[1], 4);
  EXPECT_EQ(wire_to_text({n.lower, n.length}), "foo.global.");
}

TEST(ScanName, RejectsWhatAQuestionCannotHold) {
  ScannedName n;
  EXPECT_EQ(scan_uncompressed_name(bytes({3, 'a', 'b'}), 0, n), NameStatus::Truncated);
  EXPECT_EQ(scan_uncompressed_name(bytes({1, 'a'}), 0, n), NameStatus::Truncated);
  EXPECT_EQ(scan_uncompressed_name(bytes({0xC0, 0x0C}), 0, n), NameStatus::Pointer);
  EXPECT_EQ(scan_uncompressed_name(bytes({0x40, 0}), 0, n), NameStatus::LabelTooLong);
  EXPECT_EQ(scan_uncompressed_name(bytes({}), 0, n), NameStatus::Truncated);
  // 5 labels of 63 bytes = 320 bytes > 255.
  std::vector<uint8_t> longname;
  for (int l = 0; l < 5; ++l) {
    longname.push_back(63);
    longname.insert(longname.end(), 63, 'a');
  }
  longname.push_back(0);
  EXPECT_EQ(scan_uncompressed_name(longname, 0, n), NameStatus::NameTooLong);
}

TEST(ScanName, AcceptsTheLongestLegalName) {
  // 3 x 63 + 61 + 1 (+ 4 length bytes + root) = 255 bytes exactly.
  std::vector<uint8_t> name;
  for (int l = 0; l < 3; ++l) {
    name.push_back(63);
    name.insert(name.end(), 63, 'a');
  }
  name.push_back(61);
  name.insert(name.end(), 61, 'b');
  name.push_back(0);
  ASSERT_EQ(name.size(), 255u);
  ScannedName n;
  EXPECT_EQ(scan_uncompressed_name(name, 0, n), NameStatus::Ok);
  EXPECT_EQ(n.labels, 4u);
}

TEST(SkipName, FollowsBackwardPointers) {
  // "global." at 0, then "a" + pointer to 0 at 8.
  auto msg = bytes({6, 'g', 'l', 'o', 'b', 'a', 'l', 0, 1, 'a', 0xC0, 0x00, 0xFF});
  size_t pos = 8;
  ASSERT_EQ(skip_name(msg, pos), NameStatus::Ok);
  EXPECT_EQ(pos, 12u);
  uint8_t out[kMaxNameWire];
  size_t len = 0;
  pos = 8;
  ASSERT_EQ(decode_name(msg, pos, out, len), NameStatus::Ok);
  EXPECT_EQ(wire_to_text({out, len}), "a.global.");
}

TEST(SkipName, RejectsLoopsAndForwardPointers) {
  size_t pos = 0;
  EXPECT_EQ(skip_name(bytes({0xC0, 0x00}), pos), NameStatus::BadPointer);  // points at itself
  pos = 0;
  EXPECT_EQ(skip_name(bytes({0xC0, 0x02, 0}), pos), NameStatus::BadPointer);  // forward
  // Two pointers pointing at each other: 2 -> 0 is backwards, 0 -> 2 is not.
  pos = 2;
  EXPECT_EQ(skip_name(bytes({0xC0, 0x02, 0xC0, 0x00}), pos), NameStatus::BadPointer);
  pos = 0;
  EXPECT_EQ(skip_name(bytes({0xC0}), pos), NameStatus::Truncated);
}

TEST(SkipName, BoundsExpandedLengthAcrossPointers) {
  // A chain of 63-byte labels reached through pointers still may not exceed 255 bytes.
  std::vector<uint8_t> msg;
  for (int l = 0; l < 4; ++l) {
    msg.push_back(63);
    msg.insert(msg.end(), 63, 'x');
  }
  msg.push_back(0);  // 257 bytes: too long as one name
  const size_t ptr_at = msg.size();
  msg.push_back(0xC0);
  msg.push_back(0x00);
  size_t pos = ptr_at;
  EXPECT_EQ(skip_name(msg, pos), NameStatus::NameTooLong);
}

TEST(TextToWire, ConvertsAndValidates) {
  EXPECT_EQ(*text_to_wire("HTTPbin.Global."), std::string("\7httpbin\6global\0", 16));
  EXPECT_EQ(*text_to_wire("global"), std::string("\6global\0", 8));
  EXPECT_EQ(*text_to_wire("."), std::string(1, '\0'));
  EXPECT_FALSE(text_to_wire("a..b"));
  EXPECT_FALSE(text_to_wire(std::string(64, 'a') + ".global"));
  EXPECT_TRUE(text_to_wire(std::string(63, 'a') + ".global"));
}

}  // namespace
}  // namespace globaldns::dns::wire
