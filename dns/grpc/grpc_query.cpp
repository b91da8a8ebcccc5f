// answer_grpc_query: the checks a gRPC query must pass, then the answer engine over "TCP".
#include "dns/grpc/grpc_query.hpp"

#include <cstring>

#include "dns/wire/constants.hpp"
#include "dns/wire/query.hpp"

namespace globaldns::dns {

namespace w = wire;

namespace {

constexpr size_t kQdcountOffset = 4;

// True when `reply` mirrors the question of `query` as coredns request.Match checks it: QR set,
// exactly one question, the same name, type and class. The engine copies the question byte for
// byte, so equality of the bytes is what we expect (and stricter than Match's case folding).
bool mirrors(std::span<const uint8_t> query, const w::Query& q,
             std::span<const uint8_t> reply) noexcept {
  if (reply.size() < q.question_end) return false;
  if ((w::load16(reply.data() + 2) & w::flag::QR) == 0) return false;
  if (w::load16(reply.data() + kQdcountOffset) != 1) return false;
  return std::memcmp(reply.data() + w::kHeaderSize, query.data() + w::kHeaderSize,
                     q.question_end - w::kHeaderSize) == 0;
}

GrpcAnswer rejected(GrpcRejection why, size_t query_size) noexcept {
  GrpcAnswer a;
  a.rejection = why;
  a.query_size = query_size;
  return a;
}

}  // namespace

GrpcAnswer answer_grpc_query(const resolver::Snapshot* snapshot, std::span<const uint8_t> query,
                             std::span<uint8_t> out) noexcept {
  const size_t size = query.size();
  // The checks parse_query makes, in its order, each with its own reason for the client; the
  // gRPC transport carries any length, a DNS message at most 65535 bytes (RFC 1035 §4.2.2).
  if (size > kGrpcMaxMessage) return rejected(GrpcRejection::TooLarge, size);
  if (size < w::kHeaderSize) return rejected(GrpcRejection::TooShort, size);
  const uint16_t flags = w::load16(query.data() + 2);
  if (flags & w::flag::QR) return rejected(GrpcRejection::IsResponse, size);
  if (((flags & w::flag::OpcodeMask) >> 11) != w::kOpcodeQuery)
    return rejected(GrpcRejection::NotQuery, size);
  if (w::load16(query.data() + kQdcountOffset) != 1)
    return rejected(GrpcRejection::QuestionCount, size);
  w::Query q;
  if (w::parse_query(query, q) != w::QueryStatus::Ok)
    return rejected(GrpcRejection::Malformed, size);

  const resolver::AnswerResult r = resolver::answer(snapshot, query, out, resolver::Transport::Tcp);
  // A reply without the question (the engine's header-only FORMERR) would be refused by CoreDNS
  // as a mismatch; a clear status tells the client more.
  if (r.outcome == resolver::Outcome::Drop || !mirrors(query, q, out.first(r.size)))
    return rejected(GrpcRejection::NoMirror, size);
  GrpcAnswer a;
  a.result = r;
  a.query_size = size;
  a.response_size = r.size;
  return a;
}

const char* rejection_message(GrpcRejection rejection) noexcept {
  switch (rejection) {
    case GrpcRejection::None:
      return "answered";
    case GrpcRejection::TooLarge:
      return "not a DNS query: longer than 65535 bytes";
    case GrpcRejection::TooShort:
      return "not a DNS query: shorter than the 12-byte DNS header";
    case GrpcRejection::IsResponse:
      return "not a DNS query: QR is set, it is a response";
    case GrpcRejection::QuestionCount:
      return "not a DNS query: QDCOUNT must be 1";
    case GrpcRejection::NotQuery:
      return "not a DNS query: opcode is not QUERY";
    case GrpcRejection::Malformed:
      return "not a DNS query: malformed message";
    case GrpcRejection::NoMirror:
      return "cannot answer with a reply that mirrors the question";
  }
  return "not a DNS query";
}

}  // namespace globaldns::dns
