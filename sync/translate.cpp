// translate: the rules that decide which ServiceEntry hosts and addresses are served.
#include "sync/translate.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace globaldns::sync {
namespace {

constexpr size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4, 255 octets on the wire
constexpr size_t kMaxLabelLength = 63;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Istio's DNS-1123 label, upper case allowed: [a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?
bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelLength) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), label_char);
}

// Why `host` (one trailing dot already removed) cannot be a name; nullopt when it can.
std::optional<std::string> host_problem(std::string_view host) {
  if (host.empty()) return "empty host";
  if (host == "*") return "a bare \"*\" host is not served";
  std::string_view rest = host;
  if (host.substr(0, 2) == "*.") {
    rest = host.substr(2);
  } else if (host.front() == '*') {
    return "partial wildcard (only \"*.\" as the first label is served)";
  }
  if (rest.find('*') != std::string_view::npos) {
    return "\"*\" is allowed only as the whole first label";
  }
  if (host.size() > kMaxNameLength) {
    return "longer than " + std::to_string(kMaxNameLength) + " characters";
  }
  size_t start = 0;
  while (true) {
    const size_t dot = rest.find('.', start);
    const std::string_view label =
        rest.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!valid_label(label)) {
      return "not a valid DNS name (label \"" + std::string(label) + "\")";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

// Suffix match on a label boundary; the apex itself is inside. "" is the root zone.
bool in_zone(std::string_view name, std::string_view zone) {
  if (zone.empty()) return true;
  if (name.size() == zone.size()) return name == zone;
  return name.size() > zone.size() && name.ends_with(zone) &&
         name[name.size() - zone.size() - 1] == '.';
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

struct Addresses {
  std::vector<resolver::Ipv4> v4;
  std::vector<resolver::Ipv6> v6;

  void add(const ParsedAddress& address) {
    if (address.kind == AddressKind::Ipv4) {
      const auto ip = address.v4();
      if (std::find(v4.begin(), v4.end(), ip) == v4.end()) v4.push_back(ip);
    } else if (address.kind == AddressKind::Ipv6) {
      const auto ip = address.v6();
      if (std::find(v6.begin(), v6.end(), ip) == v6.end()) v6.push_back(ip);
    }
  }
  void add(const Addresses& other) {
    for (const auto& ip : other.v4) {
      if (std::find(v4.begin(), v4.end(), ip) == v4.end()) v4.push_back(ip);
    }
    for (const auto& ip : other.v6) {
      if (std::find(v6.begin(), v6.end(), ip) == v6.end()) v6.push_back(ip);
    }
  }
  bool empty() const { return v4.empty() && v6.empty(); }
};

// The per-entry work of one translate_entry() call: collects skips as it goes.
class EntryWork {
 public:
  EntryWork(const ServiceEntry& entry, const TranslateOptions& options,
            const std::string& allowed_text)
      : entry_(entry), options_(options), allowed_text_(allowed_text) {}

  void skip(SkipReason code, std::string subject, std::string reason) {
    out.skipped.push_back(
        Skip{entry_.key(), entry_.origin.text(), std::move(subject), std::move(reason), code});
  }

  // Parses `text` and checks it against the allowed ranges; skips it with a reason if not served.
  std::optional<ParsedAddress> served_address(const std::string& text) {
    const ParsedAddress address = parse_address(text);
    switch (address.kind) {
      case AddressKind::Invalid:
        skip(SkipReason::InvalidAddress, text, "not an IP address");
        return std::nullopt;
      case AddressKind::Prefix:
        skip(SkipReason::AddressIsCidr, text, text + " is a CIDR, not a single address");
        return std::nullopt;
      case AddressKind::Ipv4:
      case AddressKind::Ipv6:
        break;
    }
    for (const auto& cidr : options_.allowed) {
      if (address.inside(cidr)) return address;
    }
    skip(SkipReason::AddressOutsideAllowed, text,
         "address " + text + " is outside the allowed ranges " + allowed_text_);
    return std::nullopt;
  }

  EntryTranslation out;

 private:
  const ServiceEntry& entry_;
  const TranslateOptions& options_;
  const std::string& allowed_text_;
};

}  // namespace

std::string_view skip_reason_label(SkipReason reason) noexcept {
  switch (reason) {
    case SkipReason::ResolutionNone:
      return "resolution_none";
    case SkipReason::NoHosts:
      return "no_hosts";
    case SkipReason::InvalidAddress:
      return "invalid_address";
    case SkipReason::AddressIsCidr:
      return "address_is_cidr";
    case SkipReason::AddressOutsideAllowed:
      return "address_outside_allowed";
    case SkipReason::StatusAddressUnknownHost:
      return "status_address_unknown_host";
    case SkipReason::InvalidHost:
      return "invalid_host";
    case SkipReason::HostOutsideZones:
      return "host_outside_zones";
    case SkipReason::NoServedAddress:
      return "no_served_address";
    case SkipReason::NoAddress:
      return "no_address";
  }
  return "unknown";
}

bool skips_address(SkipReason reason) noexcept {
  switch (reason) {
    case SkipReason::InvalidAddress:
    case SkipReason::AddressIsCidr:
    case SkipReason::AddressOutsideAllowed:
    case SkipReason::StatusAddressUnknownHost:
      return true;
    default:
      return false;
  }
}

std::string normalize_host(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return lower(name);
}

std::weak_ordering compare_precedence(const ServiceEntry& a, const ServiceEntry& b) {
  // An absent creationTimestamp sorts last (newest).
  if (a.created_unix.has_value() != b.created_unix.has_value())
    return a.created_unix.has_value() ? std::weak_ordering::less : std::weak_ordering::greater;
  if (a.created_unix.has_value()) {
    if (const auto c = *a.created_unix <=> *b.created_unix; c != 0) return c;
  }
  if (const auto c = a.namespace_ <=> b.namespace_; c != 0) return c;
  if (const auto c = a.name <=> b.name; c != 0) return c;
  if (const auto c = a.origin <=> b.origin; c != 0) return c;
  if (const auto c = a.hosts <=> b.hosts; c != 0) return c;
  if (const auto c = a.addresses <=> b.addresses; c != 0) return c;
  if (const auto c = a.resolution <=> b.resolution; c != 0) return c;
  return std::lexicographical_compare_three_way(
      a.status_addresses.begin(), a.status_addresses.end(), b.status_addresses.begin(),
      b.status_addresses.end(), [](const StatusAddress& x, const StatusAddress& y) {
        if (const auto c = x.value <=> y.value; c != 0) return c;
        return x.host <=> y.host;
      });
}

EntryTranslator::EntryTranslator(TranslateOptions options) : options_(std::move(options)) {
  for (const auto& zone : options_.zones) zones_.push_back(normalize_host(zone));
  std::vector<std::string> allowed;
  for (const auto& cidr : options_.allowed) allowed.push_back(cidr.to_string());
  allowed_text_ = allowed.empty() ? "(none configured)" : join(allowed);
  zones_text_ = join(options_.zones);
}

EntryTranslation EntryTranslator::translate(const ServiceEntry& entry) const {
  EntryWork work(entry, options_, allowed_text_);
  if (entry.resolution == Resolution::None) {
    work.skip(SkipReason::ResolutionNone, "", "resolution NONE is not served");
    return std::move(work.out);
  }
  if (entry.hosts.empty()) {
    work.skip(SkipReason::NoHosts, "", "no hosts");
    return std::move(work.out);
  }

  // Addresses for every host, and (status.addresses only) for one named host.
  // The sets that find repeats are filled only when there can be one: a first load of 1M
  // entries, nearly all with one host and one address, made a node and a string for each.
  Addresses common;
  std::map<std::string, Addresses> per_host;
  std::set<std::string> seen_text;
  if (!entry.addresses.empty()) {
    const bool several = entry.addresses.size() > 1;
    for (const auto& text : entry.addresses) {
      if (several && !seen_text.insert(text).second) continue;
      if (const auto address = work.served_address(text)) common.add(*address);
    }
  } else {
    std::set<std::string> host_names;  // status addresses may name a host
    for (const auto& host : entry.hosts) host_names.insert(normalize_host(host));
    for (const auto& status : entry.status_addresses) {
      if (!seen_text.insert(status.value + "\n" + status.host).second) continue;
      const std::string host = normalize_host(status.host);
      if (!host.empty() && host_names.count(host) == 0) {
        work.skip(SkipReason::StatusAddressUnknownHost, status.value,
                  "status address for host " + status.host + ", which spec.hosts does not list");
        continue;
      }
      const auto address = work.served_address(status.value);
      if (!address) continue;
      if (host.empty()) {
        common.add(*address);
      } else {
        per_host[host].add(*address);
      }
    }
  }
  const bool has_addresses = !entry.addresses.empty() || !entry.status_addresses.empty();

  std::set<std::string> done;
  const bool several_hosts = entry.hosts.size() > 1;
  for (const auto& host : entry.hosts) {
    std::string_view trimmed = host;
    if (!trimmed.empty() && trimmed.back() == '.') trimmed.remove_suffix(1);
    if (auto problem = host_problem(trimmed)) {
      work.skip(SkipReason::InvalidHost, host, std::move(*problem));
      continue;
    }
    std::string name = lower(trimmed);
    if (several_hosts && !done.insert(name).second) continue;  // listed twice (any case)
    const bool inside = std::any_of(zones_.begin(), zones_.end(),
                                    [&](const std::string& zone) { return in_zone(name, zone); });
    if (!inside) {
      work.skip(SkipReason::HostOutsideZones, host, "outside the served zones " + zones_text_);
      continue;
    }
    Addresses addresses = common;
    if (const auto it = per_host.find(name); it != per_host.end()) addresses.add(it->second);
    if (addresses.empty()) {
      if (has_addresses) {
        work.skip(SkipReason::NoServedAddress, host, "none of its addresses is served");
      } else {
        work.skip(SkipReason::NoAddress, host,
                  "no addresses (spec.addresses and status.addresses are empty)");
      }
      continue;
    }
    work.out.claims.push_back(
        resolver::HostRecords{std::move(name), std::move(addresses.v4), std::move(addresses.v6)});
  }
  return std::move(work.out);
}

Translation translate(const std::vector<ServiceEntry>& input, const TranslateOptions& options) {
  std::vector<const ServiceEntry*> entries;
  entries.reserve(input.size());
  for (const auto& entry : input) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const ServiceEntry* a, const ServiceEntry* b) { return precedes(*a, *b); });

  const EntryTranslator translator(options);
  Translation out;
  std::map<std::string, const ServiceEntry*> keys;
  std::map<std::string, std::pair<const ServiceEntry*, resolver::HostRecords>> claims;
  for (const ServiceEntry* entry : entries) {
    const auto [it, inserted] = keys.emplace(entry->key(), entry);
    if (!inserted) {
      // The same object twice: the first copy in order is served, this one dropped whole.
      out.conflicts.push_back(Conflict{"", it->second->key(), entry->key(),
                                       it->second->origin.text(), entry->origin.text()});
      continue;
    }
    EntryTranslation one = translator.translate(*entry);
    for (auto& skip : one.skipped) out.skipped.push_back(std::move(skip));
    for (auto& claim : one.claims) {
      const auto found = claims.find(claim.name);
      if (found != claims.end()) {
        const ServiceEntry& winner = *found->second.first;
        out.conflicts.push_back(Conflict{claim.name, winner.key(), entry->key(),
                                         winner.origin.text(), entry->origin.text()});
        continue;
      }
      std::string name = claim.name;
      claims.emplace(std::move(name), std::make_pair(entry, std::move(claim)));
    }
  }

  out.hosts.reserve(claims.size());
  for (auto& [name, claim] : claims) out.hosts.push_back(std::move(claim.second));
  return out;
}

}  // namespace globaldns::sync
