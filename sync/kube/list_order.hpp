// list_order: a listed collection as a store replacing by key would hold it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <optional>
#include <vector>

namespace globaldns::sync::kube {

// The positions of `items` that a store replacing by key would hold, in key order: of items
// with equal keys the one that came last. nullopt when that is every item where it is, as for
// a list the API server sent in its key order; then this is one linear check and nothing moves.
template <typename T, typename KeyOf>
std::optional<std::vector<size_t>> order_by_key(const std::vector<T>& items, KeyOf key_of) {
  bool in_order = true;
  for (size_t i = 1; i < items.size() && in_order; ++i)
    in_order = key_of(items[i - 1]) < key_of(items[i]);
  if (in_order) return std::nullopt;
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key_of(items[a]) < key_of(items[b]); });
  // Walking backwards, unique() keeps the first of each run of equal keys: the last listed.
  const auto kept = std::unique(order.rbegin(), order.rend(), [&](size_t a, size_t b) {
    return key_of(items[a]) == key_of(items[b]);
  });
  order.erase(order.begin(), kept.base());
  return order;
}

}  // namespace globaldns::sync::kube
