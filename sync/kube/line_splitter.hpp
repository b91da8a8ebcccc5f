// LineSplitter: newline framing of a de-chunked watch stream, bounded, copying only split lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "resolver/result.hpp"

namespace globaldns::sync::kube {

// The API server flushes whenever its queue is empty, so one read may hold several events and
// one event may span reads and HTTP chunks: events are framed on '\n' only (watch.go).
class LineSplitter {
 public:
  static constexpr size_t kDefaultMaxLine = size_t{16} << 20;

  explicit LineSplitter(size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Calls sink(std::string_view) for every complete line in order, without its '\n' or a
  // trailing '\r'; empty lines are skipped. A line wholly inside `bytes` is passed as a view
  // into `bytes`; only a line cut by a read boundary is copied. The view is valid during the
  // call only. A line longer than max_line is an error, and the splitter then stays failed
  // (the stream has lost its framing) until reset().
  template <typename Sink>
  Result<Ok> feed(std::string_view bytes, Sink&& sink) {
    if (failed_) return failed_error();
    while (!bytes.empty()) {
      const size_t newline = bytes.find('\n');
      if (newline == std::string_view::npos) {
        if (partial_.size() + bytes.size() > max_line_)
          return too_long(partial_.size() + bytes.size());
        partial_.append(bytes);
        return ok_result();
      }
      const std::string_view piece = bytes.substr(0, newline);
      bytes.remove_prefix(newline + 1);
      if (partial_.empty()) {
        if (piece.size() > max_line_) return too_long(piece.size());
        emit(piece, sink);
      } else {
        if (partial_.size() + piece.size() > max_line_)
          return too_long(partial_.size() + piece.size());
        partial_.append(piece);
        emit(std::string_view(partial_), sink);
        release_partial();
      }
    }
    return ok_result();
  }

  // Bytes of an incomplete last line. Non-zero when the stream ends means a truncated event.
  size_t buffered() const noexcept { return partial_.size(); }
  bool failed() const noexcept { return failed_; }
  size_t max_line() const noexcept { return max_line_; }

  // Forgets any partial line and a failure: for a new connection.
  void reset();

 private:
  template <typename Sink>
  static void emit(std::string_view line, Sink& sink) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) sink(line);
  }

  Result<Ok> too_long(size_t size);
  Result<Ok> failed_error() const;
  void release_partial();

  std::string partial_;
  size_t max_line_;
  bool failed_ = false;
};

}  // namespace globaldns::sync::kube
