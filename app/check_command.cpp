// `globaldns check`: validates config and ServiceEntry files; prints what is served and what is
// not.
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <iterator>

#include "app/commands.hpp"
#include "app/wiring.hpp"
#include "app/zone_export.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "sync/file_source.hpp"
#include "sync/translate.hpp"

namespace globaldns::app {

namespace {

constexpr const char* kCheckUsage =
    "usage: globaldns check [flags]\n"
    "Reads the config and the ServiceEntry files as `serve` would, prints the zones that would\n"
    "be served (RFC 1035 text) and every entry, host or address skipped, with the reason.\n"
    "Exit status: 0 all files read, 1 a file could not be read or parsed, 2 bad config.\n\n";

}  // namespace

int run_check_command(const std::vector<std::string>& args) {
  int exit_code = 0;
  const std::optional<config::Config> config =
      load_config_for("check", kCheckUsage, args, exit_code);
  if (!config) return exit_code;

  boost::asio::io_context io;
  std::vector<sync::ServiceEntry> entries;
  sync::FileSource source(io, file_source_options(*config), [&](const sync::SourceParts& change) {
    for (const auto& part : change.parts)
      for (const sync::PackedEntry& entry : part.entries) entries.push_back(entry.unpack());
  });
  if (auto loaded = source.load_initial(); !loaded) {
    std::fprintf(stderr, "globaldns: %s\n", loaded.error().c_str());
    return kExitFailure;
  }
  const sync::SyncSettings settings = sync_settings(*config);
  const sync::Translation t = sync::translate(entries, settings.translate);
  resolver::ZoneData data = settings.zone;
  data.hosts = t.hosts;
  auto snapshot = resolver::build_snapshot(data);
  if (!snapshot) {
    std::fprintf(stderr, "globaldns: cannot build the zone: %s\n", snapshot.error().c_str());
    return kExitFailure;
  }

  std::printf("; %zu ServiceEntries read, %zu names served\n", entries.size(), t.hosts.size());
  std::printf("%s", export_zone_text(**snapshot).c_str());
  int code = 0;
  const auto problems = source.problems();
  if (!problems.empty()) {
    std::printf("\n; file problems:\n");
    for (const std::string& p : problems) std::printf(";   %s\n", p.c_str());
  }
  if (!source.complete()) code = kExitFailure;
  if (!t.skipped.empty()) {
    std::printf("\n; skipped:\n");
    for (const sync::Skip& s : t.skipped)
      std::printf(";   %s (%s)%s%s: %s\n", s.entry.c_str(), s.origin.c_str(),
                  s.subject.empty() ? "" : " ", s.subject.c_str(), s.reason.c_str());
  }
  if (!t.conflicts.empty()) {
    std::printf("\n; conflicts (the oldest creationTimestamp wins):\n");
    for (const sync::Conflict& c : t.conflicts) {
      if (c.host.empty())  // one namespace/name defined twice: the older copy is served whole
        std::printf(";   %s defined twice: served from %s, not from %s\n", c.winner.c_str(),
                    c.winner_origin.c_str(), c.loser_origin.c_str());
      else
        std::printf(";   %s: served from %s (%s), not from %s (%s)\n", c.host.c_str(),
                    c.winner.c_str(), c.winner_origin.c_str(), c.loser.c_str(),
                    c.loser_origin.c_str());
    }
  }
  return code;
}

}  // namespace globaldns::app
