// Small text helpers shared by the loader, the flags and the example renderer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace globaldns::config {

// The text in double quotes with '"', '\' and control characters escaped, so that an error
// message shows exactly what was read (YAML double-quoted style, so it can be pasted back).
std::string quote(std::string_view text);

// Words of `text` joined into lines of at most `width` characters (a longer word gets its own).
std::vector<std::string> wrap(std::string_view text, size_t width);

// Optimal string alignment distance: edits, counting a swap of neighbours as one ("tll"/"ttl").
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo, else empty.
std::string_view closest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace globaldns::config
