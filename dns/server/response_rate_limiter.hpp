// ResponseRateLimiter: RRL for UDP answers, one lock-free token bucket per client prefix.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include "dns/server/server.hpp"

namespace globaldns::dns {

// Response rate limiting in the manner of BIND's and Knot's RRL: a spoofed flood of small
// queries must not make us send a victim a flood of larger answers. Every UDP response counts
// against its client's prefix (the address masked to /24 or /56 by default, so one host cannot
// dodge it by hopping addresses), whatever its RCODE. Over the limit a response is dropped,
// except every `slip`th, which goes out as an empty TC=1 reply: a real client behind a busy
// prefix then retries over TCP, which proves its address and is never limited.
//
// The table of buckets is allocated once; check() allocates nothing and takes no lock, and
// every UDP worker shares one limiter (SO_REUSEPORT spreads one prefix over all workers).
class ResponseRateLimiter {
 public:
  enum class Verdict : uint8_t { Send, Slip, Drop };

  static constexpr uint32_t kMaxTableSize = 1u << 22;  // 64 MiB of buckets

  // options.responses_per_second must be 1 or more (0 means no limiter at all). `seed` 0 draws
  // a random one, as serve does; tests pass their own to make bucket indices reproducible.
  explicit ResponseRateLimiter(const RrlOptions& options, uint64_t seed = 0);
  ~ResponseRateLimiter();
  ResponseRateLimiter(const ResponseRateLimiter&) = delete;
  ResponseRateLimiter& operator=(const ResponseRateLimiter&) = delete;

  // One response about to be sent to `peer` (AF_INET or AF_INET6; any other family is never
  // limited), at `now_ns` on a monotonic clock. Any thread may call it.
  Verdict check(const sockaddr* peer, int64_t now_ns) noexcept;

  // A worker's limited responses of one batch, for the log: at most one warning per
  // kReportInterval across all workers, with the totals since the last one. Call it only
  // when something was limited (it touches shared atomics).
  void report(uint64_t dropped, uint64_t slipped, int64_t now_ns) noexcept;

  static constexpr int64_t kReportInterval = 10'000'000'000;  // ns
  size_t table_size() const noexcept { return mask_ + 1; }
  const RrlOptions& options() const noexcept { return options_; }

 private:
  // 16 bytes: the GCRA arrival time (rate_limiter.hpp) and the count of limited responses
  // that paces the slip.
  struct alignas(16) Bucket {
    std::atomic<int64_t> arrival{std::numeric_limits<int64_t>::min()};
    std::atomic<uint32_t> limited{0};
  };

  size_t index(const sockaddr* peer) const noexcept;  // kNoBucket for an unknown family
  static constexpr size_t kNoBucket = std::numeric_limits<size_t>::max();

  const RrlOptions options_;
  const int64_t interval_;
  const int64_t tolerance_;
  size_t mask_ = 0;
  uint32_t v4_mask_ = 0;  // host order
  uint64_t v6_mask_high_ = 0;
  uint64_t v6_mask_low_ = 0;
  uint64_t key_[4] = {};  // the hash's secret: [0..1] for IPv4 prefixes, [2..3] for IPv6
  std::unique_ptr<Bucket[]> buckets_;

  std::atomic<int64_t> next_report_ns_{0};
  std::atomic<uint64_t> unreported_dropped_{0};
  std::atomic<uint64_t> unreported_slipped_{0};
};

}  // namespace globaldns::dns
