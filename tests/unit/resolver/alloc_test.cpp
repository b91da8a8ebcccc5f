// Proves the query path allocates nothing: operator new is replaced and counted.
#include <gtest/gtest.h>

#include <vector>

#include "resolver/answer.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/support/counting_new.hpp"
#include "tests/support/ldns_check.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::resolver {
namespace {

TEST(QueryPath, AllocatesNothing) {
  auto snap = build_snapshot(testzone::data());
  ASSERT_TRUE(snap.ok());
  globaldns::testing::QueryOptions edns;
  edns.edns = true;
  globaldns::testing::QueryOptions chaos;
  chaos.qclass = 3;  // CH
  globaldns::testing::QueryOptions chaos_edns = chaos;
  chaos_edns.edns = true;
  // Every outcome the engine has, prepared before counting starts.
  std::vector<std::vector<uint8_t>> queries = {
      globaldns::testing::make_query("httpbin.istio-testing.global.", 1),
      globaldns::testing::make_query("HTTPBIN.istio-testing.global.", 28, edns),
      globaldns::testing::make_query("nope.global.", 1),
      globaldns::testing::make_query("istio-testing.global.", 1),
      globaldns::testing::make_query("x.y.wild.global.", 1, edns),
      globaldns::testing::make_query("example.com.", 1),
      globaldns::testing::make_query("global.", 255),
      globaldns::testing::make_query("version.bind.", 16, chaos),
      globaldns::testing::make_query("ID.Server.", 255, chaos_edns),
      globaldns::testing::make_query("authors.bind.", 16, chaos),
      globaldns::testing::make_query("hostname.bind.", 1, chaos),
  };
  auto formerr = queries[0];
  formerr[5] = 2;
  queries.push_back(formerr);
  std::vector<uint8_t> out(65535);
  globaldns::testing::g_count_allocations = true;
  size_t bytes = 0;
  for (int i = 0; i < 10000; ++i)
    for (const auto& q : queries)
      bytes += answer(snap->get(), q, out, i % 2 ? Transport::Udp : Transport::Tcp).size;
  globaldns::testing::g_count_allocations = false;
  EXPECT_EQ(globaldns::testing::g_allocations.load(), 0u);
  EXPECT_GT(bytes, 0u);
}

}  // namespace
}  // namespace globaldns::resolver
