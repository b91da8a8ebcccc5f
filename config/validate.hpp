// validate(): check a whole Config against the settings table.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace globaldns::config {

// Every problem with the values in `config`, one message each ("ttl: expected ...", "listen[1]:
// ..."); empty when it is usable. The file loader and the flags check values as they read them;
// this catches a Config built or changed in code, and is run again on the merged result.
[[nodiscard]] std::vector<std::string> validate(const Config& config);

}  // namespace globaldns::config
