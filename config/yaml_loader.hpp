// YAML configuration loading: text or a file in, a Config or every error found out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace globaldns::config {

struct [[nodiscard]] LoadResult {
  Config config;                    // the file's values over the defaults; use only when ok()
  std::vector<std::string> errors;  // every problem, in file order: "FILE:LINE:COL: key: ..."
  bool ok() const { return errors.empty(); }
};

// Parses YAML text whose settings override the defaults; unknown keys are errors at every level.
// `origin` names the text in messages (a file name, "<flags>"). Never throws.
LoadResult load_config_text(std::string_view text, std::string_view origin);

// As load_config_text, reading the file first; an unreadable file is one error naming it.
LoadResult load_config_file(const std::string& path);

}  // namespace globaldns::config
