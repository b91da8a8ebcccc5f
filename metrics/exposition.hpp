// Exposition: writes metrics in the Prometheus text format, version 0.0.4.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace globaldns::metrics {

// The Content-Type a scrape of this text must carry.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

struct Label {
  std::string_view name;
  std::string_view value;  // escaped on output: backslash, double quote, newline
};

enum class Type : uint8_t { Counter, Gauge, Histogram };

// Appends to one string. Call family() once per metric name, then its samples; the format
// wants every sample of a family together, right after its HELP and TYPE lines.
class Exposition {
 public:
  void family(std::string_view name, std::string_view help, Type type);
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::span<const Label> labels, uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  // One histogram series: `counts` are per bucket, not cumulative, the last one +Inf; `bounds`
  // has one fewer. Writes NAME_bucket{...,le} cumulatively, NAME_sum and NAME_count.
  void histogram(std::string_view name, std::span<const Label> labels,
                 std::span<const double> bounds, std::span<const uint64_t> counts, double sum);

  const std::string& text() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

 private:
  void series(std::string_view name, std::span<const Label> labels, const Label* extra);

  std::string out_;
};

// Label values and HELP text escaped as the format wants ("\\" "\"" "\n"; HELP has no quotes).
void append_escaped_label_value(std::string& out, std::string_view value);
void append_escaped_help(std::string& out, std::string_view help);
// A sample value: integers exactly, +Inf/-Inf/NaN by name, else the shortest round-trip form.
void append_value(std::string& out, double value);

}  // namespace globaldns::metrics
