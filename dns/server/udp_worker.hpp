// UdpWorker: one UDP socket served by a thread of its own, in batches with recvmmsg/sendmmsg.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "dns/server/query_origin.hpp"
#include "dns/server/unique_fd.hpp"

namespace globaldns::dns {

class WorkerContext;

// The thread blocks in recvmmsg(MSG_WAITFORONE) on its socket, answers each datagram into its
// own preallocated slot and sends the batch back with one sendmmsg: two system calls per batch,
// as the reflector in bench/ does. Waiting through an event loop instead (epoll_wait, then the
// re-arm, then the loop's own bookkeeping) cost 5-6 % of the machine's QPS ceiling
// (docs/PERFORMANCE.md). TCP stays on the worker's io_context thread. Nothing is allocated or
// locked per packet.
class UdpWorker {
 public:
  static constexpr unsigned kBatch = 64;
  // Larger datagrams are dropped: no DNS query this server can answer comes near it.
  static constexpr size_t kQueryMax = 4096;
  // The engine writes at most min(client EDNS size, our EDNS size) over UDP, and our EDNS
  // size is capped at 4096, so an answer slot of 4096 bytes always suffices.
  static constexpr size_t kAnswerMax = 4096;

  // `wildcard`: bound to 0.0.0.0 or ::, so each reply names its source address explicitly.
  // `context` is this thread's alone (snapshot reader, counters); `name` names the thread.
  UdpWorker(UniqueFd fd, bool wildcard, QueryOrigin origin, std::unique_ptr<WorkerContext> context,
            std::string name);
  ~UdpWorker();
  UdpWorker(const UdpWorker&) = delete;
  UdpWorker& operator=(const UdpWorker&) = delete;

  // Starts the thread (std::system_error if it cannot).
  void start();
  // From any thread; returns at once. Datagrams still queued are not answered.
  void request_stop() noexcept;
  void join();
  WorkerContext& context() noexcept { return *context_; }
  const WorkerContext& context() const noexcept { return *context_; }

 private:
  struct Slots;

  void run() noexcept;
  unsigned answer_batch(unsigned received) noexcept;
  void send_batch(unsigned count) noexcept;

  std::unique_ptr<Slots> slots_;
  UniqueFd fd_;
  std::unique_ptr<WorkerContext> context_;
  std::string name_;
  bool wildcard_;
  QueryOrigin origin_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace globaldns::dns
