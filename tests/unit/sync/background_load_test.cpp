// Tests of a whole set loaded in pieces: TranslationIndex::begin_load, BackgroundLoad and the
// controller's stage_restart/stage_add/stage_finish, against replacing the source whole.
#include "sync/background_load.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "sync/sync_controller.hpp"
#include "tests/unit/sync/answers.hpp"

namespace globaldns::sync {
namespace {

TranslateOptions rules(bool wide = false) {
  TranslateOptions o;
  o.zones = {"global."};
  o.allowed.push_back(parse_cidr("240.0.0.0/8").value());
  if (wide) o.allowed.push_back(parse_cidr("10.0.0.0/8").value());
  return o;
}

SyncSettings settings(bool wide = false) {
  SyncSettings s;
  s.translate = rules(wide);
  s.zone.zones = {resolver::ZoneSpec{"global.", {}, {}}};
  return s;
}

// Few keys and few hosts, so that repeated keys, conflicts between keys and skips are common.
class Entries {
 public:
  explicit Entries(uint32_t seed) : rng_(seed) {}
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }

  ServiceEntry entry() {
    ServiceEntry e;
    e.namespace_ = chance(50) ? "a" : "b";
    e.name = std::string(1, static_cast<char>('p' + below(6)));
    e.created_unix = static_cast<int64_t>(1 + below(3));
    e.hosts = {std::string(1, static_cast<char>('h' + below(4))) + ".global"};
    if (chance(20)) e.hosts.push_back("x.example");  // outside the zone: a skip
    const char* addresses[] = {"240.0.0.1", "240.0.0.2", "10.0.0.1"};
    e.addresses = {addresses[below(3)]};
    e.origin = Origin("kubernetes");
    return e;
  }
  std::vector<ServiceEntry> some(size_t most) {
    std::vector<ServiceEntry> out(below(most + 1));
    for (auto& e : out) e = entry();
    return out;
  }

 private:
  std::mt19937 rng_;
};

std::vector<PackedEntry> packed(const std::vector<ServiceEntry>& entries) {
  std::vector<PackedEntry> out;
  for (const auto& e : entries) out.emplace_back(e);
  return out;
}

// A store replacing by key: of two entries with the same namespace/name, the later.
std::vector<ServiceEntry> by_key(const std::vector<ServiceEntry>& entries) {
  std::map<std::string, ServiceEntry> kept;
  for (const auto& e : entries) kept[e.key()] = e;
  std::vector<ServiceEntry> out;
  for (auto& [key, e] : kept) out.push_back(e);
  return out;
}

void expect_same(const Translation& got, const Translation& want) {
  EXPECT_EQ(got.hosts, want.hosts);
  EXPECT_EQ(got.skipped, want.skipped);
  EXPECT_EQ(got.conflicts, want.conflicts);
}

TEST(TranslationIndexLoadTest, InsertsAfterBeginLoadReportTheWholeTranslationOnce) {
  Entries gen(7);
  for (int round = 0; round < 200; ++round) {
    const std::vector<ServiceEntry> entries = gen.some(30);
    TranslationIndex index(rules());
    ASSERT_TRUE(index.begin_load(round % 2 == 0 ? entries.size() : 0));
    for (const auto& e : entries) index.insert(e);
    const Translation want = translate(entries, rules());
    expect_same(index.translation(), want);
    EXPECT_EQ(index.conflicts(), want.conflicts.size());
    const IndexChanges changes = index.take_changes();
    EXPECT_EQ(changes.hosts.size(), want.hosts.size());
    for (const auto& host : changes.hosts) EXPECT_FALSE(host.before.has_value());
    const IndexChanges from_empty = diff_translations(Translation{}, want);
    EXPECT_EQ(changes.new_conflicts.size(), from_empty.new_conflicts.size());
    EXPECT_EQ(changes.new_skips.size(), from_empty.new_skips.size());
    // An ordinary index from then on, and a load begins only into an empty one.
    EXPECT_EQ(index.begin_load(1), entries.empty());
    const ServiceEntry extra = gen.entry();
    index.insert(extra);
    std::vector<ServiceEntry> all = entries;
    all.push_back(extra);
    const IndexChanges next = index.take_changes();
    EXPECT_EQ(next.hosts.size(), diff_translations(want, translate(all, rules())).hosts.size());
    if (HasFailure()) return ADD_FAILURE() << "round " << round;
  }
}

TEST(TranslationIndexLoadTest, TakeEntriesMovesEveryEntryOut) {
  Entries gen(8);
  const std::vector<ServiceEntry> entries = gen.some(40);
  auto index = std::make_unique<TranslationIndex>(rules());
  for (const auto& e : entries) index->insert(e, 3);
  const std::vector<PackedEntry> taken = TranslationIndex::take_entries(std::move(index));
  ASSERT_EQ(taken.size(), entries.size());
  // The index and its arena are gone: each entry owns its block.
  for (size_t i = 0; i < taken.size(); ++i) {
    EXPECT_FALSE(taken[i].borrowed());
    EXPECT_EQ(taken[i].unpack(), entries[i]);
  }
}

// The pieces of a set, in key order or not, repeating keys or not, come out of the thread as
// the index that translate() of the set by key describes.
TEST(BackgroundLoadTest, IndexesThePiecesAsAStoreByKeyHoldsThem) {
  Entries gen(9);
  for (int round = 0; round < 100; ++round) {
    std::vector<ServiceEntry> all;
    BackgroundLoad load(rules(), settings().zone, 5, round % 3 == 0 ? 0 : 50);
    const size_t pieces = gen.below(6);
    for (size_t i = 0; i < pieces; ++i) {
      std::vector<ServiceEntry> piece = gen.some(12);
      if (round % 2 == 0)
        std::sort(piece.begin(), piece.end(),
                  [](const auto& x, const auto& y) { return x.key() < y.key(); });
      all.insert(all.end(), piece.begin(), piece.end());
      load.add(packed(piece));
    }
    BackgroundLoad::Loaded loaded = load.finish();
    ASSERT_NE(loaded.index, nullptr);
    const std::vector<ServiceEntry> kept = by_key(all);
    const Translation want = translate(kept, rules());
    expect_same(loaded.index->translation(), want);
    EXPECT_EQ(loaded.index->count_tagged(5), kept.size());
    // The builder holds the hosts served, unless an entry replaced an earlier one of its key.
    bool ascending = true;
    for (size_t i = 1; i < all.size(); ++i) ascending &= all[i - 1].key() < all[i].key();
    if (ascending) {
      EXPECT_NE(loaded.builder, nullptr);
    }
    if (loaded.builder) {
      const auto built = loaded.builder->build(7);
      resolver::ZoneData data = settings().zone;
      data.hosts = want.hosts;
      data.serial = 7;
      const auto expected = resolver::build_snapshot(data).value();
      for (const char* name : {"h.global", "i.global", "j.global", "k.global", "z.global"}) {
        for (const uint16_t qtype : {uint16_t{1}, uint16_t{28}}) {
          EXPECT_EQ(testing_answers::ask(built.get(), name, qtype),
                    testing_answers::ask(expected.get(), name, qtype))
              << name;
        }
      }
    }
    if (HasFailure()) return ADD_FAILURE() << "round " << round;
  }
}

// In key order no key can repeat, so none is looked up; one out of order makes every later
// entry look, and the key it repeats is kept once, as last given.
TEST(BackgroundLoadTest, AKeyRepeatedAfterTheOrderBreaksIsKeptOnce) {
  const auto e = [](const char* name, const char* address) {
    ServiceEntry entry;
    entry.namespace_ = "ns";
    entry.name = name;
    entry.hosts = {std::string(name) + ".ns.global"};
    entry.addresses = {address};
    entry.origin = Origin("kubernetes");
    return entry;
  };
  BackgroundLoad load(rules(), settings().zone, 1, 0);
  load.add(packed({e("a", "240.0.0.1"), e("c", "240.0.0.3")}));
  load.add(packed({e("b", "240.0.0.2"), e("c", "240.0.0.4")}));
  const BackgroundLoad::Loaded loaded = load.finish();
  const auto& index = loaded.index;
  EXPECT_EQ(index->entries(), 3u);
  EXPECT_EQ(loaded.builder, nullptr) << "c's first hosts went, which the builder did not learn";
  ASSERT_TRUE(index->host("c.ns.global").has_value());
  EXPECT_EQ(index->host("c.ns.global")->v4, (std::vector<resolver::Ipv4>{{240, 0, 0, 4}}));
  EXPECT_EQ(index->conflicts(), 0u);
}

// Dropped before it finished, with pieces still queued: the thread stops and nothing leaks
// (ASan, TSan).
TEST(BackgroundLoadTest, DroppedUnfinishedStopsItsThread) {
  Entries gen(10);
  for (int round = 0; round < 20; ++round) {
    BackgroundLoad load(rules(), settings().zone, 1, 100);
    for (int i = 0; i < 20; ++i) load.add(packed(gen.some(20)));
  }
}

// The controller, fed a set in pieces, ends where replace_source_packed() of that set (by key)
// would: sometimes the load runs in the background and becomes the index, sometimes another
// source or a settings change meanwhile sends it the ordinary way, and a restart drops what
// came before it. Checked: the translation, the summary, the answers served, and that watch
// events then edit the source's copies.
TEST(SyncControllerStagingTest, EndsAsReplacingTheSourceWhole) {
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  Entries gen(11);
  for (int round = 0; round < 150; ++round) {
    resolver::SnapshotHolder holder;
    SyncController controller(settings(), holder);
    controller.require_sources({"kube"});
    std::vector<ServiceEntry> files;
    if (gen.chance(30)) {
      files = gen.some(5);
      controller.replace_source("files", files);
    }
    bool wide = false;
    std::vector<ServiceEntry> staged;
    controller.stage_restart("kube");
    const size_t pieces = 1 + gen.below(5);
    for (size_t i = 0; i < pieces; ++i) {
      if (gen.chance(10)) {
        controller.stage_restart("kube");
        staged.clear();
      }
      if (gen.chance(8)) {
        wide = !wide;
        controller.update_settings(settings(wide));
      }
      if (gen.chance(8)) {
        files = gen.some(5);
        controller.replace_source("files", files);
      }
      const std::vector<ServiceEntry> piece = gen.some(10);
      staged.insert(staged.end(), piece.begin(), piece.end());
      controller.stage_add("kube", packed(piece), 0);
    }
    if (gen.chance(10)) continue;  // the controller goes with a load unfinished
    const ApplySummary summary = controller.stage_finish("kube");

    std::vector<ServiceEntry> kube = by_key(staged);
    const auto check = [&](const ApplySummary& got, bool first) {
      std::vector<ServiceEntry> all = files;
      all.insert(all.end(), kube.begin(), kube.end());
      const Translation want = translate(all, rules(wide));
      expect_same(controller.translation(), want);
      if (first) {
        EXPECT_EQ(got.outcome, ApplyOutcome::Published);
      }
      EXPECT_NE(got.outcome, ApplyOutcome::BuildFailed);
      EXPECT_EQ(got.names, want.hosts.size());
      EXPECT_EQ(got.conflicts, want.conflicts.size());
      EXPECT_EQ(got.skipped, want.skipped.size());
      size_t held = 0;
      for (const auto& source : controller.sources()) held += source.entries;
      EXPECT_EQ(held, all.size());
      const auto served = holder.current();
      ASSERT_NE(served, nullptr);
      resolver::ZoneData data = settings(wide).zone;
      data.hosts = want.hosts;
      data.serial = served->serial();
      const auto expected = resolver::build_snapshot(data).value();
      for (const char* name : {"h.global", "i.global", "j.global", "k.global", "z.global"}) {
        EXPECT_EQ(testing_answers::ask(served.get(), name, 1),
                  testing_answers::ask(expected.get(), name, 1))
            << name;
      }
    };
    check(summary, true);
    // A watch event replaces one key of the source, and removes another.
    ServiceEntry changed = gen.entry();
    changed.addresses = {"240.0.0.9"};
    const std::string removed = gen.entry().key();
    std::erase_if(kube, [&](const ServiceEntry& e) {
      return e.key() == changed.key() || e.key() == removed;
    });
    if (changed.key() != removed) kube.push_back(changed);
    std::vector<ServiceEntry> upserts;
    if (changed.key() != removed) upserts.push_back(changed);
    check(controller.update_source("kube", upserts, {removed}), false);
    if (HasFailure()) {
      spdlog::set_level(level);
      return ADD_FAILURE() << "round " << round;
    }
  }
  spdlog::set_level(level);
}

}  // namespace
}  // namespace globaldns::sync
