// Worker: runs one io_context on its own thread, and shuts it down in an orderly way.
#include "dns/server/worker.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <string>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "dns/server/tcp_listener.hpp"
#include "dns/server/udp_worker.hpp"
#include "dns/server/worker_context.hpp"

namespace globaldns::dns {
namespace {

// How long stop() lets open connections flush answers already computed.
constexpr std::chrono::milliseconds kStopGrace{500};

}  // namespace

Worker::Worker(unsigned index, const resolver::SnapshotHolder& snapshots, const TcpOptions& tcp,
               std::atomic<unsigned>& tcp_active, metrics::QueryCounters* counters)
    : index_(index),
      snapshots_(snapshots),
      tcp_options_(tcp),
      tcp_active_(tcp_active),
      counters_(counters),
      context_(make_context()) {}

std::unique_ptr<WorkerContext> Worker::make_context() {
  // One recorder per thread: QueryRecorder has a single writer.
  return std::make_unique<WorkerContext>(snapshots_, tcp_options_, tcp_active_,
                                         counters_ ? &counters_->add_recorder() : nullptr);
}

// join() throws only if the thread is this one or not joinable: bugs, for which terminating is
// the right outcome.
Worker::~Worker() {  // NOLINT(bugprone-exception-escape)
  request_stop();
  join();
  context_->forget_io_context();
  // Members now die in reverse order: listeners and sockets, then io_ (with any connection
  // its pending handlers still own), then the context those connections report to.
}

void Worker::add_udp(UniqueFd fd, int family, bool wildcard) {
  const QueryOrigin origin{static_cast<unsigned>(udp_.size()),
                           family == AF_INET6 ? metrics::Family::Ip6 : metrics::Family::Ip4};
  // "gdns-udp-0" for the first address, "gdns-udp-0.1" for the second (15 bytes at most).
  std::string name = "gdns-udp-" + std::to_string(index_);
  if (!udp_.empty()) name.append(".").append(std::to_string(udp_.size()));
  udp_.push_back(std::make_unique<UdpWorker>(std::move(fd), wildcard, origin, make_context(),
                                             std::move(name)));
}

void Worker::add_tcp(UniqueFd fd, int family) {
  const QueryOrigin origin{static_cast<unsigned>(tcp_.size()),
                           family == AF_INET6 ? metrics::Family::Ip6 : metrics::Family::Ip4};
  tcp_.push_back(std::make_unique<TcpListener>(io_, std::move(fd), family, origin, *context_));
}

void Worker::set_query_log(QueryLog* log) noexcept {
  query_log_ = log;
}

void Worker::set_rrl(ResponseRateLimiter* rrl) noexcept {
  rrl_ = rrl;
}

void Worker::start() {
  context_->set_query_log(query_log_);
  for (const auto& udp : udp_) {
    udp->context().set_query_log(query_log_);
    udp->context().set_rrl(rrl_);
  }
  for (const auto& tcp : tcp_) tcp->start();
  thread_ = std::thread([this] { run(); });
  // Named here rather than by the thread itself, so the name is there once start() returns.
  const std::string name = "gdns-tcp-" + std::to_string(index_);
  (void)::pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());  // top -H
  for (const auto& udp : udp_) udp->start();
}

void Worker::request_stop() noexcept {
  for (const auto& udp : udp_) udp->request_stop();
  if (stop_requested_.exchange(true)) return;
  try {
    boost::asio::post(io_, [this] { begin_stop(); });
  } catch (...) {
    // No memory for the graceful stop (post allocates): stop at once rather than never.
    io_.stop();
  }
}

void Worker::join() {
  for (const auto& udp : udp_) udp->join();
  if (thread_.joinable()) thread_.join();
}

void Worker::add_stats_to(ServerStats& sum) const {
  context_->stats().add_to(sum);
  for (const auto& udp : udp_) udp->context().stats().add_to(sum);
}

void Worker::run() noexcept {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // A handler threw (bad_alloc, most likely): that one operation is lost, the worker lives.
      WorkerStats::add(context_->stats().handler_exceptions, 1);
      spdlog::error("worker {}: {}", index_, e.what());
    } catch (...) {
      WorkerStats::add(context_->stats().handler_exceptions, 1);
      spdlog::error("worker {}: unknown exception", index_);
    }
  }
}

void Worker::begin_stop() {
  for (const auto& tcp : tcp_) tcp->stop();
  context_->begin_stop(&io_);  // stops io_ as soon as no connection is left
  if (io_.stopped()) return;
  grace_.expires_after(kStopGrace);
  grace_.async_wait([this](const boost::system::error_code& error) {
    if (!error) io_.stop();
  });
}

}  // namespace globaldns::dns
