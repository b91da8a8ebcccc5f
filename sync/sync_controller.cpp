// SyncController: translate, compare with what is served, build, publish; log what changed.
#include "sync/sync_controller.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

namespace globaldns::sync {
namespace {

int64_t system_unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string skip_text(const Skip& skip) {
  std::string text = skip.entry + " (" + skip.origin + ")";
  if (!skip.subject.empty()) text += " " + skip.subject;
  return text + ": " + skip.reason;
}

std::string conflict_text(const Conflict& conflict) {
  if (conflict.host.empty()) {
    return conflict.loser + " appears twice: serving the copy at " + conflict.winner_origin +
           ", ignoring the one at " + conflict.loser_origin;
  }
  return conflict.host + " is claimed by " + conflict.winner + " (" + conflict.winner_origin +
         ") and " + conflict.loser + " (" + conflict.loser_origin + "): the older " +
         conflict.winner + " serves it";
}

// The zone settings a ZoneBuilder is created from (its hosts and serial are not settings).
bool same_zone_settings(resolver::ZoneData a, resolver::ZoneData b) {
  a.hosts.clear();
  b.hosts.clear();
  a.serial = b.serial = 0;
  return a == b;
}

// Of entries with the same namespace/name, the later, as a store replacing by key keeps them.
std::vector<PackedEntry> last_of_each_key(std::vector<PackedEntry> entries) {
  using Key = std::pair<std::string_view, std::string_view>;
  boost::unordered_flat_set<Key, boost::hash<Key>> seen;
  std::vector<bool> kept(entries.size(), false);
  size_t count = 0;
  for (size_t i = entries.size(); i-- > 0;) {
    kept[i] = seen.emplace(entries[i].namespace_(), entries[i].name()).second;
    count += kept[i] ? 1 : 0;
  }
  if (count == entries.size()) return entries;
  std::vector<PackedEntry> out;
  out.reserve(count);
  for (size_t i = 0; i < entries.size(); ++i)
    if (kept[i]) out.push_back(std::move(entries[i]));
  return out;
}

}  // namespace

SyncController::SyncController(SyncSettings settings, resolver::SnapshotHolder& holder,
                               SyncHooks hooks)
    : settings_(std::move(settings)),
      holder_(holder),
      hooks_(std::move(hooks)),
      index_(std::make_unique<TranslationIndex>(settings_.translate)) {
  if (!hooks_.build) {
    hooks_.build = [](resolver::ZoneBuilder& builder,
                      uint32_t serial) -> Result<std::shared_ptr<const resolver::Snapshot>> {
      auto built = builder.build(serial);
      if (!built) return Error{"the zone builder produced no snapshot"};
      return built;
    };
  }
  if (!hooks_.unix_now) hooks_.unix_now = system_unix_now;
}

SyncController::~SyncController() = default;

ApplySummary SyncController::apply(const std::vector<ServiceEntry>& entries) {
  return replace_source("", entries);
}

namespace {
// The key's two halves, of an entry in either form.
std::string_view namespace_of(const ServiceEntry& entry) {
  return entry.namespace_;
}
std::string_view namespace_of(const PackedEntry& entry) {
  return entry.namespace_();
}
std::string_view name_of(const ServiceEntry& entry) {
  return entry.name;
}
std::string_view name_of(const PackedEntry& entry) {
  return entry.name();
}
}  // namespace

ApplySummary SyncController::replace_source(const std::string& name,
                                            std::vector<ServiceEntry> entries) {
  return replace_source_of(name, std::move(entries));
}

ApplySummary SyncController::replace_source_packed(const std::string& name,
                                                   std::vector<PackedEntry> entries) {
  return replace_source_of(name, std::move(entries));
}

template <typename Entry>
ApplySummary SyncController::replace_source_of(const std::string& name,
                                               std::vector<Entry> entries) {
  std::lock_guard lock(mutex_);
  staged_.erase(name);  // replaced whole: what was staged is older
  return replace_source_locked(name, std::move(entries));
}

void SyncController::stage_restart(const std::string& source) {
  std::unique_ptr<BackgroundLoad> dropped;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = staged_.find(source); it != staged_.end()) {
      dropped = std::move(it->second.load);
      staged_.erase(it);
    }
  }
  // Its thread is stopped outside the lock: it may be in the middle of a page.
}

void SyncController::stage_add(const std::string& source, std::vector<PackedEntry> entries,
                               size_t expected) {
  if (entries.empty()) return;
  std::lock_guard lock(mutex_);
  const bool begun = staged_.count(source) != 0;
  Staged& staged = staged_[source];
  if (!begun && index_->entries() == 0 &&
      std::none_of(staged_.begin(), staged_.end(),
                   [](const auto& other) { return other.second.load != nullptr; })) {
    // Nothing to merge with: this set can become the index as it is.
    staged.tag = next_tag_++;
    staged.zone = settings_.zone;
    staged.load =
        std::make_unique<BackgroundLoad>(settings_.translate, staged.zone, staged.tag, expected);
  }
  if (staged.load) {
    staged.load->add(std::move(entries));
  } else {
    staged.held.insert(staged.held.end(), std::make_move_iterator(entries.begin()),
                       std::make_move_iterator(entries.end()));
  }
}

ApplySummary SyncController::stage_finish(const std::string& name) {
  Staged staged;
  {
    std::unique_lock lock(mutex_);
    if (const auto it = staged_.find(name); it != staged_.end()) {
      staged = std::move(it->second);
      staged_.erase(it);
    }
    if (!staged.load) return replace_source_locked(name, last_of_each_key(std::move(staged.held)));
  }
  // Outside the lock: the thread may have a page or two left, and a status page need not wait.
  BackgroundLoad::Loaded loaded = staged.load->finish();
  staged.load.reset();
  std::lock_guard lock(mutex_);
  Source& source = sources_[name];
  // Still nothing else held, and under the same rules: the loaded index is the index.
  if (index_->entries() == 0 && loaded.index->options() == settings_.translate) {
    index_ = std::move(loaded.index);
    source.parts.clear();
    source.parts[""].tag = staged.tag;
    source.loaded = true;
    // So is its builder, which holds every host served: only the shards are left to encode.
    // Without one, a build from the whole index, where an old builder would take every host as
    // a change.
    builder_.reset();
    if (loaded.builder && same_zone_settings(staged.zone, settings_.zone)) {
      builder_ = std::move(loaded.builder);
      dirty_.clear();
    }
    builder_published_ = false;
    return finish_locked(index_->take_changes(TranslationIndex::HostChanges::Omitted));
  }
  return replace_source_locked(name, TranslationIndex::take_entries(std::move(loaded.index)));
}

template <typename Entry>
ApplySummary SyncController::replace_source_locked(const std::string& name,
                                                   std::vector<Entry> entries) {
  Source& source = sources_[name];
  for (auto it = source.parts.begin(); it != source.parts.end();) {
    if (it->first.empty()) {
      ++it;
      continue;
    }
    erase_part_locked(it->second);
    it = source.parts.erase(it);
  }
  replace_part_locked(part_locked(source, ""), std::move(entries));
  source.loaded = true;
  return finish_locked(take_changes_locked());
}

ApplySummary SyncController::replace_source_parts(const std::string& name, SourceParts change) {
  std::lock_guard lock(mutex_);
  Source& source = sources_[name];
  if (change.scope == PartsScope::Whole) {
    std::set<std::string_view> named;
    for (const SourcePart& part : change.parts) named.insert(part.name);
    for (auto it = source.parts.begin(); it != source.parts.end();) {
      if (named.count(it->first) != 0) {
        ++it;
        continue;
      }
      erase_part_locked(it->second);
      it = source.parts.erase(it);
    }
  }
  for (SourcePart& part : change.parts) {
    if (part.entries.empty()) {
      if (const auto it = source.parts.find(part.name); it != source.parts.end()) {
        erase_part_locked(it->second);
        source.parts.erase(it);
      }
      continue;
    }
    // The part's buffer goes once its entries are in the index, not with the whole change.
    const PackedEntries entries = std::move(part.entries);
    replace_part_locked(part_locked(source, part.name), entries.borrow());
  }
  if (change.load == SourceLoad::Complete) source.loaded = true;
  return finish_locked(take_changes_locked());
}

SyncController::Part& SyncController::part_locked(Source& source, const std::string& name) {
  Part& part = source.parts[name];
  // Tags are never reused: a copy left over from an erased part could not be mistaken for a
  // new part's. 2^32 parts in one process's life is out of reach.
  if (part.tag == 0) part.tag = next_tag_++;
  return part;
}

template <typename Entry>
void SyncController::replace_part_locked(const Part& part, std::vector<Entry> entries) {
  if (index_->count_tagged(part.tag) == 0) {
    // A first list: nothing to match against, and into an empty index a bulk load.
    index_->load_all(std::move(entries), part.tag);
    return;
  }
  // Keep each copy that is still there unchanged; insert the rest; erase what is left over.
  const std::vector<TranslationIndex::Handle> previous = index_->copies_tagged(part.tag);
  std::vector<bool> kept(previous.size(), false);
  for (auto& entry : entries) {
    bool found = false;
    for (const auto handle : index_->copies_of(namespace_of(entry), name_of(entry), part.tag)) {
      // Only a copy from before this list, each matched once: a key listed twice keeps two.
      const auto at = std::lower_bound(previous.begin(), previous.end(), handle);
      if (at == previous.end() || *at != handle) continue;
      const auto i = static_cast<size_t>(at - previous.begin());
      if (kept[i] || !(index_->entry(handle) == entry)) continue;
      kept[i] = true;
      found = true;
      break;
    }
    if (!found) index_->insert(std::move(entry), part.tag);
  }
  for (size_t i = 0; i < previous.size(); ++i) {
    if (!kept[i]) index_->erase(previous[i]);
  }
}

void SyncController::erase_part_locked(const Part& part) {
  for (const auto handle : index_->copies_tagged(part.tag)) index_->erase(handle);
}

ApplySummary SyncController::update_source(const std::string& name,
                                           const std::vector<ServiceEntry>& upserts,
                                           const std::vector<std::string>& removed_keys) {
  return update_source_of(name, upserts, removed_keys);
}

ApplySummary SyncController::update_source_packed(const std::string& name,
                                                  std::vector<PackedEntry> upserts,
                                                  const std::vector<std::string>& removed_keys) {
  return update_source_of(name, upserts, removed_keys);
}

template <typename Entries>
ApplySummary SyncController::update_source_of(const std::string& name, Entries& upserts,
                                              const std::vector<std::string>& removed_keys) {
  std::lock_guard lock(mutex_);
  Part& part = part_locked(sources_[name], "");
  for (const auto& key : removed_keys) {
    const size_t slash = std::min(key.find('/'), key.size());
    erase_copies(part, std::string_view(key).substr(0, slash),
                 std::string_view(key).substr(std::min(slash + 1, key.size())));
  }
  for (auto& entry : upserts) {
    const auto held = index_->copies_of(namespace_of(entry), name_of(entry), part.tag);
    // A resync or a status-only update that changed nothing.
    if (held.size() == 1 && index_->entry(held.front()) == entry) continue;
    erase_copies(part, namespace_of(entry), name_of(entry));
    index_->insert(std::move(entry), part.tag);
  }
  return finish_locked(take_changes_locked());
}

ApplySummary SyncController::remove_source(const std::string& name) {
  std::lock_guard lock(mutex_);
  required_.erase(name);
  staged_.erase(name);
  if (const auto it = sources_.find(name); it != sources_.end()) {
    for (auto& [part_name, part] : it->second.parts) erase_part_locked(part);
    sources_.erase(it);
  }
  return finish_locked(take_changes_locked());
}

void SyncController::require_sources(std::vector<std::string> sources) {
  std::lock_guard lock(mutex_);
  required_ = std::set<std::string>(std::make_move_iterator(sources.begin()),
                                    std::make_move_iterator(sources.end()));
}

ApplySummary SyncController::update_settings(SyncSettings settings) {
  std::lock_guard lock(mutex_);
  // Everything again under the new rules, then only the difference is reported.
  auto next = std::make_unique<TranslationIndex>(settings.translate);
  index_->for_each_copy([&](TranslationIndex::Tag tag, const PackedEntry& entry) {
    next->insert(entry.unpack(), tag);
  });
  (void)next->take_changes(TranslationIndex::HostChanges::Omitted);
  IndexChanges changes = diff_translations(index_->translation(), next->translation());
  index_ = std::move(next);
  // A new builder whenever what is served changes; the hosts go through pending_ otherwise.
  if (!same_zone_settings(settings_.zone, settings.zone) || !changes.hosts.empty()) {
    builder_.reset();
  }
  settings_ = std::move(settings);
  return finish_locked(std::move(changes));
}

uint32_t SyncController::serial() const {
  std::lock_guard lock(mutex_);
  return serial_;
}

SyncCounters SyncController::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::vector<SourceSummary> SyncController::sources() const {
  std::lock_guard lock(mutex_);
  std::vector<SourceSummary> out;
  for (const auto& [name, source] : sources_) {
    size_t entries = 0;
    for (const auto& [part_name, part] : source.parts) entries += index_->count_tagged(part.tag);
    out.push_back(SourceSummary{name, entries, source.loaded});
  }
  return out;
}

Translation SyncController::translation() const {
  std::lock_guard lock(mutex_);
  return index_->translation();
}

Explanation SyncController::explain(std::string_view name) const {
  std::lock_guard lock(mutex_);
  Explanation explanation = sync::explain(*index_, name, settings_.zone.ttl);
  explanation.published = published_;
  return explanation;
}

void SyncController::erase_copies(const Part& part, std::string_view namespace_,
                                  std::string_view name) {
  for (const auto handle : index_->copies_of(namespace_, name, part.tag)) index_->erase(handle);
}

bool SyncController::ready_locked() const {
  return std::all_of(required_.begin(), required_.end(), [&](const std::string& name) {
    const auto it = sources_.find(name);
    return it != sources_.end() && it->second.loaded;
  });
}

ApplySummary SyncController::summary_locked(ApplyOutcome outcome) const {
  ApplySummary summary;
  summary.outcome = outcome;
  summary.serial = serial_;
  summary.names = index_->names();
  summary.addresses = index_->addresses();
  summary.skipped = index_->skipped();
  summary.skipped_by_reason = index_->skipped_by_reason();
  summary.conflicts = index_->conflicts();
  return summary;
}

Result<Ok> SyncController::sync_builder_locked() {
  for (auto it = dirty_.begin(); it != dirty_.end(); it = dirty_.erase(it)) {
    if (const auto host = index_->host(*it)) {
      // A failure leaves the host dirty (and so pending), so the next update tries again.
      if (auto upserted = builder_->upsert(*host); !upserted) return upserted;
    } else {
      builder_->remove(*it);
    }
  }
  return Ok{};
}

IndexChanges SyncController::take_changes_locked() {
  // Without a builder the next build starts from the whole index: which hosts changed is not
  // needed, and on a first load of 1M entries listing them is a copy of every host's records.
  return index_->take_changes(builder_ ? TranslationIndex::HostChanges::Listed
                                       : TranslationIndex::HostChanges::Omitted);
}

ApplySummary SyncController::finish_locked(IndexChanges changes) {
  report(changes);
  // Without a builder the next build starts from the whole index, so which hosts changed does
  // not matter; on a first load of 1M entries, remembering them cost ~300 MB and 2 s.
  if (builder_) {
    for (auto& host : changes.hosts) {
      dirty_.insert(host.name);
      pending_.try_emplace(host.name, std::move(host.before));
    }
  }
  // Not needed past this point, and a first load's is every host: free it before the build.
  std::vector<IndexChanges::Host>().swap(changes.hosts);
  // A change undone before it was published is no change.
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = index_->host(it->first) == it->second ? pending_.erase(it) : std::next(it);
  }
  if (!published_ && !ready_locked()) return summary_locked(ApplyOutcome::NotReady);

  // A build from the whole index frees the index's lookups while the new builder's tables
  // exist (TranslationIndex::release_lookups); they come back once the build is done, after
  // malloc has handed back what the builder's tables left free: the new lookups would
  // otherwise come on top of that, and the start's peak with them.
  const auto lookups_back = [&] {
    if (!index_->lookups_released()) return;
    ::malloc_trim(0);
    index_->rebuild_lookups();
  };
  const auto fail = [&](const std::string& why) {
    lookups_back();
    ++counters_.build_failures;
    spdlog::error("sync: building the snapshot failed: {}; still serving serial {}", why, serial_);
    return summary_locked(ApplyOutcome::BuildFailed);
  };
  if (published_ && builder_ && builder_published_ && pending_.empty()) {
    // Nothing a client would see; the builder may still hold an undone change.
    if (auto synced = sync_builder_locked(); !synced) return fail(synced.error());
    return summary_locked(ApplyOutcome::Unchanged);
  }

  const auto started = std::chrono::steady_clock::now();
  // A builder never published: every name it holds is new to what is served.
  size_t changed = builder_ && !builder_published_ ? index_->names() : pending_.size();
  if (!builder_) {
    // From scratch: after a settings change, or before the first build.
    auto created = resolver::ZoneBuilder::create(settings_.zone);
    if (!created) return fail(created.error());
    auto builder = std::move(created.value());
    index_->release_lookups();
    const auto each_host = [this](const std::function<void(const resolver::HostRecords&)>& fn) {
      index_->for_each_host(fn);
    };
    if (auto loaded = builder->load(each_host, index_->names()); !loaded)
      return fail(loaded.error());
    builder_ = std::move(builder);
    builder_published_ = false;
    dirty_.clear();
    changed = index_->names();
  } else if (auto synced = sync_builder_locked(); !synced) {
    return fail(synced.error());
  }

  const int64_t now = hooks_.unix_now();
  const uint32_t next = std::max<uint32_t>(serial_ + 1, static_cast<uint32_t>(now));
  auto built = hooks_.build(*builder_, next);
  if (!built) return fail(built.error());
  holder_.publish(std::move(built.value()));
  lookups_back();
  serial_ = next;
  published_ = true;
  builder_published_ = true;
  pending_.clear();
  const double build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  ApplySummary summary = summary_locked(ApplyOutcome::Published);
  counters_.served = summary;
  ++counters_.publishes;
  counters_.last_build_seconds = build_ms / 1000;
  counters_.build_seconds_total += build_ms / 1000;
  counters_.last_publish_unix = now;
  // A watch can bring a hundred changes a second: one info line per 10 s says what is served,
  // the rest go to debug.
  const auto logged_at = std::chrono::steady_clock::now();
  const bool quiet = last_publish_log_ && logged_at - *last_publish_log_ < kPublishLogInterval;
  const std::string since =
      publishes_since_log_ > 0
          ? fmt::format(" ({} more since the last such line)", publishes_since_log_)
          : std::string();
  spdlog::log(quiet ? spdlog::level::debug : spdlog::level::info,
              "sync: published serial {}: {} names, {} addresses, {} skipped, {} conflicts, {} "
              "changed, built in {:.1f} ms{}",
              serial_, summary.names, summary.addresses, summary.skipped, summary.conflicts,
              changed, build_ms, quiet ? std::string() : since);
  if (quiet) {
    ++publishes_since_log_;
  } else {
    publishes_since_log_ = 0;
    last_publish_log_ = logged_at;
  }
  return summary;
}

void SyncController::report(const IndexChanges& changes) {
  for (const auto& skip : changes.new_skips) spdlog::warn("sync: skipped {}", skip_text(skip));
  for (const auto& skip : changes.gone_skips) {
    if (!skip.subject.empty() && index_->host(normalize_host(skip.subject)).has_value()) {
      spdlog::info("sync: {} of {} is now served", skip.subject, skip.entry);
    } else {
      spdlog::info("sync: {}{}{} is no longer skipped (was: {})", skip.entry,
                   skip.subject.empty() ? "" : " ", skip.subject, skip.reason);
    }
  }
  for (const auto& conflict : changes.new_conflicts) {
    spdlog::warn("sync: conflict: {}", conflict_text(conflict));
  }
  for (const auto& conflict : changes.gone_conflicts) {
    spdlog::info("sync: conflict over {} is over",
                 conflict.host.empty() ? "a duplicate object" : conflict.host);
  }
}

}  // namespace globaldns::sync
