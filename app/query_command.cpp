// `globaldns query`: sends one query with ldns and prints what came back, dig-style.
#include "app/query_command.hpp"

#include <ldns/ldns.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace globaldns::app {

namespace {

constexpr const char* kUsage =
    "usage: globaldns query NAME [TYPE] [@SERVER] [-p PORT] [+tcp] [+norec] [+edns=SIZE]\n"
    "  defaults: TYPE A, SERVER 127.0.0.1, PORT 5353, UDP with EDNS 1232\n";

struct QueryArgs {
  std::string name;
  std::string type = "A";
  std::string server = "127.0.0.1";
  uint16_t port = 5353;
  bool tcp = false;
  bool recursion_desired = true;
  uint16_t edns = 1232;
};

bool parse(const std::vector<std::string>& args, QueryArgs& out, std::string& error) {
  bool have_type = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-p") {
      if (i + 1 >= args.size()) return error = "-p needs a port", false;
      const long port = std::strtol(args[++i].c_str(), nullptr, 10);
      if (port <= 0 || port > 65535) return error = "bad port \"" + args[i] + "\"", false;
      out.port = static_cast<uint16_t>(port);
    } else if (!a.empty() && a[0] == '@') {
      out.server = a.substr(1);
    } else if (a == "+tcp") {
      out.tcp = true;
    } else if (a == "+norec") {
      out.recursion_desired = false;
    } else if (a.rfind("+edns=", 0) == 0) {
      const long size = std::strtol(a.c_str() + 6, nullptr, 10);
      if (size < 0 || size > 65535) return error = "bad EDNS size \"" + a + "\"", false;
      out.edns = static_cast<uint16_t>(size);
    } else if (a == "+noedns") {
      out.edns = 0;
    } else if (out.name.empty()) {
      out.name = a;
    } else if (!have_type) {
      out.type = a;
      have_type = true;
    } else {
      return error = "unexpected argument \"" + a + "\"", false;
    }
  }
  if (out.name.empty()) return error = "missing NAME", false;
  return true;
}

}  // namespace

int run_query_command(const std::vector<std::string>& args) {
  QueryArgs qa;
  std::string error;
  if (!parse(args, qa, error)) {
    std::fprintf(stderr, "globaldns query: %s\n%s", error.c_str(), kUsage);
    return 1;
  }
  const ldns_rr_type type = ldns_get_rr_type_by_name(qa.type.c_str());
  if (type == 0) {
    std::fprintf(stderr, "globaldns query: unknown type \"%s\"\n", qa.type.c_str());
    return 1;
  }
  ldns_rdf* server = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, qa.server.c_str());
  if (!server) server = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, qa.server.c_str());
  ldns_rdf* name = ldns_dname_new_frm_str(qa.name.c_str());
  if (!server || !name) {
    std::fprintf(stderr, "globaldns query: %s\n",
                 !server ? "SERVER must be an IP address" : "NAME is not a domain name");
    if (server) ldns_rdf_deep_free(server);
    if (name) ldns_rdf_deep_free(name);
    return 1;
  }
  ldns_resolver* res = ldns_resolver_new();
  ldns_resolver_push_nameserver(res, server);
  ldns_rdf_deep_free(server);
  ldns_resolver_set_port(res, qa.port);
  ldns_resolver_set_usevc(res, qa.tcp);
  ldns_resolver_set_recursive(res, qa.recursion_desired);
  ldns_resolver_set_edns_udp_size(res, qa.edns);
  ldns_resolver_set_fail(res, true);
  ldns_resolver_set_retry(res, 2);
  ldns_resolver_set_fallback(res, false);  // show TC as it came, as dig +ignore would
  struct timeval timeout = {2, 0};
  ldns_resolver_set_timeout(res, timeout);

  ldns_pkt* reply = nullptr;
  const ldns_status st = ldns_resolver_query_status(&reply, res, name, type, LDNS_RR_CLASS_IN,
                                                    qa.recursion_desired ? LDNS_RD : 0);
  int code = 0;
  if (st != LDNS_STATUS_OK || !reply) {
    std::fprintf(stderr, "globaldns query: no answer from %s port %u: %s\n", qa.server.c_str(),
                 qa.port, ldns_get_errorstr_by_id(st));
    code = 1;
  } else {
    ldns_pkt_print(stdout, reply);
  }
  if (reply) ldns_pkt_free(reply);
  ldns_rdf_deep_free(name);
  ldns_resolver_deep_free(res);
  return code;
}

}  // namespace globaldns::app
