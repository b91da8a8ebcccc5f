// Origin: the interned texts, and comparison as text without building it.
#include "sync/origin.hpp"

#include <charconv>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>

namespace globaldns::sync {
namespace {

// Never freed, not even at exit (an entry outliving it in another static would dangle): entries
// hold pointers into it, and it grows only with distinct paths and names.
const std::string* intern(std::string_view text) {
  static std::mutex mutex;
  static auto* texts = new std::set<std::string, std::less<>>();
  std::lock_guard lock(mutex);
  auto it = texts->find(text);
  if (it == texts->end()) it = texts->emplace(text).first;
  return &*it;
}

const std::string& empty_text() {
  static const std::string empty;
  return empty;
}

// ":<line>" in `buffer`, or nothing for line 0.
std::string_view line_suffix(uint32_t line, char (&buffer)[16]) noexcept {
  if (line == 0) return {};
  buffer[0] = ':';
  const auto end = std::to_chars(buffer + 1, buffer + sizeof buffer, line).ptr;
  return {buffer, static_cast<size_t>(end - buffer)};
}

// a1 + a2 against b1 + b2, as std::string compares (bytes as unsigned char).
std::strong_ordering compare_joined(std::string_view a1, std::string_view a2, std::string_view b1,
                                    std::string_view b2) noexcept {
  const size_t a_size = a1.size() + a2.size();
  const size_t b_size = b1.size() + b2.size();
  for (size_t i = 0; i < a_size && i < b_size; ++i) {
    const auto x = static_cast<unsigned char>(i < a1.size() ? a1[i] : a2[i - a1.size()]);
    const auto y = static_cast<unsigned char>(i < b1.size() ? b1[i] : b2[i - b1.size()]);
    if (x != y) return x <=> y;
  }
  return a_size <=> b_size;
}

}  // namespace

Origin::Origin() noexcept : where_(&empty_text()) {}

Origin::Origin(std::string_view where) : where_(intern(where)) {}

std::string Origin::text() const {
  char buffer[16];
  std::string out = *where_;
  out += line_suffix(line_, buffer);
  return out;
}

bool operator==(const Origin& a, const Origin& b) noexcept {
  if (a.where_ == b.where_ && a.line_ == b.line_) return true;
  return (a <=> b) == 0;
}

std::strong_ordering operator<=>(const Origin& a, const Origin& b) noexcept {
  char a_buffer[16];
  char b_buffer[16];
  return compare_joined(*a.where_, line_suffix(a.line_, a_buffer), *b.where_,
                        line_suffix(b.line_, b_buffer));
}

}  // namespace globaldns::sync
