// Proves the UDP hot path allocates nothing: operator new is counted on the worker threads.
#include <gtest/gtest.h>

#include "dns/server/server.hpp"
#include "metrics/exposition.hpp"
#include "metrics/query_counters.hpp"
#include "resolver/snapshot_holder.hpp"
#include "tests/support/counting_new.hpp"
#include "tests/unit/server/test_client.hpp"

namespace globaldns::dns {
namespace {

using namespace test;

// With `counters`, each query is also counted (coredns_dns_*), and with `rrl` rate limited: that
// must allocate nothing either.
void expect_no_allocation(metrics::QueryCounters* counters, const RrlOptions& rrl = {},
                          ServerStats* stats = nullptr) {
  // Only the server's threads count: the test thread allocates freely (gtest, its buffers).
  globaldns::testing::t_allocations_exempt = true;
  resolver::SnapshotHolder holder;
  holder.publish(make_snapshot({240, 0, 0, 2}));
  ServerOptions options;
  options.listen.push_back(ListenAddress{"127.0.0.1", 0});
  options.threads = 1;
  options.query_counters = counters;
  options.rrl = rrl;
  Server server(options, holder);
  ASSERT_TRUE(server.start().ok());
  const uint16_t port = server.bound_udp().front().port;

  UniqueFd fd = udp_socket("127.0.0.1");
  const auto ask = [&](uint16_t id) {
    if (!udp_send(fd.get(), "127.0.0.1", port, make_query(id))) return false;
    auto reply = udp_receive(fd.get(), Clock::now() + kPatience);
    return reply.has_value() && parse_response(*reply).has_value();
  };
  // Warm-up: the worker's first wait and first snapshot refresh may allocate, once.
  for (uint16_t id = 0; id < 50; ++id) ASSERT_TRUE(ask(id));

  globaldns::testing::g_count_allocations = true;
  for (uint16_t id = 0; id < 500; ++id) ASSERT_TRUE(ask(id));
  globaldns::testing::g_count_allocations = false;
  EXPECT_EQ(globaldns::testing::g_allocations.load(), 0u);
  EXPECT_GE(server.stats().udp_queries, 550u);
  if (stats != nullptr) *stats = server.stats();
}

TEST(ServerAllocationTest, UdpQueriesAllocateNothingOnTheWorker) {
  expect_no_allocation(nullptr);
}

TEST(ServerAllocationTest, CountingQueriesAllocatesNothingOnTheWorker) {
  metrics::QueryCounters counters(1);
  counters.set_server_name(0, "dns://127.0.0.1:0");
  counters.set_zone_names({"global."});
  expect_no_allocation(&counters);
  metrics::Exposition page;
  counters.write(page);
  // Every query was counted: 550 A queries in the test zone (make_query asks within it).
  EXPECT_NE(page.text().find("type=\"A\"} 550\n"), std::string::npos) << page.text();
}

// Over the limit with slip 1, every reply is rebuilt as a TC slip: no allocation for the
// limiter's check, the slip, or the counters (the limiter's one warning per 10 s comes during
// the warm-up).
TEST(ServerAllocationTest, RateLimitedQueriesAllocateNothingOnTheWorker) {
  RrlOptions rrl;
  rrl.responses_per_second = 10;
  rrl.slip = 1;
  ServerStats stats;
  expect_no_allocation(nullptr, rrl, &stats);
  EXPECT_GE(stats.rrl_slipped, 500u);
  EXPECT_EQ(stats.rrl_dropped, 0u);
}

}  // namespace
}  // namespace globaldns::dns
