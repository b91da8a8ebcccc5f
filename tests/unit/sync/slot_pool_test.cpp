// SlotPool: objects stay put, erased ones are destroyed, and handles to them go stale.
#include "sync/slot_pool.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace globaldns::sync {
namespace {

// Counts the live objects, so a test sees each destructor run once.
struct Counted {
  static inline int live = 0;
  Counted() { ++live; }
  ~Counted() { --live; }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  std::string text;
};

class SlotPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { Counted::live = 0; }
};

TEST_F(SlotPoolTest, HandlesFindTheirObjectUntilItIsErased) {
  SlotPool<Counted> pool;
  auto [a, slot_a] = pool.make();
  a.text = "a";
  auto [b, slot_b] = pool.make();
  b.text = "b";
  const auto handle_a = pool.handle(slot_a);
  const auto handle_b = pool.handle(slot_b);
  EXPECT_NE(handle_a, handle_b);
  ASSERT_EQ(pool.find(handle_a), &a);
  ASSERT_EQ(pool.find(handle_b), &b);
  EXPECT_EQ(Counted::live, 2);

  pool.erase(slot_a);
  EXPECT_EQ(Counted::live, 1);
  EXPECT_EQ(pool.find(handle_a), nullptr);
  EXPECT_EQ(pool.find(handle_b)->text, "b");
  EXPECT_EQ(pool.size(), 1U);
  EXPECT_EQ(pool.find(0), nullptr);                        // never made
  EXPECT_EQ(pool.find(pool.handle(slot_b) + 7), nullptr);  // a slot beyond the pool
}

TEST_F(SlotPoolTest, AReusedSlotDoesNotAnswerTheOldHandle) {
  SlotPool<Counted> pool;
  auto [keep, keep_slot] = pool.make();
  keep.text = "keep";
  const auto slot = pool.make().second;
  const auto old = pool.handle(slot);
  pool.erase(slot);
  auto [again, again_slot] = pool.make();
  EXPECT_EQ(again_slot, slot);  // the free slot is taken before a new one
  EXPECT_TRUE(again.text.empty());
  EXPECT_EQ(pool.find(old), nullptr);
  EXPECT_EQ(pool.find(pool.handle(again_slot)), &again);
  EXPECT_EQ(pool.find(pool.handle(keep_slot)), &keep);
}

TEST_F(SlotPoolTest, ObjectsNeverMoveAsThePoolGrows) {
  SlotPool<Counted> pool;
  std::vector<std::pair<Counted*, SlotPool<Counted>::Handle>> made;
  const size_t n = SlotPool<Counted>::kChunkSlots * 3 + 5;
  for (size_t i = 0; i < n; ++i) {
    auto [object, slot] = pool.make();
    object.text = std::to_string(i);
    made.emplace_back(&object, pool.handle(slot));
  }
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(pool.find(made[i].second), made[i].first);
    ASSERT_EQ(made[i].first->text, std::to_string(i));
  }
  EXPECT_EQ(Counted::live, static_cast<int>(n));
}

// An object's slot comes from its address alone, in every chunk and at either end of one, for
// objects of an awkward size as well.
TEST_F(SlotPoolTest, SlotOfFindsEachObjectsSlotFromItsAddress) {
  SlotPool<Counted> pool;
  const size_t n = SlotPool<Counted>::kChunkSlots * 3 + 5;
  std::vector<std::pair<const Counted*, uint32_t>> made;
  for (size_t i = 0; i < n; ++i) {
    auto [object, slot] = pool.make();
    made.emplace_back(&object, slot);
  }
  for (const auto& [object, slot] : made) ASSERT_EQ(pool.slot_of(*object), slot);
  pool.erase(made[7].second);
  auto [again, slot] = pool.make();  // the freed slot, taken again
  EXPECT_EQ(slot, made[7].second);
  EXPECT_EQ(pool.slot_of(again), slot);

  struct Odd {
    char bytes[37];
  };
  SlotPool<Odd> odd;
  std::vector<std::pair<const Odd*, uint32_t>> odds;
  for (size_t i = 0; i < SlotPool<Odd>::kChunkSlots * 2 + 1; ++i) {
    auto [object, slot] = odd.make();
    odds.emplace_back(&object, slot);
  }
  for (const auto& [object, slot] : odds) ASSERT_EQ(odd.slot_of(*object), slot);
}

TEST_F(SlotPoolTest, ForEachVisitsTheLiveObjectsInSlotOrder) {
  SlotPool<Counted> pool;
  std::vector<uint32_t> slots;
  for (int i = 0; i < 6; ++i) {
    auto [object, slot] = pool.make();
    object.text = std::to_string(i);
    slots.push_back(slot);
  }
  pool.erase(slots[1]);
  pool.erase(slots[4]);
  std::vector<std::string> seen;
  pool.for_each([&seen](const Counted& object) { seen.push_back(object.text); });
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "2", "3", "5"}));
}

TEST_F(SlotPoolTest, EmptiedPoolStartsAgainFromSlotZero) {
  SlotPool<Counted> pool;
  const std::vector<uint32_t> slots{pool.make().second, pool.make().second, pool.make().second};
  const auto stale = pool.handle(slots[0]);
  pool.erase(slots[2]);
  pool.erase(slots[0]);
  pool.erase(slots[1]);
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(Counted::live, 0);
  // Slots come in order again, so a bulk load into an emptied index numbers its copies as
  // one into a new index would.
  EXPECT_EQ(pool.make().second, 0U);
  EXPECT_EQ(pool.make().second, 1U);
  EXPECT_EQ(pool.find(stale), nullptr);
}

// Reserving makes room, not objects: the bulk load reserves, then numbers its copies from 0.
TEST_F(SlotPoolTest, ReservingMakesNoObjects) {
  SlotPool<Counted> pool;
  pool.reserve(SlotPool<Counted>::kChunkSlots * 2);
  EXPECT_TRUE(pool.empty());
  EXPECT_EQ(Counted::live, 0);
  size_t visited = 0;
  pool.for_each([&visited](const Counted&) { ++visited; });
  EXPECT_EQ(visited, 0u);
  for (uint32_t want = 0; want < SlotPool<Counted>::kChunkSlots * 2 + 1; ++want)
    ASSERT_EQ(pool.make().second, want);
  EXPECT_EQ(pool.size(), SlotPool<Counted>::kChunkSlots * 2 + 1);
}

TEST_F(SlotPoolTest, DestroyingThePoolDestroysWhatIsLeft) {
  {
    SlotPool<Counted> pool;
    for (int i = 0; i < 10; ++i) pool.make();
    pool.erase(3);
    EXPECT_EQ(Counted::live, 9);
  }
  EXPECT_EQ(Counted::live, 0);
}

}  // namespace
}  // namespace globaldns::sync
