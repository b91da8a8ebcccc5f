// corefile_patch: a Corefile lexer just deep enough to find server blocks (Caddy's rules:
// whitespace-separated tokens, `#` comments, double quotes, `{`/`}` tokens), then a text edit.
#include "app/corefile_patch.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "config/host_port.hpp"

namespace globaldns::app {

namespace {

struct Token {
  size_t begin = 0;  // byte offsets into the Corefile
  size_t end = 0;
  unsigned line = 0;
  std::string_view text;
};

Result<std::vector<Token>> lex(std::string_view in) {
  std::vector<Token> tokens;
  unsigned line = 1;
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#') {  // a comment runs to the end of the line
      while (i < in.size() && in[i] != '\n') ++i;
      continue;
    }
    Token t{i, i, line, {}};
    if (c == '"') {
      size_t j = i + 1;
      unsigned lines = 0;
      for (; j < in.size() && in[j] != '"'; ++j) {
        if (in[j] == '\\' && j + 1 < in.size()) ++j;
        if (in[j] == '\n') ++lines;
      }
      if (j >= in.size())
        return Error{"line " + std::to_string(line) + ": a quoted string is never closed"};
      t.end = j + 1;
      line += lines;
    } else {
      size_t j = i;
      while (j < in.size() && !std::isspace(static_cast<unsigned char>(in[j]))) ++j;
      t.end = j;
    }
    t.text = in.substr(t.begin, t.end - t.begin);
    tokens.push_back(t);
    i = t.end;
  }
  return tokens;
}

// A top-level server block: its keys, where it starts and ends in the text.
struct ServerBlock {
  std::vector<Token> keys;
  size_t begin = 0;  // the first key's first byte
  size_t end = 0;    // one past the closing brace
  unsigned line = 0;
};

// Top-level `import` and snippet definitions `(name) { ... }` are skipped over; anything else
// must be server blocks with braces (a single brace-less block cannot take a second one).
Result<std::vector<ServerBlock>> parse_blocks(std::string_view in,
                                              const std::vector<Token>& tokens) {
  std::vector<ServerBlock> blocks;
  size_t i = 0;
  while (i < tokens.size()) {
    if (tokens[i].text == "}")
      return Error{"line " + std::to_string(tokens[i].line) + ": '}' without a matching '{'"};
    if (tokens[i].text == "import") {  // import FILE: the rest of that line
      const unsigned line = tokens[i].line;
      while (i < tokens.size() && tokens[i].line == line) ++i;
      continue;
    }
    ServerBlock block;
    block.begin = tokens[i].begin;
    block.line = tokens[i].line;
    while (i < tokens.size() && tokens[i].text != "{") {
      if (tokens[i].text == "}")
        return Error{"line " + std::to_string(tokens[i].line) + ": '}' without a matching '{'"};
      block.keys.push_back(tokens[i]);
      ++i;
    }
    if (i == tokens.size())
      return Error{"line " + std::to_string(block.line) + ": server block \"" +
                   std::string(block.keys.front().text) +
                   "\" has no '{': a Corefile with one brace-less server block cannot take a "
                   "second one; add braces around it first"};
    unsigned depth = 0;
    for (; i < tokens.size(); ++i) {
      if (tokens[i].text == "{") ++depth;
      if (tokens[i].text == "}" && --depth == 0) break;
    }
    if (i == tokens.size())
      return Error{"line " + std::to_string(block.line) + ": server block \"" +
                   std::string(block.keys.front().text) + "\" is never closed (missing '}')"};
    block.end = tokens[i].end;
    ++i;
    blocks.push_back(std::move(block));
  }
  (void)in;
  return blocks;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The zone a key serves on port 53 over plain DNS, in "global." form; nullopt for another
// transport (tls://, grpc://, https://) or port, which are other servers.
std::optional<std::string> dns53_zone(std::string_view key) {
  while (!key.empty() && key.back() == ',') key.remove_suffix(1);
  if (const size_t scheme = key.find("://"); scheme != std::string_view::npos) {
    if (lower(key.substr(0, scheme)) != "dns") return std::nullopt;
    key.remove_prefix(scheme + 3);
  }
  if (const size_t colon = key.rfind(':'); colon != std::string_view::npos) {
    if (key.substr(colon + 1) != "53") return std::nullopt;
    key = key.substr(0, colon);
  }
  std::string zone = lower(key);
  if (zone.empty() || zone.back() != '.') zone.push_back('.');
  return zone;
}

// What serves `global.`, if this block does; whether it also serves other zones.
struct BlockZones {
  bool global = false;
  bool others = false;
};

BlockZones zones_of(const ServerBlock& block) {
  BlockZones z;
  for (const Token& key : block.keys) {
    const auto zone = dns53_zone(key.text);
    if (zone && *zone == kPatchedZone)
      z.global = true;
    else
      z.others = true;
  }
  return z;
}

std::string_view line_containing(std::string_view in, size_t pos, size_t* line_begin) {
  size_t b = in.rfind('\n', pos == 0 ? 0 : pos - 1);
  b = (b == std::string_view::npos || pos == 0) ? 0 : b + 1;
  size_t e = in.find('\n', pos);
  if (e == std::string_view::npos) e = in.size();
  *line_begin = b;
  return in.substr(b, e - b);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The bytes a block occupies as whole lines: from the start of its first line (or of our
// marker line just above it) to the end of the line holding its closing brace, newline included.
struct Span {
  size_t begin = 0;
  size_t end = 0;
  bool ours = false;
};

Span block_span(std::string_view in, const ServerBlock& block) {
  Span span;
  line_containing(in, block.begin, &span.begin);
  span.end = in.find('\n', block.end);
  span.end = span.end == std::string_view::npos ? in.size() : span.end + 1;
  // A block sharing a line with other tokens is cut at its own bytes, not at whole lines.
  const std::string_view after = trim(in.substr(block.end, span.end - block.end));
  if (!after.empty() && after.front() != '#') span.end = block.end;
  if (!trim(in.substr(span.begin, block.begin - span.begin)).empty()) {
    span.begin = block.begin;
    return span;  // no marker line can sit right above it
  }
  if (span.begin > 0) {
    size_t above = 0;
    const std::string_view prev = line_containing(in, span.begin - 1, &above);
    const std::string_view text = trim(prev);
    if (text == kPatchMarker) {
      span.begin = above;
      span.ours = true;
    } else if (text.ends_with(kPatchMarker)) {  // written after another block's brace
      span.begin = above + prev.rfind(kPatchMarker);
      span.ours = true;
    }
  }
  return span;
}

// Indentation as the file already uses it: the first block's key column and the step to the
// directives inside; four spaces by default (kubeadm's).
struct Indent {
  std::string keys;
  std::string step = "    ";
  std::string_view eol = "\n";  // "\r\n" when the file was written that way
};

Indent indent_of(std::string_view in, const std::vector<Token>& tokens,
                 const std::vector<ServerBlock>& blocks) {
  Indent indent;
  if (in.find("\r\n") != std::string_view::npos) indent.eol = "\r\n";
  if (blocks.empty()) return indent;
  size_t begin = 0;
  const std::string_view key_line = line_containing(in, blocks.front().begin, &begin);
  indent.keys = std::string(key_line.substr(0, blocks.front().begin - begin));
  for (const Token& t : tokens) {
    if (t.begin <= blocks.front().begin || t.line == blocks.front().line) continue;
    size_t b = 0;
    const std::string_view l = line_containing(in, t.begin, &b);
    const std::string_view lead = l.substr(0, t.begin - b);
    if (lead.size() > indent.keys.size() && lead.substr(0, indent.keys.size()) == indent.keys &&
        lead.find_first_not_of(" \t") == std::string_view::npos)
      indent.step = std::string(lead.substr(indent.keys.size()));
    break;
  }
  return indent;
}

struct Target {
  std::string host;  // as written in the Corefile: brackets around IPv6
  uint16_t port = 0;
};

Result<Target> parse_target(std::string_view text, uint16_t default_port) {
  const std::string s(text);
  in6_addr v6{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return Target{s, default_port};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return Target{"[" + s + "]", default_port};
  if (auto hp = config::parse_host_port(text); hp && hp->port != 0) {
    const bool v6host = hp->host.find(':') != std::string::npos;
    return Target{v6host ? "[" + hp->host + "]" : hp->host, hp->port};
  }
  return Error{"--target \"" + s +
               "\": expected an IP address with an optional port, e.g. 10.96.0.20, "
               "10.96.0.20:53 or [fd00::20]:53 (the globaldns Service's ClusterIP)"};
}

std::string render_block(const CorefilePatchOptions& options, const Target& target,
                         const Indent& indent) {
  const bool legacy = options.coredns_version && *options.coredns_version < CoreDnsVersion{1, 5, 0};
  const std::string to = target.host + ":" + std::to_string(target.port);
  const std::string& k = indent.keys;
  const std::string d = indent.keys + indent.step;
  std::string out;
  out.append(k).append(kPatchMarker).append(indent.eol);
  out.append(k).append("global:53 {").append(indent.eol);
  out.append(d).append("errors").append(indent.eol);
  out.append(d).append("cache 30").append(indent.eol);
  if (options.grpc && legacy) {
    // CoreDNS < 1.5 reached gRPC backends through proxy's protocol option.
    out.append(d).append("proxy . ").append(to).append(" {").append(indent.eol);
    out.append(d).append(indent.step).append("protocol grpc insecure").append(indent.eol);
    out.append(d).append("}").append(indent.eol);
  } else if (options.grpc) {
    out.append(d).append("grpc . ").append(to).append(indent.eol);
  } else {
    out.append(d).append(legacy ? "proxy . " : "forward . ").append(to).append(indent.eol);
  }
  out.append(k).append("}").append(indent.eol);
  return out;
}

}  // namespace

Result<CoreDnsVersion> parse_coredns_version(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && (t.front() == 'v' || t.front() == 'V')) t.remove_prefix(1);
  unsigned parts[3] = {0, 0, 0};
  size_t n = 0;
  while (n < 3) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), parts[n]);
    if (ec != std::errc() || end == t.data()) break;
    ++n;
    t.remove_prefix(static_cast<size_t>(end - t.data()));
    if (t.empty() || t.front() != '.') break;
    t.remove_prefix(1);
  }
  if (n < 2 || !t.empty())
    return Error{"--coredns-version \"" + std::string(text) +
                 "\": expected MAJOR.MINOR[.PATCH], e.g. 1.6.2"};
  return CoreDnsVersion{parts[0], parts[1], parts[2]};
}

Result<std::string> patch_corefile(std::string_view in, const CorefilePatchOptions& options) {
  auto tokens = lex(in);
  if (!tokens) return Error{tokens.error()};
  auto blocks = parse_blocks(in, *tokens);
  if (!blocks) return Error{blocks.error()};

  const ServerBlock* global = nullptr;
  for (const ServerBlock& block : *blocks) {
    const BlockZones z = zones_of(block);
    if (!z.global) continue;
    if (z.others)
      return Error{"line " + std::to_string(block.line) +
                   ": this server block serves global together with other zones; split it so "
                   "that `global:53` has a block of its own, then run again"};
    if (global)
      return Error{"lines " + std::to_string(global->line) + " and " + std::to_string(block.line) +
                   ": two server blocks serve global:53 (CoreDNS refuses that too)"};
    global = &block;
  }

  std::string out;
  if (options.revert) {
    if (!global) return std::string(in);
    const Span span = block_span(in, *global);
    if (!span.ours)
      return Error{"line " + std::to_string(global->line) +
                   ": the global block was not written by `globaldns corefile-patch` (no marker "
                   "comment above it); not removing it"};
    out.append(in.substr(0, span.begin)).append(in.substr(span.end));
    return out;
  }

  const auto target = parse_target(options.target, options.grpc ? 8053 : 53);
  if (!target) return Error{target.error()};
  const Indent indent = indent_of(in, *tokens, *blocks);
  const std::string block = render_block(options, *target, indent);
  if (global) {
    const Span span = block_span(in, *global);
    out.append(in.substr(0, span.begin)).append(block).append(in.substr(span.end));
    return out;
  }
  out.append(in);
  if (!out.empty() && out.back() != '\n') out.append(indent.eol);
  out.append(block);
  return out;
}

}  // namespace globaldns::app
