// ApiClient: HTTPS GET over a kept-alive connection and streaming watches, with Asio coroutines.
#include "sync/kube/api_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "sync/kube/tls_context.hpp"

namespace globaldns::sync::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kMinConnectTimeout = std::chrono::seconds(10);
constexpr size_t kWatchChunk = size_t{64} << 10;

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

bool is_timeout(const beast::error_code& ec) {
  return ec == beast::error::timeout;
}

std::optional<std::string> retry_after_of(const http::fields& fields) {
  auto it = fields.find(http::field::retry_after);
  if (it == fields.end()) return std::nullopt;
  return std::string(it->value());
}

}  // namespace

struct ApiClient::Impl {
  Impl(asio::io_context& io_, ClusterCredentials creds_, TokenSource& token_,
       ApiClientOptions options_)
      : io(io_), creds(std::move(creds_)), token(token_), options(options_) {
    auto made = make_tls_context(creds);
    if (made) {
      tls = std::move(made.value());
    } else {
      tls_error = made.error();
    }
    sni = sni_name(creds);
    authority = join_host_port(creds.host, creds.port);
    base = creds.base_path;
    while (!base.empty() && base.back() == '/') base.pop_back();
  }

  asio::io_context& io;
  const ClusterCredentials creds;
  TokenSource& token;
  const ApiClientOptions options;
  std::shared_ptr<ssl::context> tls;
  std::string tls_error;
  std::string sni;
  std::string authority;  // host:port, for the Host header and messages
  std::string base;       // base_path without a trailing '/'

  // The kept-alive connection for get(); moved out while a request uses it.
  std::unique_ptr<Stream> conn;
  beast::flat_buffer conn_buffer;
  bool conn_busy = false;

  std::unique_ptr<Stream> new_stream() { return std::make_unique<Stream>(io, *tls); }

  http::request<http::empty_body> make_request(const std::string& target) {
    http::request<http::empty_body> req{http::verb::get, cat({base, target}), 11};
    req.set(http::field::host, authority);
    req.set(http::field::user_agent, "globaldns");
    req.set(http::field::accept, "application/json");
    auto bearer = token.token();
    if (bearer.ok() && !bearer->empty()) {
      req.set(http::field::authorization, cat({"Bearer ", *bearer}));
    } else if (!bearer.ok()) {
      spdlog::warn("kube: no bearer token for {}: {}", authority, bearer.error());
    }
    req.keep_alive(true);
    return req;
  }

  // Resolves, connects and runs the TLS handshake on `stream`, all before `deadline`.
  asio::awaitable<Result<Ok>> open(Stream& stream, Clock::time_point deadline) {
    if (!tls) co_return Error{tls_error};
    tcp::resolver resolver(io);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(creds.host, std::to_string(creds.port), kTuple);
    if (rec) co_return Error{cat({"resolve ", creds.host, ": ", rec.message()})};

    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_at(deadline);
    auto [cec, endpoint] = co_await lowest.async_connect(endpoints, kTuple);
    if (cec) {
      co_return Error{cat({"connect to ", authority, ": ",
                           is_timeout(cec) ? std::string("timed out") : cec.message()})};
    }
    beast::error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);

    if (!sni.empty() && SSL_set_tlsext_host_name(stream.native_handle(), sni.c_str()) != 1) {
      co_return Error{cat({"TLS to ", authority, ": cannot set SNI \"", sni, "\""})};
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      const long verify = SSL_get_verify_result(stream.native_handle());
      if (verify != X509_V_OK) {
        co_return Error{cat({"TLS handshake with ", authority, ": certificate verify failed: ",
                             X509_verify_cert_error_string(verify)})};
      }
      co_return Error{cat({"TLS handshake with ", authority, ": ",
                           is_timeout(hec) ? std::string("timed out") : hec.message()})};
    }
    co_return Ok{};
  }

  asio::awaitable<Result<HttpResponse>> get(std::string target, Clock::time_point deadline) {
    // Only one request uses the kept-alive connection at a time; a concurrent one gets its own.
    const bool shared = !conn_busy;
    if (shared) conn_busy = true;
    struct Release {
      Impl* impl;
      bool shared;
      ~Release() {
        if (shared) impl->conn_busy = false;
      }
    } release{this, shared};
    const std::string what = cat({"GET ", target});

    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Stream> stream;
      beast::flat_buffer buffer;
      bool reused = false;
      if (shared && conn && attempt == 0) {
        stream = std::move(conn);
        buffer = std::move(conn_buffer);
        conn_buffer = beast::flat_buffer();
        reused = true;
      } else {
        if (!tls) co_return Error{tls_error};
        stream = new_stream();
        auto opened = co_await open(*stream, deadline);
        if (!opened) co_return Error{opened.error()};
      }

      auto& lowest = beast::get_lowest_layer(*stream);
      lowest.expires_at(deadline);
      auto req = make_request(target);
      auto [wec, written] = co_await http::async_write(*stream, req, kTuple);
      if (wec) {
        if (reused && !is_timeout(wec)) continue;  // the server closed the idle connection
        co_return Error{cat({what, ": sending the request failed: ",
                             is_timeout(wec) ? std::string("timed out") : wec.message()})};
      }

      http::response_parser<http::string_body> parser;
      parser.body_limit(options.max_body);
      auto [rec, read] = co_await http::async_read(*stream, buffer, parser, kTuple);
      if (rec) {
        if (reused && !parser.got_some() && !is_timeout(rec)) continue;  // closed while idle
        if (is_timeout(rec)) co_return Error{cat({what, ": timed out"})};
        if (rec == http::error::body_limit) {
          co_return Error{
              cat({what, ": response body exceeds ", std::to_string(options.max_body), " bytes"})};
        }
        if (rec.category() == http::make_error_code(http::error::bad_version).category()) {
          co_return Error{cat({what, ": malformed HTTP response: ", rec.message()})};
        }
        co_return Error{cat({what, ": reading the response failed: ", rec.message()})};
      }

      auto& res = parser.get();
      HttpResponse out{static_cast<int>(res.result_int()), retry_after_of(res),
                       std::move(res.body())};
      if (shared && res.keep_alive()) {
        lowest.expires_never();
        conn = std::move(stream);
        conn_buffer = std::move(buffer);
      }
      if (out.status == 401) token.invalidate();
      co_return out;
    }
  }
};

struct WatchHandle::State {
  std::unique_ptr<Stream> stream;
  bool cancelled = false;
  bool done = false;
};

void WatchHandle::cancel() {
  if (!state_ || state_->done || state_->cancelled) return;
  state_->cancelled = true;
  if (state_->stream) beast::get_lowest_layer(*state_->stream).cancel();
}

bool WatchHandle::active() const {
  return state_ && !state_->done;
}

namespace {

asio::awaitable<Result<HttpResponse>> watch_stream(ApiClient::Impl& impl, WatchHandle::State& st,
                                                   const std::string& target,
                                                   const ApiClient::BytesCallback& on_bytes,
                                                   std::chrono::milliseconds idle) {
  const std::string what = cat({"watch ", target});
  Stream& stream = *st.stream;
  auto& lowest = beast::get_lowest_layer(stream);
  auto opened = co_await impl.open(
      stream, Clock::now() + std::max<Clock::duration>(idle, kMinConnectTimeout));
  if (!opened) co_return Error{opened.error()};
  if (st.cancelled) co_return Error{"watch cancelled"};

  lowest.expires_after(idle);
  auto req = impl.make_request(target);
  auto [wec, written] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return Error{cat({what, ": sending the request failed: ", wec.message()})};

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  beast::flat_buffer buffer;
  lowest.expires_after(idle);
  auto [hec, hread] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (hec) {
    if (is_timeout(hec)) {
      co_return Error{cat({what, ": watch stalled: no response headers within ",
                           std::to_string(idle.count()), " ms"})};
    }
    co_return Error{cat({what, ": reading the response headers failed: ", hec.message()})};
  }

  const int status = static_cast<int>(parser.get().result_int());
  if (status != 200) {
    http::response_parser<http::string_body> full(std::move(parser));
    full.body_limit(impl.options.max_error_body);
    lowest.expires_after(idle);
    auto [bec, bread] = co_await http::async_read(stream, buffer, full, kTuple);
    if (bec) {
      co_return Error{cat(
          {what, ": HTTP ", std::to_string(status), ", reading the body failed: ", bec.message()})};
    }
    if (status == 401) impl.token.invalidate();
    auto& res = full.get();
    co_return HttpResponse{status, retry_after_of(res), std::move(res.body())};
  }

  std::vector<char> chunk(kWatchChunk);
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    body.more = true;
    lowest.expires_after(idle);
    auto [rec, n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    if (rec == http::error::need_buffer) rec = {};
    const size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && !st.cancelled) on_bytes(std::span<const char>(chunk.data(), got));
    if (st.cancelled) co_return Error{"watch cancelled"};
    if (rec) {
      if (is_timeout(rec)) {
        co_return Error{
            cat({what, ": watch stalled: no bytes for ", std::to_string(idle.count()), " ms"})};
      }
      co_return Error{cat({what, ": stream broken: ", rec.message()})};
    }
  }
  co_return HttpResponse{200, std::nullopt, std::string()};
}

asio::awaitable<void> run_watch(std::shared_ptr<ApiClient::Impl> impl,
                                std::shared_ptr<WatchHandle::State> st, std::string target,
                                ApiClient::BytesCallback on_bytes, ApiClient::EndCallback on_end,
                                std::chrono::milliseconds idle) {
  Result<HttpResponse> result = Error{"watch cancelled"};
  if (!impl->tls) {
    result = Error{impl->tls_error};
  } else if (!st->cancelled) {
    try {
      result = co_await watch_stream(*impl, *st, target, on_bytes, idle);
    } catch (const std::exception& e) {
      result = Error{cat({"watch ", target, ": ", e.what()})};
    }
  }
  if (st->cancelled) result = Error{"watch cancelled"};
  st->done = true;
  if (st->stream) {
    beast::error_code ignored;
    beast::get_lowest_layer(*st->stream).socket().close(ignored);
  }
  if (on_end) on_end(std::move(result));
}

asio::awaitable<void> run_get(std::shared_ptr<ApiClient::Impl> impl, std::string target,
                              Clock::time_point deadline, ApiClient::GetCallback callback) {
  Result<HttpResponse> result = Error{"not run"};
  try {
    result = co_await impl->get(target, deadline);
  } catch (const std::exception& e) {
    result = Error{cat({"GET ", target, ": ", e.what()})};
  }
  if (callback) callback(std::move(result));
}

}  // namespace

ApiClient::ApiClient(asio::io_context& io, ClusterCredentials creds, TokenSource& token,
                     ApiClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(creds), token, options)) {}

ApiClient::~ApiClient() {
  if (impl_->conn) {
    beast::error_code ignored;
    beast::get_lowest_layer(*impl_->conn).socket().close(ignored);
  }
}

void ApiClient::get(std::string target, Clock::time_point deadline, GetCallback callback) {
  asio::co_spawn(impl_->io, run_get(impl_, std::move(target), deadline, std::move(callback)),
                 asio::detached);
}

WatchHandle ApiClient::watch(std::string target, BytesCallback on_bytes, EndCallback on_end,
                             std::chrono::milliseconds idle_timeout) {
  auto st = std::make_shared<WatchHandle::State>();
  if (impl_->tls) st->stream = impl_->new_stream();
  asio::co_spawn(
      impl_->io,
      run_watch(impl_, st, std::move(target), std::move(on_bytes), std::move(on_end), idle_timeout),
      asio::detached);
  return WatchHandle(st);
}

}  // namespace globaldns::sync::kube
