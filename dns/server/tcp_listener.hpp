// TcpListener: accepts DNS-over-TCP connections on one listening socket for one worker.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/query_origin.hpp"
#include "dns/server/unique_fd.hpp"

namespace globaldns::dns {

class WorkerContext;

// One listener per worker per address, each on its own SO_REUSEPORT socket: the kernel spreads
// new connections over the workers, so a connection lives on the thread that accepted it and
// no hand-off between threads (no lock, no cross-thread post) is ever needed. The connection
// cap is the one thing shared, as an atomic counter in WorkerContext.
class TcpListener {
 public:
  TcpListener(boost::asio::io_context& io, UniqueFd fd, int family, QueryOrigin origin,
              WorkerContext& context);
  void start();
  void stop();

 private:
  void accept();
  void on_accept(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;  // after EMFILE and the like, so accept() does not spin
  WorkerContext& context_;
  QueryOrigin origin_;
  // Filled by accept() itself, so the query log needs no getpeername() per query.
  boost::asio::ip::tcp::endpoint peer_;
  bool stopped_ = false;
};

}  // namespace globaldns::dns
