// WorkerContext: the state one worker's UDP sockets, TCP listeners and connections share.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <boost/asio/io_context.hpp>
#include <boost/intrusive/list.hpp>

#include "dns/server/server.hpp"
#include "dns/server/tcp_connection.hpp"
#include "dns/server/worker_stats.hpp"
#include "metrics/query_counters.hpp"
#include "resolver/snapshot_holder.hpp"

namespace globaldns::dns {

class QueryLog;
class ResponseRateLimiter;

// Touched only by its worker's thread (single-threaded io_context), except `stats`, which
// stats() reads, and `tcp_active`, the query log and the rate limiter, which every worker
// shares.
class WorkerContext {
 public:
  // The largest TCP answer (RFC 1035 §4.2.2: a two-byte length).
  static constexpr size_t kTcpAnswerMax = 65535;

  WorkerContext(const resolver::SnapshotHolder& snapshots, const TcpOptions& tcp,
                std::atomic<unsigned>& tcp_active, metrics::QueryRecorder* recorder);
  ~WorkerContext();
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  // Call once per batch (recvmmsg batch, TCP read): a new snapshot is picked up here.
  const resolver::Snapshot* snapshot() noexcept { return reader_.get(); }
  // Scratch space the engine writes a TCP answer into before it is queued on a connection:
  // one per worker rather than 64 KiB more per connection.
  std::span<uint8_t> tcp_answer() noexcept { return {tcp_answer_.get(), kTcpAnswerMax}; }
  const TcpOptions& tcp() const noexcept { return tcp_; }
  WorkerStats& stats() noexcept { return stats_; }
  // nullptr when the query log is off: the one branch the query path pays for it.
  QueryLog* query_log() const noexcept { return query_log_; }
  void set_query_log(QueryLog* log) noexcept { query_log_ = log; }
  // UDP response rate limiting, shared by every worker; nullptr when it is off.
  ResponseRateLimiter* rrl() const noexcept { return rrl_; }
  void set_rrl(ResponseRateLimiter* rrl) noexcept { rrl_ = rrl; }
  const WorkerStats& stats() const noexcept { return stats_; }
  // This worker's per-query counters; null when metrics are off.
  metrics::QueryRecorder* recorder() noexcept { return recorder_; }

  // The cross-worker connection cap: false when max_connections are already open.
  bool try_acquire_connection() noexcept;
  void release_connection() noexcept;

  // Live connections, so that stop() can reach them. Linking allocates nothing.
  void attach(TcpConnection& connection) noexcept;
  // Unlinks, and when stopping and this was the last one, stops the io_context early.
  void detach(TcpConnection& connection) noexcept;
  size_t connection_count() const noexcept { return connections_.size(); }

  // Shutdown: asks every connection to finish (flush answers, then close).
  void begin_stop(boost::asio::io_context* io);
  // The io_context is being destroyed: connections dying with it must not touch it.
  void forget_io_context() noexcept { stop_io_ = nullptr; }

 private:
  using ConnectionList =
      boost::intrusive::list<TcpConnection, boost::intrusive::constant_time_size<true>>;

  resolver::SnapshotReader reader_;
  const TcpOptions tcp_;
  WorkerStats stats_;
  std::atomic<unsigned>& tcp_active_;
  metrics::QueryRecorder* const recorder_;
  std::unique_ptr<uint8_t[]> tcp_answer_;
  ConnectionList connections_;
  boost::asio::io_context* stop_io_ = nullptr;  // set by begin_stop()
  QueryLog* query_log_ = nullptr;               // owned by the Server, outlives the workers
  ResponseRateLimiter* rrl_ = nullptr;          // likewise
};

}  // namespace globaldns::dns
