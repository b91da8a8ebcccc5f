// translate: ServiceEntries -> per-name address records, with zone and CIDR filters and conflicts.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/zone_data.hpp"
#include "sync/cidr.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync {

struct TranslateOptions {
  std::vector<std::string> zones;  // text, e.g. "global." (any case, trailing dot optional)
  // An address is served only inside one of these; empty serves nothing (say 0.0.0.0/0 and
  // ::/0 to serve everything), so a forgotten setting cannot publish arbitrary addresses.
  std::vector<Cidr> allowed;
  bool operator==(const TranslateOptions&) const = default;
};

// Why something was not served, one value per rule of translate(); `reason` says it to people.
enum class SkipReason : uint8_t {
  ResolutionNone,            // the whole entry: resolution NONE
  NoHosts,                   // the whole entry: spec.hosts is empty
  InvalidAddress,            // an address: not an IP
  AddressIsCidr,             // an address: a prefix wider than /32 or /128
  AddressOutsideAllowed,     // an address: outside every allowed CIDR
  StatusAddressUnknownHost,  // an address: status.addresses names a host spec.hosts lacks
  InvalidHost,               // a host: not a valid name or "*." wildcard
  HostOutsideZones,          // a host: inside no served zone
  NoServedAddress,           // a host: it has addresses, but none is served
  NoAddress,                 // a host: spec.addresses and status.addresses are empty
};

inline constexpr size_t kSkipReasonCount = static_cast<size_t>(SkipReason::NoAddress) + 1;

// A stable snake_case label ("resolution_none", "address_outside_allowed", ...), for metrics
// labels and machine-readable output; never changes once released.
std::string_view skip_reason_label(SkipReason reason) noexcept;

// Whether the subject of a skip with this reason is an address (else a host, or "" for the
// whole entry).
bool skips_address(SkipReason reason) noexcept;

// Something that was not served, and why; `subject` is the host or address concerned.
struct Skip {
  std::string entry;    // namespace/name
  std::string origin;   // file:line or source name
  std::string subject;  // host or address ("" when the whole entry is skipped)
  std::string reason;   // for people: says what is wrong, with the values concerned
  SkipReason code = SkipReason::InvalidHost;
  bool operator==(const Skip&) const = default;
};

// Two entries claimed one host: `winner` keeps it (oldest creationTimestamp, then
// namespace/name order, as Istio resolves it), `loser` does not serve it. The same
// namespace/name seen twice (e.g. in two files) is one object: the loser copy is dropped
// whole, and `host` is empty.
struct Conflict {
  std::string host;  // lower-cased, no trailing dot; "" for a duplicate namespace/name
  std::string winner;
  std::string loser;
  std::string winner_origin;  // tells two copies of one namespace/name apart
  std::string loser_origin;
  bool operator==(const Conflict&) const = default;
};

struct Translation {
  std::vector<resolver::HostRecords> hosts;  // sorted by name, one per lower-cased host
  std::vector<Skip> skipped;
  std::vector<Conflict> conflicts;
};

// What one entry would serve on its own, before conflicts with other entries are resolved.
struct EntryTranslation {
  // Hosts it would serve (claims), lower-cased, no trailing dot, de-duplicated, in listed order,
  // each with its served addresses.
  std::vector<resolver::HostRecords> claims;
  std::vector<Skip> skipped;  // in the order translate() reports them for this entry
};

// The per-entry rules (the first three below), with the options prepared once: translate()
// and the incremental TranslationIndex both call this, so the rules live in one place.
class EntryTranslator {
 public:
  explicit EntryTranslator(TranslateOptions options);
  EntryTranslation translate(const ServiceEntry& entry) const;
  const TranslateOptions& options() const noexcept { return options_; }

 private:
  TranslateOptions options_;
  std::vector<std::string> zones_;  // normalised
  std::string allowed_text_;        // for messages
  std::string zones_text_;
};

// The order entries are processed in, and so the winner rule: oldest creationTimestamp
// (absent = newest), then namespace, name; the remaining fields only make identical-looking
// copies (e.g. the same object from two origins) deterministic. Entries equal under it are
// translated identically. compare_precedence() is the same order as one three-way comparison:
// sorting a first list of 1M entries by precedes() twice per pair walked the strings four times.
std::weak_ordering compare_precedence(const ServiceEntry& a, const ServiceEntry& b);
inline bool precedes(const ServiceEntry& a, const ServiceEntry& b) {
  return compare_precedence(a, b) < 0;
}

// Lower-cased, one trailing dot removed: the form host names are compared and emitted in.
std::string normalize_host(std::string_view name);

// The rules, in order, for each entry (oldest first):
//  - resolution NONE: the whole entry is skipped (the caller's own IP is meant to be used);
//  - addresses: spec.addresses, or when empty status.addresses (each for the host it names,
//    or all hosts when it names none); an IP, /32 or /128 inside an allowed CIDR is served;
//  - hosts: a valid FQDN or "*."-wildcard inside a served zone, with at least one served
//    address, gets all of them (v4 -> A, v6 -> AAAA), de-duplicated, in listed order;
//  - a host already claimed by an older entry is a Conflict; only entries that would serve
//    the host claim it, so an address-less older entry does not hide a working one.
// Pure: same input, same output (entries are sorted internally, so input order does not matter).
Translation translate(const std::vector<ServiceEntry>& entries, const TranslateOptions& options);

}  // namespace globaldns::sync
