// Domain-name decoding and conversion; every read is bounds-checked against the message.
#include "dns/wire/name.hpp"

namespace globaldns::dns::wire {

NameStatus scan_uncompressed_name(std::span<const uint8_t> msg, size_t pos,
                                  ScannedName& out) noexcept {
  size_t length = 0;
  size_t labels = 0;
  for (;;) {
    if (pos >= msg.size()) return NameStatus::Truncated;
    const uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) return NameStatus::Pointer;
    if (len > kMaxLabel) return NameStatus::LabelTooLong;  // 0x40 and 0x80 label types
    if (length + 1 + len > kMaxNameWire) return NameStatus::NameTooLong;
    if (pos + 1 + len > msg.size()) return NameStatus::Truncated;
    out.lower[length] = len;
    if (len == 0) {
      out.length = length + 1;
      out.labels = labels;
      return NameStatus::Ok;
    }
    out.label_offsets[labels++] = static_cast<uint8_t>(length);
    const uint8_t* src = msg.data() + pos + 1;
    uint8_t* dst = out.lower + length + 1;
    for (size_t i = 0; i < len; ++i) dst[i] = fold(src[i]);
    length += 1 + len;
    pos += 1 + len;
  }
}

namespace {

// Walks a name following pointers; `sink` sees each label (length byte first). Pointers must
// point strictly before the start of the name part that holds them, which rules out loops
// (Knot's dname check does the same), and the expanded name stays within 255 bytes.
template <typename Sink>
NameStatus walk_name(std::span<const uint8_t> msg, size_t& pos, Sink&& sink) noexcept {
  size_t cur = pos;
  size_t part_start = pos;
  size_t expanded = 0;
  bool jumped = false;
  for (;;) {
    if (cur >= msg.size()) return NameStatus::Truncated;
    const uint8_t len = msg[cur];
    if ((len & 0xC0) == 0xC0) {
      if (cur + 1 >= msg.size()) return NameStatus::Truncated;
      const size_t target = static_cast<size_t>(((len & 0x3F) << 8) | msg[cur + 1]);
      if (target >= part_start) return NameStatus::BadPointer;
      if (!jumped) pos = cur + 2;
      jumped = true;
      cur = target;
      part_start = target;
      continue;
    }
    if (len > kMaxLabel) return NameStatus::LabelTooLong;
    if (expanded + 1 + len > kMaxNameWire) return NameStatus::NameTooLong;
    if (cur + 1 + len > msg.size()) return NameStatus::Truncated;
    sink(msg.data() + cur, static_cast<size_t>(len) + 1, expanded);
    expanded += 1 + len;
    cur += 1 + len;
    if (len == 0) {
      if (!jumped) pos = cur;
      return NameStatus::Ok;
    }
  }
}

}  // namespace

NameStatus skip_name(std::span<const uint8_t> msg, size_t& pos) noexcept {
  return walk_name(msg, pos, [](const uint8_t*, size_t, size_t) {});
}

NameStatus decode_name(std::span<const uint8_t> msg, size_t& pos, uint8_t (&out)[kMaxNameWire],
                       size_t& length) noexcept {
  size_t total = 0;
  const NameStatus st = walk_name(msg, pos, [&](const uint8_t* label, size_t n, size_t at) {
    for (size_t i = 0; i < n; ++i) out[at + i] = label[i];
    total = at + n;
  });
  length = st == NameStatus::Ok ? total : 0;
  return st;
}

std::optional<std::string> text_to_wire(std::string_view text) {
  if (text == "." || text.empty()) return std::string(1, '\0');
  if (text.back() == '.') text.remove_suffix(1);
  std::string wire;
  wire.reserve(text.size() + 2);
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    const size_t len = dot - start;
    if (len == 0 || len > kMaxLabel) return std::nullopt;
    wire.push_back(static_cast<char>(len));
    for (size_t i = start; i < dot; ++i) wire.push_back(static_cast<char>(fold(text[i])));
    start = dot + 1;
  }
  wire.push_back('\0');
  if (wire.size() > kMaxNameWire) return std::nullopt;
  return wire;
}

std::string wire_to_text(std::span<const uint8_t> wire) {
  std::string text;
  size_t pos = 0;
  while (pos < wire.size() && wire[pos] != 0) {
    const size_t len = wire[pos];
    if (pos + 1 + len > wire.size()) break;
    for (size_t i = 0; i < len; ++i) {
      const char c = static_cast<char>(wire[pos + 1 + i]);
      if (c == '.' || c == '\\') text.push_back('\\');
      text.push_back(c);
    }
    text.push_back('.');
    pos += 1 + len;
  }
  return text.empty() ? std::string(".") : text;
}

}  // namespace globaldns::dns::wire
