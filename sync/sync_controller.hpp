// SyncController: ServiceEntries -> translation -> snapshot, published only when the data changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "resolver/result.hpp"
#include "resolver/snapshot_holder.hpp"
#include "resolver/zone_data.hpp"
#include "sync/service_entry.hpp"
#include "sync/translate.hpp"

namespace globaldns::sync {

struct SyncSettings {
  TranslateOptions translate;
  // Zones, SOA, TTL and EDNS size of every snapshot; its hosts and serial are ignored.
  resolver::ZoneData zone;
};

// Seams for tests; empty members mean resolver::build_snapshot and the system clock.
struct SyncHooks {
  std::function<Result<std::shared_ptr<const resolver::Snapshot>>(const resolver::ZoneData&)> build;
  std::function<int64_t()> unix_now;
};

enum class ApplyOutcome : uint8_t {
  Published,    // a new snapshot with a new serial
  Unchanged,    // same names, addresses and zone settings as the one published: nothing done
  BuildFailed,  // the previous snapshot keeps serving
};

struct ApplySummary {
  ApplyOutcome outcome = ApplyOutcome::Unchanged;
  uint32_t serial = 0;  // the serial being served afterwards (0: nothing published yet)
  size_t names = 0;
  size_t addresses = 0;
  size_t skipped = 0;
  size_t conflicts = 0;
};

// Thread-safe; calls are serialised. Each skip and conflict is logged once (warn) while it
// lasts, and again only if it goes away and comes back. The serial is
// max(previous + 1, unix time), so it also grows across restarts (RFC 1982 comparison by
// secondaries and caches stays meaningful).
class SyncController {
 public:
  SyncController(SyncSettings settings, resolver::SnapshotHolder& holder, SyncHooks hooks = {});

  ApplySummary apply(const std::vector<ServiceEntry>& entries);  // the unnamed source, whole

  // Named sources ("files", "kubernetes/cluster2"), merged under the conflict rule.
  // The whole current set of one source: a file reload, a Kubernetes list or relist.
  ApplySummary replace_source(const std::string& source, std::vector<ServiceEntry> entries);
  // Watch events: entries added or changed, and namespace/name keys deleted.
  ApplySummary update_source(const std::string& source, std::vector<ServiceEntry> upserts,
                             const std::vector<std::string>& removed_keys);
  ApplySummary remove_source(const std::string& source);
  // Nothing is published until each of these has had replace_source() once.
  void require_sources(std::vector<std::string> sources);
  // Entries held per source.
  std::map<std::string, size_t> source_sizes() const;
  // Config reload (SIGHUP): the last entries again, under the new settings.
  ApplySummary update_settings(SyncSettings settings);

  uint32_t serial() const;

 private:
  ApplySummary apply_locked();
  void report(const Translation& translation);

  mutable std::mutex mutex_;
  SyncSettings settings_;
  resolver::SnapshotHolder& holder_;
  SyncHooks hooks_;
  bool gated_locked() const;

  std::map<std::string, std::vector<ServiceEntry>> sources_;
  std::set<std::string> required_;
  std::vector<ServiceEntry> entries_;
  std::optional<resolver::ZoneData> published_;  // serial zeroed, for comparison
  uint32_t serial_ = 0;
  std::set<std::string> reported_skips_;
  std::set<std::string> reported_conflicts_;
};

}  // namespace globaldns::sync
