// Length-prefixed bytes: the encoding PackedEntry and PackedRecords share.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace globaldns::sync::packed {

// Sizes and counts as LEB128 varints (one byte below 128), texts as their bytes.
inline void put_size(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

inline void put_text(std::string& out, std::string_view text) {
  put_size(out, text.size());
  out.append(text);
}

// Reads what put_size/put_text wrote, in order. The bytes are our own, so no bounds checks.
class Reader {
 public:
  explicit Reader(const char* at) noexcept : at_(at) {}
  size_t size() noexcept {
    size_t n = 0;
    for (unsigned shift = 0;; shift += 7) {
      const auto byte = static_cast<unsigned char>(*at_++);
      n |= static_cast<size_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return n;
    }
  }
  std::string_view text() noexcept { return bytes(size()); }
  const char* position() const noexcept { return at_; }
  std::string_view bytes(size_t n) noexcept {
    const std::string_view out(at_, n);
    at_ += n;
    return out;
  }

 private:
  const char* at_;
};

}  // namespace globaldns::sync::packed
