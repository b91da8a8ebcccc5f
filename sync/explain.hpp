// explain: why a name is served, or every reason it is not, from the sync state (for operators).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/zone_data.hpp"
#include "sync/translate.hpp"

namespace globaldns::sync {

class TranslationIndex;

// What a query for the name gets, decided as resolver::answer() decides it (RFC 1034 §4.3.2,
// RFC 4592, RFC 8020), from the served hosts rather than the encoded snapshot.
enum class ExplainAnswer : uint8_t {
  Served,            // its own A and/or AAAA records
  ServedByWildcard,  // synthesised from the closest encloser's "*." child
  ZoneApex,          // SOA and NS; NODATA for A and AAAA
  EmptyNonTerminal,  // exists only as a parent of served names: NODATA for every type
  NxDomain,          // in a zone, but no such name
  OutsideZones,      // REFUSED
};

// One entry that names the host but does not serve it, and why.
struct ExplainFinding {
  enum class Kind : uint8_t {
    Skipped,        // a rule skipped the host, or the whole entry: see `skips`
    LostConflict,   // an older entry (`other`) serves the host
    DuplicateCopy,  // another copy of this namespace/name (at `other_origin`) is served
  };
  Kind kind = Kind::Skipped;
  std::string host;  // the name concerned (the queried one, or the "*." that would cover it)
  std::string entry;
  std::string origin;
  // Skipped: the host's own skip (or the entry's), then, when the host had no served address,
  // every address of the entry that was skipped.
  std::vector<Skip> skips;
  std::string other;  // LostConflict: the winner; DuplicateCopy: the same namespace/name
  std::string other_origin;
  bool operator==(const ExplainFinding&) const = default;
};

struct Explanation {
  std::string name;  // as asked, normalised: lower case, no trailing dot
  ExplainAnswer answer = ExplainAnswer::NxDomain;
  bool published = true;           // false: nothing is published yet, every query gets SERVFAIL
  std::string zone;                // the zone it falls in; "" when outside every zone
  std::vector<std::string> zones;  // every served zone, as configured
  // Served and ServedByWildcard: the host that answers (the name, or "*.encloser"), the entry
  // that serves it and what it serves.
  std::string owner;
  std::string entry;
  std::string origin;
  resolver::HostRecords records;
  uint32_t ttl = 0;
  // Addresses of the serving entry that are not served (outside the allowed ranges, ...): why
  // A or AAAA may have fewer records than the entry lists.
  std::vector<Skip> unserved_addresses;
  // Every entry that lists the name (or, when it does not exist, the wildcard that would cover
  // it) without serving it; for a served name, the entries that lost it.
  std::vector<ExplainFinding> findings;
  std::vector<std::string> nearby;  // served names like it (same parent or same first label)
};

inline bool is_served(const Explanation& e) {
  return e.published &&
         (e.answer == ExplainAnswer::Served || e.answer == ExplainAnswer::ServedByWildcard);
}

// Explains `name` (any case, trailing dot optional) against what `index` serves; `ttl` is the
// A/AAAA TTL of the snapshots. O(entries + names held): a diagnostic, never on the query path.
Explanation explain(const TranslationIndex& index, std::string_view name, uint32_t ttl);

// The explanation for people: the first line is "NAME: served ..." or "NAME: not served ...",
// then one indented line per fact. The server's /explain and `globaldns explain --offline`
// both print this, so they say the same.
std::string explanation_text(const Explanation& explanation);

}  // namespace globaldns::sync
