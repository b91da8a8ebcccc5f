// ServiceEntry YAML decoding: yaml-cpp is used only here, and none of its exceptions leave.
#include "sync/yaml_decoder.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <exception>
#include <new>
#include <sstream>

namespace globaldns::sync {
namespace {

constexpr std::string_view kIstioGroup = "networking.istio.io/";
constexpr std::array<std::string_view, 3> kServedVersions = {"v1alpha3", "v1beta1", "v1"};
constexpr std::string_view kDefaultNamespace = "default";  // what kubectl applies when absent

// Walks the event stream once before yaml-cpp builds its node graph, so that the graph is
// only built for texts within the limits. yaml-cpp's own DepthGuard stops at 2000 levels,
// which is already deep enough to exhaust a thread stack under AddressSanitizer.
class LimitChecker final : public YAML::EventHandler {
 public:
  explicit LimitChecker(const DecodeLimits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override { depth_ = 0; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void count(const YAML::Mark& mark) {
    if (++nodes_ > limits_.max_nodes) {
      throw YAML::ParserException(mark,
                                  "more than " + std::to_string(limits_.max_nodes) + " YAML nodes");
    }
  }
  void open(const YAML::Mark& mark) {
    count(mark);
    if (++depth_ > limits_.max_depth) {
      throw YAML::ParserException(
          mark, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
  }

  const DecodeLimits& limits_;
  size_t nodes_ = 0;
  int depth_ = 0;
};

// yaml-cpp marks are 0-based and -1 when unknown.
int line_of(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) return fallback;
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : fallback;
}

// Lookup without yaml-cpp's operator[], which converts every key it passes and, on a
// non-const node, inserts the key it was asked for.
std::optional<YAML::Node> find(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return std::nullopt;
}

std::string scalar_or_empty(const std::optional<YAML::Node>& node) {
  return node && node->IsScalar() ? node->Scalar() : std::string();
}

// Thrown inside one object's decoding; caught by the object loop, which skips that object.
struct BadObject {
  int line;
  std::string reason;
};

std::vector<std::string> string_list(const std::optional<YAML::Node>& node, int fallback_line,
                                     const char* field) {
  std::vector<std::string> out;
  if (!node || node->IsNull()) return out;
  const int line = line_of(*node, fallback_line);
  if (!node->IsSequence()) throw BadObject{line, std::string(field) + " is not a list of strings"};
  out.reserve(node->size());
  for (const auto& item : *node) {
    if (!item.IsScalar()) {
      throw BadObject{line_of(item, line), std::string(field) + " is not a list of strings"};
    }
    out.push_back(item.Scalar());
  }
  return out;
}

class Decoder {
 public:
  Decoder(std::string_view source, DecodedEntries& out) : source_(source), out_(out) {}

  void document(const YAML::Node& doc) { object(doc, Level::Document); }

 private:
  enum class Level : uint8_t { Document, ListItem };

  std::string where(int line) const { return std::string(source_) + ":" + std::to_string(line); }

  void object(const YAML::Node& node, Level level) {
    try {
      object_unguarded(node, level);
    } catch (const YAML::Exception& e) {
      // Our own checks should make this unreachable; still, one odd object must not cost
      // the rest of the file.
      out_.problems.push_back(where(line_of(node, 0)) + ": " + e.msg + "; object skipped");
    }
  }

  void object_unguarded(const YAML::Node& node, Level level) {
    if (node.IsNull()) return;  // an empty document ("---" twice, or a trailing "---")
    const int line = line_of(node, 0);
    if (!node.IsMap()) {
      out_.problems.push_back(where(line) + ": " +
                              (level == Level::Document ? "document" : "list item") +
                              " is not a mapping; ignored");
      return;
    }
    const std::string kind = scalar_or_empty(find(node, "kind"));
    const std::string api_version = scalar_or_empty(find(node, "apiVersion"));
    if (kind == "ServiceEntry") {
      service_entry(node, api_version, line);
    } else if ((kind == "List" || kind == "ServiceEntryList") && level == Level::Document) {
      list(node, line);
    } else if (kind.empty()) {
      out_.problems.push_back(where(line) + ": " + label(node) + ": no kind; ignored");
    } else {
      out_.notes.push_back(where(line) + ": " + label(node) + ": ignoring " + kind +
                           (api_version.empty() ? "" : " (" + api_version + ")"));
    }
  }

  void list(const YAML::Node& node, int line) {
    const auto items = find(node, "items");
    if (!items || items->IsNull()) return;
    if (!items->IsSequence()) {
      out_.problems.push_back(where(line_of(*items, line)) + ": items is not a list; ignored");
      return;
    }
    for (const auto& item : *items) object(item, Level::ListItem);
  }

  // "namespace/name" for messages, whatever shape metadata has.
  static std::string label(const YAML::Node& node) {
    const auto metadata = find(node, "metadata");
    std::string ns, name;
    if (metadata && metadata->IsMap()) {
      ns = scalar_or_empty(find(*metadata, "namespace"));
      name = scalar_or_empty(find(*metadata, "name"));
    }
    if (ns.empty()) ns = kDefaultNamespace;
    if (name.empty()) name = "<unnamed>";
    return ns + "/" + name;
  }

  void service_entry(const YAML::Node& node, const std::string& api_version, int line) {
    try {
      if (!served_version(api_version)) {
        throw BadObject{line, "unsupported apiVersion \"" + api_version + "\" for ServiceEntry"};
      }
      ServiceEntry entry = fields(node, line);
      entry.origin = where(line);
      out_.entries.push_back(std::move(entry));
    } catch (const BadObject& bad) {
      out_.problems.push_back(where(bad.line) + ": " + label(node) + ": " + bad.reason +
                              "; object skipped");
    }
  }

  static bool served_version(std::string_view api_version) {
    if (api_version.substr(0, kIstioGroup.size()) != kIstioGroup) return false;
    const std::string_view version = api_version.substr(kIstioGroup.size());
    for (const auto served : kServedVersions) {
      if (version == served) return true;
    }
    return false;
  }

  ServiceEntry fields(const YAML::Node& node, int line) {
    ServiceEntry entry;
    const auto metadata = find(node, "metadata");
    if (!metadata || !metadata->IsMap()) throw BadObject{line, "missing metadata"};
    const int metadata_line = line_of(*metadata, line);
    entry.namespace_ = scalar_or_empty(find(*metadata, "namespace"));
    if (entry.namespace_.empty()) entry.namespace_ = kDefaultNamespace;
    entry.name = scalar_or_empty(find(*metadata, "name"));
    if (entry.name.empty()) throw BadObject{metadata_line, "missing metadata.name"};

    const auto created = find(*metadata, "creationTimestamp");
    if (created && created->IsScalar()) {
      entry.creation_timestamp = created->Scalar();
      entry.created_unix = parse_rfc3339(entry.creation_timestamp);
      if (!entry.created_unix) {
        // Kept: only precedence suffers, and the entry then counts as the newest.
        out_.problems.push_back(where(line_of(*created, line)) + ": " + entry.key() +
                                ": creationTimestamp \"" + entry.creation_timestamp +
                                "\" is not RFC 3339; treated as newest");
      }
    }

    const auto spec = find(node, "spec");
    if (!spec || spec->IsNull()) throw BadObject{line, "missing spec"};
    if (!spec->IsMap()) throw BadObject{line_of(*spec, line), "spec is not a mapping"};
    const int spec_line = line_of(*spec, line);
    entry.hosts = string_list(find(*spec, "hosts"), spec_line, "spec.hosts");
    if (entry.hosts.empty()) throw BadObject{spec_line, "spec.hosts is missing or empty"};
    entry.addresses = string_list(find(*spec, "addresses"), spec_line, "spec.addresses");

    const auto resolution = find(*spec, "resolution");
    if (resolution && !resolution->IsNull()) {
      const int resolution_line = line_of(*resolution, spec_line);
      if (!resolution->IsScalar())
        throw BadObject{resolution_line, "spec.resolution is not a string"};
      const auto parsed = parse_resolution(resolution->Scalar());
      if (!parsed) {
        throw BadObject{resolution_line,
                        "unknown spec.resolution \"" + resolution->Scalar() + "\""};
      }
      entry.resolution = *parsed;
    }

    const auto status = find(node, "status");
    if (status && status->IsMap()) entry.status_addresses = status_addresses(*status, line);
    return entry;
  }

  static std::vector<StatusAddress> status_addresses(const YAML::Node& status, int line) {
    std::vector<StatusAddress> out;
    const auto list = find(status, "addresses");
    if (!list || list->IsNull()) return out;
    const int list_line = line_of(*list, line);
    constexpr const char* kShape = "status.addresses is not a list of {value, host}";
    if (!list->IsSequence()) throw BadObject{list_line, kShape};
    for (const auto& item : *list) {
      const int item_line = line_of(item, list_line);
      if (!item.IsMap()) throw BadObject{item_line, kShape};
      const auto value = find(item, "value");
      const auto host = find(item, "host");
      if (!value || !value->IsScalar()) throw BadObject{item_line, kShape};
      if (host && !host->IsNull() && !host->IsScalar()) throw BadObject{item_line, kShape};
      out.push_back(StatusAddress{value->Scalar(), scalar_or_empty(host)});
    }
    return out;
  }

  std::string_view source_;
  DecodedEntries& out_;
};

std::string syntax_error(std::string_view source, const YAML::Exception& e) {
  std::string out(source);
  if (e.mark.line >= 0) {
    out += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
  }
  return out + ": " + e.msg;
}

// Parses exactly `n` decimal digits at `pos`.
std::optional<int> digits(std::string_view text, size_t pos, size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  // RFC 3339 §5.6: full-date "T" full-time; "t", "z" and a space for "T" are allowed (§5.6 note).
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') return std::nullopt;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) {
    return std::nullopt;
  }
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;  // 60: a leap second

  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    const size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const auto off_hour = digits(text, pos + 1, 2);
    const auto off_minute = digits(text, pos + 4, 2);
    if (!off_hour || !off_minute || text[pos + 3] != ':') return std::nullopt;
    if (*off_hour > 23 || *off_minute > 59) return std::nullopt;
    offset_seconds = (*off_hour * 60 + *off_minute) * 60 * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const int64_t days = days_from_civil(*year, *month, *day);
  // The local time minus its offset is UTC ("+02:00" is two hours ahead of UTC).
  return days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_seconds;
}

Result<DecodedEntries> decode_service_entries(std::string_view text, std::string_view source,
                                              const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error{std::string(source) + ": " + std::to_string(text.size()) +
                 " bytes is more than the limit of " + std::to_string(limits.max_bytes)};
  }
  try {
    const std::string owned(text);
    {
      std::istringstream stream(owned);
      YAML::Parser parser(stream);
      LimitChecker checker(limits);
      while (parser.HandleNextDocument(checker)) {
      }
    }
    DecodedEntries out;
    Decoder decoder(source, out);
    for (const YAML::Node& doc : YAML::LoadAll(owned)) decoder.document(doc);
    return out;
  } catch (const YAML::Exception& e) {
    return Error{syntax_error(source, e)};
  } catch (const std::bad_alloc&) {
    return Error{std::string(source) + ": out of memory while decoding"};
  } catch (const std::exception& e) {
    return Error{std::string(source) + ": " + e.what()};
  } catch (...) {
    return Error{std::string(source) + ": unknown error while decoding"};
  }
}

}  // namespace globaldns::sync
