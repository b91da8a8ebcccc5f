// Textual checks of domain names and CIDRs: each returns why the text is wrong, or nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace globaldns::config {

// "global.", "svc.ns.global" (trailing dot optional), or "." for the root. Labels are 1 to 63
// octets of A-Z a-z 0-9 - _ *, and the name is at most 255 octets in wire form (RFC 1035 §2.3.4).
// No escapes: nothing in a configuration needs them.
std::optional<std::string> domain_name_error(std::string_view name);

// "240.0.0.0/8", "fd00::/8": an address inet_pton accepts, a prefix length in range, and no bits
// set after the prefix (a set host bit usually means a typo, so it is not silently masked).
std::optional<std::string> cidr_error(std::string_view cidr);

}  // namespace globaldns::config
