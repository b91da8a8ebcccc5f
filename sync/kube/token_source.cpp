// Token file re-reading: by path each time, because kubelet rotates it with a `..data` symlink
// swap.
#include "sync/kube/token_source.hpp"
#include "sync/kube/trim_space.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace globaldns::sync::kube {
namespace {}  // namespace

TokenSource::TokenSource(TokenSpec spec, TokenSourceOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

std::chrono::steady_clock::time_point TokenSource::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

Result<std::string> TokenSource::read_file() const {
  // Opened by path every time and closed at once: an fd kept open would pin the old inode after
  // kubelet swaps `..data`.
  std::ifstream in(spec_.token_file, std::ios::binary);
  if (!in) {
    return Error{"token file " + spec_.token_file.string() + ": " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{"token file " + spec_.token_file.string() + ": read failed"};
  std::string token = trim_space(text.str());
  if (token.empty()) return Error{"token file " + spec_.token_file.string() + " is empty"};
  return token;
}

Result<std::string> TokenSource::token() {
  std::lock_guard lock(mutex_);
  if (spec_.token_file.empty()) return spec_.token;
  const auto t = now();
  if (stale_ || !read_at_ || t - *read_at_ >= options_.refresh_period) {
    read_at_ = t;
    stale_ = false;
    auto read = read_file();
    if (read) {
      file_token_ = std::move(read).value();
      if (last_error_)
        spdlog::info("kube: token file {} readable again", spec_.token_file.string());
      last_error_.reset();
    } else {
      ++read_failures_;
      // Once per streak: a deleted file would otherwise warn every period, forever.
      if (!last_error_) {
        spdlog::warn("kube: {}; {}", read.error(),
                     !file_token_.empty()   ? "keeping the last good token"
                     : !spec_.token.empty() ? "using the static token"
                                            : "no token to send");
      }
      last_error_ = read.error();
    }
  }
  if (!file_token_.empty()) return file_token_;
  if (!spec_.token.empty()) return spec_.token;
  return Error{last_error_.value_or("token file " + spec_.token_file.string() + " not read")};
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  stale_ = true;
}

std::optional<std::string> TokenSource::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

uint64_t TokenSource::read_failures() const {
  std::lock_guard lock(mutex_);
  return read_failures_;
}

}  // namespace globaldns::sync::kube
