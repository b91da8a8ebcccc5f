// SourceParts: a change to some parts of a source, so a source need not keep what it handed on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sync/packed_entries.hpp"

namespace globaldns::sync {

// One part of a source (the file source: one file, named by its path) with every entry it
// holds now. No entries: the part is gone. Packed as each entry is decoded: the first load of
// 1M entries from files held every one as a ServiceEntry (about 340 bytes) until the last file
// was read, 80 MB above what the index then keeps; packed, about 50 bytes, which the index
// copies into its arena.
struct SourcePart {
  std::string name;
  PackedEntries entries;
};

// Whether the parts of a SourceParts are all the source has.
enum class PartsScope : uint8_t {
  Changed,  // only these parts changed; the source's other parts keep their entries
  Whole,    // these are every part of the source; any other it had is gone
};

// Whether every part of the source has been read at least once (readiness: see
// SyncController::require_sources).
enum class SourceLoad : uint8_t { Partial, Complete };

struct SourceParts {
  std::vector<SourcePart> parts;
  PartsScope scope = PartsScope::Changed;
  SourceLoad load = SourceLoad::Partial;
};

}  // namespace globaldns::sync
