// HttpServer on loopback: status codes, HEAD, keep-alive, and the size, time and connection bounds.
#include "http/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

namespace globaldns::http {
namespace {

using namespace std::chrono_literals;

// A blocking client socket whose reads give up after `timeout`.
class Client {
 public:
  Client(uint16_t port, std::chrono::milliseconds timeout = 3000ms) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  // One response: headers, then Content-Length bytes (none when `head`). nullopt on EOF or
  // timeout before it is complete.
  std::optional<std::string> response(bool head = false) {
    for (;;) {
      const size_t end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const size_t at = pending_.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(pending_.substr(at + 16));
        if (head) length = 0;
        if (pending_.size() >= end + 4 + length) {
          std::string out = pending_.substr(0, end + 4 + length);
          pending_.erase(0, end + 4 + length);
          return out;
        }
      }
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<size_t>(n));
    }
  }

  // True when the server closed the connection (EOF or reset) within the read timeout.
  bool closed_by_peer() {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string get(const std::string& path, const char* method = "GET", bool close = false) {
  std::string r = method;
  r += " " + path + " HTTP/1.1\r\nHost: test\r\n";
  if (close) r += "Connection: close\r\n";
  r += "\r\n";
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_.emplace(io_, options);
    server_->handle("/health", [](const Request&) { return Response{200, "OK"}; });
    server_->handle("/echo", [](const Request& r) {
      return Response{200, std::string(r.path) + "|" + std::string(r.query)};
    });
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      boost::asio::post(io_, [this] {
        server_->stop();
        io_.stop();
      });
      thread_.join();
    }
  }
  size_t connections() {
    std::promise<size_t> p;
    boost::asio::post(io_, [&] { p.set_value(server_->connections()); });
    return p.get_future().get();
  }
  uint16_t port() const { return server_->port(); }

  boost::asio::io_context io_;
  std::optional<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, GetAnswersTheHandler) {
  start();
  ASSERT_NE(port(), 0);
  Client c(port());
  ASSERT_TRUE(c.connected());
  c.send(get("/health"));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("Content-Length: 2\r\n"), std::string::npos) << *r;
  EXPECT_EQ(r->substr(r->size() - 6), "\r\n\r\nOK");
}

TEST_F(HttpServerTest, PathAndQueryReachTheHandler) {
  start();
  Client c(port());
  c.send(get("/echo?name=a.b.global"));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("\r\n\r\n/echo|name=a.b.global"), std::string::npos) << *r;
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  start();
  Client c(port());
  c.send(get("/nope"));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << *r;
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllow) {
  start();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    Client c(port());
    c.send(get("/health", method));
    auto r = c.response();
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << *r;
    EXPECT_NE(r->find("Allow: GET, HEAD\r\n"), std::string::npos) << *r;
  }
}

TEST_F(HttpServerTest, HeadHasTheHeadersAndNoBody) {
  start();
  Client c(port());
  c.send(get("/health", "HEAD"));
  auto r = c.response(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("Content-Length: 2\r\n"), std::string::npos) << *r;
  EXPECT_EQ(r->substr(r->size() - 4), "\r\n\r\n");
  // The connection is still in step: the next response starts cleanly.
  c.send(get("/health"));
  auto next = c.response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *next;
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsAndCloseCloses) {
  start();
  Client c(port());
  for (int i = 0; i < 3; ++i) {
    c.send(get("/health"));
    auto r = c.response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  }
  c.send(get("/health", "GET", /*close=*/true));
  ASSERT_TRUE(c.response());
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, OversizedRequestIsRejectedAndClosed) {
  HttpServerOptions options;
  options.max_request_bytes = 1024;
  start(options);
  Client c(port());
  std::string request = "GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ";
  request += std::string(4000, 'a');
  request += "\r\n\r\n";
  c.send(request);
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 431 ", 0), 0u) << *r;
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, SlowHeaderIsCutByTheTimeout) {
  HttpServerOptions options;
  options.request_timeout = 300ms;
  start(options);
  Client c(port(), 5000ms);
  const auto begin = std::chrono::steady_clock::now();
  c.send("GET /health HTTP/1.1\r\nHost: te");
  EXPECT_TRUE(c.closed_by_peer());
  const auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 4000ms);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosed) {
  HttpServerOptions options;
  options.max_connections = 2;
  start(options);
  Client a(port());
  Client b(port());
  // A full exchange on each proves both were accepted before the third connects.
  for (Client* c : {&a, &b}) {
    c->send(get("/health"));
    ASSERT_TRUE(c->response());
  }
  EXPECT_EQ(connections(), 2u);
  Client third(port());
  ASSERT_TRUE(third.connected());  // the kernel completes the handshake; the server then closes
  third.send(get("/health"));
  EXPECT_TRUE(third.closed_by_peer());
  // A slot freed is a slot available again.
  a.send(get("/health", "GET", /*close=*/true));
  ASSERT_TRUE(a.response());
  EXPECT_TRUE(a.closed_by_peer());
  for (int i = 0; i < 200 && connections() != 1; ++i) std::this_thread::sleep_for(10ms);
  Client fourth(port());
  fourth.send(get("/health"));
  EXPECT_TRUE(fourth.response());
}

TEST_F(HttpServerTest, PortInUseIsAnErrorNamingTheAddress) {
  start();
  boost::asio::io_context other_io;
  HttpServerOptions options;
  options.port = port();
  HttpServer other(other_io, options);
  auto started = other.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("127.0.0.1:" + std::to_string(port())), std::string::npos)
      << started.error();
}

TEST(HttpServerAddress, BindsIpv6Loopback) {
  boost::asio::io_context io;
  HttpServerOptions options;
  options.host = "::1";
  HttpServer server(io, options);
  auto started = server.start();
  if (!started && started.error().find("Cannot assign") != std::string::npos)
    GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_TRUE(started) << started.error();
  EXPECT_NE(server.port(), 0);
}

TEST(HttpServerAddress, NotAnIpIsAnError) {
  boost::asio::io_context io;
  HttpServerOptions options;
  options.host = "localhost";
  HttpServer server(io, options);
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("not an IP address"), std::string::npos) << started.error();
}

}  // namespace
}  // namespace globaldns::http
