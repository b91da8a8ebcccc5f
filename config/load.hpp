// load(): the startup configuration from the command line: --config file, then flags, validated.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace globaldns::config {

struct [[nodiscard]] Invocation {
  Config config;                        // use only when ok() and not help
  std::vector<std::string> positional;  // non-flag arguments, for the subcommand
  bool help = false;                    // --help was given: print help, read nothing else
  std::vector<std::string> errors;      // flag, file and validation errors together
  bool ok() const { return errors.empty(); }
};

// `args` are the arguments after the subcommand. Reads the --config file if given (the defaults
// otherwise), lays the flags over it and validates the result. Never throws.
Invocation load(std::span<const std::string> args);

}  // namespace globaldns::config
