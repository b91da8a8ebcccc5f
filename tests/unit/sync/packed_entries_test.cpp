// PackedEntries: entries of any size come back in order, whole, from one buffer.
#include "sync/packed_entries.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace globaldns::sync {
namespace {

// Entries whose blocks are of odd and even sizes, some past a varint's one byte (128), so that
// padding and walking are both exercised.
std::vector<ServiceEntry> varied_entries(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<ServiceEntry> out;
  for (size_t i = 0; i < count; ++i) {
    ServiceEntry e;
    e.namespace_ = "ns" + std::to_string(gen() % 100);
    e.name = std::string(1 + gen() % 40, 'n');
    e.name += std::to_string(i);
    if (gen() % 2 == 0) e.created_unix = static_cast<int64_t>(gen());
    for (size_t h = gen() % 3 + 1; h > 0; --h) {
      std::string host(1 + gen() % 150, 'h');
      host += ".global";
      e.hosts.push_back(std::move(host));
    }
    if (gen() % 4 != 0) e.addresses.push_back("240.0." + std::to_string(gen() % 256) + ".1");
    if (gen() % 8 == 0) e.addresses.push_back("fd00::" + std::to_string(gen() % 1000));
    if (gen() % 8 == 0) e.status_addresses.push_back({"240.1.0.1", e.hosts[0]});
    e.origin = Origin("p.yaml").with_line(static_cast<uint32_t>(gen() % 100000));
    out.push_back(std::move(e));
  }
  return out;
}

PackedEntries packed(const std::vector<ServiceEntry>& entries) {
  PackedEntries out;
  for (const ServiceEntry& e : entries) out.push_back(e);
  return out;
}

TEST(PackedEntriesTest, GivesBackEveryEntryInOrder) {
  const std::vector<ServiceEntry> entries = varied_entries(500, 1);
  const PackedEntries batch = packed(entries);
  EXPECT_EQ(batch.size(), entries.size());
  EXPECT_EQ(batch.unpack(), entries);
  size_t i = 0;
  for (const PackedEntry& entry : batch) {
    ASSERT_LT(i, entries.size());
    EXPECT_TRUE(entry.borrowed());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(entry.data()) % 2, 0u) << i;
    EXPECT_TRUE(entry == entries[i]) << i;
    ++i;
  }
  EXPECT_EQ(i, entries.size());
  const std::vector<PackedEntry> borrowed = batch.borrow();
  ASSERT_EQ(borrowed.size(), entries.size());
  EXPECT_EQ(borrowed.back().unpack(), entries.back());
}

TEST(PackedEntriesTest, AnEmptyBatchHasNoEntries) {
  const PackedEntries batch;
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.begin(), batch.end());
  EXPECT_TRUE(batch.borrow().empty());
}

TEST(PackedEntriesTest, AppendKeepsBothInOrderAndEmptiesTheOther) {
  const std::vector<ServiceEntry> first = varied_entries(37, 2);
  const std::vector<ServiceEntry> second = varied_entries(41, 3);
  PackedEntries batch = packed(first);
  PackedEntries more = packed(second);
  batch.append(std::move(more));
  EXPECT_TRUE(more.empty());  // NOLINT(bugprone-use-after-move): append says it is emptied
  std::vector<ServiceEntry> both = first;
  both.insert(both.end(), second.begin(), second.end());
  EXPECT_EQ(batch.unpack(), both);

  PackedEntries empty;
  PackedEntries one = packed({first[0]});  // one short entry: its buffer may lie in the object
  empty.append(std::move(one));
  EXPECT_EQ(empty.unpack(), std::vector<ServiceEntry>{first[0]});
}

TEST(PackedEntriesTest, HashesEqualForTheSameEntriesAndDifferForAChange) {
  std::vector<ServiceEntry> entries = varied_entries(100, 4);
  const size_t hash = packed(entries).hash();
  EXPECT_EQ(packed(entries).hash(), hash);
  entries[57].addresses.push_back("240.9.9.9");
  EXPECT_NE(packed(entries).hash(), hash);
  entries[57].addresses.pop_back();
  entries[57].origin = entries[57].origin.with_line(entries[57].origin.line() + 1);
  EXPECT_NE(packed(entries).hash(), hash);  // a line moved: the file source hands it on again
}

}  // namespace
}  // namespace globaldns::sync
