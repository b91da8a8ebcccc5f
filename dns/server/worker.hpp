// Worker: one thread, one io_context, and the UDP sockets and TCP listeners that thread serves.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/server.hpp"
#include "dns/server/unique_fd.hpp"

namespace globaldns::resolver {
class SnapshotHolder;
}

namespace globaldns::dns {

class QueryLog;
class ResponseRateLimiter;
class WorkerContext;
class UdpWorker;
class TcpListener;

// Shares nothing with the other workers but the snapshot holder (read once per batch), the
// TCP connection counter, the query log and the response rate limiter: each thread runs its own
// io_context over its own sockets.
class Worker {
 public:
  Worker(unsigned index, const resolver::SnapshotHolder& snapshots, const TcpOptions& tcp,
         std::atomic<unsigned>& tcp_active, metrics::QueryCounters* counters);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start() only, one UDP socket and one listener per listen address, in its order.
  void add_udp(UniqueFd fd, int family, bool wildcard);
  void add_tcp(UniqueFd fd, int family);
  // The query log, shared by every worker; nullptr (the default) when it is off.
  void set_query_log(QueryLog* log) noexcept;
  // UDP response rate limiting, shared by every worker; nullptr (the default) when it is off.
  void set_rrl(ResponseRateLimiter* rrl) noexcept;

  void start();
  // From any thread; returns at once. The worker closes its sockets, gives open connections
  // a short grace to flush their answers, then its thread ends.
  void request_stop() noexcept;
  void join();
  void add_stats_to(ServerStats& sum) const;

 private:
  void run() noexcept;
  void begin_stop();

  unsigned index_;
  // Declared before io_ so it outlives it: connections still owned by pending handlers die
  // with io_ and then give their slot back through the context.
  std::unique_ptr<WorkerContext> context_;
  // Hint 1: one thread runs it, so Asio can skip most of its internal locking.
  boost::asio::io_context io_{1};
  std::vector<std::unique_ptr<UdpWorker>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  boost::asio::steady_timer grace_{io_};
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace globaldns::dns
