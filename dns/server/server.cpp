// Server: binds every listen address, then runs one Worker per thread until stop().
#include "dns/server/server.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "dns/server/listen_sockets.hpp"
#include "dns/server/query_log.hpp"
#include "dns/server/response_rate_limiter.hpp"
#include "dns/server/worker.hpp"

namespace globaldns::dns {

struct Server::Impl {
  Impl(ServerOptions opts, const resolver::SnapshotHolder& holder)
      : options(std::move(opts)), snapshots(holder) {}

  const ServerOptions options;
  const resolver::SnapshotHolder& snapshots;
  // Before `workers`, so it outlives the connections that count themselves out of it.
  std::atomic<unsigned> tcp_active{0};
  // Guards the fields below against stats() racing stop(); never taken by a worker thread.
  mutable std::mutex mutex;
  std::unique_ptr<QueryLog> query_log;       // before workers: they hold a pointer to it
  std::unique_ptr<ResponseRateLimiter> rrl;  // likewise; null when off
  std::vector<std::unique_ptr<Worker>> workers;
  ServerStats final_stats;  // what stopped workers counted
  std::vector<ListenAddress> bound_udp;
  std::vector<ListenAddress> bound_tcp;
  bool started = false;
};

Server::Server(ServerOptions options, const resolver::SnapshotHolder& snapshots)
    : impl_(std::make_unique<Impl>(std::move(options), snapshots)) {}

Server::~Server() {
  stop();
}

Result<Ok> Server::start() {
  Impl& impl = *impl_;
  const std::lock_guard lock(impl.mutex);
  if (impl.started) return Error{"the server was already started"};
  const unsigned threads = impl.options.threads != 0
                               ? impl.options.threads
                               : std::max(1u, std::thread::hardware_concurrency());

  // Everything is bound before any thread exists: a port in use fails here, cleanly.
  auto sockets = open_listen_sockets(impl.options, threads);
  if (!sockets) return Error{sockets.error()};

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<ListenAddress> bound_udp;
  std::vector<ListenAddress> bound_tcp;
  try {
    if (impl.options.query_log_per_second != 0 && !impl.query_log) {
      impl.query_log = make_query_log(impl.options.query_log_per_second);
    }
    if (impl.options.rrl.responses_per_second != 0 && !impl.rrl) {
      impl.rrl = std::make_unique<ResponseRateLimiter>(impl.options.rrl);
    }
    for (unsigned i = 0; i < threads; ++i) {
      workers.push_back(std::make_unique<Worker>(i, impl.snapshots, impl.options.tcp,
                                                 impl.tcp_active, impl.options.query_counters));
      workers.back()->set_query_log(impl.query_log.get());
      workers.back()->set_rrl(impl.rrl.get());
    }
    for (ListenSockets& address : *sockets) {
      for (unsigned i = 0; i < threads; ++i) {
        workers[i]->add_udp(std::move(address.udp[i]), address.family, address.wildcard);
        workers[i]->add_tcp(std::move(address.tcp[i]), address.family);
      }
      bound_udp.push_back(address.udp_bound);
      bound_tcp.push_back(address.tcp_bound);
    }
    for (const auto& worker : workers) worker->start();
  } catch (const std::exception& e) {
    // Worker destructors stop and join whatever had started.
    return Error{std::string("cannot start the DNS workers: ") + e.what()};
  }

  impl.workers = std::move(workers);
  impl.bound_udp = std::move(bound_udp);
  impl.bound_tcp = std::move(bound_tcp);
  impl.started = true;
  for (const ListenAddress& address : impl.bound_udp) {
    spdlog::info("serving DNS on {}:{} (UDP and TCP) with {} worker(s)", address.host, address.port,
                 threads);
  }
  if (impl.query_log) {
    spdlog::info("query log on: at most {} lines per second", impl.options.query_log_per_second);
  }
  if (impl.rrl) {
    const RrlOptions& rrl = impl.options.rrl;
    spdlog::info(
        "response rate limiting on: {} UDP responses per second per /{} IPv4 or /{} IPv6 "
        "prefix, slip {}, {} buckets",
        rrl.responses_per_second, rrl.ipv4_prefix, rrl.ipv6_prefix, rrl.slip,
        impl.rrl->table_size());
  }
  return ok_result();
}

void Server::stop() {
  Impl& impl = *impl_;
  const std::lock_guard lock(impl.mutex);
  if (impl.workers.empty()) return;
  // Ask all first, then wait: the workers' grace periods run in parallel.
  for (const auto& worker : impl.workers) worker->request_stop();
  for (const auto& worker : impl.workers) worker->join();
  for (const auto& worker : impl.workers) worker->add_stats_to(impl.final_stats);
  impl.workers.clear();  // closes whatever connection outlived the grace period
}

std::vector<ListenAddress> Server::bound_udp() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->bound_udp;
}

std::vector<ListenAddress> Server::bound_tcp() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->bound_tcp;
}

ServerStats Server::stats() const {
  const std::lock_guard lock(impl_->mutex);
  ServerStats sum = impl_->final_stats;
  for (const auto& worker : impl_->workers) worker->add_stats_to(sum);
  return sum;
}

}  // namespace globaldns::dns
