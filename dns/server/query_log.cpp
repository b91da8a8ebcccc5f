// QueryLog: rate limit, format, hand the line to spdlog; count and report what was held back.
#include "dns/server/query_log.hpp"

#include <exception>
#include <string_view>
#include <utility>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/spdlog.h>

#include "dns/server/query_log_line.hpp"

namespace globaldns::dns {
namespace {

// Lines waiting for the logging thread. At the rate limit's ceiling this is seconds of slack;
// past it the oldest lines are overwritten rather than a worker made to wait.
constexpr size_t kQueueLines = 8192;

int64_t to_ns(QueryLog::Clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

QueryLog::QueryLog(uint32_t lines_per_second, std::shared_ptr<spdlog::logger> logger)
    : lines_per_second_(lines_per_second), logger_(std::move(logger)), limiter_(lines_per_second) {}

QueryLog::~QueryLog() {
  const uint64_t held_back = suppressed_.exchange(0, std::memory_order_relaxed);
  if (held_back != 0) {
    logger_->warn("query log: {} queries not logged before it stopped (limit {} lines per second)",
                  held_back, lines_per_second_);
  }
}

void QueryLog::record_at(std::span<const uint8_t> query, std::span<const uint8_t> response,
                         const sockaddr* remote, resolver::Transport transport,
                         Clock::time_point started, Clock::time_point now) noexcept {
  const int64_t now_ns = to_ns(now);
  if (!limiter_.allow(now_ns)) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    report_suppressed(now_ns);
    return;
  }
  report_suppressed(now_ns);
  QueryLogLine line;
  const std::string_view text = line.format({query, response, remote, transport, now - started});
  try {
    logger_->info("{}", text);
  } catch (const std::exception&) {
    // spdlog reports its own errors; an allocation failure here only loses a log line.
  }
}

void QueryLog::report_suppressed(int64_t now_ns) noexcept {
  int64_t due = next_report_ns_.load(std::memory_order_relaxed);
  if (now_ns < due) return;
  // One thread wins the report for this second; the others carry on.
  if (!next_report_ns_.compare_exchange_strong(due, now_ns + RateLimiter::kSecond,
                                               std::memory_order_relaxed)) {
    return;
  }
  const uint64_t held_back = suppressed_.exchange(0, std::memory_order_relaxed);
  if (held_back == 0) return;
  try {
    logger_->warn("query log: {} queries not logged (limit {} lines per second)", held_back,
                  lines_per_second_);
  } catch (const std::exception&) {
  }
}

std::unique_ptr<QueryLog> make_query_log(uint32_t lines_per_second) {
  auto pool = std::make_shared<spdlog::details::thread_pool>(kQueueLines, 1);
  const std::shared_ptr<spdlog::logger> base = spdlog::default_logger();
  auto logger =
      std::make_shared<spdlog::async_logger>("query", base->sinks().begin(), base->sinks().end(),
                                             pool, spdlog::async_overflow_policy::overrun_oldest);
  // Not registered: spdlog::set_level (log.level) must not silence a log asked for by name.
  // The sinks, and with them the text or JSON pattern, are the default logger's.
  logger->set_level(spdlog::level::info);
  auto log = std::make_unique<QueryLog>(lines_per_second, std::move(logger));
  log->keep_alive_ = std::move(pool);
  return log;
}

}  // namespace globaldns::dns
