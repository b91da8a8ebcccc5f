// SlotTable: the same answers as a multimap from hash to values, under any order of changes.
#include "sync/slot_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace globaldns::sync {
namespace {

// The values a table holds under `hash`, found by visiting every candidate.
std::multiset<uint32_t> held_under(const SlotTable& table, uint32_t hash,
                                   const std::vector<uint32_t>& hash_of_value) {
  std::multiset<uint32_t> out;
  table.find(hash, [&](uint32_t value) {
    if (hash_of_value.at(value) == hash) out.insert(value);
    return false;
  });
  return out;
}

TEST(SlotTableTest, AnEmptyTableFindsNothing) {
  const SlotTable table(32);
  EXPECT_EQ(table.size(), 0U);
  EXPECT_EQ(table.find(123, [](uint32_t) { return true; }), SlotTable::kNone);
  table.prefetch(123);  // no room yet: must not touch any
}

TEST(SlotTableTest, FindsWhatWasInsertedAndStopsWhereAsked) {
  std::vector<uint32_t> hashes = {0xABCDEF01, 0x12345678, 0xABCDEF01};
  const auto hash_of = [&](uint32_t value) { return hashes.at(value); };
  SlotTable table(32);
  for (uint32_t value = 0; value < hashes.size(); ++value)
    table.insert(value, hashes[value], hash_of);
  EXPECT_EQ(table.size(), 3U);
  EXPECT_EQ(held_under(table, 0xABCDEF01, hashes), (std::multiset<uint32_t>{0, 2}));
  EXPECT_EQ(held_under(table, 0x12345678, hashes), (std::multiset<uint32_t>{1}));
  EXPECT_EQ(table.find(0x12345678, [](uint32_t value) { return value == 1; }), 1U);
  EXPECT_EQ(table.find(0x0BADF00D, [](uint32_t) { return true; }), SlotTable::kNone);

  table.replace(2, 7, 0xABCDEF01);
  hashes.resize(8, 0);
  hashes[7] = 0xABCDEF01;
  EXPECT_EQ(held_under(table, 0xABCDEF01, hashes), (std::multiset<uint32_t>{0, 7}));
  EXPECT_EQ(table.size(), 3U);
}

// Few hash bits and a small table: long runs, runs that wrap past the end, equal hashes, and
// removals from the middle of runs, checked against a multimap after every change.
TEST(SlotTableTest, AgreesWithAMultimapThroughInsertsAndErases) {
  constexpr unsigned kBits = 8;
  std::mt19937 random(20261128);
  std::vector<uint32_t> hash_of_value;
  const auto hash_of = [&](uint32_t value) { return hash_of_value.at(value); };
  SlotTable table(kBits);
  std::multimap<uint32_t, uint32_t> model;  // hash -> value
  std::vector<uint32_t> held;
  for (int step = 0; step < 20000; ++step) {
    const bool add = held.empty() || random() % 5 < 3;
    if (add) {
      const auto value = static_cast<uint32_t>(hash_of_value.size());
      // A small set of hashes, some high (homes near the end, runs that wrap).
      const uint32_t hash = random() % 3 == 0 ? 250 + random() % 6 : random() % (1U << kBits);
      hash_of_value.push_back(hash);
      table.insert(value, hash, hash_of);
      model.emplace(hash, value);
      held.push_back(value);
    } else {
      const size_t i = random() % held.size();
      const uint32_t value = held[i];
      held[i] = held.back();
      held.pop_back();
      const uint32_t hash = hash_of_value[value];
      table.erase(value, hash, hash_of);
      const auto [first, last] = model.equal_range(hash);
      model.erase(std::find_if(first, last, [&](const auto& kv) { return kv.second == value; }));
    }
    ASSERT_EQ(table.size(), model.size());
    ASSERT_LE(table.size() * 5, table.capacity() * 4) << "past the load it keeps";
    if (step % 97 == 0 || step > 19900) {
      for (uint32_t hash = 0; hash < (1U << kBits); ++hash) {
        std::multiset<uint32_t> want;
        const auto [first, last] = model.equal_range(hash);
        for (auto it = first; it != last; ++it) want.insert(it->second);
        ASSERT_EQ(held_under(table, hash, hash_of_value), want)
            << "hash " << hash << " step " << step;
      }
    }
  }
  std::multiset<uint32_t> all;
  table.for_each([&](uint32_t value) { all.insert(value); });
  EXPECT_EQ(all, std::multiset<uint32_t>(held.begin(), held.end()));
}

TEST(SlotTableTest, ReserveMakesRoomOnceAndKeepsWhatIsHeld) {
  std::vector<uint32_t> hashes;
  const auto hash_of = [&](uint32_t value) { return hashes.at(value); };
  SlotTable table(32);
  std::mt19937 random(7);
  for (uint32_t value = 0; value < 100; ++value) {
    hashes.push_back(static_cast<uint32_t>(random()));
    table.insert(value, hashes.back(), hash_of);
  }
  table.reserve(100000, hash_of);
  const size_t capacity = table.capacity();
  EXPECT_GE(capacity * 3, 100000U * 4) << "room for 100,000 at a load of 3/4";
  EXPECT_LE(capacity, 100000U * 4 / 3 + 100) << "and not much more";
  for (uint32_t value = 100; value < 100000; ++value) {
    hashes.push_back(static_cast<uint32_t>(random()));
    table.insert(value, hashes.back(), hash_of);
  }
  EXPECT_EQ(table.capacity(), capacity) << "grew although reserved";
  for (uint32_t value = 0; value < 100000; value += 997) {
    EXPECT_EQ(table.find(hashes[value], [&](uint32_t v) { return v == value; }), value);
  }
  EXPECT_EQ(table.allocated_bytes(), capacity * 5);
}

}  // namespace
}  // namespace globaldns::sync
