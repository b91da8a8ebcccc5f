// QueryLogLine: parses the few fields a log line needs from the query and response bytes.
#include "dns/server/query_log_line.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace globaldns::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kTypeOpt = 41;
constexpr size_t kMaxNameWire = 255;  // RFC 1035 §3.1

uint16_t read16(std::span<const uint8_t> m, size_t at) noexcept {
  return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

uint32_t read32(std::span<const uint8_t> m, size_t at) noexcept {
  return (uint32_t{read16(m, at)} << 16) | read16(m, at + 2);
}

// The offset just past the name at `at` (a compression pointer ends it), or nullopt.
std::optional<size_t> skip_name(std::span<const uint8_t> m, size_t at) noexcept {
  for (size_t labels = 0; labels < 128; ++labels) {
    if (at >= m.size()) return std::nullopt;
    const uint8_t length = m[at];
    if ((length & 0xC0) == 0xC0) return at + 2 <= m.size() ? std::optional(at + 2) : std::nullopt;
    if ((length & 0xC0) != 0) return std::nullopt;  // 0x40, 0x80: unassigned label types
    at += 1 + length;
    if (length == 0) return at;
  }
  return std::nullopt;
}

struct Opt {
  uint16_t udp_size = 0;
  uint32_t ttl = 0;  // extended RCODE, version, DO and Z (RFC 6891 §6.1.3)
};

// The OPT RR of a message's additional section, if it has one and the message can be walked
// that far.
std::optional<Opt> find_opt(std::span<const uint8_t> m) noexcept {
  if (m.size() < kHeaderSize) return std::nullopt;
  size_t at = kHeaderSize;
  for (uint16_t i = 0, n = read16(m, 4); i < n; ++i) {
    const auto end = skip_name(m, at);
    if (!end || *end + 4 > m.size()) return std::nullopt;
    at = *end + 4;
  }
  const unsigned before_additional = unsigned{read16(m, 6)} + read16(m, 8);
  const unsigned records = before_additional + read16(m, 10);
  for (unsigned i = 0; i < records; ++i) {
    const auto end = skip_name(m, at);
    if (!end || *end + 10 > m.size()) return std::nullopt;
    const size_t rdata = *end + 10;
    const size_t next = rdata + read16(m, *end + 8);
    if (next > m.size()) return std::nullopt;
    if (i >= before_additional && read16(m, *end) == kTypeOpt) {
      return Opt{read16(m, *end + 2), read32(m, *end + 4)};
    }
    at = next;
  }
  return std::nullopt;
}

std::string_view type_name(uint16_t type) noexcept {
  switch (type) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 12:
      return "PTR";
    case 13:
      return "HINFO";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 33:
      return "SRV";
    case 35:
      return "NAPTR";
    case 39:
      return "DNAME";
    case 41:
      return "OPT";
    case 43:
      return "DS";
    case 46:
      return "RRSIG";
    case 47:
      return "NSEC";
    case 48:
      return "DNSKEY";
    case 50:
      return "NSEC3";
    case 51:
      return "NSEC3PARAM";
    case 52:
      return "TLSA";
    case 64:
      return "SVCB";
    case 65:
      return "HTTPS";
    case 99:
      return "SPF";
    case 251:
      return "IXFR";
    case 252:
      return "AXFR";
    case 255:
      return "ANY";
    case 257:
      return "CAA";
    default:
      return {};
  }
}

std::string_view class_name(uint16_t klass) noexcept {
  switch (klass) {
    case 1:
      return "IN";
    case 3:
      return "CH";
    case 4:
      return "HS";
    case 254:
      return "NONE";
    case 255:
      return "ANY";
    default:
      return {};
  }
}

// miekg/dns's RcodeToString, but for 16, which answers a query as BADVERS (RFC 6891 §9).
std::string_view rcode_name(unsigned rcode) noexcept {
  static constexpr std::string_view kNames[] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", {},        {},        {},         {},
      "BADVERS", "BADKEY",  "BADTIME",  "BADMODE",   "BADNAME", "BADALG",  "BADTRUNC", "BADCOOKIE"};
  return rcode < std::size(kNames) ? kNames[rcode] : std::string_view{};
}

}  // namespace

void QueryLogLine::append(std::string_view text) noexcept {
  const size_t n = std::min(text.size(), kCapacity - size_);
  std::memcpy(text_ + size_, text.data(), n);
  size_ += n;
}

void QueryLogLine::append(char c) noexcept {
  if (size_ < kCapacity) text_[size_++] = c;
}

void QueryLogLine::append_number(uint64_t value) noexcept {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n != 0) append(digits[--n]);
}

std::string_view QueryLogLine::format(const QueryLogRecord& record) noexcept {
  size_ = 0;
  const std::span<const uint8_t> q = record.query;
  const std::span<const uint8_t> r = record.response;
  const bool tcp = record.transport == resolver::Transport::Tcp;

  // {remote}:{port}
  char address[INET6_ADDRSTRLEN] = "-";
  uint16_t port = 0;
  bool bracket = false;
  if (record.remote != nullptr && record.remote->sa_family == AF_INET) {
    sockaddr_in a;
    std::memcpy(&a, record.remote, sizeof a);
    inet_ntop(AF_INET, &a.sin_addr, address, sizeof address);
    port = ntohs(a.sin_port);
  } else if (record.remote != nullptr && record.remote->sa_family == AF_INET6) {
    sockaddr_in6 a;
    std::memcpy(&a, record.remote, sizeof a);
    port = ntohs(a.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], address, sizeof address);
    } else {
      inet_ntop(AF_INET6, &a.sin6_addr, address, sizeof address);
      bracket = true;
    }
  }
  if (bracket) append('[');
  append(std::string_view(address));
  if (bracket) append(']');
  append(':');
  if (port != 0) {
    append_number(port);
  } else {
    append('-');
  }

  // - {>id}
  append(" - ");
  if (q.size() >= kHeaderSize) {
    append_number(read16(q, 0));
  } else {
    append('-');
  }

  // "{type} {class} {name}: the first question, as sent (case kept, RFC 1035 §5.1 escapes).
  append(" \"");
  const size_t question_at = size_;
  bool question_ok = false;
  if (q.size() >= kHeaderSize && read16(q, 4) >= 1) {
    size_t at = kHeaderSize;
    size_t wire = 0;
    char name[kCapacity];
    size_t name_size = 0;
    auto put = [&](char c) {
      if (name_size < sizeof name) name[name_size++] = c;
    };
    for (;;) {
      if (at >= q.size()) break;
      const uint8_t length = q[at];
      if ((length & 0xC0) != 0) break;  // a query's question is not compressed
      wire += 1 + length;
      if (wire > kMaxNameWire || at + 1 + length > q.size()) break;
      if (length == 0) {
        if (name_size == 0) put('.');
        at += 1;
        question_ok = at + 4 <= q.size();
        break;
      }
      for (size_t i = at + 1; i <= at + length; ++i) {
        const auto c = static_cast<char>(q[i]);
        if (q[i] < 0x20 || q[i] > 0x7E) {
          put('\\');
          put(static_cast<char>('0' + q[i] / 100));
          put(static_cast<char>('0' + q[i] / 10 % 10));
          put(static_cast<char>('0' + q[i] % 10));
        } else {
          if (std::strchr(". '@;()\"\\", c) != nullptr) put('\\');  // miekg/dns's specials
          put(c);
        }
      }
      put('.');
      at += 1 + length;
    }
    if (question_ok) {
      const uint16_t type = read16(q, at);
      const uint16_t klass = read16(q, at + 2);
      if (const std::string_view t = type_name(type); !t.empty()) {
        append(t);
      } else {
        append("TYPE");
        append_number(type);
      }
      append(' ');
      if (const std::string_view c = class_name(klass); !c.empty()) {
        append(c);
      } else {
        append("CLASS");
        append_number(klass);
      }
      append(' ');
      append(std::string_view(name, name_size));
    }
  }
  if (!question_ok) {
    size_ = question_at;
    append("- - -");
  }

  // {proto} {size} {>do} {>bufsize}"
  append(tcp ? " tcp " : " udp ");
  append_number(q.size());
  const std::optional<Opt> query_opt = find_opt(q);
  append((query_opt && (query_opt->ttl & 0x8000) != 0) ? " true " : " false ");
  // CoreDNS request.Size() through edns.Size(): 65535 over TCP, at least 512 over UDP.
  append_number(tcp ? 65535 : std::max<unsigned>(512, query_opt ? query_opt->udp_size : 0));
  append("\" ");

  // {rcode} {>rflags} {rsize}
  if (r.size() >= kHeaderSize) {
    unsigned rcode = r[3] & 0x0F;
    if (const std::optional<Opt> opt = find_opt(r)) rcode |= (opt->ttl >> 24) << 4;
    if (const std::string_view name = rcode_name(rcode); !name.empty()) {
      append(name);
    } else {
      append_number(rcode);
    }
    append(' ');
    // The order of miekg/dns's MsgHdr, as CoreDNS's appendFlags prints them.
    static constexpr struct {
      size_t byte;
      uint8_t bit;
      std::string_view name;
    } kFlags[] = {{2, 0x80, "qr"}, {2, 0x04, "aa"}, {2, 0x02, "tc"}, {2, 0x01, "rd"},
                  {3, 0x80, "ra"}, {3, 0x40, "z"},  {3, 0x20, "ad"}, {3, 0x10, "cd"}};
    bool first = true;
    for (const auto& flag : kFlags) {
      if ((r[flag.byte] & flag.bit) == 0) continue;
      if (!first) append(',');
      append(flag.name);
      first = false;
    }
  } else {
    append("- -");
  }
  append(' ');
  append_number(r.size());

  // {duration}: seconds as Go's FormatFloat(d.Seconds(), 'f', -1, 64) prints them.
  append(' ');
  const uint64_t ns =
      record.duration.count() > 0 ? static_cast<uint64_t>(record.duration.count()) : 0;
  append_number(ns / 1000000000);
  uint64_t fraction = ns % 1000000000;
  if (fraction != 0) {
    char digits[9];
    for (int i = 8; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + fraction % 10);
      fraction /= 10;
    }
    size_t n = 9;
    while (digits[n - 1] == '0') --n;
    append('.');
    append(std::string_view(digits, n));
  }
  append('s');
  return {text_, size_};
}

}  // namespace globaldns::dns
