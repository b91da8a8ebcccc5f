// The per-query cost of counting: QueryRecorder::record and the clock read the transports add.
#include <benchmark/benchmark.h>

#include "metrics/query_counters.hpp"

namespace {

using globaldns::metrics::Family;
using globaldns::metrics::Proto;
using globaldns::metrics::QueryCounters;

globaldns::resolver::AnswerResult hit() {
  globaldns::resolver::AnswerResult r;
  r.outcome = globaldns::resolver::Outcome::Hit;
  r.qtype = 1;
  r.zone = 0;
  r.size = 62;
  return r;
}

void BM_Record(benchmark::State& state) {
  QueryCounters counters(1);
  auto& recorder = counters.add_recorder();
  globaldns::resolver::AnswerResult r = hit();
  uint64_t ns = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(&r);
    recorder.record(0, Proto::Udp, Family::Ip4, r, 40, ns);
    ns += 7;
  }
  state.SetItemsProcessed(state.iterations());
}

// What a UDP query adds in total: one clock read and one record.
void BM_ClockAndRecord(benchmark::State& state) {
  QueryCounters counters(1);
  auto& recorder = counters.add_recorder();
  const globaldns::resolver::AnswerResult r = hit();
  const uint64_t start = globaldns::metrics::monotonic_ns();
  for (auto _ : state) {
    recorder.record(0, Proto::Udp, Family::Ip4, r, 40, globaldns::metrics::monotonic_ns() - start);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Clock(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(globaldns::metrics::monotonic_ns());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_Record);
BENCHMARK(BM_Clock);
BENCHMARK(BM_ClockAndRecord);
BENCHMARK_MAIN();
