// The per-query costs the UDP path adds to the answer: QueryRecorder::record, the clock read,
// and the response rate limiter's check() when RRL is on.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <benchmark/benchmark.h>

#include <vector>

#include "dns/server/response_rate_limiter.hpp"
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

std::vector<sockaddr_in> clients(uint32_t prefixes) {
  std::vector<sockaddr_in> out(prefixes);
  for (uint32_t i = 0; i < prefixes; ++i) {
    out[i].sin_family = AF_INET;
    out[i].sin_addr.s_addr = htonl(0x0a000001u + (i << 8));  // 10.x.y.1, one per /24
  }
  return out;
}

// A response RRL lets through: hash the prefix, one compare-and-swap on its bucket. 4096
// clients in turn, each well under its rate, over the default table.
void BM_RrlSend(benchmark::State& state) {
  using globaldns::dns::ResponseRateLimiter;
  globaldns::dns::RrlOptions options;
  options.responses_per_second = 1000000;
  ResponseRateLimiter rrl(options);
  const std::vector<sockaddr_in> peers = clients(4096);
  int64_t now = 1'000'000'000'000;
  size_t i = 0;
  for (auto _ : state) {
    const auto verdict = rrl.check(reinterpret_cast<const sockaddr*>(&peers[i]), now);
    benchmark::DoNotOptimize(verdict);
    i = (i + 1) & 4095;
    now += 1000;
  }
  state.SetItemsProcessed(state.iterations());
}

// A response over the limit (a flood from one /24): the hash, one load, the slip counter.
void BM_RrlLimited(benchmark::State& state) {
  using globaldns::dns::ResponseRateLimiter;
  globaldns::dns::RrlOptions options;
  options.responses_per_second = 10;
  ResponseRateLimiter rrl(options);
  const std::vector<sockaddr_in> peers = clients(1);
  const int64_t now = 1'000'000'000'000;
  const auto* peer = reinterpret_cast<const sockaddr*>(&peers[0]);
  for (int k = 0; k < 10; ++k) (void)rrl.check(peer, now);
  if (rrl.check(peer, now) == ResponseRateLimiter::Verdict::Send) {
    state.SkipWithError("not limited");
    return;
  }
  for (auto _ : state) {
    const auto verdict = rrl.check(peer, now);
    benchmark::DoNotOptimize(verdict);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_RrlSend);
BENCHMARK(BM_RrlLimited);
BENCHMARK(BM_Record);
BENCHMARK(BM_Clock);
BENCHMARK(BM_ClockAndRecord);
BENCHMARK_MAIN();
