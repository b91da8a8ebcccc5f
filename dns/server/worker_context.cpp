// WorkerContext: the connection cap and the registry of one worker's live connections.
#include "dns/server/worker_context.hpp"

#include <vector>

namespace globaldns::dns {

WorkerContext::WorkerContext(const resolver::SnapshotHolder& snapshots, const TcpOptions& tcp,
                             std::atomic<unsigned>& tcp_active, metrics::QueryRecorder* recorder)
    : reader_(snapshots),
      tcp_(tcp),
      tcp_active_(tcp_active),
      recorder_(recorder),
      tcp_answer_(std::make_unique_for_overwrite<uint8_t[]>(kTcpAnswerMax)) {}

WorkerContext::~WorkerContext() {
  // Connections are owned by shared_ptrs in pending handlers; by now those are gone, but
  // unlink defensively so the list's destructor finds no linked node.
  connections_.clear();
}

bool WorkerContext::try_acquire_connection() noexcept {
  // Reserve first, then check: two workers racing for the last slot cannot both win.
  if (tcp_active_.fetch_add(1, std::memory_order_relaxed) < tcp_.max_connections) return true;
  tcp_active_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

void WorkerContext::release_connection() noexcept {
  tcp_active_.fetch_sub(1, std::memory_order_relaxed);
}

void WorkerContext::attach(TcpConnection& connection) noexcept {
  connections_.push_back(connection);
}

void WorkerContext::detach(TcpConnection& connection) noexcept {
  if (!connection.is_linked()) return;
  connections_.erase(connections_.iterator_to(connection));
  if (stop_io_ != nullptr && connections_.empty()) stop_io_->stop();
}

void WorkerContext::begin_stop(boost::asio::io_context* io) {
  stop_io_ = io;
  if (connections_.empty()) {
    io->stop();
    return;
  }
  // Hold each one alive while asking: stop() may close it, and closing detaches it.
  std::vector<std::shared_ptr<TcpConnection>> live;
  live.reserve(connections_.size());
  for (TcpConnection& connection : connections_) live.push_back(connection.shared_from_this());
  for (const auto& connection : live) connection->stop();
}

}  // namespace globaldns::dns
