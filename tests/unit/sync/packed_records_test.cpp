// PackedRecords: a host's records survive packing, and unpacking into a used object replaces all.
#include "sync/packed_records.hpp"

#include <gtest/gtest.h>

#include <string>

namespace globaldns::sync {
namespace {

resolver::HostRecords records(std::string name, size_t v4, size_t v6) {
  resolver::HostRecords out;
  out.name = std::move(name);
  for (size_t i = 0; i < v4; ++i) out.v4.push_back({240, 0, 0, static_cast<uint8_t>(i)});
  for (size_t i = 0; i < v6; ++i) {
    resolver::Ipv6 address{0xfd};
    address[15] = static_cast<uint8_t>(i);
    out.v6.push_back(address);
  }
  return out;
}

TEST(PackedRecordsTest, UnpacksToTheRecordsItWasPackedFrom) {
  for (const auto& want :
       {records("httpbin.istio-testing.global", 1, 0), records("*.wild.global", 3, 2),
        records("v6.global", 0, 200), records(std::string(300, 'n'), 130, 1)}) {
    const PackedRecords packed(want);
    EXPECT_EQ(packed.unpack(), want);
    EXPECT_EQ(packed.name(), want.name);
    EXPECT_EQ(packed.address_count(), want.v4.size() + want.v6.size());
  }
}

TEST(PackedRecordsTest, UnpackIntoReplacesEveryField) {
  resolver::HostRecords out = records(std::string(100, 'x'), 5, 5);
  const auto small = records("a.global", 1, 0);
  PackedRecords(small).unpack_into(out);
  EXPECT_EQ(out, small);
  const auto only_v6 = records("b.global", 0, 1);
  PackedRecords(only_v6).unpack_into(out);
  EXPECT_EQ(out, only_v6);
}

TEST(PackedRecordsTest, EmptyHasNoNameAndNoAddress) {
  const PackedRecords empty;
  EXPECT_EQ(empty.name(), "");
  EXPECT_EQ(empty.address_count(), 0U);
  EXPECT_EQ(empty.unpack(), resolver::HostRecords{});
}

// The block is a name's length byte, the name, a count byte and 4 bytes an IPv4 address, and a
// count byte for IPv6: 39 bytes stay in the object, 40 go to the heap.
TEST(PackedRecordsTest, SmallBlocksStayInTheObject) {
  const auto fits = records(std::string(32, 'a'), 1, 0);  // 1 + 32 + 1 + 4 + 1 = 39
  const auto over = records(std::string(33, 'b'), 1, 0);  // 40
  EXPECT_FALSE(PackedRecords(fits).on_heap());
  EXPECT_TRUE(PackedRecords(over).on_heap());
  EXPECT_EQ(PackedRecords(fits).unpack(), fits);
  EXPECT_EQ(PackedRecords(over).unpack(), over);
  EXPECT_FALSE(PackedRecords().on_heap());
}

TEST(PackedRecordsTest, MovingLeavesTheSourceEmpty) {
  for (const auto& want : {records("a.global", 1, 0), records(std::string(100, 'h'), 2, 1)}) {
    PackedRecords from(want);
    PackedRecords to(std::move(from));
    EXPECT_EQ(to.unpack(), want);
    EXPECT_EQ(from.unpack(), resolver::HostRecords{});  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(from.on_heap());                       // NOLINT(bugprone-use-after-move)

    // Assigned over both kinds of block: the old one goes (ASan would see a leak).
    PackedRecords heap(records(std::string(64, 'z'), 1, 0));
    heap = std::move(to);
    EXPECT_EQ(heap.unpack(), want);
    PackedRecords small(records("s.global", 1, 0));
    small = std::move(heap);
    EXPECT_EQ(small.unpack(), want);
    auto& same = small;
    small = std::move(same);  // self-move keeps it
    EXPECT_EQ(small.unpack(), want);
  }
}

}  // namespace
}  // namespace globaldns::sync
