// TcpConnection: read frames, answer every complete one in order, write, and enforce timeouts.
#include "dns/server/tcp_connection.hpp"

#include <span>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include "dns/server/query_log.hpp"
#include "dns/server/worker_context.hpp"
#include "resolver/answer.hpp"

namespace globaldns::dns {

TcpConnection::TcpConnection(boost::asio::ip::tcp::socket socket,
                             const boost::asio::ip::tcp::endpoint& peer, QueryOrigin origin,
                             WorkerContext& context)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      context_(context),
      origin_(origin),
      peer_(peer) {}

TcpConnection::~TcpConnection() {
  // Reached without close() only when the io_context is torn down with handlers pending;
  // the socket and timer close themselves, the slot and the registry entry are ours to undo.
  if (!closed_) {
    closed_ = true;
    context_.release_connection();
    context_.detach(*this);
  }
}

void TcpConnection::start() {
  context_.attach(*this);
  WorkerStats::add(context_.stats().tcp_connections, 1);
  idle_deadline_ = Clock::now() + context_.tcp().idle_timeout;
  arm_timer(idle_deadline_);
  read();
}

void TcpConnection::stop() {
  if (closed_) return;
  finishing_ = true;
  close_if_done();
}

void TcpConnection::read() {
  // Not reading is the back-pressure: while answers pile up unread by the client, its
  // queries stay in the kernel's buffers, and TCP flow control slows it down.
  if (reading_ || closed_ || finishing_ || peer_closed_ || queued_.size() >= kOutputHighWater ||
      input_.full()) {
    return;
  }
  reading_ = true;
  const std::span<uint8_t> space = input_.space();
  socket_.async_read_some(
      boost::asio::buffer(space.data(), space.size()),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->on_read(error, bytes);
      });
}

void TcpConnection::on_read(const boost::system::error_code& error, size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (error == boost::asio::error::eof) {
    // The client may half-close after its last query; it still gets every answer.
    peer_closed_ = true;
  } else if (error) {
    close();
    return;
  } else {
    input_.commit(bytes);
  }
  answer_frames();
  write();
  read();
  close_if_done();
}

void TcpConnection::answer_frames() {
  if (finishing_ || closed_) return;
  const unsigned max_queries = context_.tcp().max_queries_per_connection;
  const resolver::Snapshot* snapshot = nullptr;
  bool have_snapshot = false;
  metrics::QueryRecorder* const recorder = context_.recorder();
  uint64_t read_at = 0;  // when these frames were read, for the duration histogram
  uint64_t answered = 0;
  uint64_t dropped = 0;
  uint64_t truncated = 0;
  QueryLog* const query_log = context_.query_log();
  while (queued_.size() < kOutputHighWater) {
    std::span<const uint8_t> query;
    const TcpFramer::Status status = input_.next(query);
    if (status == TcpFramer::Status::End) {
      finishing_ = true;  // an empty message cannot be a query: nothing to answer
      break;
    }
    if (status == TcpFramer::Status::NeedMore) break;  // incomplete: wait for the rest
    if (!have_snapshot) {
      snapshot = context_.snapshot();  // once per batch of frames
      have_snapshot = true;
      if (recorder != nullptr) read_at = metrics::monotonic_ns();
    }
    const std::span<uint8_t> out = context_.tcp_answer();
    const auto started = query_log ? QueryLog::Clock::now() : QueryLog::Clock::time_point{};
    const resolver::AnswerResult result =
        resolver::answer(snapshot, query, out, resolver::Transport::Tcp);
    if (recorder != nullptr) {
      recorder->record(origin_.server, metrics::Proto::Tcp, origin_.family, result,
                       static_cast<uint32_t>(query.size()), metrics::monotonic_ns() - read_at);
    }
    ++answered;
    if (result.outcome == resolver::Outcome::Drop || result.size == 0 || result.size > out.size()) {
      // Not a query we can answer (no header, or a response): the stream cannot be trusted.
      ++dropped;
      finishing_ = true;
      break;
    }
    if (result.truncated) ++truncated;
    if (query_log != nullptr) {
      query_log->record(query, {out.data(), result.size}, peer_.data(), resolver::Transport::Tcp,
                        started);
    }
    const uint8_t prefix[2] = {static_cast<uint8_t>(result.size >> 8),
                               static_cast<uint8_t>(result.size)};
    queued_.insert(queued_.end(), prefix, prefix + 2);
    queued_.insert(queued_.end(), out.data(), out.data() + result.size);
    if (max_queries != 0 && ++queries_ >= max_queries) {
      finishing_ = true;
      break;
    }
  }
  input_.compact();
  if (answered != 0) {
    // Only a complete query restarts the idle clock: partial bytes never do.
    idle_deadline_ = Clock::now() + context_.tcp().idle_timeout;
    WorkerStats& stats = context_.stats();
    WorkerStats::add(stats.tcp_queries, answered);
    WorkerStats::add(stats.dropped, dropped);
    WorkerStats::add(stats.truncated, truncated);
  }
}

void TcpConnection::write() {
  if (write_pending_ || closed_ || queued_.empty()) return;
  // Swap rather than copy: both vectors keep their capacity, so steady traffic allocates
  // nothing, and queued_ can take new answers while writing_ is on the wire.
  writing_.swap(queued_);
  write_pending_ = true;
  write_deadline_ = Clock::now() + context_.tcp().write_timeout;
  if (write_deadline_ < timer_deadline_) arm_timer(write_deadline_);
  boost::asio::async_write(socket_, boost::asio::buffer(writing_),
                           [self = shared_from_this()](const boost::system::error_code& error,
                                                       size_t) { self->on_write(error); });
}

void TcpConnection::on_write(const boost::system::error_code& error) {
  write_pending_ = false;
  if (closed_) return;
  if (error) {
    close();
    return;
  }
  writing_.clear();
  if (queued_.empty()) {
    // Everything asked has been answered: the connection is idle from now (RFC 7766 §6.2.3).
    idle_deadline_ = Clock::now() + context_.tcp().idle_timeout;
  }
  answer_frames();  // frames held back by the high-water mark
  write();
  read();
  close_if_done();
}

void TcpConnection::arm_timer(Clock::time_point deadline) {
  // One timer serves both timeouts. Moving a deadline later costs nothing: on_timer re-arms.
  // Moving it earlier cancels the pending wait, whose handler then sees operation_aborted.
  timer_deadline_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    self->on_timer(error);
  });
}

void TcpConnection::on_timer(const boost::system::error_code& error) {
  if (error == boost::asio::error::operation_aborted || closed_) return;
  // While an answer is being written the write timeout applies; otherwise the idle one.
  const Clock::time_point deadline = write_pending_ ? write_deadline_ : idle_deadline_;
  if (Clock::now() >= deadline) {
    WorkerStats::add(context_.stats().tcp_timeouts, 1);
    close();
    return;
  }
  arm_timer(deadline);
}

void TcpConnection::close_if_done() {
  if ((finishing_ || peer_closed_) && !write_pending_ && queued_.empty()) close();
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);  // pending read and write complete with operation_aborted
  timer_.cancel();
  context_.release_connection();
  context_.detach(*this);
}

}  // namespace globaldns::dns
