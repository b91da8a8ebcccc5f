// ZoneBuilder: incremental builds answer exactly like a from-scratch build, share what did not
// change, and reject bad hosts without changing anything.
#include "resolver/zone_builder.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dns/wire/name.hpp"
#include "resolver/answer.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::resolver {
namespace {

ZoneData settings() {
  ZoneData d;
  ZoneSpec global;
  global.apex = "global.";
  global.soa.minimum = 20;
  d.zones.push_back(global);
  d.zones.push_back({"inner.global.", {}, {"ns1.inner.global.", "ns2.example."}});  // nested
  d.zones.push_back({"mesh.example.", {}, {}});
  d.ttl = 45;
  return d;
}

std::shared_ptr<const Snapshot> build_from(const std::map<std::string, HostRecords>& hosts,
                                           uint32_t serial) {
  ZoneData d = settings();
  d.serial = serial;
  for (const auto& [wire, host] : hosts) d.hosts.push_back(host);
  auto built = build_snapshot(d);
  EXPECT_TRUE(built.ok()) << built.error();
  return built.ok() ? built.value() : nullptr;
}

std::string wire_of(const std::string& text) {
  return dns::wire::text_to_wire(text).value();
}

// Names the random updates draw from: plain hosts, deep names (chains of empty non-terminals),
// wildcards, names below wildcards, apexes, and hosts in and around the nested zone.
std::vector<std::string> name_pool() {
  std::vector<std::string> pool = {"global",
                                   "inner.global",
                                   "mesh.example",
                                   "*.global",
                                   "*.wild.global",
                                   "x.*.wild.global",
                                   "exact.wild.global",
                                   "*.*.wild.global",
                                   "a.b.c.d.global",
                                   "b.c.d.global",
                                   "c.d.global",
                                   "e.c.d.global",
                                   "deep.a.b.c.d.global",
                                   "x.inner.global",
                                   "y.z.inner.global",
                                   "*.inner.global",
                                   "*.z.inner.global",
                                   "ns1.inner.global",
                                   "q.w.global",
                                   "r.q.w.global",
                                   "svc.mesh.example",
                                   "*.mesh.example",
                                   "k.j.mesh.example",
                                   "j.mesh.example",
                                   "global.inner.global",
                                   "*.q.w.global",
                                   "inner2.global",
                                   "z.inner2.global"};
  for (int i = 0; i < 24; ++i)
    pool.push_back("svc" + std::to_string(i) + ".ns" + std::to_string(i % 5) + ".global");
  return pool;
}

HostRecords random_host(std::mt19937& rng, const std::string& name) {
  HostRecords h;
  // Mixed case and an optional trailing dot: the same name however it is written.
  h.name = name;
  if (rng() % 3 == 0) h.name += '.';
  if (rng() % 4 == 0)
    for (char& c : h.name) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  const unsigned v4 = rng() % 4;
  const unsigned v6 = rng() % 3 == 0 ? rng() % 3 : 0;
  // Few distinct addresses, so duplicates within a host happen and are merged.
  for (unsigned i = 0; i < v4; ++i) h.v4.push_back({240, 0, 0, static_cast<uint8_t>(rng() % 5)});
  for (unsigned i = 0; i < v6; ++i) {
    Ipv6 a{};
    a[0] = 0xfd;
    a[15] = static_cast<uint8_t>(rng() % 4);
    h.v6.push_back(a);
  }
  return h;
}

struct Probe {
  std::string name;
  std::vector<uint8_t> query;
};

// Every pool name, its ancestors, a child of it and a wildcard-looking child, plus names that
// exist nowhere, each with every qtype the engine distinguishes.
std::vector<Probe> probes() {
  std::set<std::string> names;
  for (const std::string& n : name_pool()) {
    std::string up = n;
    names.insert(up);
    names.insert("kid." + n);
    names.insert("a.b." + n);
    names.insert("*." + n);
    for (size_t dot = up.find('.'); dot != std::string::npos; dot = up.find('.')) {
      up = up.substr(dot + 1);
      names.insert(up);
    }
  }
  for (const char* n : {"nope.global", "nope.ns9.global", "x.y.wild.global", "example", "com",
                        "other.example", "zz.inner.global", "zz.z.inner.global", "*.example"})
    names.insert(n);
  std::vector<Probe> out;
  for (const std::string& n : names)
    for (uint16_t qtype : {1, 28, 6, 2, 255, 16}) out.push_back({n, testing::make_query(n, qtype)});
  return out;
}

// Both snapshots give the same bytes to every probe, over UDP (512 limit: truncation too) and TCP.
void expect_same_answers(const Snapshot& incremental, const Snapshot& scratch,
                         const std::vector<Probe>& probes, int step) {
  EXPECT_EQ(incremental.node_count(), scratch.node_count()) << "step " << step;
  EXPECT_EQ(incremental.record_count(), scratch.record_count()) << "step " << step;
  std::vector<uint8_t> a(65535);
  std::vector<uint8_t> b(65535);
  for (const Probe& p : probes) {
    ASSERT_FALSE(p.query.empty()) << p.name;
    for (Transport t : {Transport::Udp, Transport::Tcp}) {
      const AnswerResult ra = answer(&incremental, p.query, a, t);
      const AnswerResult rb = answer(&scratch, p.query, b, t);
      ASSERT_EQ(ra.outcome, rb.outcome) << p.name << " step " << step;
      ASSERT_EQ(std::vector<uint8_t>(a.begin(), a.begin() + static_cast<long>(ra.size)),
                std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(rb.size)))
          << p.name << " qtype " << (p.query[p.query.size() - 4] << 8 | p.query[p.query.size() - 3])
          << " step " << step;
    }
  }
}

TEST(ZoneBuilder, RandomUpdatesAnswerLikeAFromScratchBuild) {
  auto created = ZoneBuilder::create(settings());
  ASSERT_TRUE(created.ok()) << created.error();
  ZoneBuilder& builder = **created;
  const std::vector<std::string> pool = name_pool();
  const std::vector<Probe> all_probes = probes();
  std::map<std::string, HostRecords> model;  // what the builder should hold, by wire name
  std::mt19937 rng(20261126);
  uint32_t serial = 100;
  for (int step = 0; step < 250; ++step) {
    const int ops = 1 + static_cast<int>(rng() % (step % 10 == 0 ? 30 : 4));
    for (int op = 0; op < ops; ++op) {
      const std::string& name = pool[rng() % pool.size()];
      const std::string wire = wire_of(name);
      if (rng() % 3 == 0) {
        builder.remove(rng() % 2 ? name : name + ".");
        model.erase(wire);
        continue;
      }
      HostRecords h = random_host(rng, name);
      ASSERT_TRUE(builder.upsert(h).ok()) << h.name;
      if (h.v4.empty() && h.v6.empty())
        model.erase(wire);
      else
        model[wire] = h;
    }
    ASSERT_EQ(builder.host_count(), model.size()) << "step " << step;
    // Sometimes the serial stays, so the apex shards are not rebuilt either.
    if (rng() % 4 != 0) ++serial;
    auto incremental = builder.build(serial);
    auto scratch = build_from(model, serial);
    ASSERT_TRUE(incremental && scratch);
    EXPECT_EQ(incremental->serial(), serial);
    expect_same_answers(*incremental, *scratch, all_probes, step);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Between two builds, every change leaves a shard's old name or address bytes behind in its
// table until the table copies its live bytes out (once they are over half and 4 KiB). 1,000
// changes among 40 hosts of one shard leave at least 4 KB behind (4 bytes or more each), so that
// happens before each build; each build decodes the shard the previous one encoded. The answers
// must stay those of a build from scratch throughout, ancestors and wildcards included.
TEST(ZoneBuilder, ManyChangesInOneShardAnswerLikeAFromScratchBuild) {
  auto created = ZoneBuilder::create(settings());
  ASSERT_TRUE(created.ok()) << created.error();
  ZoneBuilder& builder = **created;
  std::vector<std::string> pool;
  size_t shard = 0;
  for (int i = 0; pool.size() < 40 && i < 1'000'000; ++i) {
    const std::string name = (i % 7 == 0 ? "*.n" : "h") + std::to_string(i) + ".churn.global";
    const std::string wire = wire_of(name);
    const size_t sh =
        Snapshot::shard_of(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
    if (pool.empty()) shard = sh;
    if (sh == shard) pool.push_back(name);
  }
  ASSERT_EQ(pool.size(), 40u);
  std::vector<Probe> shard_probes;
  for (const std::string& n : pool)
    for (const std::string& q : {n, "x." + n.substr(n.starts_with("*.") ? 2 : 0)})
      for (uint16_t qtype : {1, 28}) shard_probes.push_back({q, testing::make_query(q, qtype)});
  shard_probes.push_back({"churn.global", testing::make_query("churn.global", 1)});

  std::map<std::string, HostRecords> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 4000; ++step) {
    const std::string& name = pool[rng() % pool.size()];
    if (rng() % 4 == 0) {
      builder.remove(name);
      model.erase(wire_of(name));
    } else {
      HostRecords h = random_host(rng, name);
      ASSERT_TRUE(builder.upsert(h).ok()) << h.name;
      if (h.v4.empty() && h.v6.empty())
        model.erase(wire_of(name));
      else
        model[wire_of(name)] = h;
    }
    if (step % 1000 != 999) continue;
    ASSERT_EQ(builder.host_count(), model.size()) << "step " << step;
    auto incremental = builder.build(static_cast<uint32_t>(step));
    auto scratch = build_from(model, static_cast<uint32_t>(step));
    ASSERT_TRUE(incremental && scratch);
    expect_same_answers(*incremental, *scratch, shard_probes, step);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ZoneBuilder, EmptyNonTerminalsComeAndGo) {
  auto builder = ZoneBuilder::create(settings()).value();
  const auto q = testing::make_query("b.c.global.", 1);
  std::vector<uint8_t> out(512);
  ASSERT_TRUE(builder->upsert({"a.b.c.global", {{240, 0, 0, 1}}, {}}).ok());
  auto with = builder->build(1);
  EXPECT_EQ(answer(with.get(), q, out, Transport::Udp).outcome, Outcome::NoData);
  builder->remove("A.B.C.GLOBAL.");
  auto without = builder->build(2);
  EXPECT_EQ(answer(without.get(), q, out, Transport::Udp).outcome, Outcome::NxDomain);
  EXPECT_EQ(without->node_count(), 3u);  // the three apexes
  EXPECT_EQ(builder->host_count(), 0u);
}

TEST(ZoneBuilder, WildcardAppearsAndGoes) {
  auto builder = ZoneBuilder::create(settings()).value();
  const auto q = testing::make_query("any.thing.w.global.", 1);
  std::vector<uint8_t> out(512);
  ASSERT_TRUE(builder->upsert({"exact.w.global", {{240, 0, 0, 1}}, {}}).ok());
  EXPECT_EQ(answer(builder->build(1).get(), q, out, Transport::Udp).outcome, Outcome::NxDomain);
  ASSERT_TRUE(builder->upsert({"*.w.global", {{240, 0, 0, 2}}, {}}).ok());
  EXPECT_EQ(answer(builder->build(2).get(), q, out, Transport::Udp).outcome, Outcome::Hit);
  ASSERT_TRUE(builder->upsert({"*.w.global", {}, {}}).ok());  // no addresses: removed
  EXPECT_EQ(answer(builder->build(3).get(), q, out, Transport::Udp).outcome, Outcome::NxDomain);
}

// svc<i>.ns<i/100>.global, as the benchmark uses.
std::unique_ptr<ZoneBuilder> loaded(int names) {
  auto builder = ZoneBuilder::create(settings()).value();
  for (int i = 0; i < names; ++i) {
    HostRecords h;
    h.name = "svc" + std::to_string(i) + ".ns" + std::to_string(i / 100) + ".global";
    h.v4.push_back({240, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    EXPECT_TRUE(builder->upsert(h).ok());
  }
  return builder;
}

size_t shared_shards(const Snapshot& a, const Snapshot& b) {
  size_t same = 0;
  for (size_t i = 0; i < a.shard_count(); ++i) same += a.shard(i) == b.shard(i);
  return same;
}

TEST(ZoneBuilder, OneHostChangeSharesEveryOtherShard) {
  auto builder = loaded(20000);
  auto first = builder->build(1);
  ASSERT_GE(first->shard_count(), 256u);
  // Same serial, nothing changed: the very same shards.
  EXPECT_EQ(shared_shards(*first, *builder->build(1)), first->shard_count());

  // A new address for one host, same serial: only its shard is re-encoded.
  ASSERT_TRUE(builder->upsert({"svc42.ns0.global", {{240, 9, 9, 9}}, {}}).ok());
  auto second = builder->build(1);
  const std::string host = wire_of("svc42.ns0.global");
  const size_t host_shard =
      second->shard_of(reinterpret_cast<const uint8_t*>(host.data()), host.size());
  EXPECT_NE(first->shard(host_shard), second->shard(host_shard));
  EXPECT_EQ(shared_shards(*first, *second), first->shard_count() - 1);

  // A host in a new namespace, new serial: its shard, its new empty non-terminal's shard and
  // the three apexes' shards (their SOA carries the serial) at most.
  ASSERT_TRUE(builder->upsert({"new.ns-new.global", {{240, 9, 9, 8}}, {}}).ok());
  auto third = builder->build(2);
  EXPECT_GE(shared_shards(*second, *third), third->shard_count() - 5);
  EXPECT_EQ(third->node_count(), second->node_count() + 2);
  size_t nodes = 0;
  third->for_each_node([&](const Shard&, const Node&) { ++nodes; });
  EXPECT_EQ(nodes, third->node_count());

  // And back: the host and its empty non-terminal are gone again.
  builder->remove("new.ns-new.global");
  auto fourth = builder->build(3);
  EXPECT_EQ(fourth->node_count(), second->node_count());
  EXPECT_GE(shared_shards(*third, *fourth), fourth->shard_count() - 5);
}

// A first load of enough hosts walks them twice, half the shards each time, and encodes the
// first half before the second walk: the hosts of the second half still find their empty
// non-terminals and wildcard parents, which the first walk may already have put into shards of
// either half. The result must answer as a build from scratch does, and stay a builder that
// further changes keep right.
TEST(ZoneBuilder, LoadInTwoWalksAnswersLikeAFromScratchBuild) {
  std::mt19937 rng(20261128);
  std::map<std::string, HostRecords> model;
  for (const std::string& name : name_pool()) {
    HostRecords h = random_host(rng, name);
    if (h.v4.empty() && h.v6.empty()) h.v4.push_back({240, 0, 0, 7});
    model[wire_of(name)] = h;
  }
  for (int i = 0; i < 40000; ++i) {
    HostRecords h;
    h.name = "svc" + std::to_string(i) + ".ns" + std::to_string(i / 50) + ".global";
    h.v4.push_back({240, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    model[wire_of(h.name)] = h;
  }
  auto builder = ZoneBuilder::create(settings()).value();
  int walks = 0;
  const auto walk = [&](const std::function<void(const HostRecords&)>& fn) {
    ++walks;
    for (const auto& [wire, host] : model) fn(host);
  };
  const auto loaded = builder->load(walk, model.size());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(walks, 2);
  EXPECT_EQ(builder->host_count(), model.size());

  std::vector<Probe> some = probes();
  for (int i = 0; i < 40000; i += 997) {
    const std::string name = "svc" + std::to_string(i) + ".ns" + std::to_string(i / 50) + ".global";
    for (uint16_t qtype : {1, 28, 6})
      for (const std::string& n : {name, "ns" + std::to_string(i / 50) + ".global", "x." + name})
        some.push_back({n, testing::make_query(n, qtype)});
  }
  expect_same_answers(*builder->build(5), *build_from(model, 5), some, 0);

  // Then as any builder: a namespace emptied, a wildcard gone, a new host.
  for (int i = 0; i < 50; ++i) {
    const std::string name = "svc" + std::to_string(i) + ".ns0.global";
    builder->remove(name);
    model.erase(wire_of(name));
  }
  builder->remove("*.wild.global");
  model.erase(wire_of("*.wild.global"));
  ASSERT_TRUE(builder->upsert({"late.ns0.global", {{240, 2, 0, 1}}, {}}).ok());
  model[wire_of("late.ns0.global")] = {"late.ns0.global", {{240, 2, 0, 1}}, {}};
  expect_same_answers(*builder->build(6), *build_from(model, 6), some, 1);
}

TEST(ZoneBuilder, LoadFailsOnABadHostInEitherWalk) {
  for (const std::string bad : {"bad..name.global", "svc.example.com"}) {
    std::vector<HostRecords> hosts;
    for (int i = 0; i < 40000; ++i)
      hosts.push_back({"svc" + std::to_string(i) + ".ns.global", {{240, 0, 0, 1}}, {}});
    hosts.push_back({bad, {{240, 0, 0, 2}}, {}});
    auto builder = ZoneBuilder::create(settings()).value();
    const auto loaded = builder->load(
        [&](const std::function<void(const HostRecords&)>& fn) {
          for (const HostRecords& h : hosts) fn(h);
        },
        hosts.size());
    ASSERT_FALSE(loaded.ok()) << bad;
    EXPECT_NE(loaded.error().find(bad), std::string::npos) << loaded.error();
  }
}

TEST(ZoneBuilder, BadHostsFailAndChangeNothing) {
  auto builder = ZoneBuilder::create(settings()).value();
  ASSERT_TRUE(builder->upsert({"a.global", {{240, 0, 0, 1}}, {}}).ok());
  auto before = builder->build(7);

  auto invalid = builder->upsert({"bad..name.global", {{240, 0, 0, 2}}, {}});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error(), "host \"bad..name.global\" is not a valid domain name");
  auto outside = builder->upsert({"svc.example.com", {{240, 0, 0, 3}}, {}});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error(), "host \"svc.example.com\" is outside every zone");
  auto too_long = builder->upsert({std::string(300, 'a') + ".global", {{240, 0, 0, 4}}, {}});
  EXPECT_FALSE(too_long.ok());
  EXPECT_FALSE(builder->add({"svc.example.com", {{240, 0, 0, 3}}, {}}).ok());
  builder->remove("bad..name.global");  // ignored
  builder->remove("never.global");      // ignored

  EXPECT_EQ(builder->host_count(), 1u);
  auto after = builder->build(7);
  EXPECT_EQ(shared_shards(*before, *after), before->shard_count());
  EXPECT_EQ(after->node_count(), before->node_count());
}

TEST(ZoneBuilder, CreateRejectsBadZonesLikeBuildSnapshot) {
  ZoneData d = settings();
  d.zones.push_back({"Global", {}, {}});
  auto dup = ZoneBuilder::create(d);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error(), "zone \"Global\" is listed twice");
  d = settings();
  d.zones[1].nameservers = {"bad..ns"};
  auto ns = ZoneBuilder::create(d);
  ASSERT_FALSE(ns.ok());
  EXPECT_EQ(ns.error(), build_snapshot(d).error());
}

}  // namespace
}  // namespace globaldns::resolver
