// TcpConnection: one DNS-over-TCP client (RFC 7766): pipelined queries answered in order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list_hook.hpp>
#include <boost/system/error_code.hpp>

#include "dns/server/query_origin.hpp"
#include "dns/server/tcp_framer.hpp"

namespace globaldns::dns {

class WorkerContext;

// Lives as long as a pending read, write or timer handler holds it. Memory is bounded: the
// framer's 64 KiB input buffer, and answers queued only while less than kOutputHighWater is
// pending, so a client that pipelines faster than it reads is simply not read from until it catches
// up.
class TcpConnection : public std::enable_shared_from_this<TcpConnection>,
                      public boost::intrusive::list_base_hook<> {
 public:
  // `socket` was accepted from `peer` and counted against the connection cap; the connection
  // gives the slot back when it closes.
  TcpConnection(boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint& peer,
                QueryOrigin origin, WorkerContext& context);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void start();
  // Server shutdown: answer nothing more, flush what is queued, then close.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;

  // Stop answering (and reading) while this much output waits for the client.
  static constexpr size_t kOutputHighWater = size_t{16} * 1024;

  void read();
  void on_read(const boost::system::error_code& error, size_t bytes);
  void answer_frames();
  void write();
  void on_write(const boost::system::error_code& error);
  void arm_timer(Clock::time_point deadline);
  void on_timer(const boost::system::error_code& error);
  void close_if_done();
  void close();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  WorkerContext& context_;
  QueryOrigin origin_;
  boost::asio::ip::tcp::endpoint peer_;  // from accept(), for the query log

  TcpFramer input_;
  std::vector<uint8_t> queued_;   // answers waiting for the current write to finish
  std::vector<uint8_t> writing_;  // the buffer async_write is sending; never touched meanwhile

  Clock::time_point idle_deadline_;
  Clock::time_point write_deadline_;
  Clock::time_point timer_deadline_ = Clock::time_point::max();
  unsigned queries_ = 0;

  bool reading_ = false;
  bool write_pending_ = false;
  bool finishing_ = false;  // answer nothing more: flush, then close
  bool peer_closed_ = false;
  bool closed_ = false;
};

}  // namespace globaldns::dns
