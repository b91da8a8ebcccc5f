// WorkerStats: one worker's counters, on their own cache line, written only by that worker.
#pragma once

#include <atomic>
#include <cstdint>

#include "dns/server/server.hpp"

namespace globaldns::dns {

// Each worker owns one and is its only writer, so an increment is a relaxed load and store
// (no locked read-modify-write); stats() reads them from another thread. alignas(64) keeps two
// workers' counters off the same cache line, which would otherwise bounce between cores.
struct alignas(64) WorkerStats {
  using Counter = std::atomic<uint64_t>;

  Counter udp_queries{0};
  Counter tcp_queries{0};
  Counter dropped{0};
  Counter truncated{0};
  Counter tcp_connections{0};
  Counter tcp_connections_refused{0};
  Counter tcp_timeouts{0};
  Counter udp_send_errors{0};
  Counter handler_exceptions{0};
  Counter rrl_dropped{0};
  Counter rrl_slipped{0};

  // Single-writer add: only the owning worker's thread may call this.
  static void add(Counter& counter, uint64_t n) noexcept {
    if (n != 0)
      counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  void add_to(ServerStats& sum) const noexcept {
    sum.udp_queries += udp_queries.load(std::memory_order_relaxed);
    sum.tcp_queries += tcp_queries.load(std::memory_order_relaxed);
    sum.dropped += dropped.load(std::memory_order_relaxed);
    sum.truncated += truncated.load(std::memory_order_relaxed);
    sum.tcp_connections += tcp_connections.load(std::memory_order_relaxed);
    sum.tcp_connections_refused += tcp_connections_refused.load(std::memory_order_relaxed);
    sum.tcp_timeouts += tcp_timeouts.load(std::memory_order_relaxed);
    sum.udp_send_errors += udp_send_errors.load(std::memory_order_relaxed);
    sum.handler_exceptions += handler_exceptions.load(std::memory_order_relaxed);
    sum.rrl_dropped += rrl_dropped.load(std::memory_order_relaxed);
    sum.rrl_slipped += rrl_slipped.load(std::memory_order_relaxed);
  }
};

}  // namespace globaldns::dns
