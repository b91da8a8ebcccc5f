// ApiClient: asynchronous HTTPS GET (kept-alive) and streaming watch against the Kubernetes API
// server.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "resolver/result.hpp"
#include "sync/kube/credentials.hpp"
#include "sync/kube/token_source.hpp"

namespace globaldns::sync::kube {

struct HttpResponse {
  int status = 0;
  std::optional<std::string> retry_after;  // the Retry-After header, when present
  std::string body;
};

struct ApiClientOptions {
  size_t max_body = size_t{64} << 20;       // a larger GET body is an error
  size_t max_error_body = size_t{1} << 20;  // bound on a non-200 watch body
};

// Handle of one running watch. cancel() is idempotent; after it, on_end gets "watch cancelled"
// (unless the watch had already ended). Must be used on the io_context's thread.
class WatchHandle {
 public:
  struct State;
  WatchHandle() = default;
  explicit WatchHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void cancel();
  bool active() const;

 private:
  std::shared_ptr<State> state_;
};

// Single-threaded: use from the io_context's thread. The TokenSource must outlive the client's
// operations. Callbacks are never invoked inline from get()/watch(); each operation completes
// exactly once. Nothing throws out.
class ApiClient {
 public:
  using Clock = std::chrono::steady_clock;
  using GetCallback = std::function<void(Result<HttpResponse>)>;
  using BytesCallback = std::function<void(std::span<const char>)>;
  // A 200 stream that ended with the terminating chunk: status 200, empty body. A non-200 answer:
  // its status, Retry-After and (bounded) body, for decode_status_body. Transport trouble: an
  // Error.
  using EndCallback = std::function<void(Result<HttpResponse>)>;

  ApiClient(boost::asio::io_context& io, ClusterCredentials creds, TokenSource& token,
            ApiClientOptions options = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // GET target (path+query, base_path is prepended) over the kept-alive connection. A 401
  // invalidates the token and is reported as a response (the caller decides whether to retry).
  void get(std::string target, Clock::time_point deadline, GetCallback callback);

  // Starts a watch on its own connection. on_bytes gets the de-chunked body as it arrives; no bytes
  // for idle_timeout ends the watch with a "watch stalled" error.
  WatchHandle watch(std::string target, BytesCallback on_bytes, EndCallback on_end,
                    std::chrono::milliseconds idle_timeout);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace globaldns::sync::kube
