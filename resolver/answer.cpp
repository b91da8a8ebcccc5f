// The answer engine: decide the outcome first, then copy pre-encoded bytes (NSD answer.c, Knot
// internet.c). Runs per query: noexcept, no allocation, no lock.
#include "resolver/answer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "dns/wire/constants.hpp"
#include "dns/wire/query.hpp"
#include "resolver/snapshot.hpp"

namespace globaldns::resolver {

namespace w = dns::wire;

namespace {

// Writes into the caller's buffer up to `limit`, whole records at a time.
class ResponseWriter {
 public:
  ResponseWriter(uint8_t* out, size_t limit) : out_(out), limit_(limit) {}

  size_t size() const noexcept { return pos_; }
  size_t room() const noexcept { return limit_ - pos_; }
  bool fits(size_t n) const noexcept { return n <= room(); }
  void append(const void* data, size_t n) noexcept {
    std::memcpy(out_ + pos_, data, n);
    pos_ += n;
  }
  // The next n bytes, for the caller to fill; n must fit.
  uint8_t* take(size_t n) noexcept {
    uint8_t* at = out_ + pos_;
    pos_ += n;
    return at;
  }
  void append16(uint16_t v) noexcept {
    w::store16(out_ + pos_, v);
    pos_ += 2;
  }
  uint8_t* data() noexcept { return out_; }
  // Reserves space that must stay free (the OPT RR) so sections cannot crowd it out.
  void reserve_tail(size_t n) noexcept { limit_ -= n; }
  void release_tail(size_t n) noexcept { limit_ += n; }

 private:
  uint8_t* out_;
  size_t limit_;
  size_t pos_ = 0;
};

struct Sections {
  uint16_t an = 0;
  uint16_t ns = 0;
  uint16_t ar = 0;
};

// Header for every reply: ID copied, QR set, opcode copied, RD and CD copied (RFC 1035 §4.1.1,
// RFC 6840 §5.9), RA never set (we do not recurse), AA chosen by the caller.
void write_header(uint8_t* out, uint16_t id, uint16_t query_flags, uint16_t rcode_low,
                  bool authoritative, bool truncated, uint16_t qd, const Sections& s) noexcept {
  uint16_t flags = w::flag::QR | (query_flags & (w::flag::OpcodeMask | w::flag::RD | w::flag::CD));
  if (authoritative) flags |= w::flag::AA;
  if (truncated) flags |= w::flag::TC;
  flags |= rcode_low & w::flag::RcodeMask;
  w::store16(out, id);
  w::store16(out + 2, flags);
  w::store16(out + 4, qd);
  w::store16(out + 6, s.an);
  w::store16(out + 8, s.ns);
  w::store16(out + 10, s.ar);
}

// OPT RR (RFC 6891 §6.1.2): root owner, our payload size, extended rcode bits, version 0,
// DO copied (RFC 3225 §3), no options.
void write_opt(ResponseWriter& wr, uint16_t udp_size, uint16_t rcode, bool dnssec_ok) noexcept {
  uint8_t opt[w::kOptRrSize] = {0, 0, w::rrtype::OPT, 0, 0, 0, 0, 0, 0, 0, 0};
  w::store16(opt + 3, udp_size);
  opt[5] = static_cast<uint8_t>(rcode >> 4);
  opt[6] = 0;  // version
  w::store16(opt + 7, dnssec_ok ? w::kEdnsDo : 0);
  wr.append(opt, sizeof opt);
}

// The EDNS payload size we announce; before the first snapshot, DNS Flag Day 2020's 1232.
uint16_t our_udp_size(const Snapshot* snap) noexcept {
  return snap ? snap->edns_udp_size() : 1232;
}

// Header-only reply, for queries we could not read past the header (FORMERR, NOTIMP).
AnswerResult header_only(const w::Query& q, std::span<uint8_t> out, uint8_t rcode,
                         Outcome outcome) noexcept {
  write_header(out.data(), q.id, q.flags, rcode, false, false, 0, Sections{});
  AnswerResult r;
  r.outcome = outcome;
  r.id = q.id;
  r.rcode = rcode;
  r.size = w::kHeaderSize;
  return r;
}

// What the query said, for the transports' counters and logs (AnswerResult).
AnswerResult describe(const w::Query& q) noexcept {
  AnswerResult r;
  r.edns = q.edns;
  r.dnssec_ok = q.edns_do;
  r.id = q.id;
  r.qtype = q.qtype;
  r.qclass = q.qclass;
  r.edns_udp_size = q.edns_udp_size;
  return r;
}

struct Decision {
  Outcome outcome;
  NodeRef node;  // node whose RRsets answer (the wildcard's for synthesis)
  int zone = -1;
};

// RFC 1034 §4.3.2 step 3 and RFC 4592 §3.3.1: exact match, else the closest encloser and
// its wildcard child, else NXDOMAIN.
Decision lookup(const Snapshot& snap, const w::ScannedName& qn, int zone) noexcept {
  const NodeRef exact = snap.find(qn.lower, qn.length, zone);
  if (exact) return {Outcome::Hit, exact, zone};
  const size_t apex_len = snap.zones()[zone].apex_wire.size();
  for (size_t l = 1; l < qn.labels; ++l) {
    const size_t off = qn.label_offsets[l];
    if (qn.length - off < apex_len) break;
    // Inside the query's zone (at or below its apex), so of the same longest zone.
    const NodeRef encloser = snap.find(qn.lower + off, qn.length - off, zone);
    if (!encloser) continue;
    // The wildcard child lives in the encloser's shard (Snapshot::shard_hash).
    const uint32_t wild = encloser.shard->wildcard_child(*encloser.node);
    if (wild != kNoNode) return {Outcome::Hit, {encloser.shard, &encloser.shard->node(wild)}, zone};
    return {Outcome::NxDomain, {}, zone};
  }
  return {Outcome::NxDomain, {}, zone};
}

// The node's RRset of type `qtype` into `out`; false when it has none.
bool find_rrset(const NodeRef& ref, uint16_t qtype, RRsetRef& out) noexcept {
  for (const RRsetRef& set : ref.shard->rrsets(*ref.node)) {
    if (set.type == qtype || qtype == w::rrtype::ANY) {  // ANY: one RRset (RFC 8482 §4.2)
      out = set;
      return true;
    }
  }
  return false;
}

// CHAOS class (RFC 1035 §3.2.4): TXT for version.bind., version.server., hostname.bind. and
// id.server. (the BIND and NSD convention, RFC 4892 §2), and ANY answered with that TXT as NSD
// does. Null for every other CH question and for a name switched off: REFUSED, as NSD does.
const std::string* chaos_answer(const Snapshot& snap, const w::Query& q) noexcept {
  if (q.qtype != w::rrtype::TXT && q.qtype != w::rrtype::ANY) return nullptr;
  return snap.chaos_txt(q.qname.lower, q.qname.length);
}

}  // namespace

void prefetch_batch(const Snapshot* snap,
                    std::span<const std::span<const uint8_t>> queries) noexcept {
  // Below about 40,000 names (2.4 MB) a lookup's misses are served from this machine's L3
  // (32 MB) quickly enough that the pass does not pay: against BM_HitSpread, BM_HitSpreadBatch
  // cost 24 ns a query more at 10k names, broke even at 40k, and saved 82 ns at 100k and
  // 367 ns at 1M (bench_resolver, 16 queries a batch).
  constexpr size_t kFromNodes = 40'000;
  if (snap == nullptr || queries.size() < 2 || snap->node_count() < kFromNodes) return;
  // A chunk's state on the stack; a larger batch goes chunk by chunk.
  constexpr size_t kChunk = 64;
  std::array<Snapshot::Prefetch, kChunk> steps;
  w::ScannedName name;
  for (size_t first = 0; first < queries.size(); first += kChunk) {
    const size_t count = std::min(kChunk, queries.size() - first);
    for (size_t i = 0; i < count; ++i) {
      const std::span<const uint8_t> query = queries[first + i];
      // The question's name, lower-cased as answer() will look it up; anything answer() would
      // not look up (no question, a bad name) is left alone.
      if (query.size() <= w::kHeaderSize ||
          w::scan_uncompressed_name(query, w::kHeaderSize, name) != w::NameStatus::Ok) {
        steps[i] = {};
        continue;
      }
      steps[i] = snap->prefetch_slot(name.lower, name.length);
    }
    for (size_t i = 0; i < count; ++i) snap->prefetch_node(steps[i]);
    for (size_t i = 0; i < count; ++i) snap->prefetch_rrsets(steps[i]);
  }
}

AnswerResult answer(const Snapshot* snap, std::span<const uint8_t> query, std::span<uint8_t> out,
                    Transport transport) noexcept {
  w::Query q;
  switch (w::parse_query(query, q)) {
    case w::QueryStatus::Drop:
      return AnswerResult{};
    case w::QueryStatus::NotImp:
      return header_only(q, out, w::rcode::NotImp, Outcome::NotImp);
    case w::QueryStatus::FormErr:
      return header_only(q, out, w::rcode::FormErr, Outcome::FormErr);
    case w::QueryStatus::Ok:
      break;
  }

  // The size we may fill: 512 without EDNS (RFC 1035 §4.2.1), the client's EDNS size capped
  // by ours and never below 512 (RFC 6891 §6.2.5), 64 KiB over TCP.
  size_t limit = w::kTcpLimit;
  if (transport == Transport::Udp) {
    limit = w::kUdpClassicLimit;
    if (q.edns) {
      const size_t ours = snap ? snap->edns_udp_size() : w::kUdpClassicLimit;
      limit = std::clamp<size_t>(q.edns_udp_size, w::kUdpClassicLimit, std::max(ours, limit));
    }
  }
  limit = std::min(limit, out.size());
  const uint16_t our_udp = our_udp_size(snap);

  ResponseWriter wr(out.data(), limit);
  const size_t question_len = q.question_end - w::kHeaderSize;
  const size_t opt_len = q.edns ? w::kOptRrSize : 0;
  // A question that cannot fit with its header is nonsense for a query we can answer.
  if (w::kHeaderSize + question_len + opt_len > limit)
    return header_only(q, out, w::rcode::FormErr, Outcome::FormErr);
  wr.append(query.data(), w::kHeaderSize);  // overwritten below; keeps offsets simple
  // Echo the question byte for byte so 0x20 case randomisation survives.
  wr.append(query.data() + w::kHeaderSize, question_len);
  wr.reserve_tail(opt_len);

  AnswerResult result = describe(q);
  Sections s;
  uint16_t rcode = w::rcode::NoError;
  bool aa = false;
  bool tc = false;
  Outcome outcome;

  auto finish = [&]() noexcept -> AnswerResult {
    wr.release_tail(opt_len);
    if (q.edns) {
      write_opt(wr, our_udp, rcode, q.edns_do);
      s.ar = 1;
    }
    write_header(wr.data(), q.id, q.flags, rcode, aa, tc, 1, s);
    result.outcome = outcome;
    result.truncated = tc;
    result.rcode = rcode;
    result.size = static_cast<uint16_t>(wr.size());
    return result;
  };

  // RFC 6891 §6.1.3: a version we do not speak gets BADVERS and our version (0).
  if (q.edns && q.edns_version > 0) {
    rcode = w::rcode::BadVers;
    outcome = Outcome::BadVers;
    return finish();
  }
  if (q.qtype == w::rrtype::OPT) {  // a meta-type, never a question (RFC 6891 §6.1.1)
    rcode = w::rcode::FormErr;
    outcome = Outcome::FormErr;
    return finish();
  }
  if (q.qclass != w::rrclass::IN) {  // an IN query pays nothing for what follows
    const bool chaos = q.qclass == w::rrclass::CH;
    if (const std::string* rr = chaos && snap ? chaos_answer(*snap, q) : nullptr) {
      aa = true;  // as BIND and CoreDNS: these names are ours alone
      outcome = Outcome::Hit;
      // At most 268 bytes after a question of 16: it always fits, but check like any RRset.
      if (wr.fits(rr->size())) {
        wr.append(rr->data(), rr->size());
        s.an = 1;
      } else {
        tc = true;
      }
      return finish();
    }
    // The CH texts live in the snapshot: before the first one, SERVFAIL as for IN queries.
    const bool not_ready = chaos && !snap;
    rcode = not_ready ? w::rcode::ServFail : w::rcode::Refused;
    outcome = not_ready ? Outcome::ServFail : Outcome::Refused;
    return finish();
  }
  if (!snap) {
    // Nothing published yet: SERVFAIL, never NXDOMAIN that caches would keep.
    rcode = w::rcode::ServFail;
    outcome = Outcome::ServFail;
    return finish();
  }
  const int zone =
      snap->find_zone(q.qname.lower, q.qname.length, q.qname.label_offsets, q.qname.labels);
  result.zone = static_cast<int16_t>(zone);
  // Outside every zone: we are no resolver, so no recursion and no referral upward.
  if (zone < 0 || q.qtype == w::rrtype::AXFR || q.qtype == w::rrtype::IXFR) {
    rcode = w::rcode::Refused;
    outcome = Outcome::Refused;
    return finish();
  }

  aa = true;
  const Decision d = lookup(*snap, q.qname, zone);
  RRsetRef rrset;
  if (d.node && find_rrset(d.node, q.qtype, rrset)) {
    outcome = Outcome::Hit;
    // RFC 2181 §9: an RRset that does not fit is not split; send none of it with TC.
    const size_t length = rrset.wire_length();
    if (wr.fits(length)) {
      rrset.write(wr.take(length), snap->address_ttl());
      s.an = rrset.count;
    } else {
      tc = true;
    }
    return finish();
  }

  outcome = d.outcome == Outcome::NxDomain ? Outcome::NxDomain : Outcome::NoData;
  if (outcome == Outcome::NxDomain) rcode = w::rcode::NxDomain;
  // RFC 2308 §3: the zone's SOA in the authority section, owner = the apex, which is a suffix
  // of the question name, so a pointer into the question names it.
  const ZoneInfo& zi = snap->zones()[zone];
  const size_t soa_len = 2 + zi.negative_soa.size();
  if (wr.fits(soa_len)) {
    const size_t owner = w::kHeaderSize + q.qname.length - zi.apex_wire.size();
    wr.append16(static_cast<uint16_t>(0xC000 | owner));
    wr.append(zi.negative_soa.data(), zi.negative_soa.size());
    s.ns = 1;
  } else {
    tc = true;
  }
  return finish();
}

size_t slip_answer(const Snapshot* snap, std::span<const uint8_t> query,
                   std::span<uint8_t> out) noexcept {
  w::Query q;
  if (w::parse_query(query, q) != w::QueryStatus::Ok) return 0;
  const size_t question_len = q.question_end - w::kHeaderSize;
  const size_t opt_len = q.edns ? w::kOptRrSize : 0;
  const size_t size = w::kHeaderSize + question_len + opt_len;
  // At most 12 + 259 + 11 bytes: below 512, so any UDP client takes it.
  if (size > std::min(out.size(), w::kUdpClassicLimit)) return 0;
  ResponseWriter wr(out.data(), size);
  wr.append(query.data(), w::kHeaderSize);  // overwritten below
  wr.append(query.data() + w::kHeaderSize, question_len);
  Sections s;
  if (q.edns) {
    write_opt(wr, our_udp_size(snap), w::rcode::NoError, q.edns_do);
    s.ar = 1;
  }
  write_header(wr.data(), q.id, q.flags, w::rcode::NoError, false, true, 1, s);
  return wr.size();
}

const char* outcome_name(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Hit:
      return "hit";
    case Outcome::NoData:
      return "nodata";
    case Outcome::NxDomain:
      return "nxdomain";
    case Outcome::Refused:
      return "refused";
    case Outcome::FormErr:
      return "formerr";
    case Outcome::NotImp:
      return "notimp";
    case Outcome::BadVers:
      return "badvers";
    case Outcome::ServFail:
      return "servfail";
    case Outcome::Drop:
      return "drop";
  }
  return "unknown";
}

}  // namespace globaldns::resolver
