// QueryLogLine: one query and its response as CoreDNS's `log` plugin prints them by default.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "resolver/answer.hpp"

namespace globaldns::dns {

// What one logged query was: the bytes received and sent, who sent it, over what, how long
// answering took. Nothing is parsed until the line is formatted, so a query that is not
// logged costs nothing.
struct QueryLogRecord {
  std::span<const uint8_t> query;
  std::span<const uint8_t> response;  // empty: nothing was sent
  const sockaddr* remote = nullptr;   // AF_INET or AF_INET6; nullptr prints "-"
  resolver::Transport transport = resolver::Transport::Udp;
  std::chrono::nanoseconds duration{0};
};

// Formats CoreDNS's default log format (plugin/log, plugin/pkg/replacer):
//   {remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}"
//   {rcode} {>rflags} {rsize} {duration}
// e.g. `[::1]:50759 - 29008 "A IN example.org. udp 41 false 4096" NOERROR qr,rd,ra,ad 68
// 0.037990251s`, on one line. As CoreDNS: IPv6 remotes in brackets (an IPv4-mapped one printed
// as IPv4, as Go does), names with RFC 1035 escapes, unknown types as TYPE<n>, bufsize the
// client's EDNS size with a 512 minimum over UDP and 65535 over TCP, a missing value as "-".
// Unlike CoreDNS: rcode 16 is BADVERS (miekg/dns names it BADSIG), and rsize is the size of the
// response as sent (CoreDNS counts it uncompressed). Malformed input gives "-" fields, never a
// read out of bounds. Allocates nothing.
class QueryLogLine {
 public:
  // A 255-octet name escaped as \DDD throughout, plus everything else, fits.
  static constexpr size_t kCapacity = 1536;

  // The line, valid until the next call; without the trailing newline.
  std::string_view format(const QueryLogRecord& record) noexcept;

 private:
  void append(std::string_view text) noexcept;
  void append(char c) noexcept;
  void append_number(uint64_t value) noexcept;

  char text_[kCapacity];
  size_t size_ = 0;
};

}  // namespace globaldns::dns
