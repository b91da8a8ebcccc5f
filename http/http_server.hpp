// HttpServer: a small HTTP/1.1 server for the control plane (/health, /ready), path -> handler.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "resolver/result.hpp"

namespace globaldns::http {

struct Request {
  std::string_view path;   // "/ready"
  std::string_view query;  // what follows '?', without it; "" when none
};

struct Response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

using Handler = std::function<Response(const Request&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // numeric: "127.0.0.1", "::1", "0.0.0.0", "::"
  uint16_t port = 0;               // 0: the kernel picks one; port() tells which
  // The request line and headers together; a larger request gets 431 and is closed. Handlers
  // take no body, so a body beyond this is refused too (413).
  size_t max_request_bytes = 8192;
  // A whole request must arrive within this, counted from when the connection is ready for it
  // (accepted, or the previous response sent), so a slow or idle client cannot hold a slot.
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // Connections beyond this are closed as soon as they are accepted.
  size_t max_connections = 64;
};

// Single-threaded on the io_context it is given: not on the DNS path, so one thread suffices.
// GET and HEAD only (others: 405), unknown paths 404, keep-alive as the client asks.
// Handlers run on the io_context's thread and must not block.
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before start(), or on the io_context's thread.
  void handle(std::string path, Handler handler);

  // Binds and listens; logs "serving HTTP on ADDR:PORT (paths)". An error names the address.
  Result<Ok> start();
  // Closes the listener and every connection. On the io_context's thread (or when it is not
  // running).
  void stop();

  uint16_t port() const;       // the bound port, after start()
  size_t connections() const;  // open now

  struct Impl;  // the .cpp's: listener, handlers, open connections

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace globaldns::http
