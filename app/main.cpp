// globaldns: authoritative DNS for service-mesh .global names; dispatches to the subcommands.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/query_command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: globaldns <command> [flags]\n"
    "\n"
    "commands:\n"
    "  serve   answer DNS for the configured zones from ServiceEntries (UDP, TCP and gRPC)\n"
    "  check   validate config and files; print what would be served and what is skipped\n"
    "  query   NAME [TYPE] [@SERVER] [-p PORT] [+tcp]: a dig-like diagnostic (ldns)\n"
    "  explain NAME [--server HOST:PORT | --offline]: why NAME is served, or why not\n"
    "  corefile-patch  --target IP[:PORT]: add the global:53 block to a CoreDNS Corefile\n"
    "  version print the version\n"
    "\n"
    "`globaldns <command> --help` lists the flags.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? globaldns::app::kExitUsage : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "serve") return globaldns::app::run_serve_command(args);
  if (command == "check") return globaldns::app::run_check_command(args);
  if (command == "corefile-patch") return globaldns::app::run_corefile_patch_command(args);
  if (command == "query") return globaldns::app::run_query_command(args);
  if (command == "explain") return globaldns::app::run_explain_command(args);
  if (command == "version" || command == "--version") {
    std::printf("globaldns %s\n", GLOBALDNS_VERSION);
    return 0;
  }
  std::fprintf(stderr, "globaldns: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
  return globaldns::app::kExitUsage;
}
