// Reading, checking and writing one setting's value in a Config, as text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/settings.hpp"

namespace globaldns::config {

bool is_list(const Setting& setting);

// What a value (for a list: each item) must be: "an integer from 0 to 2147483647".
std::string expectation(const Setting& setting);

// The allowed values as a sentence for help text: "Range: 512 to 4096.", "One of: text, json.";
// empty when the shape says it all.
std::string allowed_values(const Setting& setting);

// Why `text` is not a valid value (for a list: item) of the setting, worded
// `expected <expectation>, got "<text>" (<reason>)`; nothing when it is valid.
std::optional<std::string> check_text(const Setting& setting, std::string_view text);

// Why a list of `count` items is too short, or nothing.
std::optional<std::string> check_count(const Setting& setting, size_t count);

// Checks `text` as above, then stores it: a scalar is replaced, a list gets one more item.
std::optional<std::string> store_text(const Setting& setting, std::string_view text,
                                      Config& config);

void clear_list(const Setting& setting, Config& config);
void copy_value(const Setting& setting, const Config& from, Config& to);

// The value as text: one element for a scalar, one per item for a list.
std::vector<std::string> value_texts(const Setting& setting, const Config& config);

}  // namespace globaldns::config
