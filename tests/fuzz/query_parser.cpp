// Fuzz target query_parser: our zero-allocation parse_query against ldns's ldns_wire2pkt.
//
// Where we accept a query, ldns must accept it too (or the part of it we read, see below) and
// agree on the question (name case-insensitively, type, class) and on EDNS (presence, UDP size,
// version, DO). Where we reject and ldns accepts, the reason must be one of our deliberate
// rules, each listed below; any other disagreement aborts.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "dns/wire/constants.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/query.hpp"
#include "tests/support/ldns_check.hpp"

// After the C++ headers: ldns's common.h redefines `bool` for C, which breaks <optional>.
#include <ldns/ldns.h>

namespace {

namespace w = globaldns::dns::wire;
using globaldns::testing::decode;
using globaldns::testing::LdnsPkt;

[[noreturn]] void disagree(const char* what) {
  std::fprintf(stderr, "query_parser: parse_query and ldns disagree: %s\n", what);
  std::abort();
}

// True when the question name, walked label by label from offset 12, reaches a compression
// pointer before its end or the end of the message.
bool question_compressed(std::span<const uint8_t> msg) {
  size_t pos = w::kHeaderSize;
  while (pos < msg.size()) {
    const uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) return true;
    if (len == 0) return false;
    pos += 1 + (len & 0x3F);
  }
  return false;
}

// Header (QD=1, AN=NS=0, AR = 1 if an OPT was read), question, and the OPT record exactly as
// sent: the part of the message parse_query reads, without the other additional records.
std::vector<uint8_t> read_part(std::span<const uint8_t> msg, const w::Query& q) {
  std::vector<uint8_t> out(msg.begin(), msg.begin() + static_cast<ptrdiff_t>(q.question_end));
  w::store16(out.data() + 4, 1);
  w::store16(out.data() + 6, 0);
  w::store16(out.data() + 8, 0);
  w::store16(out.data() + 10, q.edns ? 1 : 0);
  if (!q.edns) return out;
  // parse_query accepted the message, so every additional record is well formed.
  size_t pos = q.question_end;
  const uint16_t arcount = w::load16(msg.data() + 10);
  for (uint16_t i = 0; i < arcount; ++i) {
    const size_t owner = pos;
    if (w::skip_name(msg, pos) != w::NameStatus::Ok) disagree("re-walk of an accepted message");
    const uint16_t type = w::load16(msg.data() + pos);
    const size_t end = pos + 10 + w::load16(msg.data() + pos + 8);
    if (type == w::rrtype::OPT) {
      out.insert(out.end(), msg.begin() + static_cast<ptrdiff_t>(owner),
                 msg.begin() + static_cast<ptrdiff_t>(end));
      break;
    }
    pos = end;
  }
  return out;
}

void compare_accepted(const w::Query& q, const ldns_pkt* pkt) {
  if (ldns_pkt_qdcount(pkt) != 1) disagree("question count");
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
  const ldns_rdf* owner = ldns_rr_owner(question);
  if (ldns_rdf_size(owner) != q.qname.length) disagree("qname length");
  const uint8_t* theirs = ldns_rdf_data(owner);
  for (size_t i = 0; i < q.qname.length; ++i)
    if (std::tolower(theirs[i]) != q.qname.lower[i]) disagree("qname");
  if (ldns_rr_get_type(question) != q.qtype) disagree("qtype");
  if (ldns_rr_get_class(question) != q.qclass) disagree("qclass");
  if (q.edns) {
    if (ldns_pkt_edns_udp_size(pkt) != q.edns_udp_size) disagree("EDNS UDP size");
    if (ldns_pkt_edns_version(pkt) != q.edns_version) disagree("EDNS version");
    if (ldns_pkt_edns_do(pkt) != q.edns_do) disagree("EDNS DO bit");
    // ldns 1.8's ldns_pkt_edns() also counts an OPT whose fields are all zero.
    if (!ldns_pkt_edns(pkt)) disagree("EDNS presence (ldns saw no OPT)");
  } else if (ldns_pkt_edns(pkt)) {
    disagree("EDNS presence (we saw no OPT)");
  }
}

void check_rejected(std::span<const uint8_t> msg, w::QueryStatus status, const w::Query& q) {
  if (!decode(msg.data(), msg.size())) return;  // both reject
  // By design we reject, where ldns parses:
  // - a response (QR set): answering responses invites reflection loops;
  if (status == w::QueryStatus::Drop && (q.flags & w::flag::QR)) return;
  // - any opcode but QUERY (NOTIMP; only the header is read);
  if (status == w::QueryStatus::NotImp) return;
  if (status != w::QueryStatus::FormErr) disagree("dropped a message ldns parses");
  // - QDCOUNT != 1 (RFC 9619), answer or authority records in a QUERY (as NSD);
  const uint8_t* h = msg.data();
  if (w::load16(h + 4) != 1 || w::load16(h + 6) != 0 || w::load16(h + 8) != 0) return;
  // - a compression pointer in the question name (nothing precedes it to point to);
  if (question_compressed(msg)) return;
  // - in the additional section: pointers that do not point strictly backwards, an OPT whose
  //   owner is not the root or a second OPT (RFC 6891 §6.1.1), an OPT option overrunning the
  //   rdata. ldns is laxer on all of these. The question itself must then have parsed:
  std::vector<uint8_t> question_only(msg.begin(), msg.end());
  w::store16(question_only.data() + 10, 0);
  w::Query again;
  if (w::parse_query(question_only, again) == w::QueryStatus::Ok) return;
  disagree("rejected a question ldns parses");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> msg(data, size);
  w::Query q;
  const w::QueryStatus status = w::parse_query(msg, q);
  if (status != w::QueryStatus::Ok) {
    check_rejected(msg, status, q);
    return 0;
  }
  // By design we read only the question and the OPT record, skipping the rdata of other
  // additional records (TSIG, SIG(0), stray A records), and tolerate trailing bytes (as NSD
  // and Knot). ldns decodes every record's rdata: it may reject one, and reads some fields past
  // RDLENGTH (corpus/found_ldns_reads_rp_rdata_past_rdlength: a 1-byte RP record moved its view
  // of the OPT that follows). So with other additional records, ldns judges only the part we
  // read; what we read must still satisfy ldns.
  const bool only_opt = w::load16(data + 10) == (q.edns ? 1 : 0);
  if (LdnsPkt pkt = only_opt ? decode(data, size) : nullptr) {
    compare_accepted(q, pkt.get());
    return 0;
  }
  const std::vector<uint8_t> part = read_part(msg, q);
  LdnsPkt pkt = decode(part.data(), part.size());
  if (!pkt) disagree("accepted a question or OPT record ldns rejects");
  compare_accepted(q, pkt.get());
  return 0;
}
