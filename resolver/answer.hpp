// The answer engine's public face: one query in, one response out, from one snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace globaldns::resolver {

class Snapshot;

enum class Transport : uint8_t { Udp, Tcp };

// What the engine decided; the transports count these and drop on Drop.
enum class Outcome : uint8_t {
  Hit,       // NOERROR with answers
  NoData,    // NOERROR, name exists, no RRset of that type (RFC 2308 §2.2)
  NxDomain,  // name does not exist (RFC 2308 §2.1)
  Refused,   // outside every zone, class neither IN nor CH, or a CH name we do not answer
  FormErr,   // malformed but had a readable header
  NotImp,    // opcode other than QUERY
  BadVers,   // EDNS version > 0 (RFC 6891 §6.1.3)
  ServFail,  // no snapshot published yet
  Drop,      // no readable header, or a response (QR=1): send nothing
};

// What the engine decided, plus what it read from the query on the way, so the transports
// can count and log without parsing the query again. Fields not reached stay at their
// defaults: on Drop only outcome; on FormErr/NotImp from the header only id and rcode.
// 16 bytes, so that it comes back in two registers as the 3-field version did.
struct AnswerResult {
  Outcome outcome = Outcome::Drop;
  bool truncated : 1 = false;  // TC was set
  bool edns : 1 = false;       // the query had an OPT RR
  bool dnssec_ok : 1 = false;  // its DO bit (RFC 3225)
  uint16_t id = 0;
  uint16_t qtype = 0;  // 0 when the question was not read
  uint16_t qclass = 0;
  uint16_t rcode = 0;          // the response's rcode, extended bits included (BADVERS is 16)
  uint16_t edns_udp_size = 0;  // the client's, as sent
  int16_t zone = -1;           // index in Snapshot::zones() of the zone the name fell in; -1: none
  uint16_t size = 0;           // bytes written to `out` (at most 65535); 0 when outcome is Drop
};
static_assert(sizeof(AnswerResult) == 16);

// Writes the response to `query` into `out`. `out` must hold at least 512 bytes for UDP and
// 65535 for TCP; the engine never writes more than the transport's limit for this query
// (512, or the client's EDNS size capped by ours, over UDP; 65535 over TCP).
// `snapshot` may be null (nothing published yet): in-zone queries then get SERVFAIL.
// noexcept, no allocation, no lock: this is the per-query hot path.
AnswerResult answer(const Snapshot* snapshot, std::span<const uint8_t> query,
                    std::span<uint8_t> out, Transport transport) noexcept;

// For a batch of queries about to be answered one by one (a UDP worker's recvmmsg): fetches
// into the cache what answer() will read to look up each question. At 1M names a lookup waits
// on three cache misses in turn (slot, node, then name and RRsets), most of its cost; issued
// for the whole batch first, step by step, the batch's misses overlap. Reads only the
// questions, changes nothing, skips what it cannot read; does nothing for fewer than two
// queries, a snapshot small enough to stay in the cache, or none. Same rules as answer(): no
// allocation, no lock.
void prefetch_batch(const Snapshot* snapshot,
                    std::span<const std::span<const uint8_t>> queries) noexcept;

// Response rate limiting's "slip" (dns/server/response_rate_limiter.hpp): the query's header
// and question echoed with QR and TC set and RCODE NOERROR, no records but our OPT when the
// query had one, so that a real client retries over TCP while a spoofed victim gets no more
// bytes than were sent in its name. Returns the bytes written to `out`; 0, send nothing, for a
// query with no question to echo (those answer() drops or answers FORMERR or NOTIMP).
size_t slip_answer(const Snapshot* snapshot, std::span<const uint8_t> query,
                   std::span<uint8_t> out) noexcept;

const char* outcome_name(Outcome outcome) noexcept;

}  // namespace globaldns::resolver
