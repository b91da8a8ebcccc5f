// Origin: where a ServiceEntry came from ("se.yaml:12", "cluster1"), small and cheap to copy.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace globaldns::sync {

namespace detail {
struct InternedText;  // origin.cpp
}

// Every entry has one, only for messages and as the last tie-break of the winner rule, so it
// should not cost what a std::string of the file's path did (~110 bytes of an entry's ~460 at
// 1M entries): the text before the line is interned, once per distinct file path or cluster
// name for the life of the process, and an Origin is a pointer and a line number. Each
// interned text also has a number, from 0 (the empty text) up, by which a packed entry writes
// it in a byte or two.
// Compared as the text it stands for, so "a.yaml:12" sorts before "a.yaml:9" as it always did.
class Origin {
 public:
  Origin() noexcept;  // empty
  // `where` alone: a cluster name, or any text. Interns it (a lock and a lookup). Implicit,
  // as a text is an origin: `entry.origin = "se.yaml:1"` reads as it did with a string.
  Origin(std::string_view where);
  Origin(const char* where) : Origin(std::string_view(where)) {}
  Origin(const std::string& where) : Origin(std::string_view(where)) {}

  // The same place at `line` of it (a file): "where:line". No interning.
  Origin with_line(uint32_t line) const noexcept {
    Origin out = *this;
    out.line_ = line;
    return out;
  }

  const std::string& where() const noexcept;
  uint32_t line() const noexcept { return line_; }  // 0: none
  std::string text() const;

  friend bool operator==(const Origin& a, const Origin& b) noexcept;
  friend std::strong_ordering operator<=>(const Origin& a, const Origin& b) noexcept;

 private:
  // PackedEntry writes an origin as the number of its interned text and its line, each as a
  // varint: 4 bytes for the usual file entry, where the pointer and the line took 12.
  friend class PackedEntry;
  uint32_t where_number() const noexcept;
  // The origin whose where_number() is `number` (one that was handed out), at `line`.
  static Origin numbered(uint32_t number, uint32_t line) noexcept;
  Origin(const detail::InternedText* where, uint32_t line) noexcept : where_(where), line_(line) {}

  const detail::InternedText* where_;
  uint32_t line_ = 0;
};

}  // namespace globaldns::sync
