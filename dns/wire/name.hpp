// Domain names in wire form: bounded decoding with compression, case folding, text conversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dns/wire/constants.hpp"

namespace globaldns::dns::wire {

enum class NameStatus : uint8_t {
  Ok,
  Truncated,     // ran past the end of the message
  LabelTooLong,  // a label over 63 bytes, or the 0x40/0x80 label types (RFC 6891 §5)
  NameTooLong,   // over 255 bytes in wire form
  BadPointer,    // a pointer that does not point strictly backwards (loops and forward jumps)
  Pointer,       // a pointer where none is allowed (the question name of a query)
};

// ASCII case folding only: DNS compares names case-insensitively in ASCII (RFC 4343).
inline uint8_t fold(uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// A question name, read without compression (a query's first name has nothing before it to
// point at). Fills the lower-cased copy and the offset of each label within the name.
struct ScannedName {
  uint8_t lower[kMaxNameWire];
  uint8_t label_offsets[kMaxLabels];  // offset of each label's length byte, root label excluded
  size_t length = 0;                  // wire length including the root label
  size_t labels = 0;                  // labels excluding the root
};
NameStatus scan_uncompressed_name(std::span<const uint8_t> msg, size_t pos,
                                  ScannedName& out) noexcept;

// Advances `pos` past a possibly-compressed name anywhere in `msg`, checking every pointer
// it would follow (backwards only, total length <= 255) without copying.
NameStatus skip_name(std::span<const uint8_t> msg, size_t& pos) noexcept;

// Decodes a possibly-compressed name at `pos` into `out` (uncompressed wire form); `pos`
// moves past the name as it stands in the message. Returns the wire length in `length`.
NameStatus decode_name(std::span<const uint8_t> msg, size_t& pos, uint8_t (&out)[kMaxNameWire],
                       size_t& length) noexcept;

// "Foo.Bar." or "foo.bar" -> lower-cased wire form. nullopt for empty labels, labels over 63
// bytes or names over 255. "." and "" are the root. Control plane only: allocates.
std::optional<std::string> text_to_wire(std::string_view text);

// Wire form (uncompressed, well formed) -> "foo.bar." text; the root is ".".
std::string wire_to_text(std::span<const uint8_t> wire);

}  // namespace globaldns::dns::wire
