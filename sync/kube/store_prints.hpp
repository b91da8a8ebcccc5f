// StorePrints: the reflector's store, a fingerprint per namespace/name, in about half a map's room.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace globaldns::sync::kube {

// The keys of a complete list, sorted, in one vector; the keys watch events added since in a
// small map, and a mark on those they deleted. A std::map node per key took about 80 bytes (80
// MiB at 1M), the vector 40. The edits are folded into the vector once they reach an eighth of it.
class StorePrints {
 public:
  using Entry = std::pair<std::string, size_t>;

  StorePrints() = default;
  // From (key, print) pairs; a key listed twice keeps its first print.
  explicit StorePrints(std::vector<Entry> entries);

  size_t size() const noexcept { return base_.size() - gone_count_ + added_.size(); }
  std::optional<size_t> find(std::string_view key) const;
  // Sets `key`'s print; true when the key was absent or had another print.
  bool set(const std::string& key, size_t print);
  // Removes `key`; true when it was there.
  bool erase(const std::string& key);
  // Every key with its print, in key order.
  void for_each(const std::function<void(std::string_view, size_t)>& fn) const;
  // The same keys with the same prints.
  bool operator==(const StorePrints& other) const;

 private:
  // base_'s entry for `key`, or base_.size().
  size_t base_index(std::string_view key) const;
  void fold_if_due();

  std::vector<Entry> base_;  // sorted by key, unique
  std::vector<bool> gone_;   // base_[i] deleted since the last fold
  size_t gone_count_ = 0;
  std::map<std::string, size_t, std::less<>> added_;  // keys base_ does not have
};

}  // namespace globaldns::sync::kube
