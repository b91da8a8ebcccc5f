// parse_query: reads a query message into a Query view without allocating (RFC 1035, RFC 6891).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/name.hpp"

namespace globaldns::dns::wire {

enum class QueryStatus : uint8_t {
  Ok,
  Drop,     // shorter than a header, or QR set (a response: answering could loop)
  NotImp,   // opcode other than QUERY; only the header was read
  FormErr,  // header readable, rest malformed
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // as received
  uint8_t opcode = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the question (QTYPE, QCLASS)
  ScannedName qname;        // lower-cased, with label offsets

  bool edns = false;  // an OPT RR was present
  uint16_t edns_udp_size = 0;
  uint8_t edns_version = 0;
  bool edns_do = false;
};

// On Ok every field is set. On FormErr/NotImp only id, flags and opcode are.
// Checks, in order: header present and QR clear; opcode QUERY; QDCOUNT == 1 (RFC 9619);
// ANCOUNT == NSCOUNT == 0 for QUERY; a well-formed question; additional records well formed
// with at most one OPT, whose owner is the root (RFC 6891 §6.1.1).
QueryStatus parse_query(std::span<const uint8_t> msg, Query& out) noexcept;

}  // namespace globaldns::dns::wire
