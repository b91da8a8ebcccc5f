// A small HTTP/1.1 server on Boost.Beast: bounded reads, a connection cap, path -> handler.
#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <set>
#include <utility>

namespace globaldns::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
class Connection;
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_context, HttpServerOptions opts)
      : io(io_context), options(std::move(opts)), acceptor(io_context) {}

  asio::io_context& io;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  std::map<std::string, Handler, std::less<>> handlers;
  std::set<std::shared_ptr<Connection>> open;
  uint16_t port = 0;
  bool stopped = false;

  void accept();
  Response dispatch(const bhttp::request<bhttp::empty_body>& request) const;
};

namespace {

std::string_view reason_text(unsigned status) {
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status));
}

// One client connection: read a request (bounded in size and time), answer, repeat while the
// client keeps the connection alive.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::weak_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void start() { read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read() {
    auto server = server_.lock();
    if (!server) return;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server->options.max_request_bytes));
    parser_->body_limit(server->options.max_request_bytes);
    stream_.expires_after(server->options.request_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    auto server = server_.lock();
    if (!server) return;
    if (ec == bhttp::error::header_limit) return reply_and_close(431);
    if (ec == bhttp::error::body_limit) return reply_and_close(413);
    if (ec == bhttp::error::bad_version || ec == bhttp::error::bad_method ||
        ec == bhttp::error::bad_target || ec == bhttp::error::bad_field ||
        ec == bhttp::error::bad_value || ec == bhttp::error::bad_line_ending)
      return reply_and_close(400);
    // end_of_stream, a timeout, a reset: nothing more to say.
    if (ec) return finish();
    const auto& request = parser_->get();
    const bool head = request.method() == bhttp::verb::head;
    Response response;
    if (request.method() != bhttp::verb::get && !head) {
      response.status = 405;
      response.body = "method not allowed\n";
    } else {
      response = server->dispatch(request);
    }
    write(response, head, request.version(), request.keep_alive());
  }

  void reply_and_close(unsigned status) {
    Response response;
    response.status = status;
    response.body = std::string(reason_text(status));
    response.body += '\n';
    write(response, /*head=*/false, 11, /*keep_alive=*/false);
  }

  void write(const Response& response, bool head, unsigned version, bool keep_alive) {
    auto server = server_.lock();
    if (!server) return;
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version);
    message->set(bhttp::field::server, "globaldns");
    message->set(bhttp::field::content_type, response.content_type);
    if (response.status == 405) message->set(bhttp::field::allow, "GET, HEAD");
    message->keep_alive(keep_alive);
    // HEAD: the headers of the GET, its Content-Length included, and no body (RFC 9110 §9.3.2).
    message->content_length(response.body.size());
    if (!head) message->body() = response.body;
    stream_.expires_after(server->options.write_timeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->finish();
          self->read();
        });
  }

  void finish() {
    close();
    if (auto server = server_.lock()) server->open.erase(shared_from_this());
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  std::weak_ptr<HttpServer::Impl> server_;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      // EMFILE and the like: log, and keep accepting rather than going deaf.
      if (ec != asio::error::operation_aborted)
        spdlog::warn("HTTP on port {}: accept failed: {}", self->port, ec.message());
      if (ec == asio::error::operation_aborted) return;
      return self->accept();
    }
    if (self->open.size() >= self->options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto connection = std::make_shared<Connection>(std::move(socket), self);
      self->open.insert(connection);
      connection->start();
    }
    self->accept();
  });
}

Response HttpServer::Impl::dispatch(const bhttp::request<bhttp::empty_body>& request) const {
  std::string_view target = request.target();
  Request r;
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string_view::npos) r.query = target.substr(q + 1);
  auto it = handlers.find(r.path);
  if (it == handlers.end()) return Response{404, "not found\n"};
  return it->second(r);
}

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::handle(std::string path, Handler handler) {
  impl_->handlers[std::move(path)] = std::move(handler);
}

Result<Ok> HttpServer::start() {
  Impl& impl = *impl_;
  std::string host = impl.options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string shown = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                            std::to_string(impl.options.port);
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return Error{"HTTP listen address " + shown + ": not an IP address"};
  const tcp::endpoint endpoint(address, impl.options.port);
  auto fail = [&](const char* what) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    return Error{std::string("cannot ") + what + " HTTP on " + shown + ": " + ec.message()};
  };
  impl.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set up");
  // "::" means IPv6 only, as for the DNS listeners; list 0.0.0.0 as well for IPv4.
  if (address.is_v6()) impl.acceptor.set_option(asio::ip::v6_only(true), ec);
  if (ec) return fail("set up");
  impl.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  impl.port = impl.acceptor.local_endpoint(ec).port();
  impl.stopped = false;
  std::string paths;
  for (const auto& [path, handler] : impl.handlers) {
    if (!paths.empty()) paths += ' ';
    paths += path;
  }
  spdlog::info("serving HTTP on {}:{} ({})",
               host.find(':') != std::string::npos ? "[" + host + "]" : host, impl.port, paths);
  impl.accept();
  return ok_result();
}

void HttpServer::stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  beast::error_code ignored;
  impl.acceptor.close(ignored);
  auto open = std::move(impl.open);
  impl.open.clear();
  for (const auto& connection : open) connection->close();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

size_t HttpServer::connections() const {
  return impl_->open.size();
}

}  // namespace globaldns::http
