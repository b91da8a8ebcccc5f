// QueryLog: the optional per-query log, rate-limited, written through an spdlog logger.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "dns/server/rate_limiter.hpp"
#include "resolver/answer.hpp"

namespace spdlog {
class logger;
}

namespace globaldns::dns {

// One line per query in CoreDNS's log format (QueryLogLine), at most `lines_per_second`; what
// the limit holds back is counted and reported in one warning per second at most (when a later
// query comes, and when the log is destroyed). Shared by every worker: record() takes no lock
// and blocks on nothing but the logger's enqueue. A worker holds a null QueryLog* when the log
// is off, so the query path pays one branch.
class QueryLog {
 public:
  using Clock = std::chrono::steady_clock;

  // `logger` gets the lines at info and the reports at warn.
  QueryLog(uint32_t lines_per_second, std::shared_ptr<spdlog::logger> logger);
  ~QueryLog();
  QueryLog(const QueryLog&) = delete;
  QueryLog& operator=(const QueryLog&) = delete;

  // A query answered with `response` (empty: none sent), received at `started`.
  void record(std::span<const uint8_t> query, std::span<const uint8_t> response,
              const sockaddr* remote, resolver::Transport transport,
              Clock::time_point started) noexcept {
    record_at(query, response, remote, transport, started, Clock::now());
  }
  // The same with the time now given: what tests call.
  void record_at(std::span<const uint8_t> query, std::span<const uint8_t> response,
                 const sockaddr* remote, resolver::Transport transport, Clock::time_point started,
                 Clock::time_point now) noexcept;

 private:
  void report_suppressed(int64_t now_ns) noexcept;

  const uint32_t lines_per_second_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<void> keep_alive_;  // what the logger needs to outlive it (its thread pool)
  RateLimiter limiter_;
  std::atomic<uint64_t> suppressed_{0};
  std::atomic<int64_t> next_report_ns_{0};

  friend std::unique_ptr<QueryLog> make_query_log(uint32_t lines_per_second);
};

// The log `serve` uses: an asynchronous logger named "query" on the default logger's sinks (so
// log.format, text or JSON, applies to it too), at level info whatever log.level says, whose
// queue drops its oldest line rather than block a worker when the sink cannot keep up.
std::unique_ptr<QueryLog> make_query_log(uint32_t lines_per_second);

}  // namespace globaldns::dns
