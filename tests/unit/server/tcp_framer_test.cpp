// TcpFramer tests: frames out of byte chunks, whatever the split, within a fixed buffer.
#include "dns/server/tcp_framer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace globaldns::dns {
namespace {

using Status = TcpFramer::Status;

std::vector<uint8_t> frame(const std::string& body) {
  // Sized first, then filled: g++ 12 -O3 misreads insert() after a two-byte prefix.
  std::vector<uint8_t> out(2 + body.size());
  out[0] = static_cast<uint8_t>(body.size() >> 8);
  out[1] = static_cast<uint8_t>(body.size());
  std::copy(body.begin(), body.end(), out.begin() + 2);
  return out;
}

// Copies `bytes` into the framer as one read; the test fails if they do not fit.
void receive(TcpFramer& framer, const std::vector<uint8_t>& bytes) {
  const std::span<uint8_t> space = framer.space();
  ASSERT_LE(bytes.size(), space.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  framer.commit(bytes.size());
}

std::string text(std::span<const uint8_t> message) {
  return {reinterpret_cast<const char*>(message.data()), message.size()};
}

TEST(TcpFramerTest, EmptyFramerNeedsMore) {
  TcpFramer framer;
  std::span<const uint8_t> message;
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  EXPECT_EQ(framer.space().size(), TcpFramer::kCapacity);
  EXPECT_FALSE(framer.full());
}

TEST(TcpFramerTest, PipelinedFramesComeOutInOrder) {
  TcpFramer framer;
  std::vector<uint8_t> stream = frame("first");
  const std::vector<uint8_t> second = frame("second");
  stream.insert(stream.end(), second.begin(), second.end());
  receive(framer, stream);
  std::span<const uint8_t> message;
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "first");
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "second");
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  framer.compact();
  EXPECT_EQ(framer.size(), 0u);
}

TEST(TcpFramerTest, HalfPrefixAndPartialBodyAreKeptAcrossReads) {
  TcpFramer framer;
  const std::vector<uint8_t> whole = frame("split query");
  std::span<const uint8_t> message;
  receive(framer, {whole[0]});  // half the length prefix
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  framer.compact();
  receive(framer, std::vector<uint8_t>(whole.begin() + 1, whole.begin() + 6));
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  framer.compact();
  EXPECT_EQ(framer.size(), 6u);
  receive(framer, std::vector<uint8_t>(whole.begin() + 6, whole.end()));
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "split query");
}

TEST(TcpFramerTest, CompactMovesThePartialFrameToTheFront) {
  TcpFramer framer;
  std::vector<uint8_t> stream = frame("done");
  const std::vector<uint8_t> next = frame("pending");
  stream.insert(stream.end(), next.begin(), next.begin() + 4);
  receive(framer, stream);
  std::span<const uint8_t> message;
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  framer.compact();
  EXPECT_EQ(framer.size(), 4u);
  EXPECT_EQ(framer.space().size(), TcpFramer::kCapacity - 4);
  receive(framer, std::vector<uint8_t>(next.begin() + 4, next.end()));
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "pending");
}

TEST(TcpFramerTest, ZeroLengthFrameEndsTheStreamAndRepeats) {
  TcpFramer framer;
  std::vector<uint8_t> stream = frame("last");
  stream.insert(stream.end(), {0, 0});
  const std::vector<uint8_t> after = frame("ignored");
  stream.insert(stream.end(), after.begin(), after.end());
  receive(framer, stream);
  std::span<const uint8_t> message;
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "last");
  EXPECT_EQ(framer.next(message), Status::End);
  EXPECT_EQ(framer.next(message), Status::End);
}

TEST(TcpFramerTest, LargestFrameFillsTheBufferExactly) {
  TcpFramer framer;
  const std::vector<uint8_t> big = frame(std::string(65535, 'x'));
  ASSERT_EQ(big.size(), TcpFramer::kCapacity);
  receive(framer, big);
  EXPECT_TRUE(framer.full());
  EXPECT_TRUE(framer.space().empty());
  std::span<const uint8_t> message;
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(message.size(), 65535u);
  framer.compact();
  EXPECT_EQ(framer.size(), 0u);
  EXPECT_FALSE(framer.full());
}

TEST(TcpFramerTest, FullBufferAlwaysStartsWithAWholeFrame) {
  // A small frame, then a large one whose tail does not fit until the first is compacted away.
  TcpFramer framer;
  std::vector<uint8_t> stream = frame("q");
  const std::vector<uint8_t> big = frame(std::string(65535, 'y'));
  stream.insert(stream.end(), big.begin(), big.end());
  const size_t fits = TcpFramer::kCapacity;
  receive(framer, std::vector<uint8_t>(stream.begin(), stream.begin() + fits));
  ASSERT_TRUE(framer.full());
  std::span<const uint8_t> message;
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(text(message), "q");
  EXPECT_EQ(framer.next(message), Status::NeedMore);
  framer.compact();
  EXPECT_FALSE(framer.full());
  receive(framer, std::vector<uint8_t>(stream.begin() + fits, stream.end()));
  ASSERT_TRUE(framer.full());
  ASSERT_EQ(framer.next(message), Status::Message);
  EXPECT_EQ(message.size(), 65535u);
}

TEST(TcpFramerTest, MessagesStayValidUntilCompact) {
  TcpFramer framer;
  std::vector<uint8_t> stream = frame("alpha");
  const std::vector<uint8_t> second = frame("beta");
  stream.insert(stream.end(), second.begin(), second.end());
  stream.push_back(0);  // half of a third prefix
  receive(framer, stream);
  std::span<const uint8_t> first;
  std::span<const uint8_t> next;
  ASSERT_EQ(framer.next(first), Status::Message);
  ASSERT_EQ(framer.next(next), Status::Message);
  EXPECT_EQ(text(first), "alpha");
  EXPECT_EQ(text(next), "beta");
  framer.compact();
  EXPECT_EQ(framer.size(), 1u);
}

}  // namespace
}  // namespace globaldns::dns
