// ServiceEntry YAML decoding: libyaml's event parser, building one object's small tree at a time.
//
// yaml-cpp (which reads the config) builds a node graph of a few hundred bytes per node for the
// whole text and scans about 5 MB/s; a file of 10,000 ServiceEntries (3.8 MB) cost 2.6 s and
// 230 MB of transient heap. libyaml's event parser reads the same file in 0.1 s, and with the
// tree kept to one document, or one item of a List, the transient heap is a few kilobytes.
#include "sync/yaml_decoder.hpp"

#include <yaml.h>

#include <array>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <new>

namespace globaldns::sync {
namespace {

// A YAML node as far as decoding needs it. An alias points at its anchor's node, shared and
// never copied, so "billion laughs" costs one pointer per alias.
struct Node {
  enum class Kind : uint8_t { Null, Scalar, Sequence, Map, Alias };
  Kind kind = Kind::Null;
  // A top-level `items` sequence: its items were decoded as they ended and not kept.
  bool streamed = false;
  int line = 0;  // 1-based
  std::string scalar;
  std::vector<Node> children;          // a sequence's items; a map's keys and values, alternating
  std::shared_ptr<const Node> target;  // Kind::Alias
};

const Node& resolve(const Node& node) {
  return node.kind == Node::Kind::Alias ? *node.target : node;
}

bool is_map(const Node& node) {
  return node.kind == Node::Kind::Map;
}
bool is_null(const Node& node) {
  return node.kind == Node::Kind::Null;
}
bool is_scalar(const Node& node) {
  return node.kind == Node::Kind::Scalar;
}
bool is_sequence(const Node& node) {
  return node.kind == Node::Kind::Sequence;
}

// The value of `key` in a map (the first, as a duplicate key is not ours to judge), resolved.
const Node* find(const Node& map, std::string_view key) {
  if (!is_map(map)) return nullptr;
  for (size_t i = 0; i + 1 < map.children.size(); i += 2) {
    const Node& k = resolve(map.children[i]);
    if (is_scalar(k) && k.scalar == key) return &resolve(map.children[i + 1]);
  }
  return nullptr;
}

std::string scalar_or_empty(const Node* node) {
  return node != nullptr && is_scalar(*node) ? node->scalar : std::string();
}

// Thrown inside one object's decoding; caught by the object loop, which skips that object.
struct BadObject {
  int line;
  std::string reason;
};

std::vector<std::string> string_list(const Node* node, int fallback_line, const char* field) {
  std::vector<std::string> out;
  if (node == nullptr || is_null(*node)) return out;
  const int line = node->line > 0 ? node->line : fallback_line;
  if (!is_sequence(*node)) throw BadObject{line, std::string(field) + " is not a list of strings"};
  out.reserve(node->children.size());
  for (const Node& child : node->children) {
    const Node& item = resolve(child);
    if (!is_scalar(item)) {
      throw BadObject{item.line > 0 ? item.line : line,
                      std::string(field) + " is not a list of strings"};
    }
    out.push_back(item.scalar);
  }
  return out;
}

// Turns a decoded document (or one item of a List) into entries, problems and notes.
class ObjectDecoder {
 public:
  ObjectDecoder(std::string_view source, DecodedEntries& out)
      : source_(source), file_(source), out_(out) {}

  // `streamed_items`: what the items of a streamed top-level `items` sequence decoded to.
  void document(const Node& doc, DecodedEntries& streamed_items) {
    streamed_items_ = &streamed_items;
    object(doc, Level::Document);
    streamed_items_ = nullptr;
  }
  void list_item(const Node& item) { object(item, Level::ListItem); }

 private:
  enum class Level : uint8_t { Document, ListItem };

  std::string where(int line) const { return std::string(source_) + ":" + std::to_string(line); }

  void object(const Node& node, Level level) {
    if (is_null(node)) return;  // an empty document ("---" twice, or a trailing "---")
    const int line = node.line;
    if (!is_map(node)) {
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

  void list(const Node& node, int line) {
    const Node* items = find(node, "items");
    if (items == nullptr || is_null(*items)) return;
    if (!is_sequence(*items)) {
      out_.problems.push_back(where(items->line > 0 ? items->line : line) +
                              ": items is not a list; ignored");
      return;
    }
    if (items->streamed && streamed_items_ != nullptr) {
      out_.entries.append(std::move(streamed_items_->entries));
      append(out_.problems, streamed_items_->problems);
      append(out_.notes, streamed_items_->notes);
      return;
    }
    for (const Node& item : items->children) object(resolve(item), Level::ListItem);
  }

  template <typename T>
  static void append(std::vector<T>& to, std::vector<T>& from) {
    if (to.empty()) {
      to = std::move(from);
    } else {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    }
    from.clear();
  }

  // "namespace/name" for messages, whatever shape metadata has.
  static std::string label(const Node& node) {
    const Node* metadata = find(node, "metadata");
    std::string ns, name;
    if (metadata != nullptr && is_map(*metadata)) {
      ns = scalar_or_empty(find(*metadata, "namespace"));
      name = scalar_or_empty(find(*metadata, "name"));
    }
    if (ns.empty()) ns = kDefaultNamespace;
    if (name.empty()) name = "<unnamed>";
    return ns + "/" + name;
  }

  void service_entry(const Node& node, const std::string& api_version, int line) {
    try {
      if (!served_api_version(api_version)) {
        throw BadObject{line, "unsupported apiVersion \"" + api_version + "\" for ServiceEntry"};
      }
      ServiceEntry entry = fields(node, line);
      entry.origin = file_.with_line(static_cast<uint32_t>(line));
      out_.entries.push_back(entry);
    } catch (const BadObject& bad) {
      out_.problems.push_back(where(bad.line) + ": " + label(node) + ": " + bad.reason +
                              "; object skipped");
    }
  }

  static int line_or(const Node* node, int fallback) {
    return node != nullptr && node->line > 0 ? node->line : fallback;
  }

  ServiceEntry fields(const Node& node, int line) {
    ServiceEntry entry;
    const Node* metadata = find(node, "metadata");
    if (metadata == nullptr || !is_map(*metadata)) throw BadObject{line, "missing metadata"};
    const int metadata_line = line_or(metadata, line);
    entry.namespace_ = scalar_or_empty(find(*metadata, "namespace"));
    if (entry.namespace_.empty()) entry.namespace_ = kDefaultNamespace;
    entry.name = scalar_or_empty(find(*metadata, "name"));
    if (entry.name.empty()) throw BadObject{metadata_line, "missing metadata.name"};

    const Node* created = find(*metadata, "creationTimestamp");
    if (created != nullptr && is_scalar(*created)) {
      entry.created_unix = parse_rfc3339(created->scalar);
      if (!entry.created_unix) {
        // Kept: only precedence suffers, and the entry then counts as the newest.
        out_.problems.push_back(where(line_or(created, line)) + ": " + entry.key() +
                                ": creationTimestamp \"" + created->scalar +
                                "\" is not RFC 3339; treated as newest");
      }
    }

    const Node* spec = find(node, "spec");
    if (spec == nullptr || is_null(*spec)) throw BadObject{line, "missing spec"};
    if (!is_map(*spec)) throw BadObject{line_or(spec, line), "spec is not a mapping"};
    const int spec_line = line_or(spec, line);
    entry.hosts = string_list(find(*spec, "hosts"), spec_line, "spec.hosts");
    if (entry.hosts.empty()) throw BadObject{spec_line, "spec.hosts is missing or empty"};
    entry.addresses = string_list(find(*spec, "addresses"), spec_line, "spec.addresses");

    const Node* resolution = find(*spec, "resolution");
    if (resolution != nullptr && !is_null(*resolution)) {
      const int resolution_line = line_or(resolution, spec_line);
      if (!is_scalar(*resolution)) {
        throw BadObject{resolution_line, "spec.resolution is not a string"};
      }
      const auto parsed = parse_resolution(resolution->scalar);
      if (!parsed) {
        throw BadObject{resolution_line, "unknown spec.resolution \"" + resolution->scalar + "\""};
      }
      entry.resolution = *parsed;
    }

    const Node* status = find(node, "status");
    if (status != nullptr && is_map(*status)) {
      entry.status_addresses = status_addresses(*status, line);
    }
    return entry;
  }

  static std::vector<StatusAddress> status_addresses(const Node& status, int line) {
    std::vector<StatusAddress> out;
    const Node* list = find(status, "addresses");
    if (list == nullptr || is_null(*list)) return out;
    const int list_line = line_or(list, line);
    constexpr const char* kShape = "status.addresses is not a list of {value, host}";
    if (!is_sequence(*list)) throw BadObject{list_line, kShape};
    for (const Node& child : list->children) {
      const Node& item = resolve(child);
      const int item_line = line_or(&item, list_line);
      if (!is_map(item)) throw BadObject{item_line, kShape};
      const Node* value = find(item, "value");
      const Node* host = find(item, "host");
      if (value == nullptr || !is_scalar(*value)) throw BadObject{item_line, kShape};
      if (host != nullptr && !is_null(*host) && !is_scalar(*host)) {
        throw BadObject{item_line, kShape};
      }
      out.push_back(StatusAddress{value->scalar, scalar_or_empty(host)});
    }
    return out;
  }

  std::string_view source_;
  Origin file_;  // interned once: every entry's origin is this file at its line
  DecodedEntries& out_;
  DecodedEntries* streamed_items_ = nullptr;
};

// A whole-text failure: a syntax error or a limit, at a 0-based position.
struct TextError {
  size_t line;
  size_t column;
  std::string message;
};

// Owns a libyaml parser reading `text` in place (no copy).
class EventReader {
 public:
  explicit EventReader(std::string_view text) {
    if (yaml_parser_initialize(&parser_) == 0) throw std::bad_alloc();
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~EventReader() { yaml_parser_delete(&parser_); }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // The next event into `event` (which the caller deletes), or a TextError thrown.
  void next(yaml_event_t& event, std::string_view text) {
    if (yaml_parser_parse(&parser_, &event) != 0) return;
    if (parser_.error == YAML_MEMORY_ERROR) throw std::bad_alloc();
    std::string message = parser_.problem != nullptr ? parser_.problem : "invalid YAML";
    size_t line = parser_.problem_mark.line;
    size_t column = parser_.problem_mark.column;
    if (parser_.error == YAML_READER_ERROR) {
      // Encoding errors carry a byte offset, not a mark.
      const size_t offset = std::min(parser_.problem_offset, text.size());
      line = 0;
      size_t line_start = 0;
      for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
          ++line;
          line_start = i + 1;
        }
      }
      column = offset - line_start;
      if (parser_.problem_value != -1)
        message += " (byte " + std::to_string(parser_.problem_value) + ")";
    } else if (parser_.context != nullptr) {
      message += " (" + std::string(parser_.context) + " at line " +
                 std::to_string(parser_.context_mark.line + 1) + ")";
    }
    throw TextError{line, column, std::move(message)};
  }

 private:
  yaml_parser_t parser_{};
};

class EventGuard {
 public:
  explicit EventGuard(yaml_event_t& event) : event_(event) {}
  ~EventGuard() { yaml_event_delete(&event_); }
  EventGuard(const EventGuard&) = delete;
  EventGuard& operator=(const EventGuard&) = delete;

 private:
  yaml_event_t& event_;
};

std::string anchor_of(const yaml_char_t* anchor) {
  return anchor != nullptr ? std::string(reinterpret_cast<const char*>(anchor)) : std::string();
}

// YAML 1.1/1.2 core schema: these plain scalars (and an empty one) are null.
bool plain_null(const yaml_event_t& event) {
  const auto& scalar = event.data.scalar;
  if (scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  if (scalar.tag != nullptr &&
      std::string_view(reinterpret_cast<const char*>(scalar.tag)) != YAML_NULL_TAG) {
    return false;
  }
  const std::string_view value(reinterpret_cast<const char*>(scalar.value), scalar.length);
  return value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL";
}

// Reads the event stream and hands each finished document, and each item of a top-level
// `items` sequence as it ends, to an ObjectDecoder.
class StreamDecoder {
 public:
  StreamDecoder(std::string_view text, std::string_view source, const DecodeLimits& limits,
                DecodedEntries& out)
      : text_(text), limits_(limits), documents_(source, out), items_(source, streamed_) {}
  ~StreamDecoder() { release_document(); }
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  void run() {
    EventReader reader(text_);
    while (true) {
      yaml_event_t event{};
      reader.next(event, text_);
      EventGuard guard(event);
      if (!handle(event)) return;
    }
  }

 private:
  struct Frame {
    Node node;
    std::string anchor;
    bool streaming = false;  // the top-level `items` sequence
  };

  // False at the end of the stream.
  bool handle(const yaml_event_t& event) {
    const size_t line = event.start_mark.line;
    const size_t column = event.start_mark.column;
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        return false;
      case YAML_DOCUMENT_START_EVENT:
        release_document();  // anchors are per document
        streamed_ = DecodedEntries{};
        items_seen_ = false;
        root_ = Node{};
        break;
      case YAML_DOCUMENT_END_EVENT:
        documents_.document(root_, streamed_);
        release_document();
        break;
      case YAML_SCALAR_EVENT: {
        count(line, column);
        Node node;
        node.line = static_cast<int>(line) + 1;
        if (plain_null(event)) {
          node.kind = Node::Kind::Null;
        } else {
          node.kind = Node::Kind::Scalar;
          node.scalar.assign(reinterpret_cast<const char*>(event.data.scalar.value),
                             event.data.scalar.length);
        }
        add(std::move(node), anchor_of(event.data.scalar.anchor));
        break;
      }
      case YAML_ALIAS_EVENT: {
        count(line, column);
        const std::string name = anchor_of(event.data.alias.anchor);
        const auto it = anchors_.find(name);
        if (it == anchors_.end()) throw TextError{line, column, "unknown anchor \"" + name + "\""};
        Node node;
        node.kind = Node::Kind::Alias;
        node.line = static_cast<int>(line) + 1;
        node.target = it->second;
        add(std::move(node), {});
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        count(line, column);
        if (stack_.size() >= static_cast<size_t>(limits_.max_depth)) {
          throw TextError{line, column,
                          "nested deeper than " + std::to_string(limits_.max_depth) + " levels"};
        }
        Frame frame;
        const bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        frame.node.kind = sequence ? Node::Kind::Sequence : Node::Kind::Map;
        frame.node.line = static_cast<int>(line) + 1;
        frame.anchor = anchor_of(sequence ? event.data.sequence_start.anchor
                                          : event.data.mapping_start.anchor);
        if (sequence && top_level_items()) {
          frame.streaming = true;
          frame.node.streamed = true;
          items_seen_ = true;
        }
        stack_.push_back(std::move(frame));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        add(std::move(frame.node), frame.anchor);
        break;
      }
      default:  // STREAM_START, NO_EVENT
        break;
    }
    return true;
  }

  // The sequence about to start is the value of the document map's first `items` key.
  bool top_level_items() const {
    if (items_seen_ || stack_.size() != 1 || !is_map(stack_[0].node)) return false;
    const auto& children = stack_[0].node.children;
    if (children.size() % 2 == 0) return false;  // a key, not a value, comes next
    const Node& key = resolve(children.back());
    return is_scalar(key) && key.scalar == "items";
  }

  void add(Node node, const std::string& anchor) {
    if (!anchor.empty()) {
      // A copy, made once: aliases inside it are pointers, so this never expands.
      auto shared =
          std::make_shared<const Node>(node.kind == Node::Kind::Alias ? *node.target : node);
      anchors_[anchor] = shared;
      anchor_order_.push_back(std::move(shared));
    }
    if (stack_.empty()) {
      root_ = std::move(node);
    } else if (stack_.back().streaming) {
      items_.list_item(resolve(node));
    } else {
      stack_.back().node.children.push_back(std::move(node));
    }
  }

  // Frees the current document's nodes. Anchored nodes go newest first: each can only point at
  // older ones, which are then still held here, so no release recurses down a chain of
  // aliases (a0: &a0 x, a1: &a1 [*a0], ... 300,000 long overflowed the stack).
  void release_document() {
    stack_.clear();
    root_ = Node{};
    anchors_.clear();
    while (!anchor_order_.empty()) anchor_order_.pop_back();
  }

  void count(size_t line, size_t column) {
    if (++nodes_ > limits_.max_nodes) {
      throw TextError{line, column,
                      "more than " + std::to_string(limits_.max_nodes) + " YAML nodes"};
    }
  }

  std::string_view text_;
  const DecodeLimits& limits_;
  DecodedEntries streamed_;  // what the current document's streamed items decoded to
  ObjectDecoder documents_;  // into the caller's output
  ObjectDecoder items_;      // into streamed_, kept only if the document turns out a List
  std::vector<Frame> stack_;
  std::map<std::string, std::shared_ptr<const Node>> anchors_;  // by name, the latest
  std::vector<std::shared_ptr<const Node>> anchor_order_;       // every one, oldest first
  Node root_;
  bool items_seen_ = false;
  size_t nodes_ = 0;
};

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
  return days * 86400 + int64_t{*hour} * 3600 + int64_t{*minute} * 60 + *second - offset_seconds;
}

Result<DecodedEntries> decode_service_entries(std::string_view text, std::string_view source,
                                              const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error{std::string(source) + ": " + std::to_string(text.size()) +
                 " bytes is more than the limit of " + std::to_string(limits.max_bytes)};
  }
  try {
    DecodedEntries out;
    StreamDecoder(text, source, limits, out).run();
    return out;
  } catch (const TextError& e) {
    return Error{std::string(source) + ":" + std::to_string(e.line + 1) + ":" +
                 std::to_string(e.column + 1) + ": " + e.message};
  } catch (const std::bad_alloc&) {
    return Error{std::string(source) + ": out of memory while decoding"};
  } catch (const std::exception& e) {
    return Error{std::string(source) + ": " + e.what()};
  } catch (...) {
    return Error{std::string(source) + ": unknown error while decoding"};
  }
}

}  // namespace globaldns::sync
