// QueryCounters: CoreDNS's per-query series (coredns_dns_*), counted per thread, summed on scrape.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "resolver/answer.hpp"

namespace globaldns::metrics {

class Exposition;

enum class Proto : uint8_t { Udp, Tcp };
enum class Family : uint8_t { Ip4, Ip6 };

// What one front end (a DNS worker thread, a gRPC thread) counts. Only the thread that owns it
// may call record(): each add is a relaxed load and store, no locked instruction, no allocation.
// The counters sit in one block of their own, aligned to a cache line so that two threads'
// blocks never share one. QueryCounters::write() reads them from another thread.
class QueryRecorder {
 public:
  // `server` is an index given to QueryCounters::set_server_name; `request_size` the query's
  // bytes; `duration_ns` from when the query was read to when its answer was ready.
  // An Outcome::Drop result is not counted here (no question was read): the transports count
  // those in their own dropped counter.
  void record(unsigned server, Proto proto, Family family, const resolver::AnswerResult& result,
              uint32_t request_size, uint64_t duration_ns) noexcept;

 private:
  friend class QueryCounters;
  using Counter = std::atomic<uint64_t>;
  QueryRecorder(size_t cells, unsigned servers);
  static void add(Counter& counter, uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  struct alignas(64) Cells {
    explicit Cells(size_t n) : values(std::make_unique<Counter[]>(n)) {}
    std::unique_ptr<Counter[]> values;
  };
  Cells cells_;
  unsigned servers_;
};

// The registry: a fixed layout (servers × zone slots × the label values CoreDNS uses), one
// QueryRecorder per writing thread. Zone slot 0 is "." (outside every zone, or not looked up);
// slot i + 1 is the snapshot's zone i, up to kZones zones (later ones count as ".").
class QueryCounters {
 public:
  static constexpr unsigned kZones = 16;

  explicit QueryCounters(unsigned servers);
  ~QueryCounters();
  QueryCounters(const QueryCounters&) = delete;
  QueryCounters& operator=(const QueryCounters&) = delete;

  // Once per writing thread (takes a mutex, allocates); the recorder lives as long as this.
  QueryRecorder& add_recorder();
  // The `server` label of index i, e.g. "dns://127.0.0.1:53"; unnamed servers are not written.
  void set_server_name(unsigned server, std::string name);
  // The `zone` labels of the snapshot's zones, in its order ("global.").
  void set_zone_names(std::vector<std::string> zones);

  // Unique among every QueryCounters of the process, even one at a reused address: a thread
  // that caches its recorder keys the cache on this.
  uint64_t id() const noexcept { return id_; }

  // Sums every recorder and writes the coredns_dns_* families (only label sets seen).
  void write(Exposition& out) const;

 private:
  const unsigned servers_;
  const uint64_t id_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<QueryRecorder>> recorders_;
  std::vector<std::string> server_names_;
  std::vector<std::string> zone_names_;
};

// CLOCK_MONOTONIC in nanoseconds, for durations: a vDSO call, no system call.
inline uint64_t monotonic_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CoreDNS's label value for a query type ("other" for types it does not name) and an rcode.
const char* type_label(uint16_t qtype) noexcept;
std::string rcode_label(uint16_t rcode);

}  // namespace globaldns::metrics
