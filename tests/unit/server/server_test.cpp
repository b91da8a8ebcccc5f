// Server tests: real UDP and TCP sockets on loopback against the real answer engine.
#include "dns/server/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "resolver/answer.hpp"
#include "resolver/snapshot_holder.hpp"
#include "tests/unit/server/test_client.hpp"

namespace globaldns::dns {
namespace {

using namespace test;

constexpr std::array<uint8_t, 4> kFirstAddress = {240, 0, 0, 2};
constexpr std::array<uint8_t, 4> kSecondAddress = {240, 0, 0, 3};

ServerOptions loopback_options(unsigned threads = 2, std::string host = "127.0.0.1") {
  ServerOptions options;
  options.listen.push_back(ListenAddress{std::move(host), 0});
  options.threads = threads;
  options.udp_receive_buffer = 1 << 20;
  return options;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto snapshot = make_snapshot(kFirstAddress);
    ASSERT_NE(snapshot, nullptr);
    holder_.publish(std::move(snapshot));
  }

  // Starts a server and remembers its port; ASSERTs live in the caller via HasFatalFailure.
  void start(ServerOptions options) {
    server_ = std::make_unique<Server>(std::move(options), holder_);
    const Result<Ok> started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error();
    ASSERT_FALSE(server_->bound_udp().empty());
    port_ = server_->bound_udp().front().port;
    ASSERT_NE(port_, 0);
  }

  resolver::SnapshotHolder holder_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

void expect_answer(const std::optional<Response>& response, uint16_t id,
                   std::array<uint8_t, 4> address = kFirstAddress) {
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->id, id);
  EXPECT_TRUE(response->qr());
  EXPECT_TRUE(response->aa());
  EXPECT_EQ(response->rcode(), 0u);
  EXPECT_EQ(response->ancount, 1);
  ASSERT_TRUE(response->first_a.has_value());
  EXPECT_EQ(*response->first_a, address);
}

// What the kernel may buffer on one loopback connection with a reader that stopped: our send
// buffer, the server's receive buffer, and its send buffer (answers it could not deliver).
size_t tcp_buffer_limit() {
  const auto max_of = [](const char* path) -> size_t {
    size_t low = 0, initial = 0, max = 0;
    if (FILE* f = std::fopen(path, "r")) {
      if (std::fscanf(f, "%zu %zu %zu", &low, &initial, &max) != 3) max = 0;
      std::fclose(f);
    }
    return max != 0 ? max : size_t{32} << 20;
  };
  return 2 * max_of("/proc/sys/net/ipv4/tcp_wmem") + max_of("/proc/sys/net/ipv4/tcp_rmem");
}

std::optional<Response> tcp_read_response(int fd) {
  auto message = read_frame(fd, Clock::now() + kPatience);
  if (!message) return std::nullopt;
  return parse_response(*message);
}

TEST_F(ServerTest, UdpQueryIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  expect_answer(udp_ask("127.0.0.1", port_, 0x1234), 0x1234);
  EXPECT_GE(server_->stats().udp_queries, 1u);
}

TEST_F(ServerTest, UdpQueryOverIpv6IsAnswered) {
  if (!can_bind("::1")) GTEST_SKIP() << "no IPv6 loopback here";
  ServerOptions options = loopback_options();
  options.listen.push_back(ListenAddress{"::1", 0});
  ASSERT_NO_FATAL_FAILURE(start(options));
  const std::vector<ListenAddress> bound = server_->bound_udp();
  ASSERT_EQ(bound.size(), 2u);
  EXPECT_EQ(bound[1].host, "::1");
  expect_answer(udp_ask("::1", bound[1].port, 0x6666), 0x6666);
  expect_answer(udp_ask("127.0.0.1", bound[0].port, 0x4444), 0x4444);
  UniqueFd tcp = tcp_connect("::1", server_->bound_tcp()[1].port);
  ASSERT_TRUE(tcp.valid());
  ASSERT_TRUE(send_all(tcp.get(), frame(make_query(0x6767))));
  expect_answer(tcp_read_response(tcp.get()), 0x6767);
}

TEST_F(ServerTest, WildcardIpv4AndIpv6CanBothBeListened) {
  if (!can_bind("::1")) GTEST_SKIP() << "no IPv6 here";
  ServerOptions options = loopback_options(2, "0.0.0.0");
  ASSERT_NO_FATAL_FAILURE(start(options));
  // Same port on "::": only possible because the IPv6 socket is V6ONLY.
  ServerOptions v6 = loopback_options(2, "::");
  v6.listen.front().port = port_;
  Server second(v6, holder_);
  const Result<Ok> started = second.start();
  ASSERT_TRUE(started.ok()) << started.error();
  expect_answer(udp_ask("::1", port_, 0x0606), 0x0606);
  expect_answer(udp_ask("127.0.0.1", port_, 0x0404), 0x0404);
}

TEST_F(ServerTest, ManyUdpQueriesInFlightFromOneSocketAreAllAnswered) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd fd = udp_socket("127.0.0.1");
  const int buffer = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  constexpr uint16_t kQueries = 100;  // well under the default socket buffers: none is lost
  for (uint16_t id = 0; id < kQueries; ++id) {
    ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, make_query(id)));
  }
  std::set<uint16_t> answered;
  const auto deadline = Clock::now() + kPatience;
  while (answered.size() < kQueries) {
    auto reply = udp_receive(fd.get(), deadline);
    if (!reply) break;
    auto parsed = parse_response(*reply);
    ASSERT_TRUE(parsed.has_value());
    ASSERT_TRUE(parsed->first_a.has_value());
    EXPECT_EQ(*parsed->first_a, kFirstAddress);
    answered.insert(parsed->id);
  }
  EXPECT_EQ(answered.size(), kQueries);
  // Response rate limiting is off unless asked for: a burst from one client is not limited.
  EXPECT_EQ(ServerOptions{}.rrl.responses_per_second, 0u);
  EXPECT_EQ(server_->stats().rrl_dropped + server_->stats().rrl_slipped, 0u);
}

// A batch's answers are written end to end in one buffer: answers of different sizes in one
// batch (a hit, NODATA and NXDOMAIN with their SOA, names of different lengths) must each go out
// whole, to their own query, byte for byte what the engine answers to that query alone.
TEST_F(ServerTest, AnswersOfDifferentSizesInABatchAreEachTheirQuerysOwn) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(1)));
  UniqueFd fd = udp_socket("127.0.0.1");
  const int buffer = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  const std::shared_ptr<const resolver::Snapshot> snapshot = holder_.current();
  ASSERT_NE(snapshot, nullptr);
  constexpr uint16_t kQueries = 120;
  std::map<uint16_t, std::vector<uint8_t>> expected;
  std::vector<std::vector<uint8_t>> queries;
  for (uint16_t id = 0; id < kQueries; ++id) {
    std::string missing(1 + id % 50, 'x');
    missing += ".istio-testing.global";
    std::vector<uint8_t> query = id % 3 == 0   ? make_query(id)
                                 : id % 3 == 1 ? make_query(id, kHost, 28)  // AAAA: NODATA
                                               : make_query(id, missing);   // NXDOMAIN
    std::vector<uint8_t> answer(4096);
    const resolver::AnswerResult alone =
        resolver::answer(snapshot.get(), query, answer, resolver::Transport::Udp);
    ASSERT_GT(alone.size, 0u);
    answer.resize(alone.size);
    expected[id] = std::move(answer);
    queries.push_back(std::move(query));
  }
  // Sent before any is read, so the worker takes many in one batch.
  for (const auto& query : queries) ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, query));
  std::set<size_t> sizes;
  const auto deadline = Clock::now() + kPatience;
  while (!expected.empty()) {
    auto reply = udp_receive(fd.get(), deadline);
    if (!reply) break;
    ASSERT_GE(reply->size(), 2u);
    const auto id = static_cast<uint16_t>((*reply)[0] << 8 | (*reply)[1]);
    const auto it = expected.find(id);
    ASSERT_NE(it, expected.end()) << "id " << id << " answered twice or never asked";
    EXPECT_EQ(*reply, it->second) << "id " << id;
    sizes.insert(reply->size());
    expected.erase(it);
  }
  EXPECT_TRUE(expected.empty()) << expected.size() << " queries unanswered";
  EXPECT_GT(sizes.size(), 10u);  // many sizes, so a misplaced answer would show
}

TEST_F(ServerTest, SeveralWorkersShareOnePortForUdpAndTcp) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(4)));
  ASSERT_EQ(server_->bound_tcp().size(), 1u);
  EXPECT_EQ(server_->bound_tcp().front().port, port_);
  // Distinct source ports hash to different SO_REUSEPORT sockets; every one must answer.
  for (uint16_t i = 0; i < 32; ++i) expect_answer(udp_ask("127.0.0.1", port_, i), i);
  UniqueFd tcp = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(tcp.valid());
  ASSERT_TRUE(send_all(tcp.get(), frame(make_query(77))));
  expect_answer(tcp_read_response(tcp.get()), 77);
}

TEST_F(ServerTest, WildcardBindRepliesFromTheAddressQueried) {
  if (!can_bind("127.0.0.2")) GTEST_SKIP() << "127.0.0.2 is not local here";
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(2, "0.0.0.0")));
  for (const std::string target : {"127.0.0.2", "127.0.0.1"}) {
    UniqueFd fd = udp_socket(target);
    ASSERT_TRUE(udp_send(fd.get(), target, port_, make_query(9)));
    sockaddr_storage from{};
    auto reply = udp_receive(fd.get(), Clock::now() + kPatience, &from);
    ASSERT_TRUE(reply.has_value()) << target;
    char text[INET_ADDRSTRLEN] = {};
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&from);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    EXPECT_EQ(std::string(text), target);
    EXPECT_EQ(ntohs(v4->sin_port), port_);
    expect_answer(parse_response(*reply), 9);
  }
}

TEST_F(ServerTest, ServfailBeforeAnySnapshotIsPublished) {
  resolver::SnapshotHolder empty;
  Server server(loopback_options(), empty);
  ASSERT_TRUE(server.start().ok());
  const auto response = udp_ask("127.0.0.1", server.bound_udp().front().port, 5);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->rcode(), 2u);  // SERVFAIL
}

TEST_F(ServerTest, NewSnapshotIsServedAfterPublish) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd tcp = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(tcp.valid());
  ASSERT_TRUE(send_all(tcp.get(), frame(make_query(1))));
  expect_answer(tcp_read_response(tcp.get()), 1);
  expect_answer(udp_ask("127.0.0.1", port_, 2), 2);

  holder_.publish(make_snapshot(kSecondAddress));
  // Workers pick the new generation up at their next batch: the very next query.
  expect_answer(udp_ask("127.0.0.1", port_, 3), 3, kSecondAddress);
  ASSERT_TRUE(send_all(tcp.get(), frame(make_query(4))));
  expect_answer(tcp_read_response(tcp.get()), 4, kSecondAddress);
}

// The hand-over under traffic: sync publishes on its thread while two workers answer on theirs.
// Every answer must come whole from one of the snapshots (under TSan and ASan in CI, this is the
// test of the publication path end to end), and the last one published wins.
TEST_F(ServerTest, PublishingWhileWorkersAnswerGivesEveryAnswerFromOneWholeSnapshot) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(2)));
  std::atomic<bool> publishing{true};
  std::thread publisher([this, &publishing] {
    const auto deadline = Clock::now() + 10s;
    for (int i = 0; i < 300 && Clock::now() < deadline; ++i) {
      holder_.publish(make_snapshot(i % 2 == 0 ? kSecondAddress : kFirstAddress));
      std::this_thread::sleep_for(1ms);
    }
    publishing = false;
  });
  std::set<std::array<uint8_t, 4>> seen;
  unsigned asked = 0;
  unsigned bad = 0;
  const auto deadline = Clock::now() + 20s;
  // Queries from several source ports, so both workers' sockets take part.
  std::vector<UniqueFd> sockets;
  for (int i = 0; i < 4; ++i) sockets.push_back(udp_socket("127.0.0.1"));
  while ((publishing || asked < 100) && asked < 5000 && Clock::now() < deadline) {
    const auto id = static_cast<uint16_t>(asked);
    const int fd = sockets[asked % sockets.size()].get();
    ++asked;
    if (!udp_send(fd, "127.0.0.1", port_, make_query(id))) {
      ++bad;
      continue;
    }
    const auto reply = udp_receive(fd, Clock::now() + kPatience);
    const auto response = reply ? parse_response(*reply) : std::nullopt;
    if (!response || response->id != id || response->rcode() != 0 || !response->first_a) {
      ++bad;
      continue;
    }
    seen.insert(*response->first_a);
  }
  publisher.join();
  EXPECT_EQ(bad, 0u) << "of " << asked;
  EXPECT_EQ(seen, (std::set<std::array<uint8_t, 4>>{kFirstAddress, kSecondAddress}));
  // Once traffic and publishing stop, the latest snapshot is the one served.
  holder_.publish(make_snapshot(kSecondAddress));
  expect_answer(udp_ask("127.0.0.1", port_, 9999), 9999, kSecondAddress);
}

TEST_F(ServerTest, PipelinedTcpQueriesAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> both = frame(make_query(101));
  const std::vector<uint8_t> second = frame(make_query(202));
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_TRUE(send_all(fd.get(), both));  // one write, two queries
  expect_answer(tcp_read_response(fd.get()), 101);
  expect_answer(tcp_read_response(fd.get()), 202);
  // And the connection stays usable for more.
  ASSERT_TRUE(send_all(fd.get(), frame(make_query(303))));
  expect_answer(tcp_read_response(fd.get()), 303);
  EXPECT_GE(server_->stats().tcp_queries, 3u);
}

TEST_F(ServerTest, QuerySplitAcrossWritesIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  const std::vector<uint8_t> bytes = frame(make_query(55));
  ASSERT_TRUE(send_all(fd.get(), {bytes.begin(), bytes.begin() + 1}));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(send_all(fd.get(), {bytes.begin() + 1, bytes.begin() + 7}));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(send_all(fd.get(), {bytes.begin() + 7, bytes.end()}));
  expect_answer(tcp_read_response(fd.get()), 55);
}

TEST_F(ServerTest, HalfLengthPrefixIsCutAtTheIdleTimeout) {
  ServerOptions options = loopback_options();
  options.tcp.idle_timeout = 300ms;
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(send_all(fd.get(), {0}));  // one byte of a two-byte length
  EXPECT_TRUE(wait_closed(fd.get(), Clock::now() + kPatience));
  EXPECT_GE(server_->stats().tcp_timeouts, 1u);
}

TEST_F(ServerTest, SlowlorisSendingOneBytePerTickIsCut) {
  ServerOptions options = loopback_options();
  options.tcp.idle_timeout = 300ms;
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  const std::vector<uint8_t> bytes = frame(make_query(7));
  // Each byte arrives well within the idle timeout, but partial bytes never extend it, so
  // the connection is cut long before the last byte (48 bytes at 100 ms would take 4.8 s).
  size_t sent = 0;
  bool cut = false;
  while (sent < bytes.size() && !cut) {
    if (!send_all(fd.get(), {bytes[sent]})) {
      cut = true;
      break;
    }
    ++sent;
    cut = wait_closed(fd.get(), Clock::now() + 100ms);
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(sent, bytes.size());
}

TEST_F(ServerTest, ConnectionsOverTheCapAreClosedAtOnce) {
  ServerOptions options = loopback_options();
  options.tcp.max_connections = 2;
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd first = tcp_connect("127.0.0.1", port_);
  UniqueFd second = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(first.valid() && second.valid());
  // An answer proves each was accepted and counted.
  ASSERT_TRUE(send_all(first.get(), frame(make_query(1))));
  expect_answer(tcp_read_response(first.get()), 1);
  ASSERT_TRUE(send_all(second.get(), frame(make_query(2))));
  expect_answer(tcp_read_response(second.get()), 2);

  UniqueFd third = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(third.valid());
  EXPECT_TRUE(wait_closed(third.get(), Clock::now() + kPatience));
  EXPECT_GE(server_->stats().tcp_connections_refused, 1u);

  // A slot freed is a slot available again (once the server has seen the close).
  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    UniqueFd again = tcp_connect("127.0.0.1", port_);
    if (again.valid() && send_all(again.get(), frame(make_query(3)))) {
      auto reply = read_frame(again.get(), Clock::now() + 1s);
      served = reply.has_value();
    }
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerTest, ConnectionIsClosedAfterMaxQueries) {
  ServerOptions options = loopback_options();
  options.tcp.max_queries_per_connection = 2;
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> three;
  for (uint16_t id : {11, 12, 13}) {
    const std::vector<uint8_t> one = frame(make_query(id));
    three.insert(three.end(), one.begin(), one.end());
  }
  ASSERT_TRUE(send_all(fd.get(), three));
  expect_answer(tcp_read_response(fd.get()), 11);
  expect_answer(tcp_read_response(fd.get()), 12);
  EXPECT_TRUE(wait_closed(fd.get(), Clock::now() + kPatience));
}

TEST_F(ServerTest, ZeroLengthFrameClosesAfterEarlierAnswers) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> bytes = frame(make_query(21));
  bytes.push_back(0);
  bytes.push_back(0);
  ASSERT_TRUE(send_all(fd.get(), bytes));
  expect_answer(tcp_read_response(fd.get()), 21);
  EXPECT_TRUE(wait_closed(fd.get(), Clock::now() + kPatience));
}

TEST_F(ServerTest, MessageTheEngineDropsClosesTheConnection) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options()));
  UniqueFd fd = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> response = make_query(31);
  response[2] |= 0x80;  // QR=1: a response, which the engine drops (no answer to send)
  ASSERT_TRUE(send_all(fd.get(), frame(response)));
  EXPECT_TRUE(wait_closed(fd.get(), Clock::now() + kPatience));
}

TEST_F(ServerTest, ClientThatNeverReadsIsCutByTheWriteTimeout) {
  ServerOptions options = loopback_options();
  options.tcp.write_timeout = 300ms;
  options.tcp.idle_timeout = 60s;
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd fd = tcp_connect("127.0.0.1", port_, 4096);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> burst;
  for (uint16_t id = 0; id < 100; ++id) {
    const std::vector<uint8_t> one = frame(make_query(id));
    burst.insert(burst.end(), one.begin(), one.end());
  }
  // Send without ever reading. The server must stop reading once its answers back up, and
  // then cut us off; if it kept reading and queueing, this loop would run to its deadline.
  bool cut = false;
  size_t offset = 0;
  const auto deadline = Clock::now() + 30s;
  while (!cut && Clock::now() < deadline) {
    const ssize_t n =
        ::send(fd.get(), burst.data() + offset, burst.size() - offset, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      offset = (offset + static_cast<size_t>(n)) % burst.size();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd.get(), POLLOUT | POLLRDHUP, 0};
      (void)::poll(&p, 1, 50);
      cut = (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
      continue;
    }
    cut = true;  // EPIPE or ECONNRESET: the server closed the connection
  }
  EXPECT_TRUE(cut);
  EXPECT_GE(server_->stats().tcp_timeouts, 1u);
}

TEST_F(ServerTest, ClientThatNeverReadsStopsBeingRead) {
  ServerOptions options = loopback_options();
  options.tcp.write_timeout = 60s;  // no cut here: this test watches the back-pressure alone
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd fd = tcp_connect("127.0.0.1", port_, 4096);
  ASSERT_TRUE(fd.valid());
  std::vector<uint8_t> burst;
  for (uint16_t id = 0; id < 100; ++id) {
    const std::vector<uint8_t> one = frame(make_query(id));
    burst.insert(burst.end(), one.begin(), one.end());
  }
  // Once the answers back up, the server must stop reading: our sends then stall for good,
  // after at most what the kernel's socket buffers hold. A server that kept reading and
  // queueing answers in memory would swallow far more without ever stalling.
  const size_t max_bytes = tcp_buffer_limit() + (size_t{8} << 20);
  size_t total = 0;
  size_t offset = 0;
  bool stalled = false;
  const auto deadline = Clock::now() + 30s;
  while (!stalled && total < max_bytes && Clock::now() < deadline) {
    const ssize_t n =
        ::send(fd.get(), burst.data() + offset, burst.size() - offset, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      total += static_cast<size_t>(n);
      offset = (offset + static_cast<size_t>(n)) % burst.size();
      continue;
    }
    ASSERT_TRUE(n < 0 && (errno == EAGAIN || errno == EINTR)) << "connection lost: " << errno;
    pollfd p{fd.get(), POLLOUT, 0};
    stalled = ::poll(&p, 1, 2000) == 0;  // nobody has drained our send buffer for 2 s
  }
  EXPECT_TRUE(stalled) << total << " bytes sent";
  EXPECT_LT(total, max_bytes);
}

TEST_F(ServerTest, UndecodableDatagramIsDroppedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(1)));
  UniqueFd fd = udp_socket("127.0.0.1");
  ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, {0x12, 0x34, 0x00}));  // no full header
  // An empty datagram looks like what a shut-down socket returns: it is a query to drop, and
  // the worker goes on.
  ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, {}));
  ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, make_query(0x0BAD)));
  auto reply = udp_receive(fd.get(), Clock::now() + kPatience);
  ASSERT_TRUE(reply.has_value());
  expect_answer(parse_response(*reply), 0x0BAD);  // the first reply is to the real query
  EXPECT_EQ(server_->stats().dropped, 2u);
  EXPECT_EQ(server_->stats().udp_queries, 3u);
}

// The names of this process's threads (/proc/self/task/*/comm) that start with `prefix`.
std::multiset<std::string> thread_names(const std::string& prefix) {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name.starts_with(prefix)) names.insert(name);
  }
  return names;
}

// Each UDP socket has a thread blocked in recvmmsg, and TCP a thread per worker; stop() must
// wake every blocked one (nothing arrives to wake them) and leave no thread behind.
TEST_F(ServerTest, StopEndsTheThreadBlockedOnEveryUdpSocket) {
  ServerOptions options = loopback_options(2);
  options.listen.push_back(ListenAddress{"127.0.0.2", 0});
  ASSERT_NO_FATAL_FAILURE(start(options));
  const uint16_t second_port = server_->bound_udp().at(1).port;
  expect_answer(udp_ask("127.0.0.1", port_, 1), 1);
  expect_answer(udp_ask("127.0.0.2", second_port, 2), 2);
  EXPECT_EQ(thread_names("gdns-"),
            (std::multiset<std::string>{"gdns-tcp-0", "gdns-tcp-1", "gdns-udp-0", "gdns-udp-0.1",
                                        "gdns-udp-1", "gdns-udp-1.1"}));

  const auto before = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - before, kPatience);  // a bound: a thread never woken hangs here
  EXPECT_TRUE(thread_names("gdns-").empty());
  // The sockets are closed: a query now gets no answer.
  UniqueFd fd = udp_socket("127.0.0.1");
  ASSERT_TRUE(udp_send(fd.get(), "127.0.0.1", port_, make_query(3)));
  EXPECT_FALSE(udp_receive(fd.get(), Clock::now() + 200ms).has_value());
  EXPECT_EQ(server_->stats().udp_queries, 2u);
}

TEST_F(ServerTest, StartReportsAPortInUse) {
  UniqueFd taken = udp_socket("127.0.0.1");
  socklen_t size = 0;
  sockaddr_storage address = make_address("127.0.0.1", 0, size);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
  const uint16_t port = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);

  ServerOptions options = loopback_options();
  options.listen.front().port = port;
  Server server(options, holder_);
  const Result<Ok> started = server.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error(),
            "cannot bind UDP 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  server.stop();  // harmless on a server that never started
}

TEST_F(ServerTest, StartReportsATcpPortInUse) {
  UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socklen_t size = 0;
  sockaddr_storage address = make_address("127.0.0.1", 0, size);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(::listen(taken.get(), 1), 0);
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
  const uint16_t port = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);

  ServerOptions options = loopback_options();
  options.listen.front().port = port;
  Server server(options, holder_);
  const Result<Ok> started = server.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error(),
            "cannot bind TCP 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST_F(ServerTest, StartRejectsAnInvalidAddress) {
  ServerOptions options = loopback_options(1, "localhost");
  Server server(options, holder_);
  const Result<Ok> started = server.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("'localhost'"), std::string::npos) << started.error();
}

TEST_F(ServerTest, StartTwiceIsAnError) {
  ASSERT_NO_FATAL_FAILURE(start(loopback_options(1)));
  EXPECT_FALSE(server_->start().ok());
}

TEST_F(ServerTest, StopIsPromptWithOpenConnectionsAndIdempotent) {
  ServerOptions options = loopback_options(2);
  options.tcp.idle_timeout = 60s;  // stop() must not wait for these
  ASSERT_NO_FATAL_FAILURE(start(options));
  UniqueFd idle = tcp_connect("127.0.0.1", port_);
  UniqueFd partial = tcp_connect("127.0.0.1", port_);
  ASSERT_TRUE(idle.valid() && partial.valid());
  ASSERT_TRUE(send_all(idle.get(), frame(make_query(1))));
  expect_answer(tcp_read_response(idle.get()), 1);
  ASSERT_TRUE(send_all(partial.get(), {0, 40, 1, 2}));
  expect_answer(udp_ask("127.0.0.1", port_, 2), 2);
  // The kernel completes a connect before the worker accepts it: wait until both are the
  // server's, so stop() really has two open connections to close.
  const auto accepted_by = Clock::now() + kPatience;
  while (server_->stats().tcp_connections < 2 && Clock::now() < accepted_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(server_->stats().tcp_connections, 2u);

  const auto before = Clock::now();
  server_->stop();
  // A bound, not a speed claim: stop() must not wait for the 60 s idle timeout.
  EXPECT_LT(Clock::now() - before, kPatience);
  EXPECT_TRUE(wait_closed(idle.get(), Clock::now() + kPatience));
  EXPECT_TRUE(wait_closed(partial.get(), Clock::now() + kPatience));
  server_->stop();
  EXPECT_GE(server_->stats().udp_queries, 1u);  // counts survive stop()
  EXPECT_GE(server_->stats().tcp_connections, 2u);
  server_.reset();
}

}  // namespace
}  // namespace globaldns::dns
