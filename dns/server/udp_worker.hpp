// UdpWorker: one worker's UDP socket, served in batches with recvmmsg/sendmmsg (Linux).
#pragma once

#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "dns/server/query_origin.hpp"
#include "dns/server/unique_fd.hpp"

namespace globaldns::dns {

class WorkerContext;

// Asio only tells us the socket is readable (async_wait); we then drain it ourselves with
// non-blocking recvmmsg into preallocated slots, answer each datagram into its own slot and
// send the batch back with one sendmmsg. Nothing is allocated or locked per packet.
class UdpWorker {
 public:
  static constexpr unsigned kBatch = 64;
  // Larger datagrams are dropped: no DNS query this server can answer comes near it.
  static constexpr size_t kQueryMax = 4096;
  // The engine writes at most min(client EDNS size, our EDNS size) over UDP, and our EDNS
  // size is capped at 4096, so an answer slot of 4096 bytes always suffices.
  static constexpr size_t kAnswerMax = 4096;

  // `wildcard`: bound to 0.0.0.0 or ::, so each reply names its source address explicitly.
  UdpWorker(boost::asio::io_context& io, UniqueFd fd, int family, bool wildcard, QueryOrigin origin,
            WorkerContext& context);
  ~UdpWorker();
  UdpWorker(const UdpWorker&) = delete;
  UdpWorker& operator=(const UdpWorker&) = delete;

  void start();
  void stop();

 private:
  struct Slots;

  void wait();
  void drain() noexcept;
  unsigned answer_batch(unsigned received) noexcept;
  void send_batch(unsigned count) noexcept;

  std::unique_ptr<Slots> slots_;  // before socket_: if this throws, nobody owns the fd twice
  boost::asio::ip::udp::socket socket_;
  WorkerContext& context_;
  int fd_;
  bool wildcard_;
  bool stopped_ = false;
  QueryOrigin origin_;
};

}  // namespace globaldns::dns
