// Fuzz support for the targets that answer queries: the zone they answer from, and how they
// report a broken invariant.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::fuzz {

// Prints which invariant of `target` broke and aborts: libFuzzer keeps the input as a crash,
// and the corpus replay test fails.
[[noreturn]] inline void fail(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

// The resolver unit tests' zone, built once: two zones; hosts with one and several A records, a
// dual-stack host, a wildcard beside an exact name, empty non-terminals and CHAOS names.
inline const resolver::Snapshot* test_zone_snapshot() {
  static const std::shared_ptr<const resolver::Snapshot> snapshot = [] {
    auto built = resolver::build_snapshot(resolver::testzone::data());
    if (!built.ok()) fail("fuzz", "the test zone does not build");
    return built.value();
  }();
  return snapshot.get();
}

}  // namespace globaldns::fuzz
