// RateLimiter: at most N events per second, with a burst of one second's worth, lock-free.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

namespace globaldns::dns {

// The generic cell rate algorithm (a token bucket kept as one timestamp): the "theoretical
// arrival time" advances by 1/N s per event allowed, and an event is refused when that time
// has run more than a second ahead of now. So N events may pass at once, then one every 1/N s.
// The caller passes the time (nanoseconds on any monotonic clock), which keeps tests free of
// sleeps. Any thread may call allow(); a refusal is one atomic load.
class RateLimiter {
 public:
  static constexpr int64_t kSecond = 1'000'000'000;

  // per_second: 1 to 1e9.
  explicit RateLimiter(uint32_t per_second) noexcept
      : interval_(kSecond / std::max<uint32_t>(per_second, 1)), tolerance_(kSecond - interval_) {}

  bool allow(int64_t now_ns) noexcept {
    int64_t arrival = arrival_.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t start = std::max(arrival, now_ns);
      if (start - now_ns > tolerance_) return false;
      if (arrival_.compare_exchange_weak(arrival, start + interval_, std::memory_order_relaxed))
        return true;
    }
  }

 private:
  const int64_t interval_;
  const int64_t tolerance_;
  std::atomic<int64_t> arrival_{std::numeric_limits<int64_t>::min()};
};

}  // namespace globaldns::dns
