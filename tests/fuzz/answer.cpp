// Fuzz target answer: any bytes through the workers' answer path (resolver::answer over UDP and
// TCP, with a snapshot and before one is published). Each response must be a drop, or a message
// ldns parses, with the query's ID, QR set, the question echoed byte for byte when it was read,
// and no larger than the transport allows (512 without EDNS, the client's EDNS size clamped to
// [512, ours] over UDP, 65535 over TCP). Likewise the RRL slip of the same bytes.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "dns/wire/constants.hpp"
#include "dns/wire/query.hpp"
#include "resolver/answer.hpp"
#include "resolver/snapshot.hpp"
#include "tests/fuzz/test_zone_snapshot.hpp"
#include "tests/support/ldns_check.hpp"

// After the C++ headers: ldns's common.h redefines `bool` for C, which breaks <optional>.
#include <ldns/ldns.h>

namespace {

namespace r = globaldns::resolver;
namespace w = globaldns::dns::wire;
using globaldns::testing::decode;
using globaldns::testing::LdnsPkt;

[[noreturn]] void fail(const char* what) {
  globaldns::fuzz::fail("answer", what);
}

const r::Snapshot* snapshot() {
  return globaldns::fuzz::test_zone_snapshot();
}

void check(const r::Snapshot* snap, std::span<const uint8_t> query, r::Transport transport) {
  static std::vector<uint8_t> out(w::kTcpLimit);
  const r::AnswerResult res = r::answer(snap, query, out, transport);

  w::Query q;
  const w::QueryStatus status = w::parse_query(query, q);
  if (res.outcome == r::Outcome::Drop) {
    if (res.size != 0) fail("a drop wrote bytes");
    if (status != w::QueryStatus::Drop) fail("dropped a query parse_query does not drop");
    return;
  }
  if (status == w::QueryStatus::Drop) fail("answered a message parse_query drops");

  size_t allowance = w::kTcpLimit;
  if (transport == r::Transport::Udp) {
    const size_t ours = snap ? snap->edns_udp_size() : w::kUdpClassicLimit;
    allowance = w::kUdpClassicLimit;
    if (status == w::QueryStatus::Ok && q.edns)
      allowance = std::max<size_t>(w::kUdpClassicLimit, std::min<size_t>(q.edns_udp_size, ours));
  }
  if (res.size < w::kHeaderSize) fail("a response shorter than a header");
  if (res.size > allowance) fail("a response over the transport's allowance");

  const LdnsPkt pkt = decode(out.data(), res.size);
  if (!pkt) fail("ldns cannot parse the response");
  if (ldns_pkt_id(pkt.get()) != w::load16(query.data())) fail("response ID differs");
  if (!ldns_pkt_qr(pkt.get())) fail("response without QR");
  if (status == w::QueryStatus::Ok && res.outcome != r::Outcome::FormErr) {
    if (ldns_pkt_qdcount(pkt.get()) != 1) fail("question count is not 1");
    if (std::memcmp(out.data() + w::kHeaderSize, query.data() + w::kHeaderSize,
                    q.question_end - w::kHeaderSize) != 0)
      fail("question not echoed byte for byte");
    if (ldns_pkt_edns(pkt.get()) != q.edns) fail("OPT in the response but not the query, or back");
  }
}

// The RRL slip (resolver::slip_answer): nothing, or the question mirrored with TC, NOERROR,
// no records but an OPT, and never larger than the query's header, question and an OPT.
void check_slip(std::span<const uint8_t> query) {
  static std::vector<uint8_t> out(w::kTcpLimit);
  const size_t size = r::slip_answer(snapshot(), query, out);
  w::Query q;
  const w::QueryStatus status = w::parse_query(query, q);
  if (status != w::QueryStatus::Ok) {
    if (size != 0) fail("a slip for a query with no question to mirror");
    return;
  }
  if (size != q.question_end + (q.edns ? w::kOptRrSize : 0)) fail("a slip of the wrong size");
  const LdnsPkt pkt = decode(out.data(), size);
  if (!pkt) fail("ldns cannot parse the slip");
  if (!ldns_pkt_qr(pkt.get()) || !ldns_pkt_tc(pkt.get())) fail("a slip without QR and TC");
  if (ldns_pkt_get_rcode(pkt.get()) != LDNS_RCODE_NOERROR) fail("a slip with an error rcode");
  if (ldns_pkt_ancount(pkt.get()) != 0 || ldns_pkt_nscount(pkt.get()) != 0)
    fail("a slip with records");
  if (std::memcmp(out.data() + w::kHeaderSize, query.data() + w::kHeaderSize,
                  q.question_end - w::kHeaderSize) != 0)
    fail("slip question not echoed byte for byte");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> query(data, size);
  const r::Snapshot* snap = snapshot();
  check(snap, query, r::Transport::Udp);
  check(snap, query, r::Transport::Tcp);
  check(nullptr, query, r::Transport::Udp);  // nothing published yet: SERVFAIL in zone
  check_slip(query);
  return 0;
}
