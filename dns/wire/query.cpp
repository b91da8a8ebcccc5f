// Query parsing in RFC order; the first failure decides the status.
#include "dns/wire/query.hpp"

#include "dns/wire/constants.hpp"

namespace globaldns::dns::wire {

QueryStatus parse_query(std::span<const uint8_t> msg, Query& out) noexcept {
  if (msg.size() < kHeaderSize) return QueryStatus::Drop;
  const uint8_t* h = msg.data();
  out.id = load16(h);
  out.flags = load16(h + 2);
  out.opcode = static_cast<uint8_t>((out.flags & flag::OpcodeMask) >> 11);
  out.edns = false;
  out.edns_do = false;
  // A message with QR set is a response; answering it invites reflection loops.
  if (out.flags & flag::QR) return QueryStatus::Drop;
  if (out.opcode != kOpcodeQuery) return QueryStatus::NotImp;
  const uint16_t qdcount = load16(h + 4);
  const uint16_t ancount = load16(h + 6);
  const uint16_t nscount = load16(h + 8);
  const uint16_t arcount = load16(h + 10);
  // RFC 9619: QUERY carries exactly one question. Answer and authority sections are
  // meaningless in a QUERY (NSD answers FORMERR too).
  if (qdcount != 1 || ancount != 0 || nscount != 0) return QueryStatus::FormErr;

  size_t pos = kHeaderSize;
  if (scan_uncompressed_name(msg, pos, out.qname) != NameStatus::Ok) return QueryStatus::FormErr;
  pos += out.qname.length;
  if (pos + 4 > msg.size()) return QueryStatus::FormErr;
  out.qtype = load16(h + pos);
  out.qclass = load16(h + pos + 2);
  pos += 4;
  out.question_end = pos;

  for (uint16_t i = 0; i < arcount; ++i) {
    const size_t owner = pos;
    if (skip_name(msg, pos) != NameStatus::Ok) return QueryStatus::FormErr;
    if (pos + 10 > msg.size()) return QueryStatus::FormErr;
    const uint16_t type = load16(h + pos);
    const uint16_t rdlen = load16(h + pos + 8);
    if (pos + 10 + rdlen > msg.size()) return QueryStatus::FormErr;
    if (type == rrtype::OPT) {
      // RFC 6891 §6.1.1: one OPT, owner the root name.
      if (out.edns || msg[owner] != 0 || pos != owner + 1) return QueryStatus::FormErr;
      out.edns = true;
      out.edns_udp_size = load16(h + pos + 2);
      out.edns_version = h[pos + 5];
      out.edns_do = (load16(h + pos + 6) & kEdnsDo) != 0;
      // Options are not validated one by one: we implement none, and RFC 6891 §6.1.2 says
      // unknown options are ignored; a malformed option list still must stay within rdata.
      size_t opt = pos + 10;
      const size_t end = opt + rdlen;
      while (opt < end) {
        if (opt + 4 > end) return QueryStatus::FormErr;
        const uint16_t olen = load16(h + opt + 2);
        if (opt + 4 + olen > end) return QueryStatus::FormErr;
        opt += 4 + olen;
      }
    }
    pos += 10 + rdlen;
  }
  // Trailing bytes after the counted records are tolerated, as NSD and Knot do.
  return QueryStatus::Ok;
}

}  // namespace globaldns::dns::wire
