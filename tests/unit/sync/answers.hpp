// Test support: the wire response a snapshot gives to a plain query, to compare snapshots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resolver/answer.hpp"

namespace globaldns::sync::testing_answers {

// A minimal query (id 0x1234, RD, no EDNS) for `name` (no trailing dot), built by hand.
inline std::vector<uint8_t> query(const std::string& name, uint16_t qtype) {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(qtype >> 8));
  q.push_back(static_cast<uint8_t>(qtype));
  q.push_back(0);
  q.push_back(1);
  return q;
}

// The response bytes, prefixed by the outcome so that two Drops also compare.
inline std::vector<uint8_t> ask(const resolver::Snapshot* snapshot, const std::string& name,
                                uint16_t qtype) {
  const auto q = query(name, qtype);
  std::vector<uint8_t> out(4096);
  const auto result = resolver::answer(snapshot, q, out, resolver::Transport::Udp);
  out.resize(result.size);
  out.insert(out.begin(), static_cast<uint8_t>(result.outcome));
  return out;
}

}  // namespace globaldns::sync::testing_answers
