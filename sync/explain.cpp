// explain: the resolver's lookup replayed on the served hosts, plus every entry that lists the
// name and why it does not serve it.
#include "sync/explain.hpp"

#include <algorithm>
#include <cstddef>

#include "sync/cidr.hpp"
#include "sync/translation_index.hpp"

namespace globaldns::sync {
namespace {

constexpr size_t kMaxNearby = 5;

// Keeps in `names` the kMaxNearby first names by text, sorted: the index offers its hosts in no
// particular order, and the nearby names shown should not depend on it.
void keep_first_names(std::vector<std::string>& names, const std::string& name) {
  if (names.size() >= kMaxNearby && !(name < names.back())) return;
  names.insert(std::lower_bound(names.begin(), names.end(), name), name);
  if (names.size() > kMaxNearby) names.pop_back();
}

size_t label_count(std::string_view name) {
  if (name.empty()) return 0;
  return static_cast<size_t>(std::count(name.begin(), name.end(), '.')) + 1;
}

// The last `labels` labels of `name` ("" for 0).
std::string_view suffix_labels(std::string_view name, size_t labels) {
  const size_t total = label_count(name);
  if (labels >= total) return name;
  if (labels == 0) return {};
  size_t pos = name.size();
  for (size_t i = 0; i < labels; ++i) pos = name.rfind('.', pos - 1);
  return name.substr(pos + 1);
}

// How many trailing labels `a` and `b` share.
size_t common_suffix_labels(std::string_view a, std::string_view b) {
  size_t labels = 0;
  while (!a.empty() && !b.empty()) {
    const size_t da = a.rfind('.');
    const size_t db = b.rfind('.');
    const std::string_view la = da == std::string_view::npos ? a : a.substr(da + 1);
    const std::string_view lb = db == std::string_view::npos ? b : b.substr(db + 1);
    if (la != lb) break;
    ++labels;
    a = da == std::string_view::npos ? std::string_view() : a.substr(0, da);
    b = db == std::string_view::npos ? std::string_view() : b.substr(0, db);
  }
  return labels;
}

// normalize_host(host) == name, without allocating: the scan compares every host held.
bool same_host(std::string_view host, std::string_view name) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() != name.size()) return false;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

std::string_view first_label(std::string_view name) {
  return name.substr(0, name.find('.'));
}

std::string_view parent_of(std::string_view name) {
  const size_t dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

bool in_zone(std::string_view name, std::string_view zone) {
  if (zone.empty()) return true;
  if (name.size() == zone.size()) return name == zone;
  return name.size() > zone.size() && name.ends_with(zone) &&
         name[name.size() - zone.size() - 1] == '.';
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Why the entry `held` does not serve `host` (which it lists); nothing when it does.
void add_findings(const TranslationIndex& index, const TranslationIndex::Held& held,
                  const std::string& host, std::vector<ExplainFinding>& out) {
  const PackedEntry& entry = *held.entry;
  ExplainFinding finding;
  finding.host = host;
  finding.entry = entry.key();
  finding.origin = entry.origin().text();
  if (held.skipped == nullptr) {
    finding.kind = ExplainFinding::Kind::DuplicateCopy;
    finding.other = held.served_copy->key();
    finding.other_origin = held.served_copy->origin().text();
    out.push_back(std::move(finding));
    return;
  }
  if (std::find(held.claims.begin(), held.claims.end(), host) != held.claims.end()) {
    const auto claimants = index.claimants(host);
    if (claimants.empty() || claimants.front().entry == &entry) return;  // it serves the host
    finding.kind = ExplainFinding::Kind::LostConflict;
    finding.other = claimants.front().entry->key();
    finding.other_origin = claimants.front().entry->origin().text();
    out.push_back(std::move(finding));
    return;
  }
  bool addresses_matter = false;
  for (const Skip& skip : *held.skipped) {
    if (skips_address(skip.code)) continue;
    if (skip.subject.empty() || same_host(skip.subject, host)) {
      finding.skips.push_back(skip);
      addresses_matter = addresses_matter || skip.code == SkipReason::NoServedAddress;
    }
  }
  if (addresses_matter) {
    for (const Skip& skip : *held.skipped)
      if (skips_address(skip.code)) finding.skips.push_back(skip);
  }
  if (finding.skips.empty()) return;  // listed twice in one entry: the first listing decides
  out.push_back(std::move(finding));
}

std::string addresses_text(const resolver::HostRecords& records, bool v6) {
  std::vector<std::string> items;
  if (v6) {
    for (const auto& ip : records.v6) items.push_back(address_to_string(ip));
  } else {
    for (const auto& ip : records.v4) items.push_back(address_to_string(ip));
  }
  return join(items, " ");
}

std::string finding_text(const ExplainFinding& f) {
  std::string line = "  ";
  line += f.entry;
  line += " (";
  line += f.origin;
  line += ") lists ";
  line += f.host;
  switch (f.kind) {
    case ExplainFinding::Kind::LostConflict:
      line += " but lost it to the older ";
      line += f.other;
      line += " (";
      line += f.other_origin;
      line += "): oldest creationTimestamp, then namespace/name, wins\n";
      return line;
    case ExplainFinding::Kind::DuplicateCopy:
      line += ", but this copy is ignored: ";
      line += f.other;
      line += " is also defined at ";
      line += f.other_origin;
      line += ", which is served\n";
      return line;
    case ExplainFinding::Kind::Skipped:
      break;
  }
  line += ", not served:\n";
  for (const Skip& skip : f.skips) {
    line += "    ";
    line += skip_reason_label(skip.code);
    line += ": ";
    if (skips_address(skip.code)) {
      line += skip.reason;
    } else if (!skip.subject.empty()) {
      line += skip.subject;
      line += ": ";
      line += skip.reason;
    } else {
      line += "the whole entry: ";
      line += skip.reason;
    }
    line += '\n';
  }
  return line;
}

}  // namespace

Explanation explain(const TranslationIndex& index, std::string_view asked, uint32_t ttl) {
  Explanation out;
  out.name = normalize_host(asked);
  out.ttl = ttl;
  out.zones = index.options().zones;
  const std::string& name = out.name;
  const size_t labels = label_count(name);

  // The longest zone holding the name, as Snapshot::find_zone picks it.
  for (const auto& zone_text : index.options().zones) {
    const std::string zone = normalize_host(zone_text);
    if (in_zone(name, zone) && (out.zone.empty() || zone.size() > out.zone.size())) out.zone = zone;
  }
  const bool inside = std::any_of(out.zones.begin(), out.zones.end(), [&](const std::string& z) {
    return in_zone(name, normalize_host(z));
  });

  // The closest encloser: the longest suffix of the name that is a node, i.e. a host, an
  // ancestor of one (an empty non-terminal), or the apex. A served name needs none of this
  // pass over every host (the larger part of the cost).
  const bool exact = inside && !index.claimants(name).empty();
  size_t encloser = inside ? label_count(out.zone) : 0;
  std::vector<std::string> siblings;
  std::vector<std::string> namesakes;
  if (!exact)
    index.for_each_host([&](const resolver::HostRecords& host) {
      const size_t shared = common_suffix_labels(host.name, name);
      encloser = std::max(encloser, shared);
      if (host.name == name) return;
      if (parent_of(host.name) == parent_of(name))
        keep_first_names(siblings, host.name);
      else if (first_label(host.name) == first_label(name))
        keep_first_names(namesakes, host.name);
    });

  std::string wildcard;  // the "*." name that would cover the name, when it does not exist
  if (!inside) {
    out.answer = ExplainAnswer::OutsideZones;
  } else if (exact) {
    out.answer = ExplainAnswer::Served;
    out.owner = name;
  } else if (encloser >= labels) {
    out.answer = name == out.zone ? ExplainAnswer::ZoneApex : ExplainAnswer::EmptyNonTerminal;
  } else {
    wildcard = "*.";
    wildcard += suffix_labels(name, encloser);
    if (!index.claimants(wildcard).empty()) {
      out.answer = ExplainAnswer::ServedByWildcard;
      out.owner = wildcard;
      wildcard.clear();
    } else {
      out.answer = ExplainAnswer::NxDomain;
    }
  }
  if (!out.owner.empty()) {
    const auto claimants = index.claimants(out.owner);
    out.entry = claimants.front().entry->key();
    out.origin = claimants.front().entry->origin().text();
    out.records = claimants.front().records;
  }

  // Every entry listing the name (or the wildcard that would cover it), and why it does not
  // serve it; the served entry adds nothing.
  const PackedEntry* serving =
      out.owner.empty() ? nullptr : index.claimants(out.owner).front().entry;
  const auto lists = [](const PackedEntry& entry, std::string_view wanted) {
    bool named = false;
    entry.for_each_host([&](std::string_view host) { named = named || same_host(host, wanted); });
    return named;
  };
  const auto concerned = [&](const PackedEntry& entry) {
    return &entry == serving || lists(entry, name) || (!wildcard.empty() && lists(entry, wildcard));
  };
  index.for_each_entry(concerned, [&](const TranslationIndex::Held& held) {
    if (held.entry == serving && held.skipped != nullptr) {
      for (const Skip& skip : *held.skipped)
        if (skips_address(skip.code)) out.unserved_addresses.push_back(skip);
    }
    bool named = false;
    bool named_wildcard = false;
    held.entry->for_each_host([&](std::string_view host) {
      named = named || same_host(host, name);
      named_wildcard = named_wildcard || (!wildcard.empty() && same_host(host, wildcard));
    });
    if (named) add_findings(index, held, name, out.findings);
    if (named_wildcard) add_findings(index, held, wildcard, out.findings);
  });
  if (out.answer == ExplainAnswer::ServedByWildcard) {
    // The wildcard's own losers matter too: they explain why another address might be expected.
    index.for_each_entry([&](const PackedEntry& entry) { return lists(entry, out.owner); },
                         [&](const TranslationIndex::Held& held) {
                           add_findings(index, held, out.owner, out.findings);
                         });
  }

  if (out.answer == ExplainAnswer::NxDomain || out.answer == ExplainAnswer::OutsideZones) {
    for (auto& n : siblings) out.nearby.push_back(std::move(n));
    for (auto& n : namesakes) {
      if (out.nearby.size() >= kMaxNearby) break;
      out.nearby.push_back(std::move(n));
    }
  }
  return out;
}

std::string explanation_text(const Explanation& e) {
  std::string text = e.name.empty() ? std::string(".") : e.name;
  const bool served =
      e.answer == ExplainAnswer::Served || e.answer == ExplainAnswer::ServedByWildcard;
  if (served) {
    text += ": served by ServiceEntry ";
    text += e.entry;
    text += " (";
    text += e.origin;
    text += ")";
    if (e.answer == ExplainAnswer::ServedByWildcard) {
      text += " through the wildcard ";
      text += e.owner;
    }
    text += '\n';
    for (const bool v6 : {false, true}) {
      const bool any = v6 ? !e.records.v6.empty() : !e.records.v4.empty();
      text += v6 ? "  AAAA " : "  A    ";
      if (any) {
        text += addresses_text(e.records, v6);
        text += " (TTL ";
        text += std::to_string(e.ttl);
        text += ")\n";
      } else {
        text += v6 ? "NODATA: no IPv6 address is served for it\n"
                   : "NODATA: no IPv4 address is served for it\n";
      }
    }
    for (const Skip& skip : e.unserved_addresses) {
      text += "  not served from ";
      text += e.entry;
      text += ": ";
      text += skip_reason_label(skip.code);
      text += ": ";
      text += skip.reason;
      text += '\n';
    }
  } else {
    text += ": not served: ";
    switch (e.answer) {
      case ExplainAnswer::OutsideZones:
        text += "REFUSED, outside every served zone (";
        text += join(e.zones, ", ");
        text += ")\n";
        break;
      case ExplainAnswer::ZoneApex:
        text += "NODATA for A and AAAA, the apex of zone ";
        text += e.zone;
        text += " (SOA and NS only)\n";
        break;
      case ExplainAnswer::EmptyNonTerminal:
        text += "NODATA for A and AAAA, an empty non-terminal in zone ";
        text += e.zone;
        text += ": it exists only as the parent of served names\n";
        break;
      case ExplainAnswer::NxDomain:
        text += "NXDOMAIN in zone ";
        text += e.zone;
        text += ": no ServiceEntry serves this name";
        text += e.findings.empty() ? ", and none lists it\n" : "\n";
        break;
      default:
        break;
    }
  }
  if (!e.published)
    text += "  nothing is published yet: every query gets SERVFAIL until every source has loaded\n";
  for (const ExplainFinding& f : e.findings) text += finding_text(f);
  if (!e.nearby.empty()) {
    text += "  served names like it: ";
    text += join(e.nearby, ", ");
    text += '\n';
  }
  return text;
}

}  // namespace globaldns::sync
