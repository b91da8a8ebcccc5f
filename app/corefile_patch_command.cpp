// `globaldns corefile-patch`: the Corefile on stdin or in a file, patched, on stdout.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "app/commands.hpp"
#include "app/corefile_patch.hpp"

namespace globaldns::app {

namespace {

constexpr const char* kPatchUsage =
    "usage: globaldns corefile-patch --target IP[:PORT] [--coredns-version X.Y.Z] [--grpc]\n"
    "                                [FILE|-]\n"
    "       globaldns corefile-patch --revert [FILE|-]\n"
    "Reads a CoreDNS Corefile (FILE, or stdin when FILE is absent or -) and prints it with a\n"
    "`global:53` server block that sends the global zone to globaldns at --target (the globaldns\n"
    "Service's ClusterIP): added at the end, or replacing the existing global:53 block in place.\n"
    "Every other byte is left as it was; running it twice gives the same result.\n"
    "\n"
    "  --target IP[:PORT]        where globaldns listens (port 53, or 8053 with --grpc)\n"
    "  --coredns-version X.Y.Z   the cluster's CoreDNS: before 1.5.0 the block uses `proxy`\n"
    "                            (forward otherwise); default: a current CoreDNS\n"
    "  --grpc                    use CoreDNS's gRPC DnsService (`grpc . IP:8053`)\n"
    "  --revert                  remove the block this command wrote\n"
    "\n"
    "Exit status: 0 printed, 1 the Corefile cannot be patched (the reason on stderr, nothing on\n"
    "stdout), 2 bad usage.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "globaldns corefile-patch: %s\n\n%s", message.c_str(), kPatchUsage);
  return kExitUsage;
}

}  // namespace

int run_corefile_patch_command(const std::vector<std::string>& args) {
  CorefilePatchOptions options;
  std::optional<std::string> file;
  bool have_target = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kPatchUsage, stdout);
      return 0;
    }
    if (a == "--target") {
      auto v = value();
      if (!v) return usage_error("--target needs a value");
      options.target = *v;
      have_target = true;
    } else if (a == "--coredns-version") {
      auto v = value();
      if (!v) return usage_error("--coredns-version needs a value");
      auto version = parse_coredns_version(*v);
      if (!version) return usage_error(version.error());
      options.coredns_version = *version;
    } else if (a == "--grpc") {
      options.grpc = true;
    } else if (a == "--revert") {
      options.revert = true;
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      return usage_error("unknown flag " + a);
    } else if (file) {
      return usage_error("one Corefile at a time (got \"" + *file + "\" and \"" + a + "\")");
    } else {
      file = a;
    }
  }
  if (!options.revert && !have_target)
    return usage_error("--target is required (the globaldns Service's ClusterIP)");
  if (options.revert && have_target) return usage_error("--revert takes no --target");

  std::string corefile;
  if (!file || *file == "-") {
    corefile.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "globaldns corefile-patch: cannot read %s: %s\n", file->c_str(),
                   std::strerror(errno));
      return kExitFailure;
    }
    corefile.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto patched = patch_corefile(corefile, options);
  if (!patched) {
    std::fprintf(stderr, "globaldns corefile-patch: %s%s%s\n", file ? file->c_str() : "stdin", ": ",
                 patched.error().c_str());
    return kExitFailure;
  }
  std::fwrite(patched->data(), 1, patched->size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : kExitFailure;
}

}  // namespace globaldns::app
