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

// One io_context thread for the worker's TCP listeners and connections, and one thread per
// UDP socket (UdpWorker) blocking in recvmmsg. Each thread has its own WorkerContext (snapshot
// reader, counters); they share nothing with the other workers but the snapshot holder (read
// once per batch), the TCP connection counter, the query log and the response rate limiter.
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
  // Before start(). The query log, shared by every worker; nullptr (the default) when it is off.
  void set_query_log(QueryLog* log) noexcept;
  // Before start(). UDP response rate limiting, shared by every worker; nullptr (the default)
  // when it is off.
  void set_rrl(ResponseRateLimiter* rrl) noexcept;

  void start();
  // From any thread; returns at once. The UDP threads end at once; the TCP thread closes its
  // listeners, gives open connections a short grace to flush their answers, then ends.
  void request_stop() noexcept;
  void join();
  void add_stats_to(ServerStats& sum) const;

 private:
  std::unique_ptr<WorkerContext> make_context();
  void run() noexcept;
  void begin_stop();

  unsigned index_;
  const resolver::SnapshotHolder& snapshots_;
  const TcpOptions tcp_options_;
  std::atomic<unsigned>& tcp_active_;
  metrics::QueryCounters* const counters_;
  QueryLog* query_log_ = nullptr;
  ResponseRateLimiter* rrl_ = nullptr;
  // Declared before io_ so it outlives it: connections still owned by pending handlers die
  // with io_ and then give their slot back through the context.
  std::unique_ptr<WorkerContext> context_;  // the TCP thread's
  // Hint 1: one thread runs it, so Asio can skip most of its internal locking.
  boost::asio::io_context io_{1};
  std::vector<std::unique_ptr<UdpWorker>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  boost::asio::steady_timer grace_{io_};
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace globaldns::dns
