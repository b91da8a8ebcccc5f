// Test support: the wire response a snapshot gives to a plain query, to compare snapshots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "resolver/answer.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::sync::testing_answers {

// The response bytes, prefixed by the outcome so that two Drops also compare.
inline std::vector<uint8_t> ask(const resolver::Snapshot* snapshot, const std::string& name,
                                uint16_t qtype) {
  const auto q = globaldns::testing::make_query(name, qtype);
  // An unbuildable query would make both sides of a comparison the same error.
  if (q.empty()) ADD_FAILURE() << "ldns cannot build a query for " << name;
  std::vector<uint8_t> out(4096);
  const auto result = resolver::answer(snapshot, q, out, resolver::Transport::Udp);
  out.resize(result.size);
  out.insert(out.begin(), static_cast<uint8_t>(result.outcome));
  return out;
}

}  // namespace globaldns::sync::testing_answers
