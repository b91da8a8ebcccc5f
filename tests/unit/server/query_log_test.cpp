// QueryLogLine, RateLimiter and QueryLog: exact CoreDNS-format lines from real queries (built
// by ldns) and real answers (from the answer engine), and the limit with an injected clock.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dns/server/query_log.hpp"
#include "dns/server/query_log_line.hpp"
#include "dns/server/rate_limiter.hpp"
#include "resolver/answer.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/support/ldns_check.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::dns {
namespace {

using resolver::Transport;
using std::chrono::nanoseconds;
using testing::make_query;
using testing::QueryOptions;

sockaddr_in v4(const char* address, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address, &a.sin_addr);
  return a;
}

sockaddr_in6 v6(const char* address, uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, address, &a.sin6_addr);
  return a;
}

class QueryLogLineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    snapshot_ = new auto(resolver::build_snapshot(resolver::testzone::data()).value());
  }
  static void TearDownTestSuite() { delete snapshot_; }

  // The engine's answer to `query`.
  static std::vector<uint8_t> answer(const std::vector<uint8_t>& query, Transport transport) {
    std::vector<uint8_t> out(65535);
    const auto result = resolver::answer(snapshot_->get(), query, out, transport);
    out.resize(result.size);
    return out;
  }

  std::string line(const std::vector<uint8_t>& query, const std::vector<uint8_t>& response,
                   const sockaddr* remote, Transport transport, nanoseconds duration) {
    return std::string(formatter_.format({query, response, remote, transport, duration}));
  }

  static inline std::shared_ptr<const resolver::Snapshot>* snapshot_ = nullptr;
  QueryLogLine formatter_;
};

TEST_F(QueryLogLineTest, AHitOverUdpWithoutEdns) {
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  const auto response = answer(query, Transport::Udp);
  ASSERT_EQ(query.size(), 46u);     // 12 + 30 (name) + 4
  ASSERT_EQ(response.size(), 62u);  // + one A RR of 16 bytes
  const auto remote = v4("10.1.2.3", 41000);
  EXPECT_EQ(line(query, response, reinterpret_cast<const sockaddr*>(&remote), Transport::Udp,
                 nanoseconds(37990251)),
            "10.1.2.3:41000 - 4660 \"A IN httpbin.istio-testing.global. udp 46 false 512\" "
            "NOERROR qr,aa,rd 62 0.037990251s");
}

TEST_F(QueryLogLineTest, AaaaOverTcpFromIpv6WithDoBit) {
  QueryOptions o;
  o.id = 29008;
  o.edns = true;
  o.edns_udp = 4096;
  o.dnssec_ok = true;
  const auto query = make_query("dual.istio-testing.global.", LDNS_RR_TYPE_AAAA, o);
  const auto response = answer(query, Transport::Tcp);
  ASSERT_EQ(query.size(), 54u);     // 12 + 27 + 4 + OPT 11
  ASSERT_EQ(response.size(), 82u);  // 12 + 27 + 4 + AAAA RR 28 + OPT 11
  const auto remote = v6("::1", 50759);
  EXPECT_EQ(line(query, response, reinterpret_cast<const sockaddr*>(&remote), Transport::Tcp,
                 nanoseconds(12000)),
            "[::1]:50759 - 29008 \"AAAA IN dual.istio-testing.global. tcp 54 true 65535\" "
            "NOERROR qr,aa,rd 82 0.000012s");
}

TEST_F(QueryLogLineTest, NxdomainWithEdnsBufsizeAndMixedCaseKept) {
  QueryOptions o;
  o.id = 7;
  o.edns = true;
  o.edns_udp = 1232;
  o.rd = false;
  const auto query = make_query("NoThere.GLOBAL.", LDNS_RR_TYPE_A, o);
  const auto response = answer(query, Transport::Udp);
  ASSERT_EQ(query.size(), 43u);  // 12 + 16 + 4 + 11
  const auto remote = v6("2001:db8::53", 5300);
  EXPECT_EQ(line(query, response, reinterpret_cast<const sockaddr*>(&remote), Transport::Udp,
                 nanoseconds(2'000'000'000)),
            "[2001:db8::53]:5300 - 7 \"A IN NoThere.GLOBAL. udp 43 false 1232\" NXDOMAIN qr,aa " +
                std::to_string(response.size()) + " 2s");
}

TEST_F(QueryLogLineTest, UdpBufsizeBelow512IsRaisedTo512AndMappedRemoteIsIpv4) {
  QueryOptions o;
  o.id = 1;
  o.edns = true;
  o.edns_udp = 256;
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  const auto response = answer(query, Transport::Udp);
  const auto remote = v6("::ffff:192.0.2.7", 1053);
  EXPECT_EQ(line(query, response, reinterpret_cast<const sockaddr*>(&remote), Transport::Udp,
                 nanoseconds(1500000)),
            "192.0.2.7:1053 - 1 \"A IN httpbin.istio-testing.global. udp 57 false 512\" NOERROR "
            "qr,aa,rd 73 0.0015s");
}

TEST_F(QueryLogLineTest, BadversIsTheExtendedRcode) {
  QueryOptions o;
  o.edns = true;
  o.edns_version = 1;
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  const auto response = answer(query, Transport::Udp);
  const std::string text = line(query, response, nullptr, Transport::Udp, nanoseconds(0));
  EXPECT_EQ(text,
            "-:- - 4660 \"A IN httpbin.istio-testing.global. udp 57 false 1232\" BADVERS "
            "qr,rd " +
                std::to_string(response.size()) + " 0s");
}

TEST_F(QueryLogLineTest, TypeAndClassNamesAndNumbers) {
  QueryOptions chaos;
  chaos.qclass = LDNS_RR_CLASS_CH;
  const auto txt = make_query("version.bind.", LDNS_RR_TYPE_TXT, chaos);
  EXPECT_NE(line(txt, answer(txt, Transport::Udp), nullptr, Transport::Udp, {})
                .find("\"TXT CH version.bind. udp"),
            std::string::npos);
  QueryOptions odd;
  odd.qclass = 42;
  const auto unknown = make_query("x.global.", 65280, odd);
  EXPECT_NE(line(unknown, {}, nullptr, Transport::Udp, {}).find("\"TYPE65280 CLASS42 x.global. "),
            std::string::npos);
  const auto root = make_query(".", LDNS_RR_TYPE_NS);
  EXPECT_NE(line(root, {}, nullptr, Transport::Udp, {}).find("\"NS IN . udp 17 false 512\" - - 0"),
            std::string::npos);
}

TEST_F(QueryLogLineTest, NameEscapesAsMiekgDns) {
  // Labels "a b", "x.y" and "\x07", written by hand: ldns would read the dot as a separator.
  std::vector<uint8_t> query = {0, 9,   1,   0,   0, 1,   0,   0,   0, 0, 0, 0,  //
                                3, 'a', ' ', 'b', 3, 'x', '.', 'y', 1, 7, 0, 0, 1, 0, 1};
  EXPECT_EQ(line(query, {}, nullptr, Transport::Udp, {}),
            "-:- - 9 \"A IN a\\ b.x\\.y.\\007. udp 27 false 512\" - - 0 0s");
}

TEST_F(QueryLogLineTest, EveryFlagInCoreDnsOrder) {
  const std::vector<uint8_t> query = make_query("global.", LDNS_RR_TYPE_SOA);
  const std::vector<uint8_t> response = {0x12, 0x34, 0x87, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_NE(line(query, response, nullptr, Transport::Udp, {})
                .find("\" NOERROR qr,aa,tc,rd,ra,z,ad,cd 12 0s"),
            std::string::npos);
}

TEST_F(QueryLogLineTest, MalformedInputGivesDashesNeverAnOverread) {
  EXPECT_EQ(line({}, {}, nullptr, Transport::Tcp, {}),
            "-:- - - \"- - - tcp 0 false 65535\" - - 0 0s");
  // A header claiming one question, with the name cut short; then a pointer as the name.
  const std::vector<uint8_t> cut = {0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 7, 'h', 't'};
  EXPECT_EQ(line(cut, {}, nullptr, Transport::Udp, {}),
            "-:- - 5 \"- - - udp 15 false 512\" - - 0 0s");
  const std::vector<uint8_t> pointer = {0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  EXPECT_EQ(line(pointer, {}, nullptr, Transport::Udp, {}),
            "-:- - 5 \"- - - udp 18 false 512\" - - 0 0s");
  // Every truncation of a real query and response parses without reading past the end
  // (ASan builds check it) and keeps the fields it can read.
  QueryOptions o;
  o.edns = true;
  o.dnssec_ok = true;
  const auto query = make_query("dual.istio-testing.global.", LDNS_RR_TYPE_AAAA, o);
  const auto response = answer(query, Transport::Udp);
  for (size_t n = 0; n <= query.size(); ++n) {
    const std::vector<uint8_t> q(query.begin(), query.begin() + static_cast<long>(n));
    const std::vector<uint8_t> r(
        response.begin(), response.begin() + static_cast<long>(std::min(n, response.size())));
    const std::string text = line(q, r, nullptr, Transport::Udp, {});
    const bool do_bit_read = text.find(" true ") != std::string::npos;
    EXPECT_EQ(do_bit_read, n == query.size()) << text;  // the OPT RR is the last 11 bytes
  }
}

TEST_F(QueryLogLineTest, ArbitraryBytesGiveALineNeverAnOverread) {
  // Random messages, half with a header that claims records, as queries and as responses
  // (ASan builds check every read). Fixed seed: the same messages on every run.
  std::mt19937 random(20261126);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(random() % 80);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(random());
    if (i % 2 == 0 && bytes.size() >= 12) {
      bytes[4] = 0;
      bytes[5] = 1;                                    // one question
      bytes[11] = static_cast<uint8_t>(random() % 3);  // maybe an OPT or two
    }
    const std::string text = line(bytes, bytes, nullptr, Transport::Udp, nanoseconds(i));
    ASSERT_LT(text.size(), QueryLogLine::kCapacity);
    ASSERT_EQ(text.back(), 's') << text;
    ASSERT_EQ(text.rfind("-:- - ", 0), 0u) << text;
  }
}

TEST(RateLimiter, BurstOfOneSecondThenOnePerInterval) {
  RateLimiter limiter(4);
  const int64_t t0 = 1'000'000'000'000;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow(t0)) << i;
  EXPECT_FALSE(limiter.allow(t0));
  EXPECT_FALSE(limiter.allow(t0 + 249'999'999));
  EXPECT_TRUE(limiter.allow(t0 + 250'000'000));  // one interval later: one more
  EXPECT_FALSE(limiter.allow(t0 + 250'000'000));
  // A long quiet spell refills one second's worth, never more.
  const int64_t later = t0 + 3600 * RateLimiter::kSecond;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.allow(later)) << i;
  EXPECT_FALSE(limiter.allow(later));
}

TEST(RateLimiter, OnePerSecond) {
  RateLimiter limiter(1);
  EXPECT_TRUE(limiter.allow(0));
  EXPECT_FALSE(limiter.allow(999'999'999));
  EXPECT_TRUE(limiter.allow(1'000'000'000));
  EXPECT_FALSE(limiter.allow(1'000'000'000));
}

TEST(RateLimiter, ThreadsRacingAtOneInstantGetExactlyTheBurst) {
  RateLimiter limiter(1000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i)
        if (limiter.allow(42)) allowed.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

class QueryLogTest : public ::testing::Test {
 protected:
  std::shared_ptr<spdlog::logger> logger() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("query-test", sink);
    logger->set_pattern("%l %v");
    return logger;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  std::ostringstream out_;
  const std::vector<uint8_t> query_ = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  const sockaddr_in remote_ = v4("127.0.0.1", 40000);
};

TEST_F(QueryLogTest, LimitsLinesAndReportsWhatWasLeftOutOncePerSecond) {
  using namespace std::chrono;
  const QueryLog::Clock::time_point t0{seconds(100)};
  {
    QueryLog log(2, logger());
    auto record = [&](QueryLog::Clock::time_point now) {
      log.record_at(query_, {}, reinterpret_cast<const sockaddr*>(&remote_), Transport::Udp,
                    now - microseconds(5), now);
    };
    for (int i = 0; i < 5; ++i) record(t0);  // 2 logged, 3 held back
    ASSERT_EQ(lines().size(), 2u) << out_.str();
    EXPECT_EQ(lines()[0],
              "info 127.0.0.1:40000 - 4660 \"A IN httpbin.istio-testing.global. udp 46 false "
              "512\" - - 0 0.000005s");
    // Half a second refills one of the two; 499 ms does not.
    record(t0 + milliseconds(499));  // held back, and not reported before a second is up
    ASSERT_EQ(lines().size(), 2u) << out_.str();
    record(t0 + seconds(1));  // the report of 4, then this line
    ASSERT_EQ(lines().size(), 4u) << out_.str();
    EXPECT_EQ(lines()[2], "warning query log: 4 queries not logged (limit 2 lines per second)");
    EXPECT_EQ(lines()[3].rfind("info 127.0.0.1:40000 - 4660", 0), 0u);
    record(t0 + seconds(1));  // the second of the refilled two
    record(t0 + seconds(1));  // held back; the destructor reports it
    ASSERT_EQ(lines().size(), 5u) << out_.str();
  }
  ASSERT_EQ(lines().size(), 6u) << out_.str();
  EXPECT_EQ(lines()[5],
            "warning query log: 1 queries not logged before it stopped (limit 2 lines per "
            "second)");
}

}  // namespace
}  // namespace globaldns::dns
