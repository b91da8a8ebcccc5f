// Command-line flags, driven by the settings table.
#include "config/flags.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "config/setting_value.hpp"
#include "config/settings.hpp"
#include "config/text.hpp"

namespace globaldns::config {
namespace {

// Flags that are not settings.
constexpr std::string_view kConfigFlag = "--config";
constexpr std::string_view kHelpFlag = "--help";

constexpr size_t kHelpIndent = 26;
constexpr size_t kHelpWidth = 100;

// Every flag name without its dashes, for suggestions.
std::vector<std::string_view> all_flags() {
  std::vector<std::string_view> flags = {kConfigFlag.substr(2), kHelpFlag.substr(2)};
  for (const Setting& setting : settings()) {
    if (!setting.flag.empty()) flags.push_back(setting.flag);
  }
  return flags;
}

std::string unknown_flag_message(std::string_view arg) {
  std::string message = "unknown flag " + quote(arg);
  std::string_view name = arg.substr(std::min(arg.find_first_not_of('-'), arg.size()));
  if (std::string_view near = closest(name, all_flags()); !near.empty()) {
    message += " (did you mean " + quote("--" + std::string(near)) + "?)";
  }
  return message;
}

// The argument after args[i] as a flag's value, advancing i; nothing at the end or before another
// flag, since "--listen --ttl 5" is far likelier a forgotten value than a listen address "--ttl".
std::optional<std::string> take_next_value(std::span<const std::string> args, size_t& i) {
  if (i + 1 >= args.size() || args[i + 1].starts_with("--")) return std::nullopt;
  return args[++i];
}

// Stores one flag value. A list flag's first value replaces the file's list; later ones append.
std::optional<std::string> add_override(const Setting& setting, const std::string& value,
                                        Overrides& overrides) {
  std::string key(setting.key);
  bool first = std::find(overrides.keys.begin(), overrides.keys.end(), key) == overrides.keys.end();
  if (first && is_list(setting)) clear_list(setting, overrides.values);
  if (auto problem = store_text(setting, value, overrides.values)) return problem;
  if (first) overrides.keys.push_back(std::move(key));
  return std::nullopt;
}

// Appends one help entry: the flag column, then the text wrapped under the help column.
void add_help_entry(std::string& out, const std::string& flag, const std::string& text) {
  std::string line = "  " + flag;
  std::vector<std::string> lines = wrap(text, kHelpWidth - kHelpIndent);
  if (line.size() + 2 > kHelpIndent) {
    out += line + "\n";
    line.clear();
  }
  for (const std::string& part : lines) {
    line.resize(kHelpIndent, ' ');
    out += line + part + "\n";
    line.clear();
  }
}

// Strings in quotes, so that a default like "global." reads unambiguously at a sentence's end.
std::string default_text(const Setting& setting) {
  std::vector<std::string> texts = value_texts(setting, Config());
  if (texts.empty()) return "none";
  bool quoted = setting.kind == Kind::String || setting.kind == Kind::List;
  std::string out;
  for (const std::string& text : texts) {
    out += (out.empty() ? "" : ", ") + (quoted ? quote(text) : text);
  }
  return out;
}

}  // namespace

ParsedArgs parse_flags(std::span<const std::string> args) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional.insert(parsed.positional.end(),
                               args.begin() + static_cast<ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {  // "-" alone is a positional argument (stdin)
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    size_t equals = arg.find('=');
    std::string flag = arg.substr(0, equals);  // "--ttl" of "--ttl=5"
    const Setting* setting = flag.starts_with("--") ? find_flag(flag.substr(2)) : nullptr;
    bool is_config = flag == kConfigFlag;
    if (!setting && !is_config) {
      parsed.errors.push_back(flag == kHelpFlag ? "--help: takes no value"
                                                : unknown_flag_message(flag));
      continue;
    }
    std::optional<std::string> value = equals != std::string::npos
                                           ? std::optional(arg.substr(equals + 1))
                                           : take_next_value(args, i);
    if (!value || (is_config && value->empty())) {
      std::string_view metavar = is_config ? "FILE" : setting->metavar;
      std::string error = flag;
      error.append(": missing its value (").append(flag).append(" ").append(metavar).append(")");
      parsed.errors.push_back(std::move(error));
    } else if (is_config) {
      parsed.overrides.config_file = std::move(value);
    } else if (auto problem = add_override(*setting, *value, parsed.overrides)) {
      parsed.errors.push_back(flag + ": " + *problem);
    }
  }
  return parsed;
}

Config apply_overrides(Config base, const Overrides& overrides) {
  for (const std::string& key : overrides.keys) {
    if (const Setting* setting = find_setting(key)) copy_value(*setting, overrides.values, base);
  }
  return base;
}

std::string flags_help() {
  std::string out = "Flags (they override the configuration file):\n";
  add_help_entry(out, std::string(kConfigFlag) + " FILE",
                 "Read settings from this YAML file; settings it leaves out keep their defaults. "
                 "Without it, every setting has its default.");
  for (const Setting& setting : settings()) {
    if (setting.flag.empty()) continue;
    std::string text(setting.help);
    if (std::string allowed = allowed_values(setting); !allowed.empty()) text += " " + allowed;
    if (is_list(setting)) text += " Repeatable; replaces the file's list.";
    text += " Default: " + default_text(setting) + ". File key: " + std::string(setting.key) + ".";
    add_help_entry(out, "--" + std::string(setting.flag) + " " + std::string(setting.metavar),
                   text);
  }
  add_help_entry(out, "-h, " + std::string(kHelpFlag), "Show this help.");
  return out;
}

}  // namespace globaldns::config
