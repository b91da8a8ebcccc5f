// Micro-benchmarks of parse + lookup + encode per outcome, of snapshot building, and of one-host
// incremental updates, at 10k–1M names.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "resolver/answer.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "resolver/zone_builder.hpp"

namespace {

using namespace globaldns::resolver;

// svc<i>.ns<i/100>.global -> 240.x.y.z, plus one wildcard, as the load benchmark uses.
ZoneData make_data(int names) {
  ZoneData d;
  d.zones.push_back({"global.", {}, {}});
  d.hosts.reserve(static_cast<size_t>(names) + 1);
  for (int i = 0; i < names; ++i) {
    HostRecords h;
    h.name = "svc" + std::to_string(i) + ".ns" + std::to_string(i / 100) + ".global";
    h.v4.push_back({240, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                    static_cast<uint8_t>(i)});
    d.hosts.push_back(std::move(h));
  }
  d.hosts.push_back({"*.wild.global", {{240, 255, 0, 1}}, {}});
  d.chaos.version = "globaldns bench";
  return d;
}

const Snapshot& snapshot_of(int names) {
  static std::map<int, std::shared_ptr<const Snapshot>> cache;
  auto& s = cache[names];
  if (!s) s = build_snapshot(make_data(names)).value();
  return *s;
}

// A minimal query (RD, no EDNS) for `name`, type `qtype`, built by hand to keep ldns out.
std::vector<uint8_t> query(const std::string& name, uint16_t qtype, uint8_t qclass) {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(qtype >> 8));
  q.push_back(static_cast<uint8_t>(qtype));
  q.push_back(0);
  q.push_back(qclass);
  return q;
}

void run(benchmark::State& state, const std::string& name, uint16_t qtype, Outcome expected,
         uint8_t qclass = 1) {
  const Snapshot& snap = snapshot_of(static_cast<int>(state.range(0)));
  const auto q = query(name, qtype, qclass);
  std::vector<uint8_t> out(4096);
  if (answer(&snap, q, out, Transport::Udp).outcome != expected) {
    state.SkipWithError("unexpected outcome");
    return;
  }
  for (auto _ : state) {
    auto r = answer(&snap, q, out, Transport::Udp);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Hit(benchmark::State& s) {
  run(s, "svc4242.ns42.global", 1, Outcome::Hit);
}
void BM_HitMixedCase(benchmark::State& s) {
  run(s, "SvC4242.Ns42.GlObAl", 1, Outcome::Hit);
}
void BM_NoData(benchmark::State& s) {
  run(s, "svc4242.ns42.global", 28, Outcome::NoData);
}
void BM_NxDomain(benchmark::State& s) {
  run(s, "nope4242.ns42.global", 1, Outcome::NxDomain);
}
void BM_Wildcard(benchmark::State& s) {
  run(s, "any.thing.wild.global", 1, Outcome::Hit);
}
void BM_Refused(benchmark::State& s) {
  run(s, "www.example.com", 1, Outcome::Refused);
}
// dig CH TXT version.bind: class 3, type TXT.
void BM_ChaosVersion(benchmark::State& s) {
  run(s, "version.bind", 16, Outcome::Hit, 3);
}

// kSpreadQueries A queries for names of snapshot_of(names), drawn at random (a fixed seed).
constexpr size_t kSpreadQueries = 1 << 16;
std::vector<std::vector<uint8_t>> spread_queries(int names) {
  std::vector<std::vector<uint8_t>> queries;
  queries.reserve(kSpreadQueries);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < kSpreadQueries; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int n = static_cast<int>(x % static_cast<uint64_t>(names));
    queries.push_back(
        query("svc" + std::to_string(n) + ".ns" + std::to_string(n / 100) + ".global", 1, 1));
  }
  return queries;
}

// Hits spread over `names` different names in a random order, as a busy server sees them: unlike
// BM_Hit, whose one name stays in the cache, at 1M names each lookup misses the caches on the
// way to its node, its name and its records, and the figure tells how many misses that is.
void BM_HitSpread(benchmark::State& state) {
  const int names = static_cast<int>(state.range(0));
  const Snapshot& snap = snapshot_of(names);
  constexpr size_t kQueries = kSpreadQueries;
  const auto queries = spread_queries(names);
  std::vector<uint8_t> out(4096);
  if (answer(&snap, queries[0], out, Transport::Udp).outcome != Outcome::Hit) {
    state.SkipWithError("unexpected outcome");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    auto r = answer(&snap, queries[i++ & (kQueries - 1)], out, Transport::Udp);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// BM_HitSpread's queries answered as a UDP worker answers a batch of 16 from recvmmsg:
// prefetch_batch over the batch first, then answer() of each. Per query, against BM_HitSpread,
// it tells how much of the misses' wait the batch overlaps.
void BM_HitSpreadBatch(benchmark::State& state) {
  const int names = static_cast<int>(state.range(0));
  const Snapshot& snap = snapshot_of(names);
  constexpr size_t kQueries = kSpreadQueries;
  constexpr size_t kBatch = 16;
  const auto queries = spread_queries(names);
  std::vector<uint8_t> out(4096);
  std::array<std::span<const uint8_t>, kBatch> batch;
  size_t next = 0;
  size_t hits = 0;
  for (auto _ : state) {
    for (auto& q : batch) q = queries[next++ & (kQueries - 1)];
    prefetch_batch(&snap, batch);
    for (const auto& q : batch) {
      auto r = answer(&snap, q, out, Transport::Udp);
      hits += r.outcome == Outcome::Hit ? 1 : 0;
      benchmark::DoNotOptimize(out.data());
    }
  }
  if (hits != state.iterations() * kBatch) state.SkipWithError("a query did not hit");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}

void BM_BuildSnapshot(benchmark::State& state) {
  const ZoneData d = make_data(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    auto s = build_snapshot(d);
    benchmark::DoNotOptimize(s);
    state.PauseTiming();
    bytes = s.ok() ? s.value()->allocated_bytes() : 0;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  // What the snapshot holds per name, its shards' heap bytes over the names (the memory target's
  // largest share after the sync index).
  state.counters["bytes/name"] = static_cast<double>(bytes) / static_cast<double>(state.range(0));
}

// One host changes its address and a new snapshot is built (the previous one is released, as
// the holder does on publish): the sync controller's path for one ServiceEntry event.
void BM_UpsertOneHostAndBuild(benchmark::State& state) {
  const int names = static_cast<int>(state.range(0));
  const ZoneData d = make_data(names);
  auto builder = std::move(ZoneBuilder::create(d).value());
  builder->reserve(d.hosts.size());
  for (const HostRecords& h : d.hosts)
    if (!builder->upsert(h).ok()) state.SkipWithError("upsert failed");
  uint32_t serial = 1;
  std::shared_ptr<const Snapshot> snap = builder->build(serial);
  uint32_t n = 0;
  for (auto _ : state) {
    // A different host each time (a stride through the names), with a new address.
    const size_t i = (n * 7919u) % static_cast<uint32_t>(names);
    HostRecords h = d.hosts[i];
    h.v4 = {{241, static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
             static_cast<uint8_t>(n)}};
    ++n;
    if (!builder->upsert(h).ok()) state.SkipWithError("upsert failed");
    snap = builder->build(++serial);
    benchmark::DoNotOptimize(snap.get());
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_Hit)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_HitSpread)->Arg(10'000)->Arg(40'000)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_HitSpreadBatch)->Arg(10'000)->Arg(40'000)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_HitMixedCase)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_NoData)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_NxDomain)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_Wildcard)->Arg(10'000)->Arg(1'000'000);
BENCHMARK(BM_Refused)->Arg(10'000);
BENCHMARK(BM_ChaosVersion)->Arg(10'000);
BENCHMARK(BM_BuildSnapshot)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(BM_UpsertOneHostAndBuild)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(2000);

BENCHMARK_MAIN();
