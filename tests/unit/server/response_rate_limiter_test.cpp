// ResponseRateLimiter with an injected clock: the rate and burst, the slip pattern, prefix
// grouping for IPv4 and IPv6, refill, and exact counts under threads sharing one bucket.
#include "dns/server/response_rate_limiter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace globaldns::dns {
namespace {

using Verdict = ResponseRateLimiter::Verdict;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1000 * kSecond;  // any monotonic reading
constexpr uint64_t kSeed = 42;              // fixed: bucket indices are the same every run

// A socket address of either family, as recvmmsg fills it in.
struct Peer {
  explicit Peer(const std::string& address, uint16_t port = 53000) {
    if (address.find(':') == std::string::npos) {
      auto& a = reinterpret_cast<sockaddr_in&>(storage);
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      EXPECT_EQ(inet_pton(AF_INET, address.c_str(), &a.sin_addr), 1) << address;
    } else {
      auto& a = reinterpret_cast<sockaddr_in6&>(storage);
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      EXPECT_EQ(inet_pton(AF_INET6, address.c_str(), &a.sin6_addr), 1) << address;
    }
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr_storage storage{};
};

RrlOptions options(uint32_t per_second, uint32_t slip) {
  RrlOptions o;
  o.responses_per_second = per_second;
  o.slip = slip;
  return o;
}

// How many of `n` responses at `now` get each verdict.
struct Tally {
  int send = 0;
  int slip = 0;
  int drop = 0;
};
Tally run(ResponseRateLimiter& rrl, const Peer& peer, int n, int64_t now) {
  Tally t;
  for (int i = 0; i < n; ++i) {
    switch (rrl.check(peer.get(), now)) {
      case Verdict::Send:
        ++t.send;
        break;
      case Verdict::Slip:
        ++t.slip;
        break;
      case Verdict::Drop:
        ++t.drop;
        break;
    }
  }
  return t;
}

TEST(ResponseRateLimiter, TheRateAsABurstThenOneResponsePerInterval) {
  ResponseRateLimiter rrl(options(20, 0), kSeed);
  const Peer client("192.0.2.1");
  const Tally burst = run(rrl, client, 100, kStart);
  EXPECT_EQ(burst.send, 20);  // a second's worth at once
  EXPECT_EQ(burst.drop, 80);  // slip 0: every limited response is dropped
  EXPECT_EQ(burst.slip, 0);
  // Then one per 1/20 s, and not before.
  EXPECT_EQ(rrl.check(client.get(), kStart + kSecond / 20 - 1), Verdict::Drop);
  EXPECT_EQ(rrl.check(client.get(), kStart + kSecond / 20), Verdict::Send);
  EXPECT_EQ(rrl.check(client.get(), kStart + kSecond / 20), Verdict::Drop);
  // Over a steady second at the rate: exactly 20 more.
  int sent = 0;
  for (int ms = 51; ms <= 1050; ++ms) {
    if (rrl.check(client.get(), kStart + ms * (kSecond / 1000)) == Verdict::Send) ++sent;
  }
  EXPECT_EQ(sent, 20);
}

TEST(ResponseRateLimiter, SlipTwoSendsEverySecondLimitedResponseAsTc) {
  ResponseRateLimiter rrl(options(5, 2), kSeed);
  const Peer client("192.0.2.1");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rrl.check(client.get(), kStart), Verdict::Send);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(rrl.check(client.get(), kStart), Verdict::Drop) << i;
    EXPECT_EQ(rrl.check(client.get(), kStart), Verdict::Slip) << i;
  }
}

TEST(ResponseRateLimiter, SlipOneSendsEveryLimitedResponseAsTcAndSlipThreeEveryThird) {
  ResponseRateLimiter every(options(5, 1), kSeed);
  const Tally one = run(every, Peer("192.0.2.1"), 105, kStart);
  EXPECT_EQ(one.send, 5);
  EXPECT_EQ(one.slip, 100);
  EXPECT_EQ(one.drop, 0);

  ResponseRateLimiter third(options(5, 3), kSeed);
  const Tally three = run(third, Peer("192.0.2.1"), 95, kStart);
  EXPECT_EQ(three.send, 5);
  EXPECT_EQ(three.slip, 30);
  EXPECT_EQ(three.drop, 60);
}

TEST(ResponseRateLimiter, Ipv4ClientsInOneSlash24ShareTheirLimit) {
  ResponseRateLimiter rrl(options(10, 0), kSeed);
  EXPECT_EQ(run(rrl, Peer("10.0.0.1"), 10, kStart).send, 10);
  // Another host, and another port, in the same /24: already spent.
  EXPECT_EQ(run(rrl, Peer("10.0.0.200", 1), 5, kStart).send, 0);
  // The next /24 has its own.
  EXPECT_EQ(run(rrl, Peer("10.0.1.1"), 15, kStart).send, 10);
  EXPECT_EQ(run(rrl, Peer("11.0.0.1"), 15, kStart).send, 10);
}

TEST(ResponseRateLimiter, Ipv4PrefixLengthIsConfigurable) {
  RrlOptions o = options(10, 0);
  o.ipv4_prefix = 32;
  ResponseRateLimiter per_host(o, kSeed);
  EXPECT_EQ(run(per_host, Peer("10.0.0.1"), 15, kStart).send, 10);
  EXPECT_EQ(run(per_host, Peer("10.0.0.2"), 15, kStart).send, 10);
  o.ipv4_prefix = 16;
  ResponseRateLimiter per_16(o, kSeed);
  EXPECT_EQ(run(per_16, Peer("10.0.0.1"), 15, kStart).send, 10);
  EXPECT_EQ(run(per_16, Peer("10.0.99.1"), 15, kStart).send, 0);
}

TEST(ResponseRateLimiter, Ipv6ClientsInOneSlash56ShareTheirLimit) {
  ResponseRateLimiter rrl(options(10, 0), kSeed);
  EXPECT_EQ(run(rrl, Peer("2001:db8:0:100::1"), 15, kStart).send, 10);
  // Same first 56 bits (2001:0db8:0000:01..), other subnets and hosts: spent.
  EXPECT_EQ(run(rrl, Peer("2001:db8:0:1ff:abcd::2"), 5, kStart).send, 0);
  // The next /56, and an address whose low 64 bits match the first one's.
  EXPECT_EQ(run(rrl, Peer("2001:db8:0:200::1"), 15, kStart).send, 10);
  EXPECT_EQ(run(rrl, Peer("2001:db9:0:100::1"), 15, kStart).send, 10);
}

TEST(ResponseRateLimiter, LimitedClientIsServedAgainOnceTheBucketRefills) {
  ResponseRateLimiter rrl(options(20, 2), kSeed);
  const Peer client("192.0.2.7");
  EXPECT_EQ(run(rrl, client, 50, kStart).send, 20);
  EXPECT_EQ(run(rrl, client, 50, kStart + kSecond / 2).send, 10);  // half refilled
  EXPECT_EQ(run(rrl, client, 50, kStart + 2 * kSecond).send, 20);  // full again, not more
  EXPECT_EQ(run(rrl, client, 50, kStart + 60 * kSecond).send, 20);
}

TEST(ResponseRateLimiter, AnUnknownFamilyIsNeverLimited) {
  ResponseRateLimiter rrl(options(1, 0), kSeed);
  sockaddr_storage unix_peer{};
  unix_peer.ss_family = AF_UNIX;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(rrl.check(reinterpret_cast<const sockaddr*>(&unix_peer), kStart), Verdict::Send);
}

TEST(ResponseRateLimiter, TableSizeIsRoundedUpToAPowerOfTwoAndBounded) {
  RrlOptions o = options(10, 2);
  o.table_size = 1000;
  EXPECT_EQ(ResponseRateLimiter(o, kSeed).table_size(), 1024u);
  o.table_size = 0;
  EXPECT_EQ(ResponseRateLimiter(o, kSeed).table_size(), 1u);
  o.table_size = ResponseRateLimiter::kMaxTableSize + 1;
  EXPECT_EQ(ResponseRateLimiter(o, kSeed).table_size(), ResponseRateLimiter::kMaxTableSize);
}

TEST(ResponseRateLimiter, OneBucketTableLimitsEveryoneTogether) {
  RrlOptions o = options(10, 0);
  o.table_size = 1;  // every prefix collides: they share rather than reset each other
  ResponseRateLimiter rrl(o, kSeed);
  EXPECT_EQ(run(rrl, Peer("10.0.0.1"), 6, kStart).send, 6);
  EXPECT_EQ(run(rrl, Peer("10.9.0.1"), 6, kStart).send, 4);
  EXPECT_EQ(run(rrl, Peer("2001:db8::1"), 6, kStart).send, 0);
}

// Workers on several threads hit one prefix's bucket at once: no response is allowed twice
// and no slip is lost, because each decision is one compare-and-swap or one fetch_add.
TEST(ResponseRateLimiter, ThreadsSharingABucketGetExactlyTheRateAndTheSlips) {
  ResponseRateLimiter rrl(options(100, 2), kSeed);
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::atomic<int> sent{0}, slipped{0}, dropped{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Tally tally = run(rrl, Peer("198.51.100." + std::to_string(t + 1)), kEach, kStart);
      sent += tally.send;
      slipped += tally.slip;
      dropped += tally.drop;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(sent.load(), 100);
  EXPECT_EQ(slipped.load(), (kThreads * kEach - 100) / 2);
  EXPECT_EQ(dropped.load(), (kThreads * kEach - 100) / 2);
}

}  // namespace
}  // namespace globaldns::dns
