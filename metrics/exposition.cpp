// The Prometheus text format 0.0.4 (prometheus/docs exposition_formats.md), written by hand:
// it is a few lines of escaping, and a client library would bring a registry we do not want.
#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace globaldns::metrics {

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
}

void append_escaped_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  // As Go's strconv.FormatFloat(v, 'g', -1, 64), which client_golang writes: the shortest
  // digits that read back exactly, in exponent form only when the exponent is below -4 or at
  // least 6. So le="0.0005" matches what CoreDNS exports, and what dashboards select on.
  char buffer[48];
  const auto sci =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  if (sci.ec != std::errc()) return;
  const std::string_view text(buffer, static_cast<size_t>(sci.ptr - buffer));
  const size_t e = text.find('e');
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  if (exponent < -4 || exponent >= 6) {
    out.append(text);
    return;
  }
  const auto fixed = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  if (fixed.ec == std::errc()) out.append(buffer, fixed.ptr);
}

void Exposition::family(std::string_view name, std::string_view help, Type type) {
  out_.append("# HELP ");
  out_.append(name);
  out_.push_back(' ');
  append_escaped_help(out_, help);
  out_.append("\n# TYPE ");
  out_.append(name);
  switch (type) {
    case Type::Counter:
      out_.append(" counter\n");
      break;
    case Type::Gauge:
      out_.append(" gauge\n");
      break;
    case Type::Histogram:
      out_.append(" histogram\n");
      break;
  }
}

void Exposition::series(std::string_view name, std::span<const Label> labels, const Label* extra) {
  out_.append(name);
  if (labels.empty() && extra == nullptr) {
    out_.push_back(' ');
    return;
  }
  out_.push_back('{');
  bool first = true;
  auto put = [&](const Label& label) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(label.name);
    out_.append("=\"");
    append_escaped_label_value(out_, label.value);
    out_.push_back('"');
  };
  for (const Label& label : labels) put(label);
  if (extra != nullptr) put(*extra);
  out_.append("} ");
}

void Exposition::sample(std::string_view name, std::span<const Label> labels, double value) {
  series(name, labels, nullptr);
  append_value(out_, value);
  out_.push_back('\n');
}

void Exposition::sample(std::string_view name, std::span<const Label> labels, uint64_t value) {
  series(name, labels, nullptr);
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_.append(buffer, end);
  out_.push_back('\n');
}

void Exposition::histogram(std::string_view name, std::span<const Label> labels,
                           std::span<const double> bounds, std::span<const uint64_t> counts,
                           double sum) {
  std::string bucket(name);
  bucket.append("_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string le;
    if (i < bounds.size()) {
      append_value(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    const Label extra{"le", le};
    series(bucket, labels, &extra);
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, cumulative);
    out_.append(buffer, end);
    out_.push_back('\n');
  }
  std::string other(name);
  other.append("_sum");
  sample(other, labels, sum);
  other.resize(name.size());
  other.append("_count");
  sample(other, labels, cumulative);
}

}  // namespace globaldns::metrics
