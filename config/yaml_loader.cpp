// YAML configuration loading, driven by the settings table; yaml-cpp stays inside this file.
#include "config/yaml_loader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/setting_value.hpp"
#include "config/settings.hpp"
#include "config/text.hpp"

namespace globaldns::config {
namespace {

// What a node is, as it ends an "expected X, got Y" message.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// The keys allowed directly inside `section` ("" for the top level), as written there.
std::vector<std::string_view> keys_in(std::string_view section) {
  std::vector<std::string_view> names;
  for (const Setting& setting : settings()) {
    std::string_view key = setting.key;
    size_t dot = key.find('.');
    if (section.empty() && dot == std::string_view::npos) names.push_back(key);
    if (!section.empty() && dot == section.size() && key.starts_with(section)) {
      names.push_back(key.substr(dot + 1));
    }
  }
  if (section.empty()) {
    for (const Section& s : sections()) names.push_back(s.name);
  }
  return names;
}

// Where each document of a YAML stream starts (its first node), found without building
// nodes. yaml-cpp 0.7's LoadAll never returns on some invalid streams, a lone "," among
// them: the parser reports a null document without consuming the token that starts none,
// again and again, and LoadAll keeps every one until memory runs out (yaml-cpp issue 1040,
// fixed upstream after 0.8). stalled() tells when a document starts where the previous did.
class DocumentStarts final : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& marks() const noexcept { return marks_; }
  bool stalled() const noexcept {
    const size_t n = marks_.size();
    return n >= 2 && marks_[n - 1].pos == marks_[n - 2].pos;
  }

  void OnDocumentStart(const YAML::Mark&) override { pending_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (pending_) marks_.push_back(mark);
    pending_ = false;
  }

  std::vector<YAML::Mark> marks_;
  bool pending_ = false;
};

std::string join_key(std::string_view section, std::string_view name) {
  return section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
}

// One pass over a parsed document, collecting every error instead of stopping at the first.
class Loader {
 public:
  explicit Loader(std::string_view origin) : origin_(origin) {}

  void load_document(const YAML::Node& document) {
    if (document.IsNull()) return;  // an empty file: all defaults
    if (!document.IsMap()) {
      error(document.Mark(), "expected a map of settings, got " + describe(document));
      return;
    }
    load_map(document, "");
  }

  void error(const YAML::Mark& mark, const std::string& message) {
    std::string where(origin_);
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    result_.errors.push_back(where + ": " + message);
  }

  LoadResult take() { return std::move(result_); }

 private:
  void load_map(const YAML::Node& map, std::string_view section) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key = entry.first;
      const YAML::Node& value = entry.second;
      if (!key.IsScalar()) {
        error(key.Mark(), "expected a setting name, got " + describe(key));
        continue;
      }
      // "soa.ttl: 5" would be a second spelling of soa: {ttl: 5}, hiding duplicates; refuse it.
      if (size_t dot = key.Scalar().find('.'); dot != std::string::npos) {
        const std::string& text = key.Scalar();
        error(key.Mark(), "unknown key " + quote(join_key(section, text)) +
                              " (write sections nested: " + quote(text.substr(0, dot) + ":") +
                              " with " + quote(text.substr(dot + 1) + ":") + " under it)");
        continue;
      }
      std::string name = join_key(section, key.Scalar());
      // yaml-cpp keeps both of two equal keys; the second would silently win.
      if (!seen.insert(name).second) {
        error(key.Mark(), "duplicate key " + quote(name));
        continue;
      }
      if (const Setting* setting = find_setting(name)) {
        load_setting(*setting, key, value);
      } else if (section.empty() && find_section(name)) {
        load_section(name, value);
      } else {
        error(key.Mark(), unknown_key_message(section, key.Scalar()));
      }
    }
  }

  void load_section(const std::string& name, const YAML::Node& value) {
    if (value.IsNull()) return;  // "soa:" with nothing under it: the defaults
    if (value.IsMap()) {
      load_map(value, name);
      return;
    }
    std::string keys;
    for (std::string_view k : keys_in(name)) keys += (keys.empty() ? "" : ", ") + std::string(k);
    error(value.Mark(), name + ": expected a map with keys " + keys + ", got " + describe(value));
  }

  void load_setting(const Setting& setting, const YAML::Node& key, const YAML::Node& value) {
    std::string name(setting.key);
    if (is_list(setting)) {
      load_list(setting, key, value);
      return;
    }
    if (!value.IsScalar()) {
      // A missing value's mark points past the key, often at the next line: use the key's.
      error(value.IsNull() ? key.Mark() : value.Mark(),
            name + ": expected " + expectation(setting) + ", got " + describe(value));
      return;
    }
    if (auto problem = store_text(setting, value.Scalar(), result_.config)) {
      error(value.Mark(), name + ": " + *problem);
    }
  }

  void load_list(const Setting& setting, const YAML::Node& key, const YAML::Node& value) {
    std::string name(setting.key);
    clear_list(setting, result_.config);  // the file's list replaces the default one
    if (!value.IsNull() && !value.IsSequence()) {
      error(value.Mark(), name + ": expected a list, got " + describe(value));
      return;
    }
    size_t count = value.IsNull() ? 0 : value.size();
    if (auto problem = check_count(setting, count)) {
      error(value.IsNull() ? key.Mark() : value.Mark(), name + ": " + *problem);
    }
    for (size_t i = 0; i < count; ++i) {
      const YAML::Node& item = value[i];
      std::string item_name = name + "[" + std::to_string(i) + "]";
      if (!item.IsScalar()) {
        error(item.Mark(),
              item_name + ": expected " + expectation(setting) + ", got " + describe(item));
      } else if (auto problem = store_text(setting, item.Scalar(), result_.config)) {
        error(item.Mark(), item_name + ": " + *problem);
      }
    }
  }

  // Suggests a likely typo from the same level, else the same name in another section
  // ("mname" at the top level -> "soa.mname").
  static std::string unknown_key_message(std::string_view section, const std::string& name) {
    std::string message = "unknown key " + quote(join_key(section, name));
    std::string suggestion;
    if (std::string_view near = closest(name, keys_in(section)); !near.empty()) {
      suggestion = join_key(section, near);
    } else {
      for (const Setting& setting : settings()) {
        std::string_view key = setting.key;
        std::string_view leaf = key.substr(key.rfind('.') + 1);  // npos + 1 == 0
        if (leaf == name) {
          suggestion = key;
          break;
        }
      }
    }
    if (!suggestion.empty()) message += " (did you mean " + quote(suggestion) + "?)";
    return message;
  }

  std::string_view origin_;
  LoadResult result_;
};

}  // namespace

LoadResult load_config_text(std::string_view text, std::string_view origin) {
  Loader loader(origin);
  // yaml-cpp reports problems by throwing; nothing of it escapes this function.
  try {
    // Documents are counted first, with a loop that stops on yaml-cpp's stall; only then is
    // the one document built.
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentStarts starts;
    while (!starts.stalled() && parser.HandleNextDocument(starts)) {
    }
    const std::vector<YAML::Mark>& marks = starts.marks();
    if (starts.stalled()) {
      const YAML::Mark& at = marks.back();
      std::string message = "unexpected ";
      const auto pos = static_cast<size_t>(at.pos);
      message.append(at.pos >= 0 && pos < text.size() ? quote(text.substr(pos, 1)) : "input");
      message.append(" where a YAML value should start");
      loader.error(at, message);
    } else if (marks.size() > 1) {
      loader.error(marks[1], "expected one YAML document, found " + std::to_string(marks.size()));
    } else if (marks.size() == 1) {
      loader.load_document(YAML::Load(std::string(text)));
    }
  } catch (const YAML::Exception& e) {
    loader.error(e.mark, e.msg);
  } catch (const std::exception& e) {
    loader.error(YAML::Mark::null_mark(), e.what());
  }
  LoadResult result = loader.take();
  if (!result.ok()) result.config = Config();  // never half a configuration
  return result;
}

LoadResult load_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return {.config = {}, .errors = {path + ": cannot read: it is a directory"}};
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return {.config = {}, .errors = {path + ": cannot read: " + std::strerror(errno)}};
  }
  return load_config_text(text.str(), path);
}

}  // namespace globaldns::config
