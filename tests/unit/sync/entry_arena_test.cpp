// EntryArena: blocks never overlap, a released block comes back only for its size, and clear()
// starts over.
#include "sync/entry_arena.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace globaldns::sync {
namespace {

struct Block {
  char* at;
  size_t size;
  char fill;
};

bool aligned(const char* p) {
  return reinterpret_cast<uintptr_t>(p) % EntryArena::kAlign == 0;
}

bool holds(const Block& b) {
  for (size_t i = 0; i < b.size; ++i)
    if (b.at[i] != b.fill) return false;
  return true;
}

TEST(EntryArenaTest, BlocksKeepTheirBytesThroughChurn) {
  EntryArena arena;
  std::mt19937 rng(20261127);
  std::vector<Block> live;
  size_t expected_in_use = 0;
  const auto rounded = [](size_t n) { return n < 8 ? size_t{8} : (n + 1) / 2 * 2; };
  // Enough blocks to need several chunks, released and asked for again at random sizes.
  for (int step = 0; step < 60000; ++step) {
    if (live.empty() || rng() % 100 < 60) {
      const size_t size = 1 + rng() % EntryArena::kLargest;
      const Block b{arena.allocate(size), size, static_cast<char>('a' + step % 26)};
      ASSERT_TRUE(aligned(b.at));
      std::memset(b.at, b.fill, b.size);
      live.push_back(b);
      expected_in_use += rounded(size);
    } else {
      const size_t i = rng() % live.size();
      ASSERT_TRUE(holds(live[i])) << "a block was overwritten, step " << step;
      arena.release(live[i].at, live[i].size);
      expected_in_use -= rounded(live[i].size);
      live[i] = live.back();
      live.pop_back();
    }
  }
  for (const Block& b : live) EXPECT_TRUE(holds(b));
  EXPECT_EQ(arena.bytes_in_use(), expected_in_use);
  EXPECT_GE(arena.bytes_held(), expected_in_use);
}

TEST(EntryArenaTest, AReleasedBlockServesItsOwnSizeAgain) {
  EntryArena arena;
  char* a = arena.allocate(49);
  char* b = arena.allocate(50);  // the same rounded size as a
  EXPECT_EQ(b, a + 50);          // carved one after the other
  arena.release(a, 49);
  EXPECT_NE(arena.allocate(48), a);  // another size: not a's block
  EXPECT_EQ(arena.allocate(50), a);  // rounds to 50 as 49 did
  EXPECT_EQ(arena.bytes_in_use(), 50u + 50 + 48);
}

// A free block holds the next free one's address: the smallest block has room for it.
TEST(EntryArenaTest, TinyBlocksTakeAPointersRoom) {
  EntryArena arena;
  char* a = arena.allocate(1);
  char* b = arena.allocate(3);
  EXPECT_EQ(b, a + sizeof(char*));
  arena.release(a, 1);
  arena.release(b, 3);  // b now holds a's address, a null
  EXPECT_EQ(arena.allocate(2), b);
  EXPECT_EQ(arena.allocate(8), a);
  EXPECT_EQ(arena.bytes_in_use(), 2 * sizeof(char*));
}

TEST(EntryArenaTest, UsesItsChunksBeforeAskingForMore) {
  EntryArena arena;
  const size_t per_chunk = EntryArena::kChunkBytes / 64;
  std::vector<char*> blocks;
  for (size_t i = 0; i < per_chunk; ++i) blocks.push_back(arena.allocate(64));
  EXPECT_EQ(arena.bytes_held(), EntryArena::kChunkBytes);
  for (char* b : blocks) arena.release(b, 64);
  // The same count again reuses every released block: no new chunk.
  for (size_t i = 0; i < per_chunk; ++i) arena.allocate(64);
  EXPECT_EQ(arena.bytes_held(), EntryArena::kChunkBytes);
  arena.allocate(64);
  EXPECT_EQ(arena.bytes_held(), 2 * EntryArena::kChunkBytes);
}

TEST(EntryArenaTest, ClearGivesEverythingBack) {
  EntryArena arena;
  for (int i = 0; i < 10000; ++i) arena.allocate(100);
  EXPECT_GT(arena.bytes_held(), 0u);
  arena.clear();
  EXPECT_EQ(arena.bytes_held(), 0u);
  EXPECT_EQ(arena.bytes_in_use(), 0u);
  char* block = arena.allocate(EntryArena::kLargest);
  std::memset(block, 'x', EntryArena::kLargest);
  EXPECT_EQ(arena.bytes_held(), EntryArena::kChunkBytes);
}

}  // namespace
}  // namespace globaldns::sync
