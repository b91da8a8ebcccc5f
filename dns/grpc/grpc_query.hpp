// answer_grpc_query: one DnsService/Query request's bytes -> a reply or an INVALID_ARGUMENT reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "resolver/answer.hpp"

namespace globaldns::resolver {
class Snapshot;
}

namespace globaldns::dns {

// Room `out` must have: a DNS message over a stream, as over TCP (RFC 1035 §4.2.2).
inline constexpr size_t kGrpcMaxMessage = 65535;

// Why a request gets no reply but a gRPC INVALID_ARGUMENT status.
enum class GrpcRejection : uint8_t {
  None,           // answered: `out` holds the reply
  TooLarge,       // more than 65535 bytes
  TooShort,       // shorter than a DNS header
  IsResponse,     // QR set: a response, not a query
  QuestionCount,  // QDCOUNT other than 1 (RFC 9619)
  NotQuery,       // opcode other than QUERY
  Malformed,      // the message does not parse (question, counts, additional records)
  NoMirror,       // the engine's reply would not mirror the question (never expected)
};

// What the handler sends, and what metrics count.
struct GrpcAnswer {
  GrpcRejection rejection = GrpcRejection::None;
  resolver::AnswerResult result;  // the engine's, when answered (metrics count it)
  size_t query_size = 0;
  size_t response_size = 0;  // bytes in `out` when answered, else 0

  bool answered() const noexcept { return rejection == GrpcRejection::None; }
};

// Answers `query` from `snapshot` (null before the first publish: SERVFAIL in our zones) as over
// TCP: no 512-byte limit, no truncation below 64 KiB. CoreDNS's grpc and forward plugins accept a
// reply only if it mirrors the question (one question, QR set, same name ignoring case, same type
// and class; coredns request.Match), so a query we could only answer without its question is
// rejected instead. "Name not found" is an NXDOMAIN reply, never a rejection.
// `out` must hold kGrpcMaxMessage bytes. noexcept, no allocation.
GrpcAnswer answer_grpc_query(const resolver::Snapshot* snapshot, std::span<const uint8_t> query,
                             std::span<uint8_t> out) noexcept;

// A short sentence for the gRPC status message: "QR is set: a response, not a query".
const char* rejection_message(GrpcRejection rejection) noexcept;

}  // namespace globaldns::dns
