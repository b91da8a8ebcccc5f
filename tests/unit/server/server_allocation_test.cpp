// Proves the UDP hot path allocates nothing: operator new is counted on the worker threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "dns/server/server.hpp"
#include "resolver/snapshot_holder.hpp"
#include "tests/unit/server/test_client.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_worker_allocations{0};
std::thread::id g_test_thread;

void* counted_new(std::size_t size) {
  // Only the server's threads count: the test thread allocates freely (gtest, its buffers).
  if (g_counting.load(std::memory_order_relaxed) && std::this_thread::get_id() != g_test_thread) {
    g_worker_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) {
  return counted_new(size);
}
void* operator new[](std::size_t size) {
  return counted_new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace globaldns::dns {
namespace {

using namespace test;

TEST(ServerAllocationTest, UdpQueriesAllocateNothingOnTheWorker) {
  g_test_thread = std::this_thread::get_id();
  resolver::SnapshotHolder holder;
  holder.publish(make_snapshot({240, 0, 0, 2}));
  ServerOptions options;
  options.listen.push_back(ListenAddress{"127.0.0.1", 0});
  options.threads = 1;
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

  g_counting = true;
  for (uint16_t id = 0; id < 500; ++id) ASSERT_TRUE(ask(id));
  g_counting = false;
  EXPECT_EQ(g_worker_allocations.load(), 0u);
  EXPECT_GE(server.stats().udp_queries, 550u);
}

}  // namespace
}  // namespace globaldns::dns
