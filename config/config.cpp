// Config defaults, applied from the settings table.
#include "config/config.hpp"

#include <cassert>

#include "config/setting_value.hpp"
#include "config/settings.hpp"

namespace globaldns::config {

Config::Config() {
  for (const Setting& setting : settings()) {
    for (std::string_view text : setting.default_value) {
      // A default that fails its own setting's check is a bug in the table (a test catches it).
      [[maybe_unused]] auto error = store_text(setting, text, *this);
      assert(!error);
    }
  }
}

}  // namespace globaldns::config
