// load(): --config file, then flags, then validation of the merged whole.
#include "config/load.hpp"

#include "config/flags.hpp"
#include "config/validate.hpp"
#include "config/yaml_loader.hpp"

namespace globaldns::config {

Invocation load(std::span<const std::string> args) {
  ParsedArgs parsed = parse_flags(args);
  Invocation out;
  out.positional = std::move(parsed.positional);
  out.help = parsed.help;
  out.errors = std::move(parsed.errors);
  if (out.help) return out;

  Config base;
  if (parsed.overrides.config_file) {
    // Read the file even after a bad flag, so one run reports every problem.
    LoadResult file = load_config_file(*parsed.overrides.config_file);
    out.errors.insert(out.errors.end(), file.errors.begin(), file.errors.end());
    base = std::move(file.config);
  }
  if (!out.errors.empty()) return out;

  out.config = apply_overrides(std::move(base), parsed.overrides);
  out.errors = validate(out.config);
  return out;
}

}  // namespace globaldns::config
