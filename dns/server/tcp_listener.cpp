// TcpListener: the accept loop, the cross-worker connection cap, and accept-error back-off.
#include "dns/server/tcp_listener.hpp"

#include <chrono>
#include <memory>
#include <new>

#include <boost/asio/error.hpp>

#include "dns/server/socket_options.hpp"
#include "dns/server/tcp_connection.hpp"
#include "dns/server/worker_context.hpp"
#include "dns/server/worker_stats.hpp"

namespace globaldns::dns {
namespace {

// Out of descriptors or memory: retrying at once would spin at 100% CPU.
constexpr std::chrono::milliseconds kAcceptPause{100};

bool is_resource_shortage(const boost::system::error_code& error) {
  const int value = error.value();
  return value == EMFILE || value == ENFILE || value == ENOBUFS || value == ENOMEM;
}

}  // namespace

TcpListener::TcpListener(boost::asio::io_context& io, UniqueFd fd, int family, QueryOrigin origin,
                         WorkerContext& context)
    : acceptor_(io, family == AF_INET ? boost::asio::ip::tcp::v4() : boost::asio::ip::tcp::v6(),
                fd.get()),
      pause_(io),
      context_(context),
      origin_(origin) {
  (void)fd.release();  // the acceptor owns it now
}

void TcpListener::start() {
  accept();
}

void TcpListener::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  pause_.cancel();
}

void TcpListener::accept() {
  if (stopped_) return;
  acceptor_.async_accept(
      peer_, [this](const boost::system::error_code& error, boost::asio::ip::tcp::socket socket) {
        on_accept(error, std::move(socket));
      });
}

void TcpListener::on_accept(const boost::system::error_code& error,
                            boost::asio::ip::tcp::socket socket) {
  if (stopped_ || error == boost::asio::error::operation_aborted) return;
  if (error) {
    if (is_resource_shortage(error)) {
      warn_once("accept-" + std::to_string(error.value()),
                "TCP accept failed: " + error.message() + "; pausing accepts briefly");
      pause_.expires_after(kAcceptPause);
      pause_.async_wait([this](const boost::system::error_code& wait_error) {
        if (!wait_error) accept();
      });
      return;
    }
    accept();  // ECONNABORTED and the like concern that one client only
    return;
  }
  if (!context_.try_acquire_connection()) {
    // Over the cap: accept and close at once, so the client learns now rather than by
    // timing out in the backlog.
    WorkerStats::add(context_.stats().tcp_connections_refused, 1);
    boost::system::error_code ignored;
    socket.close(ignored);
    accept();
    return;
  }
  set_tcp_connection_options(socket.native_handle());
  std::shared_ptr<TcpConnection> connection;
  try {
    connection = std::make_shared<TcpConnection>(std::move(socket), peer_, origin_, context_);
  } catch (const std::bad_alloc&) {
    context_.release_connection();  // it never existed; the socket closed itself
    accept();
    return;
  }
  connection->start();  // from here the connection gives its slot back itself
  accept();
}

}  // namespace globaldns::dns
