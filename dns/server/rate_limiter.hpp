// RateLimiter: at most N events per second, with a burst of one second's worth, lock-free.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

namespace globaldns::dns {

// The generic cell rate algorithm (a token bucket kept as one timestamp): the "theoretical
// arrival time" advances by `interval` ns per event allowed, and an event is refused when that
// time has run more than `tolerance` ns ahead of now. With interval = 1 s / N and tolerance =
// 1 s - interval, N events may pass at once, then one every 1/N s. A refusal is one atomic
// load; an allowed event one compare-and-swap. Shared by RateLimiter and the per-prefix
// buckets of ResponseRateLimiter.
inline bool gcra_allow(std::atomic<int64_t>& arrival_ns, int64_t interval, int64_t tolerance,
                       int64_t now_ns) noexcept {
  int64_t arrival = arrival_ns.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t start = std::max(arrival, now_ns);
    if (start - now_ns > tolerance) return false;
    if (arrival_ns.compare_exchange_weak(arrival, start + interval, std::memory_order_relaxed))
      return true;
  }
}

// One GCRA bucket. The caller passes the time (nanoseconds on any monotonic clock), which
// keeps tests free of sleeps. Any thread may call allow().
class RateLimiter {
 public:
  static constexpr int64_t kSecond = 1'000'000'000;

  // per_second: 1 to 1e9.
  explicit RateLimiter(uint32_t per_second) noexcept
      : interval_(kSecond / std::max<uint32_t>(per_second, 1)), tolerance_(kSecond - interval_) {}

  bool allow(int64_t now_ns) noexcept {
    return gcra_allow(arrival_, interval_, tolerance_, now_ns);
  }

 private:
  const int64_t interval_;
  const int64_t tolerance_;
  std::atomic<int64_t> arrival_{std::numeric_limits<int64_t>::min()};
};

}  // namespace globaldns::dns
