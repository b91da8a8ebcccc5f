// Snapshot building: validation errors, empty non-terminals, publication through the holder.
#include "resolver/snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "dns/wire/name.hpp"
#include "resolver/snapshot_builder.hpp"
#include "resolver/snapshot_holder.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::resolver {
namespace {

NodeRef find_text(const Snapshot& s, const std::string& name) {
  auto wire = dns::wire::text_to_wire(name);
  return s.find(reinterpret_cast<const uint8_t*>(wire->data()), wire->size());
}

TEST(SnapshotBuilder, IndexesHostsAndTheirAncestors) {
  auto snap = build_snapshot(testzone::data());
  ASSERT_TRUE(snap.ok()) << snap.error();
  const Snapshot& s = **snap;
  for (const char* n : {"global", "istio-testing.global", "httpbin.istio-testing.global",
                        "wild.global", "*.wild.global", "a.b.global", "b.global", "mesh.example"})
    EXPECT_TRUE(find_text(s, n)) << n;
  EXPECT_FALSE(find_text(s, "nope.global"));
  EXPECT_FALSE(find_text(s, "example"));
  ASSERT_TRUE(find_text(s, "wild.global"));
  const NodeRef wild = find_text(s, "wild.global");
  const uint32_t child = wild.shard->wildcard_child(*wild.node);
  ASSERT_NE(child, kNoNode);
  const Node& star = wild.shard->node(child);
  EXPECT_EQ(s.name_of(*wild.shard, star), std::string("\1*\4wild\6global", 15));
  // Held without its zone's apex.
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(wild.shard->name_bytes(star)), star.name_length),
      std::string("\1*\4wild", 7));
  const NodeRef apex = find_text(s, "global");
  EXPECT_EQ(apex.shard->wildcard_child(*apex.node), kNoNode);
  EXPECT_EQ(s.zones().size(), 2u);
  EXPECT_EQ(s.zones()[0].apex_text, "global.");
}

TEST(SnapshotBuilder, RejectsBadInputNamingIt) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  d.hosts.push_back({"svc.example.com", {{240, 0, 0, 1}}, {}});
  auto r = build_snapshot(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("svc.example.com"), std::string::npos);
  d.hosts = {{"bad..name.global", {}, {}}};
  EXPECT_FALSE(build_snapshot(d).ok());
  d.hosts.clear();
  d.zones.push_back({"GLOBAL", {}, {}});
  auto dup = build_snapshot(d);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().find("twice"), std::string::npos);
}

// "<prefix><i>.global", built by appending: GCC 12 sees a false overlap (-Wrestrict) in
// "literal" + std::to_string(i) + "literal".
std::string numbered(const char* prefix, int i) {
  std::string name = prefix;
  name += std::to_string(i);
  name += ".global";
  return name;
}

// Thousands of names a shard, some with a wildcard child: every name is found through its
// slot, no absent one is, and each wildcard child is its own parent's.
TEST(SnapshotBuilder, FindsEveryNameAndWildcardChildInLargeShards) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  constexpr int kNames = 300000;
  for (int i = 0; i < kNames; ++i) {
    const auto quad = static_cast<uint32_t>(i);
    const Ipv4 address = {240, static_cast<uint8_t>(quad >> 16), static_cast<uint8_t>(quad >> 8),
                          static_cast<uint8_t>(quad)};
    d.hosts.push_back({numbered("s", i), {address}, {}});
    if (i % 1000 == 0) d.hosts.push_back({numbered("*.s", i), {address}, {}});
  }
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok()) << snap.error();
  const Snapshot& s = **snap;
  EXPECT_GT(s.node_count() / Snapshot::kShardCount, 256U) << "shards of more than 8-bit indexes";
  for (int i = 0; i < kNames; ++i) {
    const std::string name = numbered("s", i);
    const NodeRef found = find_text(s, name);
    ASSERT_TRUE(found) << name;
    const uint32_t child = found.shard->wildcard_child(*found.node);
    if (i % 1000 != 0) {
      ASSERT_EQ(child, kNoNode) << name;
      continue;
    }
    ASSERT_NE(child, kNoNode) << name;
    const Node& star = found.shard->node(child);
    const auto wire = dns::wire::text_to_wire(numbered("*.s", i));
    ASSERT_EQ(s.name_of(*found.shard, star), *wire);
  }
  for (int i = kNames; i < kNames + 20000; ++i) ASSERT_FALSE(find_text(s, numbered("s", i))) << i;
}

// The usual host, one A record, is stored without an RRset head; any other keeps its heads.
// A node holds its name up to its zone's apex: names of different zones that share that part
// ("s1." in s1.global and s1.mesh.example) are still told apart, by the apex.
TEST(SnapshotBuilder, TellsApartNamesOfZonesThatShareThePartBeforeTheApex) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  d.zones.push_back({"mesh.example.", {}, {}});
  d.zones.push_back({"inner.global.", {}, {}});
  constexpr int kNames = 3000;
  const std::vector<std::string> apexes = {"global", "mesh.example", "inner.global"};
  // Built with += (GCC 12's -Wrestrict misreads a chain of +).
  const auto host = [&](int i, size_t z) {
    std::string name = "s";
    name += std::to_string(i);
    name += '.';
    name += apexes[z];
    return name;
  };
  for (int i = 0; i < kNames; ++i)
    for (uint8_t z = 0; z < apexes.size(); ++z)
      d.hosts.push_back(
          {host(i, z), {{240, z, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}}, {}});
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok()) << snap.error();
  const Snapshot& s = **snap;
  for (int i = 0; i < kNames; ++i) {
    for (uint8_t z = 0; z < apexes.size(); ++z) {
      const std::string name = host(i, z);
      const NodeRef found = find_text(s, name);
      ASSERT_TRUE(found) << name;
      EXPECT_EQ(found.node->zone, z) << name;
      EXPECT_EQ(s.name_of(*found.shard, *found.node), *dns::wire::text_to_wire(name));
      const RRsetRef a = *found.shard->rrsets(*found.node).begin();
      ASSERT_EQ(a.data_length, 4u);
      EXPECT_EQ(a.data[1], z) << name;
    }
    std::string stem = "s";
    stem += std::to_string(i);
    for (const char* tail : {".example", ".mesh", ".inner", ".other.global.example", ""}) {
      std::string absent = stem;
      absent += tail;
      EXPECT_FALSE(find_text(s, absent)) << absent;
    }
  }
  for (const std::string& apex : apexes) {
    const NodeRef found = find_text(s, apex);
    ASSERT_TRUE(found) << apex;
    EXPECT_EQ(found.node->name_length, 0u) << apex;
  }
}

TEST(SnapshotBuilder, AHostWithOneAddressTakesNoRRsetHead) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  d.hosts.push_back({"one.global", {{240, 0, 0, 1}}, {}});
  d.hosts.push_back({"two.global", {{240, 0, 0, 2}, {240, 0, 0, 3}}, {}});
  Ipv6 v6{};
  v6[0] = 0xfd;
  v6[15] = 1;
  d.hosts.push_back({"both.global", {{240, 0, 0, 4}}, {v6}});
  d.hosts.push_back({"six.global", {}, {v6}});
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok()) << snap.error();
  const Snapshot& s = **snap;

  const NodeRef one = find_text(s, "one.global");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one.node->bare_a());
  std::vector<RRsetRef> sets;
  for (const RRsetRef& set : one.shard->rrsets(*one.node)) sets.push_back(set);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].type, 1);
  EXPECT_EQ(sets[0].count, 1);
  ASSERT_EQ(sets[0].data_length, 4u);
  const uint8_t address[] = {240, 0, 0, 1};
  EXPECT_EQ(std::memcmp(sets[0].data, address, sizeof address), 0);
  // Right behind the name: no head between them.
  EXPECT_EQ(sets[0].data, one.shard->name_bytes(*one.node) + one.node->name_length);

  for (const char* name : {"two.global", "both.global", "six.global", "global"}) {
    const NodeRef n = find_text(s, name);
    ASSERT_TRUE(n) << name;
    EXPECT_FALSE(n.node->bare_a()) << name;
  }
  const NodeRef both = find_text(s, "both.global");
  std::vector<uint16_t> types;
  for (const RRsetRef& set : both.shard->rrsets(*both.node)) types.push_back(set.type);
  EXPECT_EQ(types, (std::vector<uint16_t>{1, 28}));
}

TEST(SnapshotBuilder, MergesDuplicateAddresses) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  d.hosts.push_back({"a.global", {{240, 0, 0, 1}, {240, 0, 0, 1}}, {}});
  d.hosts.push_back({"A.global.", {{240, 0, 0, 1}, {240, 0, 0, 2}}, {}});
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok());
  const Snapshot& s = **snap;
  const NodeRef n = find_text(s, "a.global");
  ASSERT_TRUE(n);
  ASSERT_EQ(n.node->rrset_count, 1);
  const RRsetRef set = *n.shard->rrsets(*n.node).begin();
  EXPECT_EQ(set.type, 1);
  EXPECT_EQ(set.count, 2);
  ASSERT_EQ(set.data_length, 8u);
  const uint8_t expected[] = {240, 0, 0, 1, 240, 0, 0, 2};
  EXPECT_EQ(std::memcmp(set.data, expected, sizeof expected), 0);
}

TEST(SnapshotHolder, ReaderSeesNewGenerations) {
  SnapshotHolder holder;
  SnapshotReader reader(holder);
  EXPECT_EQ(reader.get(), nullptr);
  auto first = build_snapshot(testzone::data());
  holder.publish(first.value());
  EXPECT_EQ(reader.get(), first.value().get());
  auto d = testzone::data();
  d.serial = 2;
  auto second = build_snapshot(d);
  holder.publish(second.value());
  EXPECT_EQ(reader.get()->serial(), 2u);
  EXPECT_EQ(holder.generation(), 2u);
}

// Workers read on their own threads while sync publishes: each reader must only ever see whole
// snapshots, in publication order, and the last reader to drop an old one frees it (under TSan
// and ASan in CI, this is the test of the hand-over).
TEST(SnapshotHolder, ReadersOnOtherThreadsSeeWholeSnapshotsInOrder) {
  constexpr uint32_t kSnapshots = 200;
  std::vector<std::shared_ptr<const Snapshot>> built;
  for (uint32_t serial = 1; serial <= kSnapshots; ++serial) {
    auto d = testzone::data();
    d.serial = serial;
    auto snapshot = build_snapshot(d);
    ASSERT_TRUE(snapshot.ok()) << snapshot.error();
    built.push_back(std::move(snapshot.value()));
  }
  SnapshotHolder holder;
  std::atomic<bool> out_of_order{false};
  std::atomic<uint32_t> readers_done{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto read_until_last = [&] {
    SnapshotReader reader(holder);
    uint32_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const Snapshot* s = reader.get();
      if (s == nullptr) continue;
      const uint32_t serial = s->serial();
      // A lookup reads the snapshot's shards: memory a torn hand-over would have freed.
      if (serial < seen || !find_text(*s, "httpbin.istio-testing.global")) out_of_order = true;
      seen = serial;
      if (serial == kSnapshots) break;
    }
    ++readers_done;
  };
  std::thread first(read_until_last);
  std::thread second(read_until_last);
  for (auto& snapshot : built) {
    holder.publish(std::move(snapshot));  // the holder and the readers become the only owners
    std::this_thread::yield();
  }
  first.join();
  second.join();
  EXPECT_FALSE(out_of_order.load());
  EXPECT_EQ(readers_done.load(), 2u);
  EXPECT_EQ(holder.current()->serial(), kSnapshots);
}

}  // namespace
}  // namespace globaldns::resolver
