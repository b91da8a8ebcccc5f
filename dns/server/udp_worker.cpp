// UdpWorker: block in recvmmsg, answer each datagram in place, reply with sendmmsg.
#include "dns/server/udp_worker.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "dns/server/query_log.hpp"
#include "dns/server/response_rate_limiter.hpp"
#include "dns/server/worker_context.hpp"
#include "resolver/answer.hpp"

namespace globaldns::dns {
namespace {

constexpr size_t kControlSize = CMSG_SPACE(sizeof(in_pktinfo)) > CMSG_SPACE(sizeof(in6_pktinfo))
                                    ? CMSG_SPACE(sizeof(in_pktinfo))
                                    : CMSG_SPACE(sizeof(in6_pktinfo));

struct alignas(cmsghdr) Control {
  uint8_t bytes[kControlSize];
};

// A reply's source, taken from the query's destination (wildcard sockets only).
enum class Source : uint8_t { Default, Set, Refuse };

void put_control(msghdr& reply, Control& control, int level, int type, const void* data,
                 size_t size) noexcept {
  reply.msg_control = control.bytes;
  reply.msg_controllen = CMSG_SPACE(size);
  cmsghdr* header = CMSG_FIRSTHDR(&reply);
  header->cmsg_level = level;
  header->cmsg_type = type;
  header->cmsg_len = CMSG_LEN(size);
  std::memcpy(CMSG_DATA(header), data, size);
}

// A socket bound to 0.0.0.0 answers from the address the query was sent to, not from
// whatever the routing table picks: a pod with several addresses must not reply from the
// wrong one, or the client (which checks the source) drops the answer.
Source reply_source(msghdr& query, msghdr& reply, Control& control) noexcept {
  for (cmsghdr* header = CMSG_FIRSTHDR(&query); header != nullptr;
       header = CMSG_NXTHDR(&query, header)) {
    if (header->cmsg_level == IPPROTO_IP && header->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(header), sizeof(info));
      // ipi_addr is the header's destination, ipi_spec_dst our local address: they differ
      // for a broadcast, and answering one forged broadcast would make every server on the
      // segment answer the victim. Multicast likewise.
      const uint32_t destination = ntohl(info.ipi_addr.s_addr);
      if (IN_MULTICAST(destination) || destination == INADDR_BROADCAST) return Source::Refuse;
      if (info.ipi_spec_dst.s_addr != 0 && info.ipi_spec_dst.s_addr != info.ipi_addr.s_addr) {
        return Source::Refuse;
      }
      in_pktinfo source{};
      source.ipi_spec_dst = info.ipi_addr;
      source.ipi_ifindex = 0;  // let routing pick the interface, as for a bound socket
      put_control(reply, control, IPPROTO_IP, IP_PKTINFO, &source, sizeof(source));
      return Source::Set;
    }
    if (header->cmsg_level == IPPROTO_IPV6 && header->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(header), sizeof(info));
      if (IN6_IS_ADDR_MULTICAST(&info.ipi6_addr)) return Source::Refuse;
      in6_pktinfo source{};
      source.ipi6_addr = info.ipi6_addr;
      // A link-local source is ambiguous without its interface; any other is not.
      source.ipi6_ifindex = IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr) ? info.ipi6_ifindex : 0;
      put_control(reply, control, IPPROTO_IPV6, IPV6_PKTINFO, &source, sizeof(source));
      return Source::Set;
    }
  }
  return Source::Default;  // no packet info (option refused, or MSG_CTRUNC): kernel's choice
}

}  // namespace

// Preallocated once per socket (about 530 KiB): slot i holds datagram i of a batch, its
// peer address and its control message. The datagram and answer buffers, 512 KiB of it, are
// left uninitialised: each is read only as far as the kernel or the answer writer filled it, so
// a page of them becomes resident only once a batch reaches it (zeroed, an idle server with two
// workers held 0.6 MiB more: 11.4 MiB against 10.8). The kernel needs a datagram's whole room
// in its own buffer, so a full batch touches a page of each of the 64; a batch's answers are
// written end to end instead (each with room for the largest), and take a few pages between
// them: under dnsperf's load the two workers held 1 MiB of these pages, half of it answers.
struct UdpWorker::Slots {
  std::array<mmsghdr, kBatch> received{};
  std::array<mmsghdr, kBatch> replies{};
  std::array<iovec, kBatch> query_iov{};
  std::array<iovec, kBatch> answer_iov{};
  std::array<sockaddr_storage, kBatch> peers{};
  std::array<Control, kBatch> query_control{};
  std::array<Control, kBatch> reply_control{};
  std::array<std::array<uint8_t, kQueryMax>, kBatch> queries;
  // A batch's answers, end to end: the i-th answered datagram's starts at most i x kAnswerMax
  // in, so each has kAnswerMax of room.
  std::array<uint8_t, kBatch * kAnswerMax> answers;
};

UdpWorker::UdpWorker(UniqueFd fd, bool wildcard, QueryOrigin origin,
                     std::unique_ptr<WorkerContext> context, std::string name)
    : slots_(std::make_unique_for_overwrite<Slots>()),
      fd_(std::move(fd)),
      context_(std::move(context)),
      name_(std::move(name)),
      wildcard_(wildcard),
      origin_(origin) {
  // The listen sockets are opened non-blocking (TCP's need it); this thread blocks in
  // recvmmsg, and every send says MSG_DONTWAIT itself.
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK) < 0) {
    throw std::system_error(errno, std::generic_category(), "fcntl on a UDP socket");
  }
  Slots& s = *slots_;
  for (unsigned i = 0; i < kBatch; ++i) {
    s.query_iov[i] = {s.queries[i].data(), kQueryMax};
    msghdr& in = s.received[i].msg_hdr;
    in.msg_name = &s.peers[i];
    in.msg_iov = &s.query_iov[i];
    in.msg_iovlen = 1;
  }
}

UdpWorker::~UdpWorker() {
  request_stop();
  join();
}

void UdpWorker::start() {
  thread_ = std::thread([this] { run(); });
  // Named here rather than by the thread itself, so the name is there once start() returns.
  (void)::pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());  // top -H
}

void UdpWorker::request_stop() noexcept {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
  // Wakes a recvmmsg blocked on this socket, and makes every later one return at once. On an
  // unconnected UDP socket Linux still marks the socket shut down (and wakes its readers)
  // while returning ENOTCONN, which says nothing to us.
  (void)::shutdown(fd_.get(), SHUT_RD);
}

void UdpWorker::join() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void UdpWorker::run() noexcept {
  Slots& s = *slots_;
  bool warned = false;
  // The kernel writes back into the headers of the datagrams it returned only, so only those
  // need resetting: at a few datagrams per batch, that spares touching 64 cache lines a time.
  unsigned used = kBatch;
  for (;;) {
    for (unsigned i = 0; i < used; ++i) {
      msghdr& in = s.received[i].msg_hdr;
      in.msg_namelen = sizeof(sockaddr_storage);
      in.msg_control = wildcard_ ? s.query_control[i].bytes : nullptr;
      in.msg_controllen = wildcard_ ? sizeof(Control) : 0;
      in.msg_flags = 0;
    }
    used = 0;
    // Blocks for the first datagram only, then takes whatever else is queued.
    const int received = ::recvmmsg(fd_.get(), s.received.data(), kBatch, MSG_WAITFORONE, nullptr);
    // After request_stop() a shut-down socket returns empty "datagrams": never answer those.
    if (stopping_.load(std::memory_order_acquire)) return;
    if (received > 0) {
      // One more than returned: the datagram whose receive ended the batch (EAGAIN) is reset too.
      used = std::min(static_cast<unsigned>(received) + 1, kBatch);
      send_batch(answer_batch(static_cast<unsigned>(received)));
      continue;
    }
    if (received == 0 || errno == EINTR || errno == EAGAIN) continue;
    // Not expected on a bound UDP socket (ENOMEM under memory pressure, at most): say so once,
    // and do not spin on it.
    if (!warned) {
      warned = true;
      spdlog::warn("{}: recvmmsg: {}", name_, std::generic_category().message(errno));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

unsigned UdpWorker::answer_batch(unsigned received) noexcept {
  Slots& s = *slots_;
  const resolver::Snapshot* snapshot = context_->snapshot();  // once per batch
  QueryLog* const query_log = context_->query_log();
  metrics::QueryRecorder* const recorder = context_->recorder();
  ResponseRateLimiter* const rrl = context_->rrl();
  const uint64_t batch_start = recorder != nullptr || rrl != nullptr ? metrics::monotonic_ns() : 0;
  unsigned replies = 0;
  size_t answers_end = 0;  // in s.answers: where the next answer goes
  uint64_t answered = 0;
  uint64_t dropped = 0;
  uint64_t truncated = 0;
  uint64_t rrl_dropped = 0;
  uint64_t rrl_slipped = 0;
  {
    std::array<std::span<const uint8_t>, kBatch> questions;
    for (unsigned i = 0; i < received; ++i)
      questions[i] = {s.queries[i].data(), s.received[i].msg_len};
    resolver::prefetch_batch(snapshot, std::span(questions.data(), received));
  }
  for (unsigned i = 0; i < received; ++i) {
    msghdr& in = s.received[i].msg_hdr;
    if ((in.msg_flags & MSG_TRUNC) != 0) {
      ++dropped;  // longer than kQueryMax: only part of it was read
      continue;
    }
    msghdr& out = s.replies[replies].msg_hdr;
    out.msg_control = nullptr;
    out.msg_controllen = 0;
    if (wildcard_ && reply_source(in, out, s.reply_control[i]) == Source::Refuse) {
      ++dropped;
      continue;
    }
    ++answered;
    const auto started = query_log ? QueryLog::Clock::now() : QueryLog::Clock::time_point{};
    const std::span<uint8_t> answer(s.answers.data() + answers_end, kAnswerMax);
    const resolver::AnswerResult result = resolver::answer(
        snapshot, std::span<const uint8_t>(s.queries[i].data(), s.received[i].msg_len), answer,
        resolver::Transport::Udp);
    if (recorder != nullptr) {
      recorder->record(origin_.server, metrics::Proto::Udp, origin_.family, result,
                       s.received[i].msg_len, metrics::monotonic_ns() - batch_start);
    }
    if (result.outcome == resolver::Outcome::Drop || result.size == 0 || result.size > kAnswerMax) {
      ++dropped;
      continue;
    }
    // Only a response about to be sent counts against its client's prefix: what was dropped
    // above (unreadable, a response, too long, a broadcast) costs the client nothing. The
    // query counters above keep the engine's answer; the rrl counters say what became of it.
    size_t size = result.size;
    bool slipped = false;
    if (rrl != nullptr) {
      const auto peer = reinterpret_cast<const sockaddr*>(&s.peers[i]);
      const ResponseRateLimiter::Verdict verdict =
          rrl->check(peer, static_cast<int64_t>(batch_start));
      if (verdict == ResponseRateLimiter::Verdict::Slip) {
        size = resolver::slip_answer(
            snapshot, std::span<const uint8_t>(s.queries[i].data(), s.received[i].msg_len), answer);
        slipped = size != 0;
      }
      if (verdict == ResponseRateLimiter::Verdict::Drop || size == 0) {
        ++rrl_dropped;
        continue;
      }
    }
    if (slipped) {
      ++rrl_slipped;
    } else if (result.truncated) {
      ++truncated;
    }
    if (query_log != nullptr) {
      query_log->record({s.queries[i].data(), s.received[i].msg_len}, {answer.data(), size},
                        reinterpret_cast<const sockaddr*>(&s.peers[i]), resolver::Transport::Udp,
                        started);
    }
    s.answer_iov[i] = {answer.data(), size};
    answers_end += size;
    out.msg_name = &s.peers[i];
    out.msg_namelen = in.msg_namelen;
    out.msg_iov = &s.answer_iov[i];
    out.msg_iovlen = 1;
    out.msg_flags = 0;
    ++replies;
  }
  // Counted once per batch: the counters are shared with stats(), the loop above is not.
  WorkerStats& stats = context_->stats();
  WorkerStats::add(stats.udp_queries, answered);
  WorkerStats::add(stats.dropped, dropped);
  WorkerStats::add(stats.truncated, truncated);
  if (rrl_dropped + rrl_slipped != 0) {
    WorkerStats::add(stats.rrl_dropped, rrl_dropped);
    WorkerStats::add(stats.rrl_slipped, rrl_slipped);
    rrl->report(rrl_dropped, rrl_slipped, static_cast<int64_t>(batch_start));
  }
  return replies;
}

void UdpWorker::send_batch(unsigned count) noexcept {
  Slots& s = *slots_;
  unsigned sent = 0;
  uint64_t dropped = 0;
  uint64_t errors = 0;
  while (sent < count) {
    const int n = ::sendmmsg(fd_.get(), s.replies.data() + sent, count - sent, MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
      // The send buffer is full. Waiting for it would stall the queries behind; UDP is
      // allowed to lose answers and clients retry, so drop the rest of this batch.
      dropped += count - sent;
      break;
    }
    // sendmmsg reports an error only for the first message it could not send (unreachable
    // peer, a firewall rule): skip that one and send the others.
    ++errors;
    ++sent;
  }
  WorkerStats& stats = context_->stats();
  WorkerStats::add(stats.dropped, dropped);
  WorkerStats::add(stats.udp_send_errors, errors);
}

}  // namespace globaldns::dns
