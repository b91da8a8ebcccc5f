// The bearer token: a static token, or a token file re-read by path so kubelet rotations are seen.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "resolver/result.hpp"

namespace globaldns::sync::kube {

// Where the token comes from. Both may be set (in-cluster config sets both, as client-go does):
// then the last good read of the file wins and the static token is the fallback.
struct TokenSpec {
  std::string token;
  std::filesystem::path token_file;
  bool empty() const noexcept { return token.empty() && token_file.empty(); }
};

struct TokenSourceOptions {
  // client-go re-reads about every minute; a projected token lives about an hour.
  std::chrono::steady_clock::duration refresh_period = std::chrono::seconds(60);
  // Seam for tests; empty means std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// Thread-safe; for the control plane (it reads a file under a mutex).
class TokenSource {
 public:
  explicit TokenSource(TokenSpec spec, TokenSourceOptions options = {});
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;

  // The token to send. Re-reads the file when the last read is older than the refresh period or
  // after invalidate(). A failed re-read keeps the last good token (logged once per failure
  // streak); an error only when there is nothing to send: no good read yet and no static token.
  // An empty string means "no token configured" (e.g. client-certificate auth).
  Result<std::string> token();

  // Call after a 401: the next token() re-reads the file (kubelet may have rotated it).
  void invalidate();

  // The most recent read error, cleared by a successful read; for status pages and tests.
  std::optional<std::string> last_error() const;
  uint64_t read_failures() const;

 private:
  std::chrono::steady_clock::time_point now() const;
  Result<std::string> read_file() const;

  const TokenSpec spec_;
  const TokenSourceOptions options_;
  mutable std::mutex mutex_;
  std::string file_token_;  // last good read of the file; empty before the first one
  std::optional<std::chrono::steady_clock::time_point> read_at_;  // last attempt
  bool stale_ = false;                                            // set by invalidate()
  std::optional<std::string> last_error_;
  uint64_t read_failures_ = 0;
};

}  // namespace globaldns::sync::kube
