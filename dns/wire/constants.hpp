// DNS wire constants: header layout, types, classes, opcodes and rcodes (RFC 1035 §4.1, RFC 6891).
#pragma once

#include <cstddef>
#include <cstdint>

namespace globaldns::dns::wire {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;      // RFC 1035 §2.3.4
inline constexpr size_t kMaxLabel = 63;          // RFC 1035 §2.3.4
inline constexpr size_t kMaxLabels = 128;        // 255 bytes hold at most 127 labels plus root
inline constexpr size_t kUdpClassicLimit = 512;  // RFC 1035 §4.2.1
inline constexpr size_t kTcpLimit = 65535;       // RFC 1035 §4.2.2 two-byte length
inline constexpr size_t kOptRrSize = 11;  // root owner + type + class + ttl + rdlen, no options
inline constexpr uint16_t kQuestionPointer = 0xC00C;  // compression pointer to the question name

namespace rrtype {
inline constexpr uint16_t A = 1;
inline constexpr uint16_t NS = 2;
inline constexpr uint16_t SOA = 6;
inline constexpr uint16_t TXT = 16;
inline constexpr uint16_t AAAA = 28;
inline constexpr uint16_t OPT = 41;
inline constexpr uint16_t IXFR = 251;
inline constexpr uint16_t AXFR = 252;
inline constexpr uint16_t ANY = 255;
}  // namespace rrtype

namespace rrclass {
inline constexpr uint16_t IN = 1;
inline constexpr uint16_t CH = 3;
}  // namespace rrclass

namespace rcode {
inline constexpr uint8_t NoError = 0;
inline constexpr uint8_t FormErr = 1;
inline constexpr uint8_t ServFail = 2;
inline constexpr uint8_t NxDomain = 3;
inline constexpr uint8_t NotImp = 4;
inline constexpr uint8_t Refused = 5;
inline constexpr uint16_t BadVers =
    16;  // extended: upper 8 bits live in the OPT TTL (RFC 6891 §6.1.3)
}  // namespace rcode

inline constexpr uint8_t kOpcodeQuery = 0;

// Header flag bits in the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.2).
namespace flag {
inline constexpr uint16_t QR = 0x8000;
inline constexpr uint16_t AA = 0x0400;
inline constexpr uint16_t TC = 0x0200;
inline constexpr uint16_t RD = 0x0100;
inline constexpr uint16_t RA = 0x0080;
inline constexpr uint16_t AD = 0x0020;
inline constexpr uint16_t CD = 0x0010;
inline constexpr uint16_t OpcodeMask = 0x7800;
inline constexpr uint16_t RcodeMask = 0x000F;
}  // namespace flag

inline constexpr uint16_t kEdnsDo = 0x8000;  // DO bit in the OPT TTL's low 16 bits (RFC 3225)

inline uint16_t load16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((static_cast<uint16_t>(p[0]) << 8) | p[1]);
}
inline uint32_t load32(const uint8_t* p) noexcept {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline void store16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace globaldns::dns::wire
