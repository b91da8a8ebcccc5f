// Tests of StorePrints against a std::map: the same answers through edits, folds and relists.
#include "sync/kube/store_prints.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace globaldns::sync::kube {
namespace {

// The model's keys as the store holds them: hashed, in hash order.
std::vector<StorePrints::Entry> entries_of(const std::map<std::string, size_t>& map) {
  std::vector<StorePrints::Entry> out;
  for (const auto& [key, print] : map) out.emplace_back(StorePrints::key_hash(key), print);
  std::sort(out.begin(), out.end());
  return out;
}

void expect_same(const StorePrints& store, const std::map<std::string, size_t>& want) {
  ASSERT_EQ(store.size(), want.size());
  std::vector<StorePrints::Entry> got;
  store.for_each([&](uint64_t hash, size_t print) { got.emplace_back(hash, print); });
  EXPECT_EQ(got, entries_of(want));
  EXPECT_TRUE(store == StorePrints(entries_of(want)));
}

StorePrints store_of(std::initializer_list<std::pair<std::string_view, size_t>> keys) {
  std::vector<StorePrints::Entry> entries;
  for (const auto& [key, print] : keys) entries.emplace_back(StorePrints::key_hash(key), print);
  return StorePrints(std::move(entries));
}

TEST(StorePrintsTest, AKeyHashesAlikeFromItsTextAndItsParts) {
  EXPECT_EQ(StorePrints::key_hash("istio-testing/httpbin"),
            StorePrints::key_hash("istio-testing", "httpbin"));
  EXPECT_NE(StorePrints::key_hash("a/bc"), StorePrints::key_hash("ab", "c"));
  EXPECT_NE(StorePrints::key_hash("a/1"), StorePrints::key_hash("a/2"));
}

TEST(StorePrintsTest, FollowsAMapThroughRandomEdits) {
  std::mt19937 rng(20261127);
  const auto key = [&](size_t limit) {
    std::string k = "ns";
    k += std::to_string(rng() % 7);
    k += '/';
    k += std::to_string(rng() % limit);
    if (rng() % 3 == 0) k += "-with-a-name-longer-than-the-short-string-buffer";
    return k;
  };
  for (const size_t listed : {0, 10, 3000}) {
    std::map<std::string, size_t> want;
    while (want.size() < listed) want.emplace(key(10000), rng() % 5);
    StorePrints store(entries_of(want));
    expect_same(store, want);
    // Enough edits to fold several times (a fold comes after 1024 at this size).
    for (int step = 0; step < 20000; ++step) {
      const std::string k = key(step % 2 == 0 ? 10000 : 50);
      switch (rng() % 3) {
        case 0: {
          const size_t print = rng() % 5;
          const auto it = want.find(k);
          const bool changed = it == want.end() || it->second != print;
          want[k] = print;
          ASSERT_EQ(store.set(k, print), changed) << k;
          break;
        }
        case 1:
          ASSERT_EQ(store.erase(k), want.erase(k) > 0) << k;
          break;
        default: {
          const auto it = want.find(k);
          const auto got = store.find(k);
          ASSERT_EQ(got.has_value(), it != want.end()) << k;
          if (got) {
            ASSERT_EQ(*got, it->second) << k;
          }
        }
      }
      ASSERT_EQ(store.size(), want.size());
      if (step % 2500 == 0) expect_same(store, want);
    }
    expect_same(store, want);
  }
}

TEST(StorePrintsTest, ComparesKeysAndPrints) {
  const StorePrints a = store_of({{"a/1", 1}, {"a/2", 2}});
  EXPECT_TRUE(a == store_of({{"a/2", 2}, {"a/1", 1}}));  // out of order: sorted
  EXPECT_FALSE(a == store_of({{"a/1", 1}, {"a/2", 3}}));
  EXPECT_FALSE(a == store_of({{"a/1", 1}, {"a/3", 2}}));
  EXPECT_FALSE(a == store_of({{"a/1", 1}}));
  EXPECT_TRUE(StorePrints() == StorePrints(std::vector<StorePrints::Entry>{}));
}

TEST(StorePrintsTest, AKeyListedTwiceKeepsItsFirstPrint) {
  const StorePrints store = store_of({{"a/1", 1}, {"a/1", 9}, {"a/0", 4}});
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.find("a/1"), 1u);
  EXPECT_EQ(store.find("a/0"), 4u);
}

// A first list comes in key order, which is not hash order; of a key listed twice the first
// stays, whatever the hashes around it (clustered ones included).
TEST(StorePrintsTest, ALargeListInAnyOrderKeepsTheFirstOfEachKey) {
  std::mt19937_64 rng(20261127);
  const std::vector<std::function<uint64_t()>> hashes = {
      [&] { return rng(); },                            // as key_hash spreads them
      [&] { return rng() & 0xffff; },                   // all in the lowest bucket
      [&] { return (rng() % 3) << 62 | (rng() % 50); }  // a few buckets, many repeats
  };
  for (const auto& hash : hashes) {
    for (const size_t n : {1, 100, 50000}) {
      std::vector<StorePrints::Entry> listed;
      for (size_t i = 0; i < n; ++i) {
        // One in ten repeats an earlier key with another print.
        const uint64_t h = (i > 0 && rng() % 10 == 0) ? listed[rng() % i].first : hash();
        listed.emplace_back(h, i);
      }
      std::vector<StorePrints::Entry> want = listed;
      std::stable_sort(want.begin(), want.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      want.erase(std::unique(want.begin(), want.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 want.end());
      const StorePrints store(std::move(listed));
      std::vector<StorePrints::Entry> got;
      store.for_each([&](uint64_t h, size_t print) { got.emplace_back(h, print); });
      EXPECT_EQ(got, want) << n;
    }
  }
}

TEST(StorePrintsTest, ADeletedKeyComesBack) {
  StorePrints store = store_of({{"a/1", 1}});
  EXPECT_TRUE(store.erase("a/1"));
  EXPECT_FALSE(store.erase("a/1"));
  EXPECT_EQ(store.find("a/1"), std::nullopt);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(store.set("a/1", 1));  // back, with the print it had: still a change
  EXPECT_FALSE(store.set("a/1", 1));
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace globaldns::sync::kube
