// Server: the UDP and TCP transports, one worker thread per core, answering from a SnapshotHolder.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "resolver/result.hpp"

namespace globaldns::resolver {
class SnapshotHolder;
}
namespace globaldns::metrics {
class QueryCounters;
}

namespace globaldns::dns {

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0", "::"
  uint16_t port = 0;
};

struct TcpOptions {
  // Since the last complete query or the last answer written, whichever is later; bytes of an
  // incomplete query never extend it, so a slowloris is cut (RFC 7766 §6.2.3).
  std::chrono::milliseconds idle_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};  // a client that never reads is cut off
  unsigned max_connections = 1024;                 // across all workers; more are closed at once
  unsigned max_queries_per_connection = 0;         // 0 = unlimited
};

// Response rate limiting (RRL) of UDP answers, per client prefix; TCP is never limited.
struct RrlOptions {
  uint32_t responses_per_second = 0;  // per prefix, with a burst of one second's; 0: off
  // 0: every limited response is dropped; N: every Nth becomes a TC=1 reply, the rest dropped.
  uint32_t slip = 2;
  unsigned ipv4_prefix = 24;    // 1 to 32
  unsigned ipv6_prefix = 56;    // 1 to 128
  uint32_t table_size = 65536;  // buckets, rounded up to a power of two
};

struct ServerOptions {
  std::vector<ListenAddress> listen;  // UDP and TCP on each
  unsigned threads = 0;               // 0 = one per core
  TcpOptions tcp;
  int udp_receive_buffer = 4 << 20;  // SO_RCVBUF asked for (0: kernel default); a cap logs once
  // Per-query counters (coredns_dns_*), server index i = listen[i]; null: not counted. Must
  // have room for listen.size() servers and outlive the Server.
  metrics::QueryCounters* query_counters = nullptr;
  uint32_t query_log_per_second = 0;  // the query log's line limit; 0: no query log
  RrlOptions rrl;
};

// Counts, summed across workers on demand (workers write their own padded copy).
struct ServerStats {
  uint64_t udp_queries = 0;              // datagrams given to the answer engine
  uint64_t tcp_queries = 0;              // TCP frames given to the answer engine
  uint64_t dropped = 0;                  // nothing sent: Outcome::Drop, oversized, or no buffer
  uint64_t truncated = 0;                // answers with TC set
  uint64_t tcp_connections = 0;          // accepted and served
  uint64_t tcp_connections_refused = 0;  // over max_connections: accepted, then closed at once
  uint64_t tcp_timeouts = 0;             // cut by the idle or the write timeout
  uint64_t udp_send_errors = 0;          // answers the kernel refused to send (e.g. unreachable)
  uint64_t handler_exceptions = 0;  // caught at the top of a worker loop (coredns_panics_total)
  // UDP answers RRL held back: not sent at all, or sent as an empty TC=1 reply (counted in
  // neither `dropped` nor `truncated`, which count the engine's own decisions).
  uint64_t rrl_dropped = 0;
  uint64_t rrl_slipped = 0;
};

class Server {
 public:
  Server(ServerOptions options, const resolver::SnapshotHolder& snapshots);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every socket (so "port in use" is an error here, before any thread starts),
  // then starts the workers. The error names the address and the reason. Call it once.
  Result<Ok> start();
  // Stops accepting, lets in-flight TCP answers finish briefly, joins the workers. Idempotent.
  void stop();
  // The addresses actually bound, one per listen address (useful when a port was 0; UDP and
  // TCP then share one ephemeral port).
  std::vector<ListenAddress> bound_udp() const;
  std::vector<ListenAddress> bound_tcp() const;
  // Safe to call while serving; after stop() it keeps the final counts.
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace globaldns::dns
