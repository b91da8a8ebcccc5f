// Rendering a Config as commented YAML: the generated example file, or the effective settings.
#pragma once

#include <string>

#include "config/config.hpp"

namespace globaldns::config {

// `config` as YAML, each setting preceded by its help, allowed values and flag as comments.
// load_config_text() of the result gives back `config`.
std::string render_yaml(const Config& config);

// The header and render_yaml(Config()): the text of config/globaldns.example.yaml.
std::string render_example();

}  // namespace globaldns::config
