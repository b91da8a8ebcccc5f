// StorePrints: the reflector's store, a fingerprint per namespace/name, 16 bytes a key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace globaldns::sync::kube {

// What the reflector needs of its store: whether an event changes what it last saw of a key,
// and whether a relist changed anything. The entries themselves are the controller's.
//
// A key is held as a 64-bit hash of its text ("namespace/name"), not the text: 16 bytes a key
// with its print, where the text took 32 and more (a key longer than 15 characters, the usual
// in a cluster, one more allocation). Two keys of 1M share a hash with odds of about one in
// 3·10^7; then set() of one reports a change of the other (sent again, harmlessly), and a
// delete is staged whether or not erase() found the key, so no delete is lost to it.
//
// The keys of a complete list are one sorted vector; the keys watch events added since are in
// a small map, with a mark on those they deleted, folded into the vector once the edits reach
// an eighth of it.
class StorePrints {
 public:
  using Entry = std::pair<uint64_t, size_t>;  // key hash, print

  static uint64_t key_hash(std::string_view key) noexcept;  // "namespace/name"
  static uint64_t key_hash(std::string_view namespace_, std::string_view name);

  StorePrints() = default;
  // From (key hash, print) pairs; a key listed twice keeps its first print.
  explicit StorePrints(std::vector<Entry> entries);

  size_t size() const noexcept { return base_.size() - gone_count_ + added_.size(); }
  std::optional<size_t> find(std::string_view key) const;
  // Sets `key`'s print; true when the key was absent or had another print.
  bool set(std::string_view key, size_t print);
  // Removes `key`; true when it was there.
  bool erase(std::string_view key);
  // Every key's hash with its print, in hash order.
  void for_each(const std::function<void(uint64_t, size_t)>& fn) const;
  // The same keys with the same prints.
  bool operator==(const StorePrints& other) const;

 private:
  // base_'s entry for `hash`, or base_.size().
  size_t base_index(uint64_t hash) const;
  void fold_if_due();

  std::vector<Entry> base_;  // sorted by key hash, unique
  std::vector<bool> gone_;   // base_[i] deleted since the last fold
  size_t gone_count_ = 0;
  std::map<uint64_t, size_t> added_;  // keys base_ does not have
};

}  // namespace globaldns::sync::kube
