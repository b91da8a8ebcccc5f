// ResponseRateLimiter: mask the client's address to its prefix, hash it with a secret key to a
// bucket, and run the GCRA of rate_limiter.hpp on that bucket.
#include "dns/server/response_rate_limiter.hpp"

#include <endian.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <exception>
#include <random>

#include <spdlog/spdlog.h>

#include "dns/server/rate_limiter.hpp"

namespace globaldns::dns {
namespace {

// 64x64 -> 128-bit multiply, folded: the mixing step of wyhash.
uint64_t fold_multiply(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

}  // namespace

ResponseRateLimiter::ResponseRateLimiter(const RrlOptions& options, uint64_t seed)
    : options_(options),
      interval_(RateLimiter::kSecond / std::max<uint32_t>(options.responses_per_second, 1)),
      tolerance_(RateLimiter::kSecond - interval_) {
  const size_t size = std::bit_ceil(std::clamp<size_t>(options.table_size, 1, kMaxTableSize));
  mask_ = size - 1;
  const unsigned v4 = std::clamp(options.ipv4_prefix, 1u, 32u);
  const unsigned v6 = std::clamp(options.ipv6_prefix, 1u, 128u);
  v4_mask_ = ~uint32_t{0} << (32 - v4);
  v6_mask_high_ = v6 >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - v6);
  v6_mask_low_ = v6 <= 64 ? 0 : v6 == 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - v6);
  // Secret per process, so that nobody can choose prefixes that land in one bucket.
  std::mt19937_64 generator(seed);
  if (seed == 0) {
    std::random_device device;
    std::seed_seq sequence{device(), device(), device(), device()};
    generator.seed(sequence);
  }
  for (uint64_t& k : key_) k = generator();
  buckets_ = std::make_unique<Bucket[]>(size);
}

ResponseRateLimiter::~ResponseRateLimiter() {
  const uint64_t dropped = unreported_dropped_.exchange(0, std::memory_order_relaxed);
  const uint64_t slipped = unreported_slipped_.exchange(0, std::memory_order_relaxed);
  if (dropped + slipped == 0) return;
  try {
    spdlog::warn(
        "response rate limiting: {} UDP responses dropped and {} sent as TC before it "
        "stopped",
        dropped, slipped);
  } catch (const std::exception&) {
  }
}

// Colliding prefixes share a bucket rather than evict each other. The key is secret, so a
// collision is chance, not aim (1 in table_size per pair of active prefixes); sharing then
// limits the two prefixes together, which errs on the side of sending less, and a limited
// client still gets its TC slips and retries over TCP. Storing a tag to reset the bucket on a
// mismatch would instead let one prefix wipe a flooding neighbour's debt with each of its own
// queries, and would need the tag and the time in one compare-and-swap.
size_t ResponseRateLimiter::index(const sockaddr* peer) const noexcept {
  uint64_t high;
  uint64_t low;
  const uint64_t* key;
  if (peer->sa_family == AF_INET) {
    sockaddr_in a;
    std::memcpy(&a, peer, sizeof a);
    high = ntohl(a.sin_addr.s_addr) & v4_mask_;
    low = 0;
    key = key_;
  } else if (peer->sa_family == AF_INET6) {
    // Listening sockets are IPV6_V6ONLY, so no IPv4-mapped address arrives here.
    sockaddr_in6 a;
    std::memcpy(&a, peer, sizeof a);
    std::memcpy(&high, a.sin6_addr.s6_addr, 8);
    std::memcpy(&low, a.sin6_addr.s6_addr + 8, 8);
    high = be64toh(high) & v6_mask_high_;
    low = be64toh(low) & v6_mask_low_;
    key = key_ + 2;  // the family is part of the key
  } else {
    return kNoBucket;
  }
  return fold_multiply(fold_multiply(high ^ key[0], low ^ key[1]), key[0] ^ key[1]) & mask_;
}

ResponseRateLimiter::Verdict ResponseRateLimiter::check(const sockaddr* peer,
                                                        int64_t now_ns) noexcept {
  const size_t i = index(peer);
  if (i == kNoBucket) return Verdict::Send;
  Bucket& bucket = buckets_[i];
  if (gcra_allow(bucket.arrival, interval_, tolerance_, now_ns)) return Verdict::Send;
  if (options_.slip == 0) return Verdict::Drop;
  // Only limited responses pay for this counter. Under a flood spread over workers the count
  // is shared, so the slips are every slip-th of the prefix's limited responses, not per worker.
  const uint32_t n = bucket.limited.fetch_add(1, std::memory_order_relaxed) + 1;
  return n % options_.slip == 0 ? Verdict::Slip : Verdict::Drop;
}

void ResponseRateLimiter::report(uint64_t dropped, uint64_t slipped, int64_t now_ns) noexcept {
  unreported_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  unreported_slipped_.fetch_add(slipped, std::memory_order_relaxed);
  int64_t due = next_report_ns_.load(std::memory_order_relaxed);
  if (now_ns < due) return;
  // One worker wins the report for this interval; the others carry on.
  if (!next_report_ns_.compare_exchange_strong(due, now_ns + kReportInterval,
                                               std::memory_order_relaxed)) {
    return;
  }
  const uint64_t d = unreported_dropped_.exchange(0, std::memory_order_relaxed);
  const uint64_t s = unreported_slipped_.exchange(0, std::memory_order_relaxed);
  try {
    spdlog::warn(
        "response rate limiting: {} UDP responses dropped and {} sent as TC (limit {} per second "
        "per /{} IPv4 or /{} IPv6 prefix); at most one such line per {} s",
        d, s, options_.responses_per_second, options_.ipv4_prefix, options_.ipv6_prefix,
        kReportInterval / RateLimiter::kSecond);
  } catch (const std::exception&) {
  }
}

}  // namespace globaldns::dns
