// SyncController: ServiceEntries -> translation -> snapshot, published only when the data changed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/result.hpp"
#include "resolver/snapshot_holder.hpp"
#include "resolver/zone_builder.hpp"
#include "resolver/zone_data.hpp"
#include "sync/background_load.hpp"
#include "sync/explain.hpp"
#include "sync/service_entry.hpp"
#include "sync/source_parts.hpp"
#include "sync/translate.hpp"
#include "sync/translation_index.hpp"

namespace globaldns::sync {

struct SyncSettings {
  TranslateOptions translate;
  // Zones, SOA, TTL and EDNS size of every snapshot; its hosts and serial are ignored.
  resolver::ZoneData zone;
};

// Seams for tests; empty members mean ZoneBuilder::build and the system clock.
struct SyncHooks {
  // Builds the snapshot from the builder holding every served host; an error fails the
  // update (the previous snapshot keeps serving and the next update retries).
  std::function<Result<std::shared_ptr<const resolver::Snapshot>>(resolver::ZoneBuilder& builder,
                                                                  uint32_t serial)>
      build;
  std::function<int64_t()> unix_now;
};

enum class ApplyOutcome : uint8_t {
  Published,    // a new snapshot with a new serial
  Unchanged,    // same names, addresses and zone settings as the one published: nothing done
  BuildFailed,  // the previous snapshot keeps serving
  NotReady,     // a required source has not loaded yet: nothing published so far
};

struct ApplySummary {
  ApplyOutcome outcome = ApplyOutcome::Unchanged;
  uint32_t serial = 0;  // the serial being served afterwards (0: nothing published yet)
  size_t names = 0;
  size_t addresses = 0;
  size_t skipped = 0;
  std::array<size_t, kSkipReasonCount> skipped_by_reason{};  // indexed by SkipReason
  size_t conflicts = 0;
};

// For /metrics: what is served and what publishing it has cost so far.
struct SyncCounters {
  ApplySummary served;             // as of the last publish (all zero before the first)
  uint64_t publishes = 0;          // snapshots published
  uint64_t build_failures = 0;     // builds that failed (the previous snapshot kept serving)
  double last_build_seconds = 0;   // translation to publish, for the last snapshot
  double build_seconds_total = 0;  // the same, summed over every publish
  int64_t last_publish_unix = 0;   // wall clock of the last publish; 0 before the first
};

// One named source of entries, for status and logging.
struct SourceSummary {
  std::string name;
  size_t entries = 0;   // copies held (duplicates of one namespace/name counted)
  bool loaded = false;  // has had replace_source(), or SourceLoad::Complete parts, once
};

// Merges ServiceEntries from named sources (files, Kubernetes clusters) and keeps the served
// snapshot current. Entries of every source are translated together under translate()'s rules
// (the same namespace/name from two sources is two copies of one object: one is served). An
// update costs O(entries it changes x log n) and re-encodes only the hosts whose records
// changed, through a resolver::ZoneBuilder.
//
// Thread-safe; calls are serialised. Each skip and conflict is logged once (warn) while it
// lasts, and again only if it goes away and comes back. The serial is
// max(previous + 1, unix time), so it also grows across restarts (RFC 1982 comparison by
// secondaries and caches stays meaningful).
class SyncController {
 public:
  SyncController(SyncSettings settings, resolver::SnapshotHolder& holder, SyncHooks hooks = {});
  ~SyncController();

  // The whole current set of `source` (a Kubernetes list or relist). The same namespace/name
  // may appear more than once. Only what differs from what the source had is re-translated.
  ApplySummary replace_source(const std::string& source, std::vector<ServiceEntry> entries);
  // The same for entries packed already (a Kubernetes list: 1M of them as ServiceEntry objects
  // took about 280 MB before the index was built from them, packed about 100).
  ApplySummary replace_source_packed(const std::string& source, std::vector<PackedEntry> entries);
  // A whole set of `source` handed on in pieces as they arrive (a Kubernetes list, page by
  // page): stage_restart() begins one, dropping whatever was staged before; stage_add() adds a
  // piece (`expected`: about how many entries the whole set has, 0 if unknown); stage_finish()
  // is replace_source_packed() of the entries added since, of two with the same namespace/name
  // the later. While the index holds no other entry, the pieces are indexed on a thread of their
  // own as they come: at 1M, reading the list and indexing it then overlap, and once the last
  // page is in, only the build is left.
  void stage_restart(const std::string& source);
  void stage_add(const std::string& source, std::vector<PackedEntry> entries, size_t expected);
  ApplySummary stage_finish(const std::string& source);
  // Some parts of `source` (the file source: one part per file), each replacing what that
  // part held, so that a source need not keep its entries to hand on the whole set; as
  // replace_source() only what differs is re-translated. The source counts as loaded (see
  // require_sources()) once a change says SourceLoad::Complete.
  ApplySummary replace_source_parts(const std::string& source, SourceParts change);
  // Watch events of a source whose namespace/names are unique: `removed_keys`
  // ("namespace/name") are applied first, then `upserts` (the last of one key wins).
  ApplySummary update_source(const std::string& source, const std::vector<ServiceEntry>& upserts,
                             const std::vector<std::string>& removed_keys);
  ApplySummary update_source_packed(const std::string& source, std::vector<PackedEntry> upserts,
                                    const std::vector<std::string>& removed_keys);
  // Drops a source's entries; it is no longer required.
  ApplySummary remove_source(const std::string& source);
  // Nothing is published until each of these sources has loaded (replace_source(), or parts
  // with SourceLoad::Complete), so that queries get SERVFAIL, not NXDOMAIN, for names only
  // missing because a source is not loaded yet. Once something is published this no longer
  // holds anything back.
  void require_sources(std::vector<std::string> sources);
  // The single unnamed source ("").
  ApplySummary apply(const std::vector<ServiceEntry>& entries);
  // Config reload (SIGHUP): every entry again under the new settings, into a new ZoneBuilder.
  ApplySummary update_settings(SyncSettings settings);

  uint32_t serial() const;
  SyncCounters counters() const;
  std::vector<SourceSummary> sources() const;
  // translate() of every entry held (O(n): for status pages and tests).
  Translation translation() const;
  // Why `name` is or is not served (sync/explain), from the entries held now; `published` is
  // false before the first snapshot. O(n), under the lock that updates take: call it from the
  // thread that drives the controller (serve's io_context), so it never waits for one; DNS
  // queries never take this lock.
  Explanation explain(std::string_view name) const;

 private:
  struct Part {
    // The index tags this part's copies with it and finds them by it, so the part keeps no
    // map of its own (a multimap from key hash to handle cost 40 bytes a copy, 40 MB at 1M).
    TranslationIndex::Tag tag = 0;
  };
  struct Source {
    // By name; a source given whole (replace_source(), update_source()) is the one part "".
    std::map<std::string, Part> parts;
    bool loaded = false;
  };

  IndexChanges take_changes_locked();
  ApplySummary finish_locked(IndexChanges changes);
  ApplySummary summary_locked(ApplyOutcome outcome) const;
  void report(const IndexChanges& changes);
  // The part of `source` named `name`, made (with a tag of its own) if it is new.
  Part& part_locked(Source& source, const std::string& name);
  template <typename Entry>
  ApplySummary replace_source_of(const std::string& source, std::vector<Entry> entries);
  template <typename Entry>
  ApplySummary replace_source_locked(const std::string& source, std::vector<Entry> entries);
  template <typename Entry>
  void replace_part_locked(const Part& part, std::vector<Entry> entries);
  // `Entries`: a vector of ServiceEntry (const) or of PackedEntry (moved from).
  template <typename Entries>
  ApplySummary update_source_of(const std::string& source, Entries& upserts,
                                const std::vector<std::string>& removed_keys);
  void erase_part_locked(const Part& part);
  void erase_copies(const Part& part, std::string_view namespace_, std::string_view name);
  bool ready_locked() const;
  Result<Ok> sync_builder_locked();

  mutable std::mutex mutex_;
  SyncSettings settings_;
  resolver::SnapshotHolder& holder_;
  SyncHooks hooks_;
  std::unique_ptr<TranslationIndex> index_;
  std::map<std::string, Source> sources_;
  // A source's whole set in pieces, until stage_finish(): indexed in the background when it
  // began while the index was empty, otherwise only held.
  struct Staged {
    std::unique_ptr<BackgroundLoad> load;
    TranslationIndex::Tag tag = 0;  // of load's copies
    resolver::ZoneData zone;        // load's builder's settings
    std::vector<PackedEntry> held;
  };
  std::map<std::string, Staged> staged_;
  TranslationIndex::Tag next_tag_ = 1;  // for the next new part
  std::set<std::string> required_;
  // Null until the first build, and after settings change: the next update fills a new one.
  std::unique_ptr<resolver::ZoneBuilder> builder_;
  bool builder_published_ = false;  // builder_'s zone settings are what is served
  // Hosts whose records in builder_ may differ from the index's.
  std::set<std::string> dirty_;
  // Hosts whose served records may differ from the index's, with what is served for them.
  std::map<std::string, std::optional<resolver::HostRecords>> pending_;
  bool published_ = false;
  // Info lines about publishing are rate-limited (see apply_locked).
  static constexpr std::chrono::seconds kPublishLogInterval{10};
  std::optional<std::chrono::steady_clock::time_point> last_publish_log_;
  uint64_t publishes_since_log_ = 0;
  uint32_t serial_ = 0;
  SyncCounters counters_;
};

}  // namespace globaldns::sync
