// QueryCounters: what record() counts comes out under CoreDNS's names, labels and buckets.
#include "metrics/query_counters.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>

#include "metrics/exposition.hpp"

namespace globaldns::metrics {
namespace {

resolver::AnswerResult result(uint16_t qtype, int16_t zone, uint16_t rcode, size_t size) {
  resolver::AnswerResult r;
  r.outcome = resolver::Outcome::Hit;
  r.qtype = qtype;
  r.zone = zone;
  r.rcode = rcode;
  r.size = size;
  return r;
}

std::string scrape(const QueryCounters& counters) {
  Exposition e;
  counters.write(e);
  return e.text();
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

class QueryCountersTest : public ::testing::Test {
 protected:
  QueryCountersTest() : counters(2) {
    counters.set_server_name(0, "dns://127.0.0.1:53");
    counters.set_zone_names({"global.", "example."});
  }
  QueryCounters counters;
};

TEST_F(QueryCountersTest, CountsRequestsByZoneProtoFamilyAndType) {
  QueryRecorder& r = counters.add_recorder();
  r.record(0, Proto::Udp, Family::Ip4, result(1, 0, 0, 60), 40, 1000);
  r.record(0, Proto::Udp, Family::Ip4, result(1, 0, 3, 90), 40, 1000);
  r.record(0, Proto::Tcp, Family::Ip6, result(28, 1, 0, 60), 40, 1000);
  r.record(0, Proto::Udp, Family::Ip4, result(99, -1, 5, 30), 40, 1000);
  const std::string text = scrape(counters);
  const std::string s = "server=\"dns://127.0.0.1:53\",";
  EXPECT_TRUE(
      has_line(text, "coredns_dns_requests_total{" + s +
                         "zone=\"global.\",view=\"\",proto=\"udp\",family=\"1\",type=\"A\"} 2"))
      << text;
  EXPECT_TRUE(has_line(
      text, "coredns_dns_requests_total{" + s +
                "zone=\"example.\",view=\"\",proto=\"tcp\",family=\"2\",type=\"AAAA\"} 1"));
  EXPECT_TRUE(
      has_line(text, "coredns_dns_requests_total{" + s +
                         "zone=\".\",view=\"\",proto=\"udp\",family=\"1\",type=\"other\"} 1"));
  EXPECT_TRUE(has_line(text, "coredns_dns_responses_total{" + s +
                                 "zone=\"global.\",view=\"\",rcode=\"NOERROR\",plugin=\"\"} 1"));
  EXPECT_TRUE(has_line(text, "coredns_dns_responses_total{" + s +
                                 "zone=\"global.\",view=\"\",rcode=\"NXDOMAIN\",plugin=\"\"} 1"));
  EXPECT_TRUE(has_line(text, "coredns_dns_responses_total{" + s +
                                 "zone=\".\",view=\"\",rcode=\"REFUSED\",plugin=\"\"} 1"));
  // Only label sets that were seen: no counter line with 0.
  std::istringstream lines(text);
  int counted = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("coredns_dns_re", 0) != 0 || line.find("_total{") == std::string::npos) continue;
    ++counted;
    EXPECT_NE(line.substr(line.size() - 2), " 0") << line;
  }
  EXPECT_EQ(counted, 3 + 4);  // requests: 3 label sets; responses: 4
}

TEST_F(QueryCountersTest, FillsHistogramsWithInclusiveUpperBounds) {
  QueryRecorder& r = counters.add_recorder();
  r.record(0, Proto::Udp, Family::Ip4, result(1, 0, 0, 100), 100, 250000);  // exactly 0.25 ms
  r.record(0, Proto::Udp, Family::Ip4, result(1, 0, 0, 101), 0, 250001);
  const std::string text = scrape(counters);
  const std::string l = "server=\"dns://127.0.0.1:53\",zone=\"global.\",view=\"\"";
  EXPECT_TRUE(
      has_line(text, "coredns_dns_request_duration_seconds_bucket{" + l + ",le=\"0.00025\"} 1"))
      << text;
  EXPECT_TRUE(
      has_line(text, "coredns_dns_request_duration_seconds_bucket{" + l + ",le=\"0.0005\"} 2"));
  EXPECT_TRUE(
      has_line(text, "coredns_dns_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(text, "coredns_dns_request_duration_seconds_sum{" + l + "} 0.000500001"));
  EXPECT_TRUE(has_line(text, "coredns_dns_request_duration_seconds_count{" + l + "} 2"));
  const std::string u = l + ",proto=\"udp\"";
  EXPECT_TRUE(has_line(text, "coredns_dns_request_size_bytes_bucket{" + u + ",le=\"0\"} 1"));
  EXPECT_TRUE(has_line(text, "coredns_dns_request_size_bytes_bucket{" + u + ",le=\"100\"} 2"));
  EXPECT_TRUE(has_line(text, "coredns_dns_request_size_bytes_sum{" + u + "} 100"));
  EXPECT_TRUE(has_line(text, "coredns_dns_response_size_bytes_bucket{" + u + ",le=\"100\"} 1"));
  EXPECT_TRUE(has_line(text, "coredns_dns_response_size_bytes_bucket{" + u + ",le=\"200\"} 2"));
  EXPECT_TRUE(has_line(text, "coredns_dns_response_size_bytes_bucket{" + u + ",le=\"64000\"} 2"));
  EXPECT_TRUE(has_line(text, "coredns_dns_response_size_bytes_count{" + u + "} 2"));
  EXPECT_EQ(text.find("proto=\"tcp\""), std::string::npos);
}

TEST_F(QueryCountersTest, SumsRecordersAndCountsDoBits) {
  QueryRecorder& a = counters.add_recorder();
  QueryRecorder& b = counters.add_recorder();
  resolver::AnswerResult r = result(1, 0, 0, 60);
  r.dnssec_ok = true;
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i) b.record(0, Proto::Udp, Family::Ip4, r, 40, 1);
  });
  for (int i = 0; i < 500; ++i) a.record(0, Proto::Udp, Family::Ip4, r, 40, 1);
  other.join();
  const std::string text = scrape(counters);
  EXPECT_TRUE(has_line(text,
                       "coredns_dns_do_requests_total{server=\"dns://127.0.0.1:53\",zone=\"global."
                       "\",view=\"\"} 1500"))
      << text;
}

TEST_F(QueryCountersTest, SkipsDropsUnnamedServersAndOutOfRangeServers) {
  QueryRecorder& r = counters.add_recorder();
  resolver::AnswerResult drop;  // Outcome::Drop
  r.record(0, Proto::Udp, Family::Ip4, drop, 40, 1);
  r.record(1, Proto::Udp, Family::Ip4, result(1, 0, 0, 60), 40, 1);  // server 1 has no name
  r.record(7, Proto::Udp, Family::Ip4, result(1, 0, 0, 60), 40, 1);  // no such server
  const std::string text = scrape(counters);
  EXPECT_EQ(text.find("coredns_dns_requests_total{"), std::string::npos) << text;
  counters.set_server_name(1, "dns://[::1]:53");
  EXPECT_NE(scrape(counters).find("server=\"dns://[::1]:53\""), std::string::npos);
}

TEST_F(QueryCountersTest, ZonesBeyondTheSlotsCountAsTheRoot) {
  QueryRecorder& r = counters.add_recorder();
  r.record(0, Proto::Udp, Family::Ip4, result(1, QueryCounters::kZones, 0, 60), 40, 1);
  EXPECT_TRUE(has_line(scrape(counters),
                       "coredns_dns_requests_total{server=\"dns://127.0.0.1:53\",zone=\".\",view="
                       "\"\",proto=\"udp\",family=\"1\",type=\"A\"} 1"));
}

TEST(QueryLabels, UseCoreDnsNames) {
  EXPECT_STREQ(type_label(1), "A");
  EXPECT_STREQ(type_label(65), "HTTPS");
  EXPECT_STREQ(type_label(255), "ANY");
  EXPECT_STREQ(type_label(13), "other");  // HINFO is not in CoreDNS's list
  EXPECT_EQ(rcode_label(0), "NOERROR");
  EXPECT_EQ(rcode_label(3), "NXDOMAIN");
  EXPECT_EQ(rcode_label(4), "NOTIMP");
  EXPECT_EQ(rcode_label(16), "BADVERS");
  EXPECT_EQ(rcode_label(12), "RCODE12");
}

}  // namespace
}  // namespace globaldns::metrics
