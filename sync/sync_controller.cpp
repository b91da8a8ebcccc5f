// SyncController: translate, compare with what is served, build, publish; log what changed.
#include "sync/sync_controller.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "resolver/snapshot_builder.hpp"

namespace globaldns::sync {
namespace {

int64_t system_unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Keys leave out the origin (file:line), which moves when unrelated lines are edited.
std::string skip_key(const Skip& skip) {
  return skip.entry + '\x1f' + skip.subject + '\x1f' + skip.reason;
}

std::string skip_text(const Skip& skip) {
  std::string text = skip.entry + " (" + skip.origin + ")";
  if (!skip.subject.empty()) text += " " + skip.subject;
  return text + ": " + skip.reason;
}

std::string conflict_key(const Conflict& conflict) {
  std::string key = conflict.host + '\x1f' + conflict.winner + '\x1f' + conflict.loser;
  // Two copies of one namespace/name differ only by where they are.
  if (conflict.host.empty())
    key += '\x1f' + conflict.winner_origin + '\x1f' + conflict.loser_origin;
  return key;
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

// Whether `subject` (a host as written in an entry) is a name of `translation`.
bool served(const Translation& translation, std::string_view subject) {
  if (subject.empty()) return false;
  std::string name(subject);
  if (name.back() == '.') name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  const auto it = std::lower_bound(
      translation.hosts.begin(), translation.hosts.end(), name,
      [](const resolver::HostRecords& host, const std::string& n) { return host.name < n; });
  return it != translation.hosts.end() && it->name == name;
}

}  // namespace

SyncController::SyncController(SyncSettings settings, resolver::SnapshotHolder& holder,
                               SyncHooks hooks)
    : settings_(std::move(settings)), holder_(holder), hooks_(std::move(hooks)) {
  if (!hooks_.build) hooks_.build = resolver::build_snapshot;
  if (!hooks_.unix_now) hooks_.unix_now = system_unix_now;
}

ApplySummary SyncController::apply(const std::vector<ServiceEntry>& entries) {
  return replace_source("", entries);
}

ApplySummary SyncController::replace_source(const std::string& source,
                                            std::vector<ServiceEntry> entries) {
  std::lock_guard lock(mutex_);
  sources_[source] = std::move(entries);
  return apply_locked();
}

ApplySummary SyncController::update_source(const std::string& source,
                                           std::vector<ServiceEntry> upserts,
                                           const std::vector<std::string>& removed_keys) {
  std::lock_guard lock(mutex_);
  std::vector<ServiceEntry>& held = sources_[source];
  std::set<std::string> gone(removed_keys.begin(), removed_keys.end());
  for (const ServiceEntry& e : upserts) gone.insert(e.key());
  std::erase_if(held, [&](const ServiceEntry& e) { return gone.count(e.key()) != 0; });
  for (ServiceEntry& e : upserts) held.push_back(std::move(e));
  return apply_locked();
}

ApplySummary SyncController::remove_source(const std::string& source) {
  std::lock_guard lock(mutex_);
  sources_.erase(source);
  required_.erase(source);
  return apply_locked();
}

void SyncController::require_sources(std::vector<std::string> sources) {
  std::lock_guard lock(mutex_);
  required_.insert(sources.begin(), sources.end());
}

std::map<std::string, size_t> SyncController::source_sizes() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, size_t> sizes;
  for (const auto& [name, entries] : sources_) sizes[name] = entries.size();
  return sizes;
}

bool SyncController::gated_locked() const {
  if (published_) return false;
  for (const std::string& name : required_)
    if (sources_.count(name) == 0) return true;
  return false;
}

ApplySummary SyncController::update_settings(SyncSettings settings) {
  std::lock_guard lock(mutex_);
  settings_ = std::move(settings);
  return apply_locked();
}

uint32_t SyncController::serial() const {
  std::lock_guard lock(mutex_);
  return serial_;
}

ApplySummary SyncController::apply_locked() {
  if (gated_locked()) return ApplySummary{.outcome = ApplyOutcome::Unchanged, .serial = serial_};
  entries_.clear();
  for (const auto& [name, entries] : sources_)
    entries_.insert(entries_.end(), entries.begin(), entries.end());
  Translation translation = translate(entries_, settings_.translate);
  report(translation);  // before the hosts are moved out of it

  ApplySummary summary;
  summary.serial = serial_;
  summary.names = translation.hosts.size();
  for (const auto& host : translation.hosts) summary.addresses += host.v4.size() + host.v6.size();
  summary.skipped = translation.skipped.size();
  summary.conflicts = translation.conflicts.size();

  resolver::ZoneData data = settings_.zone;
  data.hosts = std::move(translation.hosts);
  data.serial =
      0;  // published_ is kept with serial 0 too: equal means nothing a client sees changed
  if (published_ && *published_ == data) {
    summary.outcome = ApplyOutcome::Unchanged;
    return summary;
  }

  const int64_t now = hooks_.unix_now();
  const uint32_t next = std::max<uint32_t>(serial_ + 1, static_cast<uint32_t>(now));
  data.serial = next;
  const auto started = std::chrono::steady_clock::now();
  auto built = hooks_.build(data);
  const double build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!built) {
    spdlog::error("sync: building the snapshot failed: {}; still serving serial {}", built.error(),
                  serial_);
    summary.outcome = ApplyOutcome::BuildFailed;
    return summary;
  }
  holder_.publish(std::move(built.value()));
  serial_ = next;
  data.serial = 0;
  published_ = std::move(data);
  summary.outcome = ApplyOutcome::Published;
  summary.serial = serial_;
  spdlog::info(
      "sync: published serial {}: {} names, {} addresses, {} skipped, {} conflicts, built in "
      "{:.1f} ms",
      serial_, summary.names, summary.addresses, summary.skipped, summary.conflicts, build_ms);
  return summary;
}

void SyncController::report(const Translation& translation) {
  std::map<std::string, const Skip*> skips;
  for (const auto& skip : translation.skipped) skips.emplace(skip_key(skip), &skip);
  for (const auto& [key, skip] : skips) {
    if (reported_skips_.count(key) == 0) spdlog::warn("sync: skipped {}", skip_text(*skip));
  }
  for (const auto& key : reported_skips_) {
    if (skips.count(key) != 0) continue;
    // key is "entry\x1fsubject\x1freason": say which thing recovered.
    const size_t first = key.find('\x1f');
    const size_t second = key.find('\x1f', first + 1);
    const std::string entry = key.substr(0, first);
    const std::string subject = key.substr(first + 1, second - first - 1);
    if (served(translation, subject)) {
      spdlog::info("sync: {} of {} is now served", subject, entry);
    } else {
      spdlog::info("sync: {}{}{} is no longer skipped (was: {})", entry, subject.empty() ? "" : " ",
                   subject, key.substr(second + 1));
    }
  }
  reported_skips_.clear();
  for (const auto& [key, skip] : skips) reported_skips_.insert(key);

  std::map<std::string, const Conflict*> conflicts;
  for (const auto& conflict : translation.conflicts) {
    conflicts.emplace(conflict_key(conflict), &conflict);
  }
  for (const auto& [key, conflict] : conflicts) {
    if (reported_conflicts_.count(key) == 0)
      spdlog::warn("sync: conflict: {}", conflict_text(*conflict));
  }
  for (const auto& key : reported_conflicts_) {
    if (conflicts.count(key) == 0) {
      const std::string host = key.substr(0, key.find('\x1f'));
      spdlog::info("sync: conflict over {} is over", host.empty() ? "a duplicate object" : host);
    }
  }
  reported_conflicts_.clear();
  for (const auto& [key, conflict] : conflicts) reported_conflicts_.insert(key);
}

}  // namespace globaldns::sync
