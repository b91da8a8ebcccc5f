// /metrics of the real binary: known UDP and TCP traffic, then exact counts per label set, and
// `promtool check metrics` on the scrape.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBinary = GLOBALDNS_BINARY;
const std::string kExamples = GLOBALDNS_EXAMPLES;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One UDP exchange; the rcode, or -1 when nothing came back within a second.
int udp_rcode(uint16_t port, const std::vector<uint8_t>& query) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in a = loopback(port);
  sendto(fd, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  int rcode = -1;
  uint8_t reply[4096];
  if (poll(&p, 1, 1000) == 1) {
    const ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n >= 12) rcode = reply[3] & 0x0F;
  }
  close(fd);
  return rcode;
}

// Several queries on one TCP connection, answered in order; the rcodes.
std::vector<int> tcp_rcodes(uint16_t port, const std::vector<std::vector<uint8_t>>& queries) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = loopback(port);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<int> rcodes;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
    for (const auto& query : queries) {
      std::vector<uint8_t> frame = {static_cast<uint8_t>(query.size() >> 8),
                                    static_cast<uint8_t>(query.size())};
      frame.insert(frame.end(), query.begin(), query.end());
      send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
      uint8_t len[2];
      if (recv(fd, len, 2, MSG_WAITALL) != 2) break;
      std::vector<uint8_t> reply(static_cast<size_t>(len[0] << 8 | len[1]));
      if (recv(fd, reply.data(), reply.size(), MSG_WAITALL) != static_cast<ssize_t>(reply.size()) ||
          reply.size() < 12)
        break;
      rcodes.push_back(reply[3] & 0x0F);
    }
  }
  close(fd);
  return rcodes;
}

// The whole HTTP response to GET `path`, headers included.
std::string raw_get(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = loopback(port);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string raw;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return raw;
}

// Sample lines of a scrape: "name{labels}" -> value as written.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

size_t count_prefix(const std::map<std::string, std::string>& s, const std::string& prefix) {
  size_t n = 0;
  for (const auto& [key, value] : s) n += key.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("globaldns-metrics-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    server_ = std::make_unique<ServerProcess>(
        kBinary, std::vector<std::string>{"serve", "--files", kExamples}, dir_ / "server.log");
    metrics_port_ = server_->http_port("/metrics");
    ASSERT_NE(metrics_port_, 0) << server_->log();
    const uint16_t ready = server_->http_port("/ready");
    ASSERT_NE(ready, 0) << server_->log();
    // Ready through /ready, not a DNS query, so that no query is counted before the test's.
    for (int i = 0; i < 250 && http_get(ready, "/ready").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(http_get(ready, "/ready").status, 200) << server_->log();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<ServerProcess> server_;
  uint16_t metrics_port_ = 0;
  fs::path dir_;
};

TEST_F(Metrics, CountsKnownTrafficExactly) {
  const uint16_t port = server_->port();
  const auto hit = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(udp_rcode(port, hit), 0);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(udp_rcode(port, make_query("nope.global.", LDNS_RR_TYPE_A)), 3);  // NXDOMAIN
  ASSERT_EQ(udp_rcode(port, make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_AAAA)),
            0);                                                               // NODATA
  ASSERT_EQ(udp_rcode(port, make_query("example.com.", LDNS_RR_TYPE_A)), 5);  // REFUSED
  QueryOptions dnssec;
  dnssec.edns = true;
  dnssec.dnssec_ok = true;
  ASSERT_EQ(udp_rcode(port, make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, dnssec)),
            0);
  const uint8_t garbage[5] = {1, 2, 3, 4, 5};  // no header: dropped, not a request
  ASSERT_EQ(udp_rcode(port, std::vector<uint8_t>(garbage, garbage + 5)), -1);
  const auto tcp = tcp_rcodes(port, {make_query("reviews.bookinfo.global.", LDNS_RR_TYPE_A),
                                     make_query("reviews.bookinfo.global.", LDNS_RR_TYPE_A),
                                     make_query("nope.global.", LDNS_RR_TYPE_AAAA)});
  ASSERT_EQ(tcp, (std::vector<int>{0, 0, 3}));

  const HttpReply reply = http_get(metrics_port_, "/metrics");
  ASSERT_EQ(reply.status, 200);
  const auto s = samples(reply.body);
  const std::string srv = "server=\"dns://127.0.0.1:" + std::to_string(port) + "\"";
  const std::string g = srv + ",zone=\"global.\",view=\"\"";
  const std::string root = srv + ",zone=\".\",view=\"\"";
  const std::map<std::string, std::string> want = {
      {"coredns_dns_requests_total{" + g + ",proto=\"udp\",family=\"1\",type=\"A\"}", "6"},
      {"coredns_dns_requests_total{" + g + ",proto=\"udp\",family=\"1\",type=\"AAAA\"}", "1"},
      {"coredns_dns_requests_total{" + root + ",proto=\"udp\",family=\"1\",type=\"A\"}", "1"},
      {"coredns_dns_requests_total{" + g + ",proto=\"tcp\",family=\"1\",type=\"A\"}", "2"},
      {"coredns_dns_requests_total{" + g + ",proto=\"tcp\",family=\"1\",type=\"AAAA\"}", "1"},
      {"coredns_dns_responses_total{" + g + ",rcode=\"NOERROR\",plugin=\"\"}", "7"},
      {"coredns_dns_responses_total{" + g + ",rcode=\"NXDOMAIN\",plugin=\"\"}", "3"},
      {"coredns_dns_responses_total{" + root + ",rcode=\"REFUSED\",plugin=\"\"}", "1"},
      {"coredns_dns_do_requests_total{" + g + "}", "1"},
      {"coredns_dns_request_duration_seconds_count{" + g + "}", "10"},
      {"coredns_dns_request_duration_seconds_count{" + root + "}", "1"},
      {"coredns_dns_request_duration_seconds_bucket{" + g + ",le=\"+Inf\"}", "10"},
      {"coredns_dns_request_size_bytes_count{" + g + ",proto=\"udp\"}", "7"},
      {"coredns_dns_request_size_bytes_count{" + g + ",proto=\"tcp\"}", "3"},
      {"coredns_dns_response_size_bytes_count{" + g + ",proto=\"udp\"}", "7"},
      {"coredns_dns_response_size_bytes_count{" + g + ",proto=\"tcp\"}", "3"},
      {"coredns_dns_response_size_bytes_count{" + root + ",proto=\"udp\"}", "1"},
      {"coredns_panics_total", "0"},
      {"globaldns_dns_udp_queries_total", "9"},
      {"globaldns_dns_tcp_queries_total", "3"},
      {"globaldns_dns_dropped_total", "1"},
      {"globaldns_dns_tcp_connections_total", "1"},
      {"globaldns_served_names", "4"},
      // deploy/examples/serviceentries.yaml: passthrough (resolution NONE), legacy-db (10.1.2.3
      // outside the range, so its host has no served address), dual-stack's fd00:240::5, and
      // external-api's api.example.com outside the zone.
      {"globaldns_service_entries_skipped{reason=\"resolution_none\"}", "1"},
      {"globaldns_service_entries_skipped{reason=\"address_outside_allowed\"}", "2"},
      {"globaldns_service_entries_skipped{reason=\"no_served_address\"}", "1"},
      {"globaldns_service_entries_skipped{reason=\"host_outside_zones\"}", "1"},
      {"globaldns_service_entries_skipped{reason=\"invalid_host\"}", "0"},
      {"globaldns_source_loaded{source=\"files\"}", "1"},
      {"globaldns_source_failures{source=\"files\"}", "0"},
      {"globaldns_snapshot_publishes_total", "1"},
  };
  for (const auto& [key, value] : want) {
    auto it = s.find(key);
    ASSERT_NE(it, s.end()) << "missing " << key << "\n" << reply.body;
    EXPECT_EQ(it->second, value) << key;
  }
  // Nothing counted beyond the traffic above.
  EXPECT_EQ(count_prefix(s, "coredns_dns_requests_total{"), 5u) << reply.body;
  EXPECT_EQ(count_prefix(s, "coredns_dns_responses_total{"), 3u) << reply.body;
  // The revision is the commit when CMake last configured: only its presence is checked.
  const std::string info =
      "coredns_build_info{version=\"" + std::string(GLOBALDNS_VERSION) + "\",revision=\"";
  const std::string go = "\",goversion=\"g++ " + std::string(__VERSION__) + "\"}";
  auto it = s.lower_bound(info);
  ASSERT_TRUE(it != s.end() && it->first.rfind(info, 0) == 0) << reply.body;
  EXPECT_GT(it->first.size(), info.size() + go.size()) << it->first;  // a non-empty revision
  EXPECT_EQ(it->first.substr(it->first.size() - go.size()), go);
  EXPECT_EQ(it->second, "1");
}

TEST_F(Metrics, ScrapeHasThePrometheusContentTypeAndPassesPromtool) {
  ASSERT_EQ(udp_rcode(server_->port(), make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A)),
            0);
  ASSERT_EQ(udp_rcode(server_->port(), make_query("example.com.", LDNS_RR_TYPE_A)), 5);
  const std::string raw = raw_get(metrics_port_, "/metrics");
  EXPECT_NE(raw.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos)
      << raw;
  int code = 0;
  run_command("sh -c 'command -v promtool'", &code);
  if (code != 0) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  const fs::path scrape = dir_ / "scrape.txt";
  {
    std::ofstream out(scrape);
    out << http_get(metrics_port_, "/metrics").body;
  }
  const std::string lint =
      run_command("sh -c 'promtool check metrics < " + scrape.string() + "'", &code);
  EXPECT_EQ(code, 0) << lint;
  EXPECT_EQ(lint.find("ERROR"), std::string::npos) << lint;
}

TEST(MetricsOff, NoListenerAndNoCounting) {
  const fs::path dir =
      fs::temp_directory_path() / ("globaldns-metrics-off-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    ServerProcess server(kBinary, {"serve", "--files", kExamples, "--metrics", "off"},
                         dir / "server.log");
    const uint16_t ready = server.http_port("/ready");
    ASSERT_NE(ready, 0) << server.log();
    for (int i = 0; i < 250 && http_get(ready, "/ready").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(udp_rcode(server.port(), make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A)),
              0);
    EXPECT_EQ(server.http_port("/metrics", std::chrono::milliseconds(200)), 0) << server.log();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace globaldns::testing
