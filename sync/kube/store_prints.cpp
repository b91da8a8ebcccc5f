// StorePrints: a sorted vector of key hashes, its edits beside it, folded in from time to time.
#include "sync/kube/store_prints.hpp"

#include <algorithm>
#include <string>

#include <boost/sort/flat_stable_sort/flat_stable_sort.hpp>

namespace globaldns::sync::kube {
namespace {

bool key_less(const StorePrints::Entry& a, const StorePrints::Entry& b) {
  return a.first < b.first;
}

// The edits worth folding: an eighth of the vector, and at least this many, so that a small
// store is not rebuilt on every event.
constexpr size_t kMinEditsToFold = 1024;

}  // namespace

uint64_t StorePrints::key_hash(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}

uint64_t StorePrints::key_hash(std::string_view namespace_, std::string_view name) {
  // The text once per thread: a list of 1M keys allocates nothing for it.
  thread_local std::string key;
  key.assign(namespace_);
  key += '/';
  key += name;
  return key_hash(key);
}

StorePrints::StorePrints(std::vector<Entry> entries) : base_(std::move(entries)) {
  // The first of a key wins, as a map's emplace would keep it. Boost's flat_stable_sort, as fast
  // here as std::stable_sort, takes no buffer of half the vector's size (8 MB at 1M keys, which
  // at the end of a first list was memory the process had not touched yet).
  if (!std::is_sorted(base_.begin(), base_.end(), key_less))
    boost::sort::flat_stable_sort(base_.begin(), base_.end(), key_less);
  base_.erase(std::unique(base_.begin(), base_.end(),
                          [](const Entry& a, const Entry& b) { return a.first == b.first; }),
              base_.end());
  gone_.assign(base_.size(), false);
}

size_t StorePrints::base_index(uint64_t hash) const {
  const auto it = std::lower_bound(base_.begin(), base_.end(), hash,
                                   [](const Entry& e, uint64_t h) { return e.first < h; });
  if (it == base_.end() || it->first != hash) return base_.size();
  return static_cast<size_t>(it - base_.begin());
}

std::optional<size_t> StorePrints::find(std::string_view key) const {
  const uint64_t hash = key_hash(key);
  const size_t i = base_index(hash);
  if (i < base_.size()) {
    if (gone_[i]) return std::nullopt;
    return base_[i].second;
  }
  const auto it = added_.find(hash);
  if (it == added_.end()) return std::nullopt;
  return it->second;
}

bool StorePrints::set(std::string_view key, size_t print) {
  const uint64_t hash = key_hash(key);
  const size_t i = base_index(hash);
  if (i < base_.size()) {
    const bool was_gone = gone_[i];
    if (was_gone) {
      gone_[i] = false;
      --gone_count_;
    }
    const bool changed = was_gone || base_[i].second != print;
    base_[i].second = print;
    return changed;
  }
  const auto [it, inserted] = added_.try_emplace(hash, print);
  const bool changed = inserted || it->second != print;
  it->second = print;
  if (inserted) fold_if_due();
  return changed;
}

bool StorePrints::erase(std::string_view key) {
  const uint64_t hash = key_hash(key);
  const size_t i = base_index(hash);
  if (i < base_.size()) {
    if (gone_[i]) return false;
    gone_[i] = true;
    ++gone_count_;
    fold_if_due();
    return true;
  }
  return added_.erase(hash) > 0;
}

void StorePrints::for_each(const std::function<void(uint64_t, size_t)>& fn) const {
  auto added = added_.begin();
  for (size_t i = 0; i < base_.size(); ++i) {
    if (gone_[i]) continue;
    for (; added != added_.end() && added->first < base_[i].first; ++added)
      fn(added->first, added->second);
    fn(base_[i].first, base_[i].second);
  }
  for (; added != added_.end(); ++added) fn(added->first, added->second);
}

bool StorePrints::operator==(const StorePrints& other) const {
  if (size() != other.size()) return false;
  // One side as a vector (16 bytes a key, for as long as a relist's comparison lasts), the
  // other walked against it.
  std::vector<Entry> mine;
  mine.reserve(size());
  for_each([&](uint64_t hash, size_t print) { mine.emplace_back(hash, print); });
  size_t at = 0;
  bool same = true;
  other.for_each([&](uint64_t hash, size_t print) {
    same = same && mine[at] == Entry{hash, print};
    ++at;
  });
  return same;
}

void StorePrints::fold_if_due() {
  const size_t edits = gone_count_ + added_.size();
  if (edits < std::max(kMinEditsToFold, base_.size() / 8)) return;
  std::vector<Entry> merged;
  merged.reserve(size());
  auto added = added_.begin();
  for (size_t i = 0; i < base_.size(); ++i) {
    if (gone_[i]) continue;
    for (; added != added_.end() && added->first < base_[i].first; ++added)
      merged.emplace_back(added->first, added->second);
    merged.push_back(base_[i]);
  }
  for (; added != added_.end(); ++added) merged.emplace_back(added->first, added->second);
  base_ = std::move(merged);
  gone_.assign(base_.size(), false);
  gone_count_ = 0;
  added_.clear();
}

}  // namespace globaldns::sync::kube
