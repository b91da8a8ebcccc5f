// Command-line flags: parsed from the table's `flag` fields and laid over a Config.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace globaldns::config {

// Settings given on the command line, to be laid over the file's (or the default) values.
struct Overrides {
  std::optional<std::string> config_file;  // --config FILE
  Config values;                           // only the settings named in `keys` are meaningful
  std::vector<std::string> keys;           // setting keys given ("listen", "log.level"), once each
};

struct [[nodiscard]] ParsedArgs {
  Overrides overrides;
  std::vector<std::string> positional;  // arguments that are not flags, in order; all after "--"
  bool help = false;                    // --help or -h
  std::vector<std::string> errors;      // every problem: "--ttl: expected ...", "unknown flag ..."
  bool ok() const { return errors.empty(); }
};

// `args` excludes the program name and the subcommand. Accepts "--flag value" and "--flag=value".
// A list flag (--listen, --zone, ...) may repeat; its values replace the file's list. A scalar
// flag given twice keeps the last value, so a wrapper script can override an earlier one.
ParsedArgs parse_flags(std::span<const std::string> args);

// `base` with every setting named in overrides.keys replaced by the flag's value.
Config apply_overrides(Config base, const Overrides& overrides);

// The flags section of --help, generated from the settings table.
std::string flags_help();

}  // namespace globaldns::config
