// Tests of order_by_key: a listed collection reduced to what a store keyed by name holds.
#include "sync/kube/list_order.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace globaldns::sync::kube {
namespace {

// The keys kept, in order, or "as listed" when nothing needs to move.
std::vector<std::string> kept(const std::vector<std::string>& keys) {
  const auto order = order_by_key(keys, [](const std::string& key) { return key; });
  if (!order) return {"as listed"};
  std::vector<std::string> out;
  for (const size_t i : *order) out.push_back(keys[i] + "#" + std::to_string(i));
  return out;
}

TEST(OrderByKeyTest, ASortedListStaysWhereItIs) {
  EXPECT_EQ(kept({"a/x", "a/y", "b/x"}), std::vector<std::string>{"as listed"});
  EXPECT_EQ(kept({"a/x"}), std::vector<std::string>{"as listed"});
  EXPECT_EQ(kept({}), std::vector<std::string>{"as listed"});
}

TEST(OrderByKeyTest, AnUnsortedListIsPutInKeyOrder) {
  EXPECT_EQ(kept({"b/x", "a/y", "a-b/z", "a/x"}),
            (std::vector<std::string>{"a-b/z#2", "a/x#3", "a/y#1", "b/x#0"}));
}

TEST(OrderByKeyTest, OfARepeatedKeyTheLastListedIsKept) {
  EXPECT_EQ(kept({"a/x", "a/y", "a/x", "b/x", "a/x", "b/x"}),
            (std::vector<std::string>{"a/x#4", "a/y#1", "b/x#5"}));
  EXPECT_EQ(kept({"a/x", "a/x"}), std::vector<std::string>{"a/x#1"});
}

}  // namespace
}  // namespace globaldns::sync::kube
