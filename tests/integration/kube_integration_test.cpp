// End to end: `globaldns serve` against the fake kube-apiserver (tests/fake_kube), both started as
// processes per test and stopped by PID, judged by real DNS answers decoded with ldns.
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "tests/support/fake_kube_server.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kBinary = GLOBALDNS_BINARY;
const std::string kSourceDir = GLOBALDNS_SOURCE_DIR;

// ---- DNS ----

struct Reply {
  int rcode = -1;                    // -1: no response
  std::vector<std::string> answers;  // rdata of each answer RR
  std::vector<std::string> authority;
  bool soa_in_authority = false;
};

Reply ask(uint16_t port, const std::string& name, uint16_t type = LDNS_RR_TYPE_A) {
  const std::vector<uint8_t> query = make_query(name, type);
  Reply r;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  std::vector<uint8_t> out;
  if (poll(&p, 1, 500) == 1) {
    out.resize(65535);
    const ssize_t n = recv(fd, out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  close(fd);
  auto pkt = decode(out.data(), out.size());
  if (!pkt) return r;
  r.rcode = ldns_pkt_get_rcode(pkt.get());
  for (const auto& rr : section(ldns_pkt_answer(pkt.get())))
    r.answers.push_back(rr.substr(rr.rfind('\t') + 1));
  r.authority = section(ldns_pkt_authority(pkt.get()));
  for (const auto& rr : r.authority)
    if (rr.find("\tSOA\t") != std::string::npos) r.soa_in_authority = true;
  return r;
}

std::string show(const Reply& r) {
  std::string s = "rcode=";
  s.append(std::to_string(r.rcode)).append(" answers=[");
  for (const auto& a : r.answers) s.append(a).append(" ");
  s.append("] authority=").append(std::to_string(r.authority.size()));
  return s;
}

// NOERROR with exactly this one address.
bool serves(uint16_t port, const std::string& name, const std::string& address) {
  const Reply r = ask(port, name);
  return r.rcode == LDNS_RCODE_NOERROR && r.answers == std::vector<std::string>{address};
}

// NXDOMAIN with the zone's SOA (RFC 2308 §2.1), never an empty or missing reply.
bool nxdomain(uint16_t port, const std::string& name) {
  const Reply r = ask(port, name);
  return r.rcode == LDNS_RCODE_NXDOMAIN && r.answers.empty() && r.soa_in_authority;
}

bool servfail(uint16_t port, const std::string& name) {
  return ask(port, name).rcode == LDNS_RCODE_SERVFAIL;
}

// Polls `pred` every 50 ms until it holds or `limit` passes; returns whether it held. The
// limits are generous because the machine is shared: they cost time only when a test fails.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// Concatenation by appending: g++ 12 -O2 warns falsely (-Wrestrict) on "literal" + std::string.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- ServiceEntries for the fake's control port ----

std::string se(const std::string& ns, const std::string& name, const std::string& address,
               const std::string& labels_json = "", const std::string& host = "") {
  std::string h = host;
  if (h.empty()) h.append(name).append(".").append(ns).append(".global");
  std::string o =
      R"({"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":")";
  o.append(name).append(R"(","namespace":")").append(ns).append("\"");
  if (!labels_json.empty()) o.append(R"(,"labels":)").append(labels_json);
  o.append(R"(},"spec":{"hosts":[")")
      .append(h)
      .append(R"("],"addresses":[")")
      .append(address)
      .append(R"("],"location":"MESH_INTERNAL","resolution":"STATIC",)"
              R"("ports":[{"name":"http","number":80,"protocol":"HTTP"}]}})");
  return o;
}

std::string del(const std::string& ns, const std::string& name) {
  std::string o = R"({"namespace":")";
  o.append(ns).append(R"(","name":")").append(name).append("\"}");
  return o;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// "total" from the fake's /stats: API requests since the last reset.
long total_requests(const FakeKubeServer& fake) {
  const std::string stats = fake.control("/stats", "{}");
  const size_t at = stats.find("\"total\":");
  return at == std::string::npos ? -1 : std::stol(stats.substr(at + 8));
}

void write_file(const fs::path& p, const std::string& text) {
  // Write then rename, so that a reader never sees half a file.
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  fs::rename(tmp, p);
}

struct Context {
  Context(std::string n, int p, fs::path c) : name(std::move(n)), port(p), ca(std::move(c)) {}
  std::string name;
  int port = 0;
  fs::path ca;
  std::string token = kFakeKubeToken;  // used when token_file is empty
  fs::path token_file;
};

std::string kubeconfig_yaml(const std::vector<Context>& contexts) {
  std::string y = "apiVersion: v1\nkind: Config\ncurrent-context: ";
  y.append(contexts.front().name).append("\nclusters:\n");
  for (const Context& c : contexts)
    y.append("- name: ")
        .append(c.name)
        .append("\n  cluster:\n    server: https://127.0.0.1:")
        .append(std::to_string(c.port))
        .append("\n    certificate-authority: ")
        .append(c.ca.string())
        .append("\n");
  y.append("users:\n");
  for (const Context& c : contexts) {
    y.append("- name: u-").append(c.name).append("\n  user:\n");
    if (c.token_file.empty())
      y.append("    token: ").append(c.token).append("\n");
    else
      y.append("    tokenFile: ").append(c.token_file.string()).append("\n");
  }
  y.append("contexts:\n");
  for (const Context& c : contexts)
    y.append("- name: ")
        .append(c.name)
        .append("\n  context:\n    cluster: ")
        .append(c.name)
        .append("\n    user: u-")
        .append(c.name)
        .append("\n");
  return y;
}

// ---- fixture ----

class KubeServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = fs::temp_directory_path() / cat({"globaldns-kit-", std::to_string(getpid())});
    fs::create_directories(suite_dir_);
    // One CA and server certificate for every fake (make_certs.sh; --certs-dir reuses them).
    int code = 0;
    const std::string out =
        run_command(cat({"/bin/sh ", kSourceDir, "/tests/fake_kube/make_certs.sh ",
                         (suite_dir_ / "certs").string()}),
                    &code, 60);
    certs_ok_ = code == 0;
    if (!certs_ok_) std::fprintf(stderr, "make_certs.sh failed: %s\n", out.c_str());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(suite_dir_, ec);
  }

  void SetUp() override {
    ASSERT_TRUE(certs_ok_);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = suite_dir_ / info->name();
    fs::create_directories(dir_);
  }

  void TearDown() override {
    // globaldns first, so that it does not log the fakes going away.
    // SIGTERM must end globaldns cleanly (exit 0); under ASan a sanitizer report fails it too.
    for (auto& s : servers_) {
      const auto status = s->stop();
      EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << "globaldns did not exit 0 on SIGTERM";
    }
    if (HasFailure())
      for (auto& s : servers_)
        std::fprintf(stderr, "---- globaldns log ----\n%s\n", s->log().c_str());
    servers_.clear();
    fakes_.clear();
  }

  static fs::path certs() { return suite_dir_ / "certs"; }
  static fs::path ca() { return certs() / "ca.crt"; }

  FakeKubeServer& start_fake(FakeKubeOptions options = {}) {
    auto fake = std::make_unique<FakeKubeServer>();
    if (options.log_path.empty())
      options.log_path = dir_ / cat({"fake", std::to_string(fakes_.size()), ".log"});
    const bool ok = fake->start(certs(), options);
    EXPECT_TRUE(ok) << "fake API server did not start";
    fakes_.push_back(std::move(fake));
    return *fakes_.back();
  }

  fs::path write_kubeconfig(const std::vector<Context>& contexts) {
    const fs::path p = dir_ / "kubeconfig";
    write_file(p, kubeconfig_yaml(contexts));
    return p;
  }

  // A --config file with the file-only kubernetes settings. By default retries start at 200 ms
  // and stop growing at 2 s, so that recoveries take a second or two, not client-go's 30 s.
  fs::path write_config(const std::string& kubernetes_extra = "", int retry_initial_ms = 200,
                        int retry_max_ms = 2000) {
    const fs::path p = dir_ / "globaldns.yaml";
    std::string y = "kubernetes:\n  retry_initial_ms: ";
    y.append(std::to_string(retry_initial_ms))
        .append("\n  retry_max_ms: ")
        .append(std::to_string(retry_max_ms))
        .append("\n")
        .append(kubernetes_extra);
    write_file(p, y);
    return p;
  }

  ServerProcess& start_globaldns(std::vector<std::string> args) {
    args.insert(args.begin(), "serve");
    args.push_back("--threads");
    args.push_back("1");
    servers_.push_back(std::make_unique<ServerProcess>(
        kBinary, args, dir_ / cat({"globaldns", std::to_string(servers_.size()), ".log"})));
    return *servers_.back();
  }

  // Starts globaldns on one fake's cluster with `config` and the given extra flags.
  ServerProcess& start_on(const FakeKubeServer& fake, const fs::path& config,
                          std::vector<std::string> extra = {}) {
    const fs::path kubeconfig = write_kubeconfig({{"c1", fake.api(), ca()}});
    std::vector<std::string> args{"--kubeconfig", kubeconfig.string(), "--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return start_globaldns(args);
  }

  // Waits until `server` logs that it is ready and `name` has `address`.
  static bool wait_ready(ServerProcess& server, const std::string& name, const std::string& address,
                         std::chrono::milliseconds limit = 15s) {
    auto ready = [&] {
      return server.log().find("ready: every source has loaded") != std::string::npos &&
             serves(server.port(), name, address);
    };
    // An exited server ends the wait at once; the test fails with its log.
    eventually([&] { return !server.running() || ready(); }, limit);
    return server.running() && ready();
  }

  static inline fs::path suite_dir_;
  static inline bool certs_ok_ = false;
  fs::path dir_;
  std::vector<std::unique_ptr<FakeKubeServer>> fakes_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

// 1. Before the first complete list every query is SERVFAIL (never NXDOMAIN, which caches keep);
// after it the data answers and the log says ready.
TEST_F(KubeServe, ServfailUntilTheFirstCompleteList) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  fake.control("/fault", R"({"list_delay":4})");  // every LIST answers 4 s late
  ServerProcess& gd = start_on(fake, write_config());
  const auto started = Clock::now();
  ASSERT_TRUE(eventually([&] { return ask(gd.port(), "a.ns1.global.").rcode != -1; }))
      << "globaldns never answered";
  const Reply before = ask(gd.port(), "a.ns1.global.");
  const Reply absent = ask(gd.port(), "nothing.ns1.global.");
  const bool still_listing = seconds_since(started) < 3.5;
  ASSERT_TRUE(still_listing) << "globaldns took too long to start listening for the test to hold";
  EXPECT_EQ(before.rcode, LDNS_RCODE_SERVFAIL) << show(before);
  EXPECT_EQ(absent.rcode, LDNS_RCODE_SERVFAIL) << show(absent);
  EXPECT_EQ(gd.log().find("ready:"), std::string::npos) << gd.log();
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"))
      << show(ask(gd.port(), "a.ns1.global."));
  EXPECT_GE(seconds_since(started), 3.5) << "answered before the delayed list could complete";
  EXPECT_TRUE(nxdomain(gd.port(), "nothing.ns1.global."));
}

// 2. Add, change and delete travel to DNS; AAAA of a v4-only name is NODATA, not NXDOMAIN.
TEST_F(KubeServe, AddModifyDeleteAreAnswered) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  ServerProcess& gd = start_on(fake, write_config());
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();

  EXPECT_TRUE(nxdomain(port, "b.ns1.global.")) << show(ask(port, "b.ns1.global."));
  fake.control("/apply", se("ns1", "b", "240.1.0.2"));
  EXPECT_TRUE(eventually([&] { return serves(port, "b.ns1.global.", "240.1.0.2"); }))
      << show(ask(port, "b.ns1.global."));

  const Reply aaaa = ask(port, "b.ns1.global.", LDNS_RR_TYPE_AAAA);
  EXPECT_EQ(aaaa.rcode, LDNS_RCODE_NOERROR) << show(aaaa);
  EXPECT_TRUE(aaaa.answers.empty()) << show(aaaa);
  EXPECT_TRUE(aaaa.soa_in_authority) << show(aaaa);

  fake.control("/apply", se("ns1", "b", "240.1.0.3"));
  EXPECT_TRUE(eventually([&] { return serves(port, "b.ns1.global.", "240.1.0.3"); }))
      << show(ask(port, "b.ns1.global."));

  fake.control("/delete", del("ns1", "b"));
  EXPECT_TRUE(eventually([&] { return nxdomain(port, "b.ns1.global."); }))
      << show(ask(port, "b.ns1.global."));
  EXPECT_TRUE(serves(port, "a.ns1.global.", "240.1.0.1"));
}

// 3. A watch that falls behind a compaction gets 410; the relist brings the changes made while
// it was stalled.
TEST_F(KubeServe, RelistAfter410BringsTheChangesOfTheGap) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", std::string("[")
                             .append(se("ns1", "a", "240.1.0.1"))
                             .append(",")
                             .append(se("ns1", "b", "240.1.0.2"))
                             .append("]"));
  ServerProcess& gd = start_on(fake, write_config());
  ASSERT_TRUE(wait_ready(gd, "b.ns1.global.", "240.1.0.2"));
  const uint16_t port = gd.port();

  fake.control("/fault", R"({"stall":true})");
  fake.control("/delete", del("ns1", "b"));
  fake.control("/apply", se("ns1", "c", "240.1.0.3"));
  fake.control("/compact", "{}");
  // Stalled: nothing reached globaldns yet.
  EXPECT_TRUE(serves(port, "b.ns1.global.", "240.1.0.2"));
  fake.control("/fault", R"({"stall":false})");

  EXPECT_TRUE(eventually([&] {
    return nxdomain(port, "b.ns1.global.") && serves(port, "c.ns1.global.", "240.1.0.3");
  })) << show(ask(port, "b.ns1.global."))
      << " / " << show(ask(port, "c.ns1.global."));
  EXPECT_TRUE(serves(port, "a.ns1.global.", "240.1.0.1"));
  EXPECT_NE(gd.log().find("relisted"), std::string::npos) << gd.log();
}

// 4. Watches cut halfway through an event resume from the last whole event: nothing is lost.
TEST_F(KubeServe, DroppedWatchResumesWithoutLosingChanges) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  ServerProcess& gd = start_on(fake, write_config());
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();

  // Every new watch dies after one event, in the middle of the next; the running one now.
  fake.control("/fault", R"({"drop_after_events":1,"drop_partial":true})");
  fake.control("/fault", R"({"drop":true})");
  for (int i = 0; i < 4; ++i) {
    const std::string name = cat({"n", std::to_string(i)});
    fake.control("/apply", se("ns1", name, cat({"240.1.1.", std::to_string(i + 1)})));
  }
  EXPECT_TRUE(eventually([&] {
    for (int i = 0; i < 4; ++i)
      if (!serves(port, cat({"n", std::to_string(i), ".ns1.global."}),
                  cat({"240.1.1.", std::to_string(i + 1)})))
        return false;
    return true;
  })) << show(ask(port, "n3.ns1.global."));
  EXPECT_TRUE(serves(port, "a.ns1.global.", "240.1.0.1"));
  EXPECT_NE(gd.log().find("resuming from resourceVersion"), std::string::npos) << gd.log();

  fake.control("/fault", R"({"clear":true})");
  fake.control("/apply", se("ns1", "later", "240.1.2.1"));
  EXPECT_TRUE(eventually([&] { return serves(port, "later.ns1.global.", "240.1.2.1"); }));
}

// 5. A watch that goes silent (no bytes, not even a bookmark) is dropped after
// watch_idle_timeout_ms and resumed; the change made meanwhile arrives.
TEST_F(KubeServe, StalledWatchIsDroppedAndResumed) {
  FakeKubeServer& fake = start_fake();
  // A healthy watch brings a bookmark every 0.5 s, so only a stalled one is ever idle for 1.5 s.
  fake.control("/fault", R"({"bookmark_interval":0.5})");
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  ServerProcess& gd = start_on(fake, write_config("  watch_idle_timeout_ms: 1500\n"));
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();
  // Not before the stall: a watch kept alive by bookmarks is not dropped.
  const auto calm = Clock::now();
  while (Clock::now() - calm < 2s) {
    ASSERT_EQ(gd.log().find("watch stalled"), std::string::npos) << gd.log();
    std::this_thread::sleep_for(100ms);
  }

  fake.control("/fault", R"({"stall":true})");
  fake.control("/apply", se("ns1", "b", "240.1.0.2"));
  const auto stalled = Clock::now();
  ASSERT_TRUE(eventually([&] { return gd.log().find("watch stalled") != std::string::npos; }))
      << gd.log();
  const double detected = seconds_since(stalled);
  std::printf("stall detected after %.2f s (watch_idle_timeout_ms 1500)\n", detected);
  EXPECT_GE(detected, 1.0);
  // A new watch was opened after the silent one was given up (and, the fake still stalling,
  // given up in turn). The fake counts a request only when it ends, so the log tells.
  EXPECT_TRUE(eventually([&] { return count_of(gd.log(), "watch stalled") >= 2; })) << gd.log();
  EXPECT_TRUE(serves(port, "a.ns1.global.", "240.1.0.1"));  // serving meanwhile

  fake.control("/fault", R"({"stall":false})");
  EXPECT_TRUE(eventually([&] { return serves(port, "b.ns1.global.", "240.1.0.2"); }))
      << show(ask(port, "b.ns1.global."));
  EXPECT_NE(gd.log().find("resuming from resourceVersion"), std::string::npos) << gd.log();
}

// 6. The token in a kubeconfig tokenFile rotates: after a 401 globaldns reads the file again and
// goes on, answering all along.
TEST_F(KubeServe, TokenFileRotationAfter401) {
  FakeKubeOptions options;
  options.tokens = {"token-A"};
  FakeKubeServer& fake = start_fake(options);
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  const fs::path token_file = dir_ / "token";
  write_file(token_file, "token-A\n");
  Context c{"c1", fake.api(), ca()};
  c.token_file = token_file;
  const fs::path kubeconfig = write_kubeconfig({c});
  ServerProcess& gd =
      start_globaldns({"--kubeconfig", kubeconfig.string(), "--config", write_config().string()});
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();

  fake.control("/stats", R"({"reset":true})");
  fake.control("/tokens", R"({"tokens":["token-B"]})");
  write_file(token_file, "token-B\n");
  // The open watch was authenticated at its start; cut it so the next request meets the new set.
  fake.control("/fault", R"({"drop_connections":true})");
  fake.control("/apply", se("ns1", "b", "240.1.0.2"));

  int misses = 0;
  std::string first_miss;
  const bool arrived = eventually(
      [&] {
        const Reply r = ask(port, "a.ns1.global.");
        if (!(r.rcode == LDNS_RCODE_NOERROR &&
              r.answers == std::vector<std::string>{"240.1.0.1"})) {
          if (misses++ == 0) first_miss = show(r);
        }
        return serves(port, "b.ns1.global.", "240.1.0.2");
      },
      15s);
  EXPECT_TRUE(arrived) << show(ask(port, "b.ns1.global."));
  EXPECT_EQ(misses, 0) << "serving stopped: " << first_miss;
  const std::string stats = fake.control("/stats", "{}");
  EXPECT_GE(count_of(stats, "\"status\":401"), 1u) << "the old token was never refused";
}

// 7. A storm of 429s with Retry-After: globaldns backs off, keeps answering from its last data,
// and recovers afterwards.
TEST_F(KubeServe, TooManyRequestsStormIsBackedOff) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  // The client-go defaults: first retry after 0.8 s, doubling, with up to +100 % jitter.
  ServerProcess& gd = start_on(fake, write_config("", 800, 4000));
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();

  fake.control("/stats", R"({"reset":true})");
  fake.control("/fault", R"({"status":429,"count":-1,"retry_after":1})");
  fake.control("/fault", R"({"drop":true})");  // the running watch ends; every retry gets 429
  const auto storm = Clock::now();
  int misses = 0;
  while (Clock::now() - storm < 5s) {
    if (!serves(port, "a.ns1.global.", "240.1.0.1")) ++misses;
    std::this_thread::sleep_for(250ms);
  }
  const long requests = total_requests(fake);
  std::printf("requests during the 5 s storm: %ld\n", requests);
  EXPECT_EQ(misses, 0) << "answers changed during the storm";
  EXPECT_GE(requests, 2) << "globaldns did not retry at all";
  // Each retry waits at least the Retry-After (1 s) and the backoff (0.8 s, then 1.6-3.2 s, then
  // 3.2-6.4 s, jittered): about 4 requests fit in 5 s. A client without backoff makes hundreds.
  EXPECT_LT(requests, 10);

  fake.control("/fault", R"({"clear":true})");
  fake.control("/apply", se("ns1", "b", "240.1.0.2"));
  EXPECT_TRUE(eventually([&] { return serves(port, "b.ns1.global.", "240.1.0.2"); }, 20s))
      << show(ask(port, "b.ns1.global."));
}

// 8. The API server refuses connections for a minute: answers stay the last data, the log and
// globaldns_kube_connected say so, and a change after it returns is picked up. ctest label
// "slow".
TEST_F(KubeServe, ApiDownForAMinuteKeepsServing) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", std::string("[")
                             .append(se("ns1", "a", "240.1.0.1"))
                             .append(",")
                             .append(se("ns2", "b", "240.1.0.2"))
                             .append("]"));
  ServerProcess& gd = start_on(fake, write_config("", 200, 5000));
  ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
  const uint16_t port = gd.port();
  const uint16_t metrics_port = gd.http_port("/metrics");
  ASSERT_NE(metrics_port, 0) << gd.log();
  // The value of globaldns_kube_connected (one cluster here), as text.
  const auto connected = [&] {
    const std::string page = http_get(metrics_port, "/metrics").body;
    const size_t at = page.find("\nglobaldns_kube_connected{");
    const size_t space = at == std::string::npos ? at : page.find("} ", at);
    return space == std::string::npos ? std::string("absent") : page.substr(space + 2, 1);
  };
  EXPECT_EQ(connected(), "1");

  const std::vector<std::pair<std::string, std::string>> expected{{"a.ns1.global.", "240.1.0.1"},
                                                                  {"b.ns2.global.", "240.1.0.2"}};
  fake.control("/fault", R"({"down":true})");
  const auto down = Clock::now();
  int queries = 0;
  int misses = 0;
  std::string first_miss;
  // One minute, and on until the 60-second status reminder has been logged (at most 80 s).
  while (Clock::now() - down < 60s ||
         (gd.log().find("still serving") == std::string::npos && Clock::now() - down < 80s)) {
    for (const auto& [name, address] : expected) {
      const Reply r = ask(port, name);
      ++queries;
      if (!(r.rcode == LDNS_RCODE_NOERROR && r.answers == std::vector<std::string>{address}) &&
          misses++ == 0)
        first_miss = name + " " + show(r);
    }
    ASSERT_TRUE(gd.running()) << gd.log();
    std::this_thread::sleep_for(500ms);
  }
  std::printf("%d queries over %.1f s with the API down\n", queries, seconds_since(down));
  EXPECT_EQ(misses, 0) << first_miss;
  const std::string log = gd.log();
  EXPECT_NE(log.find("API server unreachable"), std::string::npos) << log;
  EXPECT_NE(log.find("still serving its 2 ServiceEntries"), std::string::npos) << log;
  EXPECT_EQ(connected(), "0");  // the metrics say so too

  fake.control("/fault", R"({"up":true})");
  fake.control("/apply", se("ns1", "c", "240.1.0.3"));
  EXPECT_TRUE(eventually([&] { return serves(port, "c.ns1.global.", "240.1.0.3"); }, 20s))
      << show(ask(port, "c.ns1.global."));
  EXPECT_NE(gd.log().find("recovered"), std::string::npos);
  EXPECT_EQ(connected(), "1");
}

// 9. 100,000 ServiceEntries: ready within a minute (under ASan too), sampled answers right.
TEST_F(KubeServe, HundredThousandEntries) {
  FakeKubeServer& fake = start_fake();
  const std::string bulk = fake.control("/bulk", R"({"count":100000,"namespaces":100})", 120);
  ASSERT_NE(bulk.find("\"objects\":100000"), std::string::npos) << bulk;
  const auto started = Clock::now();
  ServerProcess& gd = start_on(fake, write_config());
  const uint16_t port = gd.port();
  auto name_of = [](int i) {
    return cat({"svc", std::to_string(i), ".ns", std::to_string(i % 100), ".global."});
  };
  auto address_of = [](int i) {
    return cat({"240.", std::to_string((i >> 16) & 255), ".", std::to_string((i >> 8) & 255), ".",
                std::to_string(i & 255)});
  };
  const bool ready = eventually(
      [&] {
        return gd.log().find("ready: every source has loaded") != std::string::npos &&
               serves(port, name_of(99999), address_of(99999));
      },
      // About 8 s on a quiet machine (Release); the bound leaves room for ASan and for the
      // other jobs of a shared 2-core machine (53 s seen at a load average of 14).
      120s);
  const double took = seconds_since(started);
  std::printf("100000 ServiceEntries: ready %.2f s after start\n", took);
  RecordProperty("seconds_to_ready", std::to_string(took));
  ASSERT_TRUE(ready) << show(ask(port, name_of(99999)));
  for (int i : {0, 1, 255, 256, 4242, 65535, 65536, 77777, 99998}) {
    EXPECT_TRUE(serves(port, name_of(i), address_of(i)))
        << name_of(i) << " " << show(ask(port, name_of(i)));
  }
  EXPECT_TRUE(nxdomain(port, "svc100000.ns0.global."));
  fake.control("/apply", se("ns7", "extra", "240.9.9.9"));
  const auto changed = Clock::now();
  // One change rebuilds the whole 100,000-name snapshot (seconds under load): a longer bound.
  EXPECT_TRUE(eventually([&] { return serves(port, "extra.ns7.global.", "240.9.9.9"); }, 60s))
      << show(ask(port, "extra.ns7.global."));
  std::printf("one change visible %.2f s after it was made\n", seconds_since(changed));
}

// 10. Two clusters and a file: all answer; readiness waits for both clusters; a host claimed
// twice goes to the older ServiceEntry, and to the other one once the older is deleted.
TEST_F(KubeServe, TwoClustersAndFiles) {
  FakeKubeServer& one = start_fake();
  FakeKubeServer& two = start_fake();
  two.control("/fault", R"({"down":true})");  // the second cluster is not reachable yet
  one.control("/apply", se("ns1", "one", "240.2.0.1"));
  one.control("/apply", se("ns1", "shared-one", "240.2.0.10", "", "shared.mesh.global"));
  // creationTimestamp has one-second resolution: the second cluster's claim must be later.
  std::this_thread::sleep_for(1100ms);
  two.control("/apply", se("ns2", "two", "240.2.0.2"));
  two.control("/apply", se("ns2", "shared-two", "240.2.0.20", "", "shared.mesh.global"));
  two.control("/apply", se("ns2", "old-two", "240.2.0.30", "", "old.mesh.global"));

  // The file's entry carries its own creationTimestamp, older than both clusters' objects.
  const fs::path files = dir_ / "entries.yaml";
  write_file(files,
             "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n"
             "  name: web\n  namespace: files\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\n"
             "spec:\n  hosts:\n  - web.files.global\n  - old.mesh.global\n  addresses:\n"
             "  - 240.3.0.1\n  resolution: STATIC\n  location: MESH_INTERNAL\n"
             "  ports:\n  - {name: http, number: 80, protocol: HTTP}\n");
  const fs::path kubeconfig = write_kubeconfig({{"c1", one.api(), ca()}, {"c2", two.api(), ca()}});
  ServerProcess& gd =
      start_globaldns({"--kubeconfig", kubeconfig.string(), "--context", "c1", "--context", "c2",
                       "--files", files.string(), "--config", write_config().string()});
  const uint16_t port = gd.port();
  ASSERT_TRUE(eventually([&] { return ask(port, "one.ns1.global.").rcode != -1; }));
  // Cluster c1 and the file have loaded, c2 has not: still SERVFAIL, for as long as it lasts.
  ASSERT_TRUE(eventually([&] {
    return gd.log().find("kubernetes/c1: synced") != std::string::npos;
  })) << gd.log();
  const auto hold = Clock::now();
  while (Clock::now() - hold < 2s) {
    ASSERT_TRUE(servfail(port, "one.ns1.global.")) << show(ask(port, "one.ns1.global."));
    ASSERT_TRUE(servfail(port, "web.files.global.")) << show(ask(port, "web.files.global."));
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(gd.log().find("ready:"), std::string::npos);

  two.control("/fault", R"({"up":true})");
  ASSERT_TRUE(wait_ready(gd, "two.ns2.global.", "240.2.0.2")) << show(ask(port, "two.ns2.global."));
  EXPECT_TRUE(serves(port, "one.ns1.global.", "240.2.0.1"));
  EXPECT_TRUE(serves(port, "web.files.global.", "240.3.0.1"));
  EXPECT_TRUE(serves(port, "shared.mesh.global.", "240.2.0.10"))
      << show(ask(port, "shared.mesh.global."));
  EXPECT_TRUE(serves(port, "old.mesh.global.", "240.3.0.1")) << show(ask(port, "old.mesh.global."));
  EXPECT_TRUE(eventually([&] {
    const std::string log = gd.log();
    return log.find("conflict: shared.mesh.global is claimed by") != std::string::npos &&
           log.find("conflict: old.mesh.global is claimed by") != std::string::npos;
  })) << gd.log();

  // /metrics shows every source loaded, the two conflicts, and each cluster's watch counters.
  const uint16_t metrics = gd.http_port("/metrics");
  ASSERT_NE(metrics, 0) << gd.log();
  const std::string page = http_get(metrics, "/metrics").body;
  for (const std::string line :
       {"globaldns_source_loaded{source=\"files\"} 1",
        "globaldns_source_loaded{source=\"kubernetes/c1\"} 1",
        "globaldns_source_loaded{source=\"kubernetes/c2\"} 1", "globaldns_host_conflicts 2",
        "globaldns_kube_connected{source=\"kubernetes/c2\"} 1",
        "globaldns_kube_relists_total{source=\"kubernetes/c1\"} 0"}) {
    EXPECT_NE(page.find("\n" + line + "\n"), std::string::npos) << line << "\n" << page;
  }
  EXPECT_NE(page.find("\nglobaldns_kube_watch_restarts_total{source=\"kubernetes/c2\"} "),
            std::string::npos)
      << page;

  one.control("/delete", del("ns1", "shared-one"));
  EXPECT_TRUE(eventually([&] { return serves(port, "shared.mesh.global.", "240.2.0.20"); }))
      << show(ask(port, "shared.mesh.global."));
}

// /ready lists the cluster and why until its first complete list, then answers 200 OK;
// /health answers 200 all along.
TEST_F(KubeServe, ReadyListsTheClusterUntilItsFirstList) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  fake.control("/fault", R"({"down":true})");
  ServerProcess& gd = start_on(fake, write_config());
  const uint16_t ready = gd.http_port("/ready");
  const uint16_t health = gd.http_port("/health");
  ASSERT_NE(ready, 0) << gd.log();
  ASSERT_NE(health, 0) << gd.log();
  HttpReply r;
  // Once the first connect has failed, the reason names it.
  ASSERT_TRUE(eventually([&] {
    r = http_get(ready, "/ready");
    return r.status == 503 && r.body.find("refused") != std::string::npos;
  })) << r.status
      << " " << r.body << gd.log();
  EXPECT_NE(r.body.find("kubernetes/c1: no complete list yet ("), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("no snapshot published"), std::string::npos) << r.body;
  const HttpReply h = http_get(health, "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "OK");

  fake.control("/fault", R"({"up":true})");
  EXPECT_TRUE(eventually([&] {
    r = http_get(ready, "/ready");
    return r.status == 200;
  })) << r.status
      << " " << r.body << gd.log();
  EXPECT_EQ(r.body, "OK");
  EXPECT_TRUE(serves(gd.port(), "a.ns1.global.", "240.1.0.1"));
}

// 11. Credential problems: unknown context and missing CA stop the start with one clear line;
// a CA that did not sign the server's certificate leaves it running, not ready, and says why.
TEST_F(KubeServe, CredentialProblemsAreClearErrors) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", se("ns1", "a", "240.1.0.1"));
  const fs::path kubeconfig = write_kubeconfig({{"c1", fake.api(), ca()}});
  const std::string listen = cat({"127.0.0.1:", std::to_string(free_port())});

  int code = 0;
  std::string out = run_command(
      kBinary + " serve --kubeconfig " + kubeconfig.string() + " --context nope --listen " + listen,
      &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, 124) << "did not exit: " << out;
  EXPECT_EQ(count_of(out, "\n"), 1u) << out;
  EXPECT_NE(out.find("\"nope\""), std::string::npos) << out;
  EXPECT_NE(out.find(kubeconfig.string()), std::string::npos) << out;

  const fs::path missing_ca = dir_ / "no-such-ca.crt";
  const fs::path bad = dir_ / "kubeconfig-missing-ca";
  write_file(bad, kubeconfig_yaml({{"c1", fake.api(), missing_ca}}));
  out = run_command(kBinary + " serve --kubeconfig " + bad.string() + " --listen " + listen, &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, 124) << "did not exit: " << out;
  EXPECT_EQ(count_of(out, "\n"), 1u) << out;
  EXPECT_NE(out.find(missing_ca.string()), std::string::npos) << out;
  EXPECT_NE(out.find("No such file"), std::string::npos) << out;

  // Another CA, which did not sign the fake's certificate.
  const fs::path other = dir_ / "other-ca";
  run_command(cat({"/bin/sh ", kSourceDir, "/tests/fake_kube/make_certs.sh ", other.string()}),
              &code, 60);
  ASSERT_EQ(code, 0);
  const fs::path wrong = dir_ / "kubeconfig-wrong-ca";
  write_file(wrong, kubeconfig_yaml({{"c1", fake.api(), other / "ca.crt"}}));
  ServerProcess& gd =
      start_globaldns({"--kubeconfig", wrong.string(), "--config", write_config().string()});
  ASSERT_TRUE(eventually([&] {
    return gd.log().find("certificate verify failed") != std::string::npos;
  })) << gd.log();
  EXPECT_TRUE(gd.running());
  EXPECT_TRUE(servfail(gd.port(), "a.ns1.global.")) << show(ask(gd.port(), "a.ns1.global."));
  EXPECT_EQ(gd.log().find("ready:"), std::string::npos);
}

// 12. --kube-namespace and --kube-label-selector restrict what is served.
TEST_F(KubeServe, NamespacesAndLabelSelector) {
  FakeKubeServer& fake = start_fake();
  fake.control("/apply", std::string("[")
                             .append(se("ns1", "a", "240.1.0.1", R"({"team":"x"})"))
                             .append(",")
                             .append(se("ns2", "b", "240.1.0.2", R"({"team":"y"})"))
                             .append(",")
                             .append(se("ns3", "c", "240.1.0.3", R"({"team":"x"})"))
                             .append("]"));
  const fs::path config = write_config();

  {  // Two namespaces: one watch of every namespace, filtered.
    ServerProcess& gd =
        start_on(fake, config, {"--kube-namespace", "ns1", "--kube-namespace", "ns2"});
    ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
    EXPECT_TRUE(serves(gd.port(), "b.ns2.global.", "240.1.0.2"));
    EXPECT_TRUE(nxdomain(gd.port(), "c.ns3.global.")) << show(ask(gd.port(), "c.ns3.global."));
    fake.control("/apply", se("ns3", "c2", "240.1.0.4"));
    fake.control("/apply", se("ns2", "b2", "240.1.0.5"));
    EXPECT_TRUE(eventually([&] { return serves(gd.port(), "b2.ns2.global.", "240.1.0.5"); }));
    EXPECT_TRUE(nxdomain(gd.port(), "c2.ns3.global."));
    gd.stop();
  }
  {  // One namespace: the path is scoped to it.
    ServerProcess& gd = start_on(fake, config, {"--kube-namespace", "ns3"});
    ASSERT_TRUE(wait_ready(gd, "c.ns3.global.", "240.1.0.3"));
    EXPECT_TRUE(serves(gd.port(), "c2.ns3.global.", "240.1.0.4"));
    EXPECT_TRUE(nxdomain(gd.port(), "a.ns1.global."));
    EXPECT_TRUE(nxdomain(gd.port(), "b.ns2.global."));
    gd.stop();
  }
  {  // A label selector; an object whose labels come to match appears.
    ServerProcess& gd = start_on(fake, config, {"--kube-label-selector", "team=x"});
    ASSERT_TRUE(wait_ready(gd, "a.ns1.global.", "240.1.0.1"));
    EXPECT_TRUE(serves(gd.port(), "c.ns3.global.", "240.1.0.3"));
    EXPECT_TRUE(nxdomain(gd.port(), "b.ns2.global."));
    EXPECT_TRUE(nxdomain(gd.port(), "c2.ns3.global."));  // no labels
    fake.control("/apply", se("ns2", "b", "240.1.0.2", R"({"team":"x"})"));
    EXPECT_TRUE(eventually([&] { return serves(gd.port(), "b.ns2.global.", "240.1.0.2"); }));
    fake.control("/apply", se("ns1", "a", "240.1.0.1", R"({"team":"z"})"));
    EXPECT_TRUE(eventually([&] { return nxdomain(gd.port(), "a.ns1.global."); }));
  }
}

}  // namespace
}  // namespace globaldns::testing
