// Integration: the real binary on a loopback port, queried by dig, kdig, drill, nslookup (bind9 and
// busybox) and by raw sockets whose responses ldns decodes; plus the file-reload path.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kBinary = GLOBALDNS_BINARY;
const std::string kExamples = GLOBALDNS_EXAMPLES;

bool have(const std::string& tool) {
  int code = 0;
  run_command("sh -c 'command -v " + tool + "'", &code);
  return code == 0;
}

// Whether some line of `text` holds exactly these whitespace-separated words (dig and zone
// files align columns with tabs and spaces). No std::regex: g++ 12 warns inside it under ASan.
bool has_line(const std::string& text, const std::string& words) {
  auto split = [](const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  const auto want = split(words);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (split(line) == want) return true;
  return false;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One UDP exchange; empty when nothing came back within `timeout_ms`.
std::vector<uint8_t> udp_exchange(uint16_t port, const std::vector<uint8_t>& query,
                                  int timeout_ms = 1000) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback(port);
  sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  std::vector<uint8_t> out;
  if (poll(&p, 1, timeout_ms) == 1) {
    out.resize(65535);
    const ssize_t n = recv(fd, out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  close(fd);
  return out;
}

std::vector<uint8_t> tcp_exchange(uint16_t port, const std::vector<uint8_t>& query) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  auto a = loopback(port);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<uint8_t> out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::vector<uint8_t> frame = {static_cast<uint8_t>(query.size() >> 8),
                                  static_cast<uint8_t>(query.size())};
    frame.insert(frame.end(), query.begin(), query.end());
    send(fd, frame.data(), frame.size(), 0);
    uint8_t len[2];
    if (recv(fd, len, 2, MSG_WAITALL) == 2) {
      out.resize(static_cast<size_t>(len[0] << 8 | len[1]));
      const ssize_t n = recv(fd, out.data(), out.size(), MSG_WAITALL);
      out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  close(fd);
  return out;
}

// Waits (bounded) until `pred` holds; returns how long it took, or -1 ms on timeout.
std::chrono::milliseconds wait_for(const std::function<bool()>& pred,
                                   std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (pred()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::chrono::milliseconds(-1);
}

std::vector<std::string> a_records(uint16_t port, const std::string& name, int timeout_ms = 300) {
  auto reply = udp_exchange(port, make_query(name, LDNS_RR_TYPE_A), timeout_ms);
  auto pkt = decode(reply.data(), reply.size());
  if (!pkt) return {"<no answer>"};
  std::vector<std::string> out;
  for (const auto& rr : section(ldns_pkt_answer(pkt.get())))
    out.push_back(rr.substr(rr.rfind('\t') + 1));
  if (ldns_pkt_get_rcode(pkt.get()) == LDNS_RCODE_NXDOMAIN) out.push_back("NXDOMAIN");
  return out;
}

// Until the bundled examples are served on `port` (httpbin answers its VIP); as wait_for().
std::chrono::milliseconds wait_until_serving_examples(uint16_t port) {
  return wait_for([port] {
    return a_records(port, "httpbin.istio-testing.global.") ==
           std::vector<std::string>{"240.0.0.2"};
  });
}

void write_file(const fs::path& p, const std::string& text) {
  // Write then rename, as editors and kubectl-style tools do, so readers never see half a file.
  // Built by appending: g++ 12 -O3 sees a false overlap (-Wrestrict) in "." + string.
  std::string name(1, '.');
  name.append(p.filename().string()).append(".tmp");
  const fs::path tmp = p.parent_path() / name;
  {
    std::ofstream out(tmp);
    out << text;
  }
  fs::rename(tmp, p);
}

std::string service_entry(const std::string& ns, const std::string& name, const std::string& host,
                          const std::string& address, const std::string& created) {
  return "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\n  creationTimestamp: \"" + created +
         "\"\nspec:\n  hosts:\n  - " + host + "\n  addresses:\n  - " + address +
         "\n  resolution: DNS\n  location: MESH_INTERNAL\n  ports:\n  - {name: http, number: 80, "
         "protocol: HTTP}\n";
}

// One server for the read-only client tests.
class Clients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("globaldns-it-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    fs::copy_file(kExamples, dir_ / "serviceentries.yaml", fs::copy_options::overwrite_existing);
    server_ =
        new ServerProcess(kBinary, {"serve", "--files", (dir_ / "serviceentries.yaml").string()},
                          dir_ / "server.log");
    const auto up = wait_for([] {
      return a_records(server_->port(), "httpbin.istio-testing.global.") ==
             std::vector<std::string>{"240.0.0.2"};
    });
    ASSERT_GE(up.count(), 0) << server_->log();
  }
  static void TearDownTestSuite() {
    auto status = server_->stop();
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "SIGTERM must exit 0\n"
        << server_->log();
    delete server_;
    fs::remove_all(dir_);
  }
  static std::string port() { return std::to_string(server_->port()); }

  static inline ServerProcess* server_ = nullptr;
  static inline fs::path dir_;
};

TEST_F(Clients, DigAnswersAuthoritatively) {
  if (!have("dig")) GTEST_SKIP() << "dig not installed";
  const auto out = run_command("dig @127.0.0.1 -p " + port() + " httpbin.istio-testing.global");
  EXPECT_NE(out.find("status: NOERROR"), std::string::npos) << out;
  EXPECT_NE(out.find("flags: qr aa rd;"), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "httpbin.istio-testing.global. 30 IN A 240.0.0.2")) << out;
}

TEST_F(Clients, DigAaaaIsNoDataAndTcpWorks) {
  if (!have("dig")) GTEST_SKIP() << "dig not installed";
  const auto out =
      run_command("dig @127.0.0.1 -p " + port() + " httpbin.istio-testing.global AAAA +norec");
  EXPECT_NE(out.find("status: NOERROR"), std::string::npos) << out;
  EXPECT_NE(out.find("ANSWER: 0, AUTHORITY: 1"), std::string::npos) << out;
  const auto tcp =
      run_command("dig +tcp @127.0.0.1 -p " + port() + " reviews.bookinfo.global +short");
  EXPECT_NE(tcp.find("240.0.0.3"), std::string::npos) << tcp;
  EXPECT_NE(tcp.find("240.0.0.4"), std::string::npos) << tcp;
}

// dig CH TXT version.bind, as operators ask BIND and NSD; defaults: auto and auto.
TEST_F(Clients, DigChaosNamesTheServer) {
  if (!have("dig")) GTEST_SKIP() << "dig not installed";
  std::string version = run_command(kBinary + " --version");  // "globaldns X.Y.Z\n"
  while (!version.empty() && version.back() == '\n') version.pop_back();
  for (const char* name : {"version.bind", "VERSION.server"}) {
    const auto out = run_command("dig @127.0.0.1 -p " + port() + " CH TXT " + name);
    EXPECT_NE(out.find("status: NOERROR"), std::string::npos) << out;
    EXPECT_NE(out.find("flags: qr aa rd;"), std::string::npos) << out;
    std::string line = name;
    line += ". 0 CH TXT \"";
    line += version;
    line += "\"";
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
  }
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  for (const char* name : {"hostname.bind", "id.server"}) {
    const auto out = run_command("dig +tcp @127.0.0.1 -p " + port() + " CH TXT " + name);
    std::string line = name;
    line += ". 0 CH TXT \"";
    line += host;
    line += "\"";
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
  }
  for (const std::string q : {"CH TXT authors.bind", "CH A version.bind", "HS TXT version.bind"}) {
    const auto out = run_command("dig @127.0.0.1 -p " + port() + " " + q);
    EXPECT_NE(out.find("status: REFUSED"), std::string::npos) << q << "\n" << out;
  }
}

TEST_F(Clients, KdigAndDrill) {
  if (have("kdig")) {
    const auto out =
        run_command("kdig @127.0.0.1 -p " + port() + " httpbin.istio-testing.global A");
    EXPECT_NE(out.find("status: NOERROR"), std::string::npos) << out;
    EXPECT_NE(out.find("240.0.0.2"), std::string::npos) << out;
    const auto nx = run_command("kdig @127.0.0.1 -p " + port() + " +tcp nothere.global A");
    EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
  }
  if (have("drill")) {
    const auto out = run_command("drill -p " + port() + " httpbin.istio-testing.global @127.0.0.1");
    EXPECT_NE(out.find("rcode: NOERROR"), std::string::npos) << out;
    EXPECT_NE(out.find("240.0.0.2"), std::string::npos) << out;
    EXPECT_NE(out.find(" aa "), std::string::npos) << out;
  }
  if (!have("kdig") && !have("drill")) GTEST_SKIP() << "neither kdig nor drill installed";
}

TEST_F(Clients, Bind9NslookupPrintsTheAddressWithoutErrors) {
  if (!have("nslookup")) GTEST_SKIP() << "nslookup not installed";
  int code = -1;
  const auto out =
      run_command("nslookup -port=" + port() + " httpbin.istio-testing.global 127.0.0.1", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Address: 240.0.0.2"), std::string::npos) << out;
  EXPECT_EQ(out.find("can't find"), std::string::npos) << out;
  EXPECT_EQ(out.find("NXDOMAIN"), std::string::npos) << out;
  EXPECT_EQ(out.find("SERVFAIL"), std::string::npos) << out;
}

TEST_F(Clients, BusyboxNslookupPrintsTheAddressWithoutErrors) {
  if (!have("busybox")) GTEST_SKIP() << "busybox not installed";
  int code = -1;
  // busybox nslookup asks A and AAAA; an NXDOMAIN for AAAA would print "can't find".
  const auto out =
      run_command("busybox nslookup httpbin.istio-testing.global 127.0.0.1:" + port(), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Address: 240.0.0.2"), std::string::npos) << out;
  EXPECT_EQ(out.find("can't find"), std::string::npos) << out;
  EXPECT_EQ(out.find("NXDOMAIN"), std::string::npos) << out;
}

TEST_F(Clients, GlobaldnsQueryCommand) {
  int code = -1;
  const auto out =
      run_command(kBinary + " query httpbin.istio-testing.global A @127.0.0.1 -p " + port(), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("240.0.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("NOERROR"), std::string::npos) << out;
}

TEST_F(Clients, RawUdpAndTcpDecodedByLdns) {
  const uint16_t p = server_->port();
  struct Case {
    std::string name;
    uint16_t type;
    ldns_pkt_rcode rcode;
    size_t answers;
    size_t authority;
    bool aa;
  };
  const std::vector<Case> cases = {
      {"httpbin.istio-testing.global.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, 0, true},
      {"HTTPBIN.ISTIO-TESTING.GLOBAL.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, 0, true},
      {"httpbin.istio-testing.global.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 0, 1, true},
      {"httpbin.istio-testing.global.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0, 1, true},
      {"istio-testing.global.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0, 1, true},
      {"nothere.global.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, 1, true},
      {"passthrough.istio-testing.global.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, 0, 1, true},
      {"foo.wild.global.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 1, 0, true},
      {"global.", LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, 1, 0, true},
      {"www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0, 0, false},
      {".", LDNS_RR_TYPE_NS, LDNS_RCODE_REFUSED, 0, 0, false},  // CoreDNS's health probe
  };
  for (const auto& c : cases) {
    for (bool tcp : {false, true}) {
      const auto q = make_query(c.name, c.type);
      const auto reply = tcp ? tcp_exchange(p, q) : udp_exchange(p, q);
      auto pkt = decode(reply.data(), reply.size());
      ASSERT_TRUE(pkt) << c.name << (tcp ? " tcp" : " udp");
      EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), c.rcode) << c.name;
      EXPECT_EQ(ldns_pkt_ancount(pkt.get()), c.answers) << c.name;
      EXPECT_EQ(ldns_pkt_nscount(pkt.get()), c.authority) << c.name;
      EXPECT_EQ(ldns_pkt_aa(pkt.get()), c.aa) << c.name;
      EXPECT_FALSE(ldns_pkt_ra(pkt.get())) << c.name;
    }
  }
}

TEST_F(Clients, MalformedInput) {
  const uint16_t p = server_->port();
  // No header: dropped, nothing comes back.
  EXPECT_TRUE(udp_exchange(p, {1, 2, 3}, 300).empty());
  // Header but two questions: FORMERR.
  auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  q[5] = 2;
  auto reply = udp_exchange(p, q);
  auto pkt = decode(reply.data(), reply.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), LDNS_RCODE_FORMERR);
  // The server still answers afterwards.
  EXPECT_EQ(a_records(p, "httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.2"});
}

// Servers of their own, for tests that change files.
class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("globaldns-reload-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "entries");
  }
  void TearDown() override {
    if (server_) {
      auto status = server_->stop();
      EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server_->log();
    }
    fs::remove_all(dir_);
  }
  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"serve", "--files", (dir_ / "entries").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(kBinary, args, dir_ / "server.log");
    ASSERT_GE(wait_for([&] {
                auto r =
                    udp_exchange(server_->port(), make_query("global.", LDNS_RR_TYPE_SOA), 200);
                return !r.empty();
              }).count(),
              0)
        << server_->log();
  }
  std::vector<std::string> a(const std::string& name) { return a_records(server_->port(), name); }
  // Waits for the server to exit by itself, then expects status 0.
  void expect_exits_zero() {
    ASSERT_GE(wait_for([&] { return !server_->running(); }, std::chrono::seconds(10)).count(), 0)
        << server_->log();
    const auto status = server_->stop();
    ASSERT_TRUE(status && WIFEXITED(*status)) << server_->log();
    EXPECT_EQ(WEXITSTATUS(*status), 0) << server_->log();
  }

  fs::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(Reload, EditBrokenEditDeleteAndNewFile) {
  const fs::path file = dir_ / "entries" / "se.yaml";
  write_file(file, service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global",
                                 "240.0.0.2", "2024-01-01T00:00:00Z"));
  start();
  EXPECT_EQ(a("httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.2"});

  // An edit shows within a second (the bound below is generous; the figure is printed).
  write_file(file, service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global",
                                 "240.0.0.9", "2024-01-01T00:00:00Z"));
  const auto edit = wait_for(
      [&] { return a("httpbin.istio-testing.global.") == std::vector<std::string>{"240.0.0.9"}; });
  ASSERT_GE(edit.count(), 0) << server_->log();
  std::printf("edit visible after %lld ms\n", static_cast<long long>(edit.count()));

  // A broken edit is reported with file and line; the last good data keeps being served.
  write_file(file,
             "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: "
             "x\nspec:\n  hosts: [\n");
  ASSERT_GE(wait_for([&] { return server_->log().find("se.yaml:") != std::string::npos; }).count(),
            0)
      << server_->log();
  EXPECT_EQ(a("httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.9"});

  // A second file appears in the directory.
  write_file(dir_ / "entries" / "more.yml",
             service_entry("bar", "svc", "svc.bar.global", "240.0.1.1", "2024-01-01T00:00:00Z"));
  ASSERT_GE(wait_for([&] {
              return a("svc.bar.global.") == std::vector<std::string>{"240.0.1.1"};
            }).count(),
            0)
      << server_->log();

  // Deleting a file from the directory removes its entries.
  fs::remove(dir_ / "entries" / "more.yml");
  ASSERT_GE(wait_for([&] {
              return a("svc.bar.global.") == std::vector<std::string>{"NXDOMAIN"};
            }).count(),
            0)
      << server_->log();
  EXPECT_EQ(a("httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.9"});
}

TEST_F(Reload, ConflictOldestWinsAndLoserTakesOverWhenWinnerGoes) {
  write_file(dir_ / "entries" / "new.yaml", service_entry("team-b", "dup", "shared.mesh.global",
                                                          "240.0.2.2", "2024-06-01T00:00:00Z"));
  write_file(dir_ / "entries" / "old.yaml", service_entry("team-a", "dup", "shared.mesh.global",
                                                          "240.0.2.1", "2023-01-01T00:00:00Z"));
  start();
  EXPECT_EQ(a("shared.mesh.global."), std::vector<std::string>{"240.0.2.1"});
  EXPECT_NE(server_->log().find("conflict"), std::string::npos) << server_->log();
  fs::remove(dir_ / "entries" / "old.yaml");
  ASSERT_GE(wait_for([&] {
              return a("shared.mesh.global.") == std::vector<std::string>{"240.0.2.2"};
            }).count(),
            0)
      << server_->log();
}

TEST_F(Reload, SighupReloadsTheConfigFile) {
  write_file(dir_ / "entries" / "se.yaml",
             service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global", "240.0.0.2",
                           "2024-01-01T00:00:00Z"));
  const fs::path config = dir_ / "globaldns.yaml";
  write_file(config, "ttl: 30\n");
  start({"--config", config.string()});
  auto ttl_of = [&] {
    auto reply = udp_exchange(server_->port(),
                              make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A), 300);
    auto pkt = decode(reply.data(), reply.size());
    if (!pkt || ldns_pkt_ancount(pkt.get()) == 0) return -1;
    return static_cast<int>(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0)));
  };
  EXPECT_EQ(ttl_of(), 30);
  write_file(config, "ttl: 7\n");
  server_->signal(SIGHUP);
  ASSERT_GE(wait_for([&] { return ttl_of() == 7; }).count(), 0) << server_->log();
  // A broken config is reported and the running one stays.
  write_file(config, "ttl: [\n");
  server_->signal(SIGHUP);
  ASSERT_GE(
      wait_for([&] { return server_->log().find("globaldns.yaml:") != std::string::npos; }).count(),
      0)
      << server_->log();
  EXPECT_EQ(ttl_of(), 7);
}

TEST_F(Reload, ChaosTextsSwitchOffAndChangeOnSighup) {
  const fs::path config = dir_ / "globaldns.yaml";
  write_file(config, "chaos:\n  version: off\n  hostname: dns-7\n");
  start({"--config", config.string()});
  // The rcode and the TXT text, or "" without an answer.
  auto chaos = [&](const std::string& name) -> std::pair<int, std::string> {
    globaldns::testing::QueryOptions o;
    o.qclass = LDNS_RR_CLASS_CH;
    auto reply = udp_exchange(server_->port(), make_query(name, LDNS_RR_TYPE_TXT, o), 300);
    auto pkt = decode(reply.data(), reply.size());
    if (!pkt) return {-1, ""};
    const int rcode = ldns_pkt_get_rcode(pkt.get());
    if (ldns_pkt_ancount(pkt.get()) != 1) return {rcode, ""};
    const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0);
    const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
    return {rcode, std::string(reinterpret_cast<const char*>(ldns_rdf_data(rdf)) + 1,
                               ldns_rdf_size(rdf) - 1)};
  };
  using Reply = std::pair<int, std::string>;
  EXPECT_EQ(chaos("version.bind."), (Reply{LDNS_RCODE_REFUSED, ""}));
  EXPECT_EQ(chaos("version.server."), (Reply{LDNS_RCODE_REFUSED, ""}));
  EXPECT_EQ(chaos("id.server."), (Reply{LDNS_RCODE_NOERROR, "dns-7"}));
  EXPECT_EQ(chaos("hostname.bind."), (Reply{LDNS_RCODE_NOERROR, "dns-7"}));
  write_file(config, "chaos:\n  version: \"v9 (test)\"\n  hostname: \"off\"\n");
  server_->signal(SIGHUP);
  ASSERT_GE(wait_for([&] {
              return chaos("version.bind.") == Reply{LDNS_RCODE_NOERROR, "v9 (test)"};
            }).count(),
            0)
      << server_->log();
  EXPECT_EQ(chaos("hostname.bind."), (Reply{LDNS_RCODE_REFUSED, ""}));
}

TEST_F(Reload, BrokenFileAtStartupServesServfailUntilFixed) {
  const fs::path file = dir_ / "entries" / "se.yaml";
  write_file(file, "kind: [\n");
  start();
  auto reply =
      udp_exchange(server_->port(), make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A));
  auto pkt = decode(reply.data(), reply.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), LDNS_RCODE_SERVFAIL);
  write_file(file, service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global",
                                 "240.0.0.2", "2024-01-01T00:00:00Z"));
  ASSERT_GE(wait_for([&] {
              return a("httpbin.istio-testing.global.") == std::vector<std::string>{"240.0.0.2"};
            }).count(),
            0)
      << server_->log();
}

// /ready waits for every file: 503 naming the broken one, then 200 once it parses.
TEST_F(Reload, ReadyIs503UntilEveryFileLoads) {
  const fs::path file = dir_ / "entries" / "se.yaml";
  write_file(file, "kind: [\n");
  start();
  const uint16_t ready = server_->http_port("/ready");
  ASSERT_NE(ready, 0) << server_->log();
  HttpReply r = http_get(ready, "/ready");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("files: not every file loaded ("), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("se.yaml"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("no snapshot published"), std::string::npos) << r.body;
  const HttpReply health = http_get(server_->http_port("/health"), "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "OK");

  write_file(file, service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global",
                                 "240.0.0.2", "2024-01-01T00:00:00Z"));
  ASSERT_GE(wait_for([&] {
              r = http_get(ready, "/ready");
              return r.status == 200;
            }).count(),
            0)
      << r.status << " " << r.body << server_->log();
  EXPECT_EQ(r.body, "OK");
  EXPECT_EQ(a("httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.2"});
}

// /health and /ready on one address share one listener; the wrong method and path are refused.
TEST_F(Reload, HealthAndReadyAnswerAtOnceAndCanShareAPort) {
  const uint16_t shared = free_port();
  const std::string address = "127.0.0.1:" + std::to_string(shared);
  write_file(dir_ / "entries" / "se.yaml",
             service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global", "240.0.0.2",
                           "2024-01-01T00:00:00Z"));
  start({"--health", address, "--ready", address});
  EXPECT_EQ(server_->http_port("/health"), shared) << server_->log();
  EXPECT_EQ(server_->http_port("/ready"), shared) << server_->log();
  const HttpReply health = http_get(shared, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "OK");
  HttpReply r;
  ASSERT_GE(wait_for([&] {
              r = http_get(shared, "/ready");
              return r.status == 200;
            }).count(),
            0)
      << r.body;
  EXPECT_EQ(r.body, "OK");
  EXPECT_EQ(http_get(shared, "/metrics").status, 404);
}

TEST_F(Reload, HealthOffDisablesTheListener) {
  start({"--health", "off"});
  ASSERT_NE(server_->http_port("/ready"), 0) << server_->log();
  EXPECT_EQ(server_->http_port("/health", std::chrono::milliseconds(200)), 0) << server_->log();
  EXPECT_EQ(server_->log().find("(/health)"), std::string::npos) << server_->log();
}

// SIGTERM: /ready turns 503 at once while DNS still answers; the process exits 0 after the
// lameduck period, not before it and not much after.
TEST_F(Reload, LameduckKeepsAnsweringThenExitsZero) {
  write_file(dir_ / "entries" / "se.yaml",
             service_entry("istio-testing", "httpbin", "httpbin.istio-testing.global", "240.0.0.2",
                           "2024-01-01T00:00:00Z"));
  start({"--lameduck-ms", "1500"});
  const uint16_t ready = server_->http_port("/ready");
  const uint16_t health = server_->http_port("/health");
  ASSERT_GE(wait_for([&] { return http_get(ready, "/ready").status == 200; }).count(), 0)
      << server_->log();
  const auto sent = Clock::now();
  server_->signal(SIGTERM);
  HttpReply r;
  ASSERT_GE(wait_for([&] {
              r = http_get(ready, "/ready");
              return r.status == 503;
            }).count(),
            0)
      << server_->log();
  EXPECT_EQ(r.body, "Shutting down\n");
  // CoreDNS keeps /health at 200 during lameduck: the process is alive, just leaving.
  EXPECT_EQ(http_get(health, "/health").status, 200);
  EXPECT_EQ(a("httpbin.istio-testing.global."), std::vector<std::string>{"240.0.0.2"});
  EXPECT_TRUE(server_->running()) << server_->log();
  ASSERT_GE(wait_for([&] { return !server_->running(); }, std::chrono::seconds(10)).count(), 0)
      << server_->log();
  const auto took = Clock::now() - sent;
  EXPECT_GE(took, std::chrono::milliseconds(1400));
  EXPECT_LT(took, std::chrono::seconds(8));
  auto status = server_->stop();
  ASSERT_TRUE(status && WIFEXITED(*status)) << server_->log();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << server_->log();
  EXPECT_NE(server_->log().find("lameduck for 1500 ms"), std::string::npos) << server_->log();
  server_.reset();
}

// SIGTERM while the initial files load (a pod deleted while it starts): exit 0 between two files
// instead of after all of them. 30 files of 5,000 entries take over a second to load.
TEST_F(Reload, SigtermDuringTheInitialLoadExitsAtOnce) {
  for (int f = 0; f < 30; ++f) {
    std::string text;
    for (int i = 0; i < 5000; ++i) {
      const std::string n = std::to_string(f * 5000 + i);
      text += "---\n";
      text += service_entry("ns", "svc" + n, "svc" + n + ".ns.global", "240.1.0.1",
                            "2024-01-01T00:00:00Z");
    }
    write_file(dir_ / "entries" / ("part-" + std::to_string(100 + f) + ".yaml"), text);
  }
  server_ = std::make_unique<ServerProcess>(
      kBinary, std::vector<std::string>{"serve", "--files", (dir_ / "entries").string()},
      dir_ / "server.log");
  ASSERT_GE(
      wait_for(
          [&] { return server_->log().find("part-100.yaml: 5000 entries") != std::string::npos; },
          std::chrono::seconds(30))
          .count(),
      0)
      << server_->log();
  // The listeners are up during the load: SERVFAIL, not silence, until the files are in.
  const auto during =
      udp_exchange(server_->port(), make_query("svc1.ns.global.", LDNS_RR_TYPE_A), 1000);
  auto pkt = decode(during.data(), during.size());
  ASSERT_TRUE(pkt) << server_->log();
  EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), LDNS_RCODE_SERVFAIL);
  // HTTP is answered between two files: /ready says what is missing.
  const HttpReply ready = http_get(server_->http_port("/ready"), "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("files: not every file loaded"), std::string::npos) << ready.body;
  server_->signal(SIGTERM);
  expect_exits_zero();
  const std::string log = server_->log();
  EXPECT_NE(log.find("signal 15 while loading ServiceEntry files: exiting"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("part-129.yaml"), std::string::npos) << log;  // never reached
  server_.reset();
}

// A second SIGTERM during lameduck stops at once.
TEST_F(Reload, SecondSignalDuringLameduckStopsAtOnce) {
  start({"--lameduck-ms", "60000"});
  const uint16_t ready = server_->http_port("/ready");
  server_->signal(SIGTERM);
  ASSERT_GE(wait_for([&] { return http_get(ready, "/ready").status == 503; }).count(), 0)
      << server_->log();
  server_->signal(SIGTERM);
  expect_exits_zero();
  server_.reset();
}

// --query-log: one line per query in CoreDNS's log format, through spdlog's text or JSON format.
class QueryLogTest : public ::testing::TestWithParam<const char*> {};

TEST_P(QueryLogTest, OneCoreDnsLinePerQuery) {
  const std::string format = GetParam();
  const fs::path dir =
      fs::temp_directory_path() / ("globaldns-qlog-" + format + "-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ServerProcess server(
      kBinary, {"serve", "--files", kExamples, "--query-log", "100", "--log-format", format},
      dir / "server.log");
  ASSERT_GE(wait_for([&] {
              return a_records(server.port(), "httpbin.istio-testing.global.") ==
                     std::vector<std::string>{"240.0.0.2"};
            }).count(),
            0)
      << server.log();
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  ASSERT_EQ(tcp_exchange(server.port(), query).size(), 62u);
  // The fields CoreDNS prints, with the JSON format's escaped quotes.
  const std::string q = format == "json" ? "\\\"" : "\"";
  const std::string udp = " - 4660 " + q + "A IN httpbin.istio-testing.global. udp 46 false 512" +
                          q + " NOERROR qr,aa,rd 62 0.";
  // Over TCP the two-byte length prefix is not part of the size, as in CoreDNS.
  const std::string tcp = " - 4660 " + q + "A IN httpbin.istio-testing.global. tcp 46 false " +
                          "65535" + q + " NOERROR qr,aa,rd 62 0.";
  ASSERT_GE(wait_for([&] { return server.log().find(tcp) != std::string::npos; }).count(), 0)
      << tcp << "\n"
      << server.log();
  const std::string log = server.log();
  const size_t at = log.find(udp);
  ASSERT_NE(at, std::string::npos) << udp << "\n" << log;
  const size_t start = log.rfind('\n', at) + 1;
  const std::string line = log.substr(start, log.find('\n', at) - start);
  if (format == "json") {
    EXPECT_EQ(line.rfind("{\"time\":", 0), 0u) << line;
    EXPECT_NE(line.find("\"level\":\"info\",\"msg\":\"127.0.0.1:"), std::string::npos) << line;
    EXPECT_EQ(line.substr(line.size() - 3), "s\"}") << line;
  } else {
    EXPECT_NE(line.find(" info 127.0.0.1:"), std::string::npos) << line;
    EXPECT_EQ(line.back(), 's') << line;
  }
  server.stop();
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Formats, QueryLogTest, ::testing::Values("text", "json"));

TEST_F(Clients, NoQueryLogByDefault) {
  ASSERT_EQ(a_records(server_->port(), "reviews.bookinfo.global.").size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the log is asynchronous
  EXPECT_EQ(server_->log().find("reviews.bookinfo.global. udp"), std::string::npos)
      << server_->log();
}

TEST(Startup, BadConfigAndPortInUseExitNonZeroWithOneClearLine) {
  int code = 0;
  auto out = run_command(kBinary + " serve --ttl abc --listen 127.0.0.1:0", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("ttl"), std::string::npos) << out;
  out = run_command(kBinary + " serve --files /nonexistent/path.yaml --listen 127.0.0.1:0", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("/nonexistent/path.yaml"), std::string::npos) << out;

  // Hold a UDP port, then ask globaldns to listen there.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback(0);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  out =
      run_command(kBinary + " serve --files " + kExamples + " --health off --ready off --grpc off" +
                      " --listen 127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
                  &code);
  close(fd);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("in use"), std::string::npos) << out;

  // The same for the HTTP listeners: one line naming the address.
  const int tcp = socket(AF_INET, SOCK_STREAM, 0);
  auto t = loopback(0);
  len = sizeof t;
  bind(tcp, reinterpret_cast<sockaddr*>(&t), sizeof t);
  listen(tcp, 1);
  getsockname(tcp, reinterpret_cast<sockaddr*>(&t), &len);
  const std::string held = "127.0.0.1:" + std::to_string(ntohs(t.sin_port));
  out = run_command(kBinary + " serve --files " + kExamples +
                        " --listen 127.0.0.1:0 --ready 127.0.0.1:0 --health " + held,
                    &code);
  close(tcp);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("cannot bind HTTP on " + held + ": Address already in use"), std::string::npos)
      << out;
}

// A privileged port without the privilege: exit non-zero with one line naming the address and
// the reason. Needs root to drop to nobody, and ports below 1024 privileged (Debian's default).
TEST(Startup, PermissionDeniedOnAPortIsOneClearLine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run globaldns as nobody";
  std::ifstream sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int unprivileged_start = 0;
  if (!(sysctl >> unprivileged_start) || unprivileged_start <= 53) {
    GTEST_SKIP() << "port 53 is not privileged here";
  }
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  int code = 0;
  run_command(as_nobody + kBinary + " --version", &code);
  if (code != 0) GTEST_SKIP() << "nobody cannot run " << kBinary;
  const std::string out = run_command(as_nobody + kBinary + " serve --files " + kExamples +
                                          " --listen 127.0.0.1:53 --health off --ready off" +
                                          " --metrics off --grpc off",
                                      &code);
  EXPECT_EQ(code, 1) << out;
  // The listeners start before anything is loaded, so this is the first line.
  EXPECT_EQ(out, "globaldns: cannot bind UDP 127.0.0.1:53: Permission denied\n");
}

// The sample of a labelled series on a /metrics page, e.g. `name{source="files"}`; -1 if absent.
double labelled_metric(const std::string& page, const std::string& series) {
  const size_t at = page.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atof(page.c_str() + at + series.size() + 2);
}

// A watched directory that becomes unreadable (mode 000 for a server running as nobody; root
// would read it anyway): its last files keep serving, the log and globaldns_source_failures say
// so, and once it is readable again the server notices by itself and follows new files.
TEST(Faults, UnreadableDirectoryKeepsServingAndRecoversByItself) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run globaldns as nobody";
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  int code = 0;
  run_command(as_nobody + kBinary + " --version", &code);
  if (code != 0) GTEST_SKIP() << "nobody cannot run " << kBinary;
  const fs::path dir =
      fs::temp_directory_path() / ("globaldns-unreadable-" + std::to_string(getpid()));
  const fs::path entries = dir / "entries";
  fs::remove_all(dir);
  fs::create_directories(entries);
  fs::copy_file(kExamples, entries / "serviceentries.yaml");
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  ASSERT_EQ(chown(entries.c_str(), 65534, 65534), 0);
  ASSERT_EQ(chown((entries / "serviceentries.yaml").c_str(), 65534, 65534), 0);
  ServerProcess server("/usr/bin/setpriv",
                       {"--reuid=65534", "--regid=65534", "--clear-groups", kBinary, "serve",
                        "--files", entries.string()},
                       dir / "server.log");
  const uint16_t port = server.port();
  ASSERT_GE(wait_until_serving_examples(port).count(), 0) << server.log();
  const uint16_t metrics_port = server.http_port("/metrics");
  ASSERT_NE(metrics_port, 0) << server.log();
  const std::string failures = "globaldns_source_failures{source=\"files\"}";
  const auto failures_now = [&] {
    return labelled_metric(http_get(metrics_port, "/metrics").body, failures);
  };
  EXPECT_EQ(failures_now(), 0);

  fs::permissions(entries, fs::perms::none);
  EXPECT_GE(wait_for([&] { return failures_now() == 1; }).count(), 0) << server.log();
  EXPECT_NE(server.log().find("Permission denied; keeping the last 1 file(s)"), std::string::npos)
      << server.log();
  EXPECT_EQ(a_records(port, "httpbin.istio-testing.global."),
            std::vector<std::string>{"240.0.0.2"});

  fs::permissions(entries, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
  EXPECT_GE(wait_for([&] { return failures_now() == 0; }).count(), 0) << server.log();
  EXPECT_NE(server.log().find("is readable again"), std::string::npos) << server.log();
  // Live again: a new file is picked up without a restart or a signal.
  write_file(entries / "more.yaml",
             service_entry("bar", "svc", "svc.bar.global", "240.0.1.1", "2024-01-01T00:00:00Z"));
  EXPECT_GE(wait_for([&] {
              return a_records(port, "svc.bar.global.") == std::vector<std::string>{"240.0.1.1"};
            }).count(),
            0)
      << server.log();
  EXPECT_EQ(a_records(port, "httpbin.istio-testing.global."),
            std::vector<std::string>{"240.0.0.2"});
  server.stop();
  fs::remove_all(dir);
}

// kill -9 under load, then a restart: there is no state on disk to recover (the files are only
// read), so the new process answers as soon as it has read them. It prints how soon.
TEST(Faults, KillNineUnderLoadThenARestartAnswersAgain) {
  const fs::path log = fs::temp_directory_path() / ("globaldns-kill9-" + std::to_string(getpid()));
  auto first = std::make_unique<ServerProcess>(
      kBinary, std::vector<std::string>{"serve", "--files", kExamples}, log.string() + ".1");
  const uint16_t port = first->port();
  ASSERT_GE(wait_until_serving_examples(port).count(), 0) << first->log();
  // Load from another thread: at most 20,000 queries or 5 s, whichever comes first.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread load([&] {
    const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
    const auto until = Clock::now() + std::chrono::seconds(5);
    for (int i = 0; i < 20000 && !stop && Clock::now() < until; ++i) {
      if (!udp_exchange(port, query, 50).empty()) ++answered;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int before_kill = answered.load();
  first->signal(SIGKILL);
  auto status = first->stop();
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << first->log();
  const auto restarted = Clock::now();
  auto second = std::make_unique<ServerProcess>(
      kBinary,
      std::vector<std::string>{"serve", "--files", kExamples, "--listen",
                               "127.0.0.1:" + std::to_string(port)},
      log.string() + ".2", /*add_listen=*/false);
  // Polled with short timeouts, so the figure is not rounded up to a query timeout.
  bool ready = false;
  for (int i = 0; i < 1000 && !ready; ++i) {
    ready = a_records(port, "httpbin.istio-testing.global.", 10) ==
            std::vector<std::string>{"240.0.0.2"};
  }
  const auto took = Clock::now() - restarted;
  stop = true;
  load.join();
  ASSERT_TRUE(ready) << second->log();
  std::printf(
      "answered %d queries before the kill; answering again %lld ms after the restart\n",
      before_kill,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_GT(before_kill, 0);
  // Issue 7 asks for under a second (docs/RELIABILITY.md has the figures); the bound here only
  // catches a restart that waits for something, on a loaded CI machine under ASan too.
  EXPECT_LT(took, std::chrono::seconds(5)) << second->log();
  status = second->stop();
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << second->log();
  fs::remove(log.string() + ".1");
  fs::remove(log.string() + ".2");
}

// A process's resident size and open descriptors, from /proc.
struct ProcessUse {
  long rss_kb = -1;
  long fds = -1;
};

ProcessUse process_use(pid_t pid) {
  ProcessUse use;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) use.rss_kb = std::atol(line.c_str() + 6);
  }
  std::error_code ec;
  long fds = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) use.fds = fds;
  return use;
}

// A UDP flood as fast as one sendmmsg thread goes, a sixth each of hits, NXDOMAIN, out of zone
// (REFUSED), FORMERR, shorter than a header and random bytes, for 5 s at most, while a second
// client asks a valid question every 20 ms: it keeps being answered, and the server's resident
// size and descriptors stay where they were.
// The sanitized server answers several times slower than the flood arrives; beyond what it can
// take the kernel drops even a retried probe. There the flood is held near dnsperf's rate.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kFloodCap = 150'000;
#else
constexpr double kFloodCap = 0;  // as fast as the sender goes
#endif

TEST(Abuse, UdpFloodOfMixedQueriesLeavesValidOnesAnsweredAndMemoryFlat) {
  const fs::path log = fs::temp_directory_path() / ("globaldns-flood-" + std::to_string(getpid()));
  ServerProcess server(kBinary, {"serve", "--files", kExamples, "--threads", "2"}, log);
  const uint16_t port = server.port();
  ASSERT_GE(wait_until_serving_examples(port).count(), 0) << server.log();
  // Warm up, so that the baseline is the serving process, not a half-started one.
  for (int i = 0; i < 200; ++i) (void)a_records(port, "httpbin.istio-testing.global.", 100);
  const ProcessUse before = process_use(server.pid());

  std::vector<std::vector<uint8_t>> kinds;
  kinds.push_back(make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A));
  kinds.push_back(make_query("nothere.istio-testing.global.", LDNS_RR_TYPE_A));
  kinds.push_back(make_query("www.example.com.", LDNS_RR_TYPE_A));
  auto two_questions = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  two_questions[5] = 2;
  kinds.push_back(two_questions);
  kinds.push_back({1, 2, 3});
  std::mt19937 rng(7);  // fixed: the same garbage every run
  std::vector<uint8_t> garbage(40);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng());
  kinds.push_back(garbage);

  std::atomic<bool> stop{false};
  std::atomic<long> sent{0}, received{0};
  std::atomic<double> flood_seconds{0};
  // The sender batches 64 datagrams per sendmmsg over four source ports (so both workers'
  // sockets take the flood): about twice what dnsperf reaches on this machine.
  std::thread flood([&] {
    constexpr unsigned kBatch = 64;
    constexpr int kSockets = 4;
    int fds[kSockets];
    for (int& fd : fds) fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const auto to = loopback(port);
    std::array<mmsghdr, kBatch> out{};
    std::array<iovec, kBatch> out_iov{};
    for (unsigned i = 0; i < kBatch; ++i) {
      const auto& q = kinds[i % kinds.size()];
      out_iov[i] = {const_cast<uint8_t*>(q.data()), q.size()};
      out[i].msg_hdr.msg_iov = &out_iov[i];
      out[i].msg_hdr.msg_iovlen = 1;
      out[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
      out[i].msg_hdr.msg_namelen = sizeof to;
    }
    std::vector<uint8_t> replies(kBatch * 512);
    std::array<mmsghdr, kBatch> in{};
    std::array<iovec, kBatch> in_iov{};
    for (unsigned i = 0; i < kBatch; ++i) {
      in_iov[i] = {replies.data() + i * 512, 512};
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const auto started = Clock::now();
    const auto until = started + std::chrono::seconds(5);
    for (long round = 0; sent < 5'000'000 && !stop && Clock::now() < until; ++round) {
      if (kFloodCap != 0) {
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        if (static_cast<double>(sent) > kFloodCap * seconds) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
      }
      const int fd = fds[round % kSockets];
      const int n = sendmmsg(fd, out.data(), kBatch, 0);
      if (n > 0) sent += n;
      for (const int each : fds) {
        int got = 0;
        while ((got = recvmmsg(each, in.data(), kBatch, MSG_DONTWAIT, nullptr)) > 0) {
          received += got;
        }
      }
    }
    flood_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    for (const int fd : fds) close(fd);
  });
  // A probe is a client as resolvers are: 200 ms per try, three tries. Beyond what the server
  // can take the kernel drops datagrams from a full socket buffer, the probe's among them, so a
  // first try may go unanswered; a retry must not.
  int probes = 0, answered = 0, first_try = 0;
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < until && probes < 250) {
    ++probes;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (a_records(port, "httpbin.istio-testing.global.", 200) ==
          std::vector<std::string>{"240.0.0.2"}) {
        ++answered;
        if (attempt == 0) ++first_try;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  flood.join();
  const ProcessUse after = process_use(server.pid());
  std::printf(
      "flood: %ld datagrams sent in %.1f s (%.0f/s), %ld replies; probes answered %d of %d "
      "(%d at the first try); RSS %ld -> %ld kB, fds %ld -> %ld\n",
      sent.load(), flood_seconds.load(),
      static_cast<double>(sent.load()) / std::max(flood_seconds.load(), 1e-3), received.load(),
      answered, probes, first_try, before.rss_kb, after.rss_kb, before.fds, after.fds);
  EXPECT_TRUE(server.running()) << server.log();
  EXPECT_GT(sent.load(), 10'000);
  EXPECT_GT(received.load(), 0);
  // Valid queries keep their answers: the flood shares the workers, it does not stop them.
  EXPECT_GE(answered * 100, probes * 98) << answered << " of " << probes;
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_LE(after.rss_kb, before.rss_kb + 4096);  // nothing grows per query
  EXPECT_EQ(a_records(port, "httpbin.istio-testing.global."),
            std::vector<std::string>{"240.0.0.2"});
}

// 10,000 TCP connections beyond the cap (100 here), each expecting to be closed at once, while
// the 100 that fill the cap stay open: descriptors and memory stay bounded, and UDP and a TCP
// client that gets a freed slot are still answered.
TEST(Abuse, TenThousandTcpConnectionsBeyondTheCapAreClosedAndNothingGrows) {
  const fs::path dir = fs::temp_directory_path() / ("globaldns-tcpcap-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream config(dir / "globaldns.yaml");
    config << "tcp:\n  max_connections: 100\n  idle_timeout_ms: 60000\n";
  }
  ServerProcess server(kBinary,
                       {"serve", "--config", (dir / "globaldns.yaml").string(), "--files",
                        kExamples, "--threads", "2"},
                       dir / "server.log");
  const uint16_t port = server.port();
  ASSERT_GE(wait_until_serving_examples(port).count(), 0) << server.log();
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  std::vector<uint8_t> frame = {static_cast<uint8_t>(query.size() >> 8),
                                static_cast<uint8_t>(query.size())};
  frame.insert(frame.end(), query.begin(), query.end());
  const auto connect_to_server = [&] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto a = loopback(port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  };
  // Fill the cap; an answer on each proves it was accepted and counted.
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    const int fd = connect_to_server();
    ASSERT_GE(fd, 0);
    held.push_back(fd);
    ASSERT_EQ(send(fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
    uint8_t reply[512];
    ASSERT_GT(recv(fd, reply, sizeof reply, 0), 0) << "connection " << i;
  }
  const ProcessUse before = process_use(server.pid());

  int closed_at_once = 0, attempts = 0;
  const auto until = Clock::now() + std::chrono::seconds(30);
  for (; attempts < 10'000 && Clock::now() < until; ++attempts) {
    const int fd = connect_to_server();
    if (fd < 0) continue;
    uint8_t byte;
    if (recv(fd, &byte, 1, 0) == 0) ++closed_at_once;  // EOF: accepted and closed
    close(fd);
  }
  const ProcessUse after = process_use(server.pid());
  // A freed slot is usable again (once the server has seen the close).
  close(held.back());
  held.pop_back();
  const auto tcp_answered = wait_for([&] { return !tcp_exchange(port, query).empty(); });
  std::printf(
      "tcp cap 100: %d of %d attempts beyond it closed at once; RSS %ld -> %ld kB, fds "
      "%ld -> %ld\n",
      closed_at_once, attempts, before.rss_kb, after.rss_kb, before.fds, after.fds);
  for (const int fd : held) close(fd);
  EXPECT_EQ(attempts, 10'000);
  EXPECT_EQ(closed_at_once, attempts);
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_LE(after.rss_kb, before.rss_kb + 4096);
  EXPECT_GE(tcp_answered.count(), 0) << server.log();
  EXPECT_EQ(a_records(port, "httpbin.istio-testing.global."),
            std::vector<std::string>{"240.0.0.2"});
  EXPECT_TRUE(server.running()) << server.log();
  fs::remove_all(dir);
}

// gRPC is off unless asked for (ServerProcess's default); asked for on port 0, its bound port is
// logged, and it listens there. What it answers: tests/integration/grpc_test.py.
// A non-blocking UDP socket bound to `source` (every 127/8 address is local on Linux).
int udp_socket_from(const char* source) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, source, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The value of an unlabelled sample on a /metrics page; -1 when it is missing.
long metric_value(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atol(page.c_str() + at + name.size() + 2);
}

// Response rate limiting at 20 per second, slip 2: a burst of 400 UDP queries from 127.0.0.1
// gets a second's worth of full answers (plus what refilled during the burst); of the rest,
// every second one comes back as an empty TC reply mirroring the question, the others get
// nothing. Meanwhile another /24 (127.0.1.1) is answered in full, as is TCP from the limited
// prefix, and /metrics counts exactly what was dropped and slipped.
TEST(Rrl, UdpOverTheLimitIsSlippedOrDroppedWhileOtherPrefixesAndTcpAreServed) {
  const fs::path log = fs::temp_directory_path() / ("globaldns-rrl-" + std::to_string(getpid()));
  ServerProcess server(kBinary,
                       {"serve", "--files", kExamples, "--threads", "2",
                        "--rrl-responses-per-second", "20", "--rrl-slip", "2"},
                       log);
  const uint16_t port = server.port();
  ASSERT_GE(wait_until_serving_examples(port).count(), 0) << server.log();
  const uint16_t metrics_port = server.http_port("/metrics");
  ASSERT_NE(metrics_port, 0) << server.log();
  EXPECT_NE(server.log().find("response rate limiting on: 20 UDP responses per second per /24"),
            std::string::npos)
      << server.log();
  // The polls above were answered from 127.0.0.0/24 too: let its bucket fill up again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));

  const int limited = udp_socket_from("127.0.0.1");
  const int other = udp_socket_from("127.0.1.1");
  ASSERT_GE(limited, 0);
  ASSERT_GE(other, 0) << "127.0.1.1 is not a local address here";
  const int bigger = 1 << 20;
  setsockopt(limited, SOL_SOCKET, SO_RCVBUF, &bigger, sizeof bigger);
  const auto to = loopback(port);
  auto query_with_id = [](uint16_t id) {
    auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
    q[0] = static_cast<uint8_t>(id >> 8);
    q[1] = static_cast<uint8_t>(id);
    return q;
  };
  constexpr int kBurst = 400;
  constexpr int kOther = 15;  // under the other prefix's burst of 20
  int full = 0, tc = 0, other_full = 0, bad = 0;
  std::string why_bad;
  std::vector<uint8_t> reply(65535);
  const auto burst_start = Clock::now();
  auto last_reply = burst_start;
  auto drain = [&] {
    for (int fd : {limited, other}) {
      for (;;) {
        const ssize_t n = recv(fd, reply.data(), reply.size(), 0);
        if (n <= 0) break;
        last_reply = Clock::now();
        auto pkt = decode(reply.data(), static_cast<size_t>(n));
        const uint16_t id = static_cast<uint16_t>(reply[0] << 8 | reply[1]);
        const auto sent = query_with_id(id);
        const bool question_mirrored =
            static_cast<size_t>(n) >= sent.size() &&
            std::equal(sent.begin() + 12, sent.end(), reply.begin() + 12);
        if (!pkt || !question_mirrored || ldns_pkt_get_rcode(pkt.get()) != LDNS_RCODE_NOERROR) {
          ++bad;
          why_bad = "undecodable or foreign reply";
        } else if (ldns_pkt_tc(pkt.get())) {
          if (fd == other || ldns_pkt_ancount(pkt.get()) != 0 || ldns_pkt_nscount(pkt.get()) != 0 ||
              ldns_pkt_arcount(pkt.get()) != 0 || static_cast<size_t>(n) != sent.size()) {
            ++bad;
            why_bad = "a TC reply with records, or to the other prefix";
          } else {
            ++tc;
          }
        } else if (ldns_pkt_ancount(pkt.get()) == 1) {
          ++(fd == limited ? full : other_full);
        } else {
          ++bad;
          why_bad = "a reply without TC and without the answer";
        }
      }
    }
  };
  for (int i = 0; i < kBurst; ++i) {
    const auto q = query_with_id(static_cast<uint16_t>(i));
    ASSERT_EQ(
        sendto(limited, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(q.size()));
    if (i % (kBurst / kOther) == 0 && i / (kBurst / kOther) < kOther) {
      const auto o = query_with_id(static_cast<uint16_t>(10000 + i));
      sendto(other, o.data(), o.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    drain();
  }
  // Then until half a second passes with nothing more (at most 5 s).
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  int quiet_ms = 0;
  while (quiet_ms < 500 && Clock::now() < give_up) {
    const int before = full + tc + other_full + bad;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    drain();
    quiet_ms = full + tc + other_full + bad == before ? quiet_ms + 50 : 0;
  }
  close(limited);
  close(other);
  // The server saw the burst within this window at most: what refilled meanwhile may pass.
  const double burst_seconds = std::chrono::duration<double>(last_reply - burst_start).count();
  const int withheld = kBurst - full;
  std::printf(
      "rrl: burst of %d, replies within %.3f s: %d full, %d TC, %d nothing; other prefix %d of "
      "%d\n",
      kBurst, burst_seconds, full, tc, withheld - tc, other_full, kOther);
  EXPECT_EQ(bad, 0) << why_bad;
  EXPECT_GE(full, 20);  // a full bucket: one second's worth at once
  EXPECT_LE(full, 20 + static_cast<int>(20 * burst_seconds) + 2);
  // Slip 2: every second withheld response is a TC reply, exactly, as nothing was lost on
  // loopback; allow one either way for a poll that was limited before the burst.
  EXPECT_NEAR(tc, withheld / 2, 1) << "withheld " << withheld;
  EXPECT_EQ(other_full, kOther);

  // TCP proves the client's address: never limited, even while UDP from its /24 is.
  const auto over_tcp = tcp_exchange(port, query_with_id(7));
  auto pkt = decode(over_tcp.data(), over_tcp.size());
  ASSERT_TRUE(pkt);
  EXPECT_FALSE(ldns_pkt_tc(pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), 1);

  const HttpReply page = http_get(metrics_port, "/metrics");
  ASSERT_EQ(page.status, 200);
  EXPECT_NEAR(metric_value(page.body, "globaldns_dns_rrl_slipped_total"), tc, 1) << page.body;
  EXPECT_NEAR(metric_value(page.body, "globaldns_dns_rrl_dropped_total"), withheld - tc, 1)
      << page.body;
  EXPECT_TRUE(server.running()) << server.log();
  const auto status = server.stop();
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << server.log();
  EXPECT_NE(server.log().find("response rate limiting: "), std::string::npos) << server.log();
  fs::remove(log);
}

TEST(Startup, GrpcOnPortZeroLogsTheBoundPort) {
  const fs::path dir = fs::temp_directory_path() / ("globaldns-grpc-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    ServerProcess off(kBinary, {"serve", "--files", kExamples}, dir / "off.log");
    EXPECT_EQ(off.grpc_port(std::chrono::milliseconds(500)), 0) << off.log();
    ServerProcess on(kBinary, {"serve", "--files", kExamples, "--grpc", "127.0.0.1:0"},
                     dir / "on.log");
    const uint16_t port = on.grpc_port();
    ASSERT_NE(port, 0) << on.log();
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    auto a = loopback(port);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
    close(fd);
    EXPECT_NE(on.log().find("serving gRPC on 127.0.0.1:" + std::to_string(port) + " (plaintext)"),
              std::string::npos)
        << on.log();
  }
  fs::remove_all(dir);
}

TEST(Check, PrintsWhatIsServedAndWhatIsSkipped) {
  int code = -1;
  const auto out = run_command(kBinary + " check --files " + kExamples, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has_line(out, "httpbin.istio-testing.global. 30 IN A 240.0.0.2")) << out;
  EXPECT_NE(out.find("10.1.2.3"), std::string::npos) << out;         // outside the allowed range
  EXPECT_NE(out.find("api.example.com"), std::string::npos) << out;  // outside the zone
  EXPECT_NE(out.find("NONE"), std::string::npos) << out;
}

}  // namespace
}  // namespace globaldns::testing
