// Micro-benchmarks of the incremental sync path at 100,000 ServiceEntries: one watch event
// through the translation index alone and through the controller (with and without the
// snapshot build), a whole list into an empty controller, and one explain query; and the
// decoding of one ServiceEntry file of 10,000 entries, as bench/gen_data.py writes them.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "resolver/snapshot_builder.hpp"
#include "resolver/snapshot_holder.hpp"
#include "sync/explain.hpp"
#include "sync/kube/list_decoder.hpp"
#include "sync/kube/list_stream.hpp"
#include "sync/sync_controller.hpp"
#include "sync/translation_index.hpp"
#include "sync/yaml_decoder.hpp"

namespace {

using namespace globaldns;
using namespace globaldns::sync;

constexpr int kEntries = 100'000;

// ns<i/100>/svc<i> serving svc<i>.ns<i/100>.global at 240.x.y.z, as bench_resolver's data.
ServiceEntry make_entry(int i, int variant = 0) {
  ServiceEntry e;
  // Appended, not "literal" + std::string, which trips g++ 12's -Wrestrict at -O3.
  e.namespace_ = "ns";
  e.namespace_ += std::to_string(i / 100);
  e.name = "svc";
  e.name += std::to_string(i);
  std::string host = e.name;
  host += '.';
  host += e.namespace_;
  host += ".global";
  e.hosts = {host};
  std::string address = "240.";
  address += std::to_string((i >> 16) & 0xff);
  address += '.';
  address += std::to_string((i >> 8) & 0xff);
  address += '.';
  address += std::to_string(i & 0xff);
  e.addresses = {address};
  if (variant != 0) {
    std::string extra = "240.255.255.";
    extra += std::to_string(variant);
    e.addresses.push_back(extra);
  }
  e.resolution = Resolution::Static;
  e.origin = "cluster1";
  return e;
}

const std::vector<ServiceEntry>& all_entries() {
  static const std::vector<ServiceEntry> entries = [] {
    std::vector<ServiceEntry> out;
    out.reserve(kEntries);
    for (int i = 0; i < kEntries; ++i) out.push_back(make_entry(i));
    return out;
  }();
  return entries;
}

SyncSettings settings() {
  SyncSettings s;
  s.translate.zones = {"global."};
  s.translate.allowed = {parse_cidr("240.0.0.0/8").value()};
  s.zone.zones = {resolver::ZoneSpec{"global.", {}, {}}};
  return s;
}

void quiet() {
  spdlog::set_level(spdlog::level::warn);
}

// One entry changes (its address list toggles): erase + insert + take_changes.
void BM_IndexUpdateOne(benchmark::State& state) {
  TranslationIndex index(settings().translate);
  std::vector<TranslationIndex::Handle> handles;
  for (const auto& e : all_entries()) handles.push_back(index.insert(e));
  (void)index.take_changes();
  int n = 0;
  for (auto _ : state) {
    const int i = (n * 7919) % kEntries;
    index.erase(handles[static_cast<size_t>(i)]);
    handles[static_cast<size_t>(i)] = index.insert(make_entry(i, 1 + (n & 1)));
    auto changes = index.take_changes();
    benchmark::DoNotOptimize(changes);
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IndexUpdateOne)->Unit(benchmark::kMicrosecond);

// All entries into an empty index (a first list, translation only).
void BM_IndexInsertAll(benchmark::State& state) {
  for (auto _ : state) {
    TranslationIndex index(settings().translate);
    for (const auto& e : all_entries()) (void)index.insert(e);
    auto changes = index.take_changes();
    benchmark::DoNotOptimize(changes);
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_IndexInsertAll)->Unit(benchmark::kMillisecond)->Iterations(3);

// A first list into an empty index as the Kubernetes source hands it on: packed entries, in key
// order, with creation times (one second apart per 1,000, as a bulk apply gives), loaded whole.
void BM_IndexBulkLoadPacked(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<PackedEntry> entries;
    entries.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      ServiceEntry e = make_entry(i);
      e.created_unix = 1'700'000'000 + i / 1000;
      entries.emplace_back(e);
    }
    auto index = std::make_unique<TranslationIndex>(settings().translate);
    state.ResumeTiming();
    auto handles = index->insert_all(std::move(entries), 1);
    benchmark::DoNotOptimize(handles);
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_IndexBulkLoadPacked)
    ->Arg(kEntries)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// The same list handed on page by page as it is read (500 a page), into an index that
// begin_load() readied: what a first list costs on the thread that indexes it meanwhile.
// Arguments: entries, whether begin_load() was told how many, whether each insert prefetches
// the one 4 ahead as BackgroundLoad does.
void BM_IndexLoadInPages(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  const bool hinted = state.range(1) != 0;
  const bool prefetched = state.range(2) != 0;
  constexpr int kPage = 500;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<PackedEntry>> pages;
    for (int i = 0; i < count; ++i) {
      if (i % kPage == 0) pages.emplace_back().reserve(kPage);
      ServiceEntry e = make_entry(i);
      e.created_unix = 1'700'000'000 + i / 1000;
      pages.back().emplace_back(e);
    }
    auto index = std::make_unique<TranslationIndex>(settings().translate);
    state.ResumeTiming();
    (void)index->begin_load(hinted ? static_cast<size_t>(count) : 0);
    for (auto& page : pages) {
      for (size_t i = 0; i < page.size(); ++i) {
        constexpr size_t kAhead = TranslationIndex::kPrefetchAhead;  // as the load's
        if (prefetched && i + kAhead < page.size()) index->prefetch(page[i + kAhead]);
        benchmark::DoNotOptimize(index->insert(std::move(page[i]), 1));
      }
      std::vector<PackedEntry>().swap(page);
    }
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_IndexLoadInPages)
    ->Args({kEntries, 1, 1})
    ->Args({1'000'000, 0, 1})
    ->Args({1'000'000, 1, 0})
    ->Args({1'000'000, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// One page of a Kubernetes LIST (500 ServiceEntries in the shape the fake API server writes for
// bench/kube_sync.sh), decoded and packed as the reflector does with each page it reads: at 1M,
// 2,000 of these are most of the io thread's work while the list is read.
constexpr int kListPageItems = 500;

std::string list_page_body() {
  std::string body = R"({"apiVersion":"networking.istio.io/v1","items":[)";
  for (int i = 0; i < kListPageItems; ++i) {
    const ServiceEntry e = make_entry(i + 500'000);
    if (i > 0) body += ',';
    body += R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":)";
    body += R"({"creationTimestamp":"2026-11-27T07:00:00Z","generation":1,"name":")";
    body += e.name;
    body += R"(","namespace":")";
    body += e.namespace_;
    body += R"(","resourceVersion":")";
    body += std::to_string(1000 + i);
    body += R"(","uid":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},"spec":{"addresses":[")";
    body += e.addresses[0];
    body += R"("],"hosts":[")";
    body += e.hosts[0];
    body += R"("],"location":"MESH_INTERNAL","ports":[{"name":"http","number":80,)";
    body += R"("protocol":"HTTP"}],"resolution":"STATIC"}})";
  }
  body += R"(],"kind":"ServiceEntryList","metadata":{"continue":"abc","resourceVersion":"2000"}})";
  return body;
}
void BM_DecodeListPage(benchmark::State& state) {
  constexpr int kItems = kListPageItems;
  const std::string body = list_page_body();
  const Origin origin("cluster1");
  for (auto _ : state) {
    auto page = kube::decode_list(body, origin);
    if (!page.ok() || page->objects.size() != kItems) {
      state.SkipWithError("the page did not decode");
      break;
    }
    std::vector<PackedEntry> packed;
    packed.reserve(page->objects.size());
    for (const auto& object : page->objects) packed.emplace_back(object.entry);
    benchmark::DoNotOptimize(packed);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeListPage)->Unit(benchmark::kMicrosecond);

// The same page as the reflector reads it now: streamed, without a DOM, each object packed as it
// is decoded.
void BM_StreamListPage(benchmark::State& state) {
  const std::string body = list_page_body();
  const Origin origin("cluster1");
  std::vector<PackedEntry> packed;
  const std::function<void(const kube::KubeObject&)> each = [&](const kube::KubeObject& object) {
    packed.emplace_back(object.entry);
  };
  for (auto _ : state) {
    packed.clear();
    packed.reserve(kListPageItems);
    auto page = kube::stream_list(body, origin, each);
    if (!page || packed.size() != kListPageItems) {
      state.SkipWithError("the page was not streamed");
      break;
    }
    benchmark::DoNotOptimize(packed);
  }
  state.SetItemsProcessed(state.iterations() * kListPageItems);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_StreamListPage)->Unit(benchmark::kMicrosecond);

// /explain of one name among 100,000 entries: a served name and an unknown one (each scans
// every host and every entry once), the cost of an operator's question on serve's io thread.
void BM_ExplainOne(benchmark::State& state) {
  TranslationIndex index(settings().translate);
  (void)index.insert_all(all_entries());
  const std::string name = state.range(0) == 0 ? "svc4242.ns42.global" : "nope.ns42.global";
  for (auto _ : state) {
    Explanation e = explain(index, name, 30);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ExplainOne)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(20);

// update_source() of one entry among range(0): translation, index, ZoneBuilder upsert and, when
// `build` is set, ZoneBuilder::build and publish. Without it the build hook returns a fixed
// snapshot.
void update_one(benchmark::State& state, bool build) {
  quiet();
  resolver::SnapshotHolder holder;
  SyncHooks hooks;
  if (!build) {
    std::shared_ptr<const resolver::Snapshot> fixed;
    hooks.build =
        [fixed](resolver::ZoneBuilder& builder,
                uint32_t serial) mutable -> Result<std::shared_ptr<const resolver::Snapshot>> {
      if (!fixed) fixed = builder.build(serial);  // the first (complete) one only
      return fixed;
    };
  }
  SyncController controller(settings(), holder, hooks);
  const auto entries = static_cast<int>(state.range(0));
  if (entries == kEntries) {
    (void)controller.replace_source("cluster1", all_entries());
  } else {
    std::vector<ServiceEntry> all;
    all.reserve(static_cast<size_t>(entries));
    for (int i = 0; i < entries; ++i) all.push_back(make_entry(i));
    (void)controller.replace_source("cluster1", std::move(all));
  }
  int n = 0;
  for (auto _ : state) {
    const int i = (n * 7919) % entries;
    auto summary = controller.update_source("cluster1", {make_entry(i, 1 + (n & 1))}, {});
    if (summary.outcome != ApplyOutcome::Published) {
      state.SkipWithError("not published");
      break;
    }
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ControllerUpdateOneWithoutBuild(benchmark::State& state) {
  update_one(state, false);
}
BENCHMARK(BM_ControllerUpdateOneWithoutBuild)->Arg(kEntries)->Unit(benchmark::kMicrosecond);

void BM_ControllerUpdateOneEndToEnd(benchmark::State& state) {
  update_one(state, true);
}
// At 1M, the size of issue 6's "100 changes per second" run: what each change costs the
// process besides answering.
BENCHMARK(BM_ControllerUpdateOneEndToEnd)
    ->Arg(kEntries)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

// replace_source_parts() of one file of 10,000 entries among 100 (1M in all) in which one entry
// changed: what the file source does when an operator edits one file. Matches the file's
// entries against the part's copies, erases and inserts the changed one, builds and publishes.
void BM_ControllerReplaceOnePartOf100(benchmark::State& state) {
  quiet();
  constexpr int kParts = 100;
  constexpr int kPerPart = 10'000;
  resolver::SnapshotHolder holder;
  SyncController controller(settings(), holder);
  const auto file = [](int p, int changed, int variant) {
    SourcePart part{"part-" + std::to_string(p) + ".yaml", {}};
    for (int i = p * kPerPart; i < (p + 1) * kPerPart; ++i)
      part.entries.push_back(make_entry(i, i == changed ? variant : 0));
    return part;
  };
  std::vector<SourcePart> parts;
  for (int p = 0; p < kParts; ++p) parts.push_back(file(p, -1, 0));
  (void)controller.replace_source_parts(
      "files", SourceParts{std::move(parts), PartsScope::Whole, SourceLoad::Complete});
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<SourcePart> change;
    change.push_back(file(42, 42 * kPerPart + (n * 7919) % kPerPart, 1 + (n & 1)));
    state.ResumeTiming();
    auto summary = controller.replace_source_parts(
        "files", SourceParts{std::move(change), PartsScope::Changed, SourceLoad::Complete});
    if (summary.outcome != ApplyOutcome::Published) {
      state.SkipWithError("not published");
      break;
    }
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ControllerReplaceOnePartOf100)->Unit(benchmark::kMillisecond)->Iterations(10);

// replace_source() of every entry into an empty controller, build and publish included: a
// first Kubernetes list, or the first load of the files, at 100k and 1M entries.
void BM_ControllerReplaceAllFromEmpty(benchmark::State& state) {
  quiet();
  const auto count = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    resolver::SnapshotHolder holder;
    auto controller = std::make_unique<SyncController>(settings(), holder);
    std::vector<ServiceEntry> entries;
    if (count == kEntries) {
      entries = all_entries();
    } else {
      entries.reserve(static_cast<size_t>(count));
      for (int i = 0; i < count; ++i) entries.push_back(make_entry(i));
    }
    state.ResumeTiming();
    auto summary = controller->replace_source("cluster1", std::move(entries));
    benchmark::DoNotOptimize(summary);
    state.PauseTiming();
    controller.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_ControllerReplaceAllFromEmpty)
    ->Arg(kEntries)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

// One file of bench/gen_data.py's shape (ports and endpoints included, as Istio's examples).
std::string service_entry_file(int entries) {
  std::string text;
  for (int i = 0; i < entries; ++i) {
    const ServiceEntry e = make_entry(i);
    text += "---\napiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: ";
    text += e.name;
    text += "\n  namespace: ";
    text += e.namespace_;
    text += "\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\nspec:\n  hosts:\n  - ";
    text += e.hosts[0];
    text +=
        "\n  location: MESH_INTERNAL\n  ports:\n  - name: http\n    number: 80\n"
        "    protocol: HTTP\n  resolution: DNS\n  addresses:\n  - ";
    text += e.addresses[0];
    text += "\n  endpoints:\n  - address: 192.0.2.10\n    ports:\n      http: 15443\n";
  }
  return text;
}

void BM_DecodeServiceEntryFile(benchmark::State& state) {
  const std::string text = service_entry_file(10'000);
  for (auto _ : state) {
    auto decoded = decode_service_entries(text, "part-0000.yaml");
    if (!decoded || decoded->entries.size() != 10'000) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 10'000,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeServiceEntryFile)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
