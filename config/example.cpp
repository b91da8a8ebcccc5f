// Commented YAML rendering, derived from the settings table.
#include "config/example.hpp"

#include "config/setting_value.hpp"
#include "config/settings.hpp"
#include "config/text.hpp"

namespace globaldns::config {
namespace {

constexpr size_t kWidth = 92;

constexpr std::string_view kHeader =
    "# globaldns configuration: every setting, with its default value.\n"
    "#\n"
    "# Generated from the settings table in config/settings.cpp by render_example(); a test keeps\n"
    "# this file in step. After changing the table, regenerate it with\n"
    "#   cmake --build <build-dir> --target update_config_example\n"
    "# Flags override these values: see `globaldns serve --help`.\n";

void add_comment(std::string& out, const std::string& indent, std::string_view text) {
  for (const std::string& line : wrap(text, kWidth - indent.size() - 2)) {
    out.append(indent).append("# ").append(line).append("\n");
  }
}

// The allowed values and the flag, for the comment under the help.
std::string constraints(const Setting& setting) {
  std::string out = allowed_values(setting);
  if (!setting.flag.empty()) {
    if (!out.empty()) out += " ";
    out += "Flag: --";
    out += setting.flag;
    out += ' ';
    out += setting.metavar;
    if (is_list(setting)) out += " (repeatable)";
    out += ".";
  }
  return out;
}

// Strings are always quoted, so that values like "*" or "yes" cannot change meaning in YAML.
std::string scalar(const Setting& setting, const std::string& text) {
  return setting.kind == Kind::Integer || setting.kind == Kind::Choice ? text : quote(text);
}

// A setting's comment and value; a blank line parts it from the one before, except the first of
// a section, which follows the section's key directly.
void add_setting(std::string& out, const Setting& setting, const Config& config,
                 bool first_in_section) {
  std::string_view key = setting.key;
  size_t dot = key.find('.');
  std::string indent = dot == std::string_view::npos ? "" : "  ";
  std::string_view name = dot == std::string_view::npos ? key : key.substr(dot + 1);

  if (!first_in_section) out += "\n";
  add_comment(out, indent, setting.help);
  if (std::string more = constraints(setting); !more.empty()) add_comment(out, indent, more);
  std::vector<std::string> texts = value_texts(setting, config);
  out += indent;
  out += name;
  out += ':';
  if (!is_list(setting)) {
    out += ' ';
    out += scalar(setting, texts.front());
    out += '\n';
  } else if (texts.empty()) {
    out += " []\n";
  } else {
    out += "\n";
    for (const std::string& text : texts) out += indent + "  - " + quote(text) + "\n";
  }
}

}  // namespace

std::string render_yaml(const Config& config) {
  std::string out;
  std::string_view section;
  for (const Setting& setting : settings()) {
    std::string_view key = setting.key;
    size_t dot = key.find('.');
    std::string_view this_section = dot == std::string_view::npos ? "" : key.substr(0, dot);
    bool opens_section = this_section != section && !this_section.empty();
    if (opens_section) {
      out += "\n";
      if (const Section* info = find_section(this_section)) add_comment(out, "", info->help);
      out += std::string(this_section) + ":\n";
    }
    section = this_section;
    add_setting(out, setting, config, opens_section);
  }
  return out;
}

std::string render_example() {
  return std::string(kHeader) + render_yaml(Config());
}

}  // namespace globaldns::config
