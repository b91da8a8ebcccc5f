// Admin endpoints: /zone through the ldns zone export, /explain through sync::explain.
#include "app/admin_endpoints.hpp"

#include <boost/json.hpp>

#include "app/zone_export.hpp"
#include "sync/cidr.hpp"

namespace globaldns::app {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string_view answer_label(sync::ExplainAnswer answer) {
  switch (answer) {
    case sync::ExplainAnswer::Served:
      return "served";
    case sync::ExplainAnswer::ServedByWildcard:
      return "served_by_wildcard";
    case sync::ExplainAnswer::ZoneApex:
      return "zone_apex";
    case sync::ExplainAnswer::EmptyNonTerminal:
      return "empty_non_terminal";
    case sync::ExplainAnswer::NxDomain:
      return "nxdomain";
    case sync::ExplainAnswer::OutsideZones:
      return "outside_zones";
  }
  return "unknown";
}

std::string_view finding_label(sync::ExplainFinding::Kind kind) {
  switch (kind) {
    case sync::ExplainFinding::Kind::Skipped:
      return "skipped";
    case sync::ExplainFinding::Kind::LostConflict:
      return "lost_conflict";
    case sync::ExplainFinding::Kind::DuplicateCopy:
      return "duplicate_copy";
  }
  return "unknown";
}

}  // namespace

std::optional<std::string> query_parameter(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq));
    if (!name || *name != key) continue;
    if (eq == std::string_view::npos) return std::string();
    return percent_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

std::string explanation_json(const sync::Explanation& e) {
  namespace json = boost::json;
  json::object out;
  out["name"] = e.name;
  out["served"] = sync::is_served(e);
  out["answer"] = answer_label(e.answer);
  out["published"] = e.published;
  out["zone"] = e.zone;
  json::array zones;
  for (const auto& z : e.zones) zones.emplace_back(z);
  out["zones"] = std::move(zones);
  if (!e.owner.empty()) {
    out["owner"] = e.owner;
    out["entry"] = e.entry;
    out["origin"] = e.origin;
    out["ttl"] = e.ttl;
    json::array a;
    json::array aaaa;
    for (const auto& ip : e.records.v4) a.emplace_back(sync::address_to_string(ip));
    for (const auto& ip : e.records.v6) aaaa.emplace_back(sync::address_to_string(ip));
    out["a"] = std::move(a);
    out["aaaa"] = std::move(aaaa);
    json::array unserved;
    for (const sync::Skip& skip : e.unserved_addresses)
      unserved.emplace_back(json::object{{"reason", sync::skip_reason_label(skip.code)},
                                         {"subject", skip.subject},
                                         {"message", skip.reason}});
    out["unserved_addresses"] = std::move(unserved);
  }
  json::array findings;
  for (const sync::ExplainFinding& f : e.findings) {
    json::object item;
    item["kind"] = finding_label(f.kind);
    item["host"] = f.host;
    item["entry"] = f.entry;
    item["origin"] = f.origin;
    if (!f.other.empty()) {
      item["other"] = f.other;
      item["other_origin"] = f.other_origin;
    }
    json::array skips;
    for (const sync::Skip& s : f.skips) {
      skips.emplace_back(json::object{{"reason", sync::skip_reason_label(s.code)},
                                      {"subject", s.subject},
                                      {"message", s.reason}});
    }
    if (!skips.empty()) item["skips"] = std::move(skips);
    findings.emplace_back(std::move(item));
  }
  out["findings"] = std::move(findings);
  json::array nearby;
  for (const auto& n : e.nearby) nearby.emplace_back(n);
  out["nearby"] = std::move(nearby);
  std::string text = json::serialize(out);
  text += '\n';
  return text;
}

http::Response explain_endpoint(std::string_view query,
                                const std::function<sync::Explanation(std::string_view)>& explain) {
  const std::optional<std::string> name = query_parameter(query, "name");
  const std::optional<std::string> format = query_parameter(query, "format");
  if (!name || name->empty() || (format && *format != "text" && *format != "json"))
    return {400, "usage: /explain?name=NAME[&format=text|json]\n"};
  const sync::Explanation explanation = explain(*name);
  http::Response response;
  response.status = !explanation.published         ? kExplainNothingPublished
                    : sync::is_served(explanation) ? kExplainServed
                                                   : kExplainNotServed;
  if (format && *format == "json") {
    response.body = explanation_json(explanation);
    response.content_type = "application/json";
  } else {
    response.body = sync::explanation_text(explanation);
  }
  return response;
}

http::Response zone_endpoint(const resolver::Snapshot* snapshot) {
  if (snapshot == nullptr) return {503, "no snapshot published yet: not every source has loaded\n"};
  return {200, export_zone_text(*snapshot)};
}

}  // namespace globaldns::app
