// Integration tests of the operators' diagnostics: /explain and /zone on the real server's
// health listener, and `globaldns explain` against it and offline, which must say the same.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.hpp"
#include "tests/support/ldns_check.hpp"  // ldns last: its headers redefine bool for C

namespace {

namespace fs = std::filesystem;
using globaldns::testing::http_get;
using globaldns::testing::HttpReply;
using globaldns::testing::run_command;
using globaldns::testing::ServerProcess;

const std::string kBinary = GLOBALDNS_BINARY;
const std::string kSourceDir = GLOBALDNS_SOURCE_DIR;

// One file with an entry for each way a name is, or is not, served.
const char* const kEntries = R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: httpbin, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: [httpbin.ns.global], addresses: [240.0.0.1, 240.0.0.2], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: wild, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: ["*.wild.global"], addresses: [240.0.0.9], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: outside, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: [out.ns.global], addresses: [10.0.0.1], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: none, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: [none.ns.global], addresses: [240.0.0.3], resolution: NONE}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: old, namespace: ns, creationTimestamp: "2020-01-01T00:00:00Z"}
spec: {hosts: [c.ns.global], addresses: [240.0.0.5], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: new, namespace: other, creationTimestamp: "2021-01-01T00:00:00Z"}
spec: {hosts: [c.ns.global], addresses: [240.0.0.6], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: bad, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: [bad_host.ns.global], addresses: [240.0.0.7], resolution: DNS}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: elsewhere, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: [a.example.com], addresses: [240.0.0.8], resolution: DNS}
)";

struct Case {
  std::string name;
  unsigned status;      // of /explain
  int exit_code;        // of `globaldns explain`
  std::string expects;  // a piece of the text
};

const std::vector<Case> kCases = {
    {"httpbin.ns.global", 200, 0,
     "httpbin.ns.global: served by ServiceEntry ns/httpbin (" /* origin follows */},
    {"HTTPBIN.NS.GLOBAL.", 200, 0, "  A    240.0.0.1 240.0.0.2 (TTL 30)\n"},
    {"x.wild.global", 200, 0, "through the wildcard *.wild.global"},
    {"c.ns.global", 200, 0, "other/new ("},
    {"out.ns.global", 404, 1, "address 10.0.0.1 is outside the allowed ranges 240.0.0.0/8"},
    {"none.ns.global", 404, 1, "resolution_none: the whole entry: resolution NONE"},
    {"bad_host.ns.global", 404, 1, "invalid_host: bad_host.ns.global"},
    {"a.example.com", 404, 1, "REFUSED, outside every served zone (global.)"},
    {"ns.global", 404, 1, "an empty non-terminal"},
    {"nothere.ns.global", 404, 1, "served names like it: "},
};

class ExplainServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("globaldns-explain-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "entries.yaml") << kEntries;
    server_ = new ServerProcess(kBinary, {"serve", "--files", file()}, dir_ / "server.log");
    http_port_ = server_->http_port("/explain");
    ASSERT_NE(http_port_, 0) << server_->log();
    // Bounded wait for the first snapshot.
    for (int i = 0; i < 250 && http_get(http_port_, "/zone").status != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(http_get(http_port_, "/zone").status, 200) << server_->log();
  }
  static void TearDownTestSuite() {
    server_->stop();
    delete server_;
    fs::remove_all(dir_);
  }
  static std::string file() { return (dir_ / "entries.yaml").string(); }
  // stdout only: the offline run logs the skipped objects on stderr.
  static std::string explain(const std::string& args, int& exit_code) {
    return run_command("sh -c '" + kBinary + " explain " + args + " 2>/dev/null'", &exit_code);
  }

  static inline ServerProcess* server_ = nullptr;
  static inline fs::path dir_;
  static inline uint16_t http_port_ = 0;
};

TEST_F(ExplainServer, EndpointCommandAndOfflineSayTheSameForEveryCase) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const HttpReply reply = http_get(http_port_, "/explain?name=" + c.name);
    EXPECT_EQ(reply.status, c.status) << reply.body;
    EXPECT_NE(reply.body.find(c.expects), std::string::npos) << reply.body;

    int remote_exit = -1;
    const std::string remote =
        explain(c.name + " --server 127.0.0.1:" + std::to_string(http_port_), remote_exit);
    EXPECT_EQ(remote_exit, c.exit_code);
    EXPECT_EQ(remote, reply.body);

    int offline_exit = -1;
    const std::string offline = explain(c.name + " --offline --files " + file(), offline_exit);
    EXPECT_EQ(offline_exit, c.exit_code);
    EXPECT_EQ(offline, reply.body);

    // --files alone means offline, too.
    int files_exit = -1;
    EXPECT_EQ(explain(c.name + " --files " + file(), files_exit), reply.body);
    EXPECT_EQ(files_exit, c.exit_code);
  }
}

TEST_F(ExplainServer, JsonFormatCarriesTheReasonLabels) {
  const HttpReply reply = http_get(http_port_, "/explain?name=out.ns.global&format=json");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_NE(reply.body.find("\"served\":false"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("\"reason\":\"address_outside_allowed\""), std::string::npos)
      << reply.body;
  int exit_code = -1;
  EXPECT_EQ(explain("out.ns.global --json --offline --files " + file(), exit_code), reply.body);
  EXPECT_EQ(exit_code, 1);
}

TEST_F(ExplainServer, PercentEncodedNamesAndBadRequests) {
  EXPECT_EQ(http_get(http_port_, "/explain?name=%2A.wild.global").status, 200u);
  EXPECT_EQ(http_get(http_port_, "/explain").status, 400u);
  EXPECT_EQ(http_get(http_port_, "/explain?name=").status, 400u);
  EXPECT_EQ(http_get(http_port_, "/explain?name=a.global&format=xml").status, 400u);
  EXPECT_EQ(http_get(http_port_, "/explain?name=%zz").status, 400u);
}

TEST_F(ExplainServer, CommandUsageAndConnectionErrorsExitTwo) {
  int exit_code = -1;
  explain("", exit_code);
  EXPECT_EQ(exit_code, 2);
  explain("a.global b.global --offline --files " + file(), exit_code);
  EXPECT_EQ(exit_code, 2);
  explain("a.global --offline --server 127.0.0.1:1", exit_code);
  EXPECT_EQ(exit_code, 2);
  // Nothing listens on port 1 of loopback.
  const std::string out =
      run_command(kBinary + " explain a.global --server 127.0.0.1:1", &exit_code);
  EXPECT_EQ(exit_code, 2);
  EXPECT_NE(out.find("cannot ask the server"), std::string::npos) << out;
}

// /zone is what `check` exports (but for the SOA serial, a time on the server), and every line
// is a record ldns reads back.
TEST_F(ExplainServer, ZoneIsTheSnapshotAsRecordsLdnsReads) {
  const HttpReply reply = http_get(http_port_, "/zone");
  ASSERT_EQ(reply.status, 200u);
  std::set<std::string> served;
  std::istringstream lines(reply.body);
  std::string line;
  size_t records = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr), LDNS_STATUS_OK) << line;
    if (rr != nullptr) {
      ++records;
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) served.insert(line);
      ldns_rr_free(rr);
    }
  }
  EXPECT_EQ(records, 6u);  // SOA, NS, two A of httpbin, the wildcard's A, c's A
  EXPECT_EQ(served.count("httpbin.ns.global.\t30\tIN\tA\t240.0.0.1"), 1u) << reply.body;
  EXPECT_EQ(served.count("*.wild.global.\t30\tIN\tA\t240.0.0.9"), 1u) << reply.body;
  EXPECT_EQ(served.count("c.ns.global.\t30\tIN\tA\t240.0.0.5"), 1u) << reply.body;

  int exit_code = -1;
  const std::string check =
      run_command("sh -c '" + kBinary + " check --files " + file() + " 2>/dev/null'", &exit_code);
  std::set<std::string> checked;
  std::istringstream check_lines(check);
  while (std::getline(check_lines, line)) {
    if (line.empty() || line[0] == ';' || line.find("\tSOA\t") != std::string::npos) continue;
    checked.insert(line);
  }
  EXPECT_EQ(served, checked) << check;
}

// The README's "can't find" examples are what the command prints for the example entries.
TEST(ExplainReadme, ExamplesAreTrue) {
  std::ifstream in(kSourceDir + "/README.md");
  std::string line;
  bool in_section = false;
  bool in_block = false;
  std::string name;
  std::string expected;
  size_t checked = 0;
  const auto check = [&] {
    if (name.empty()) return;
    int exit_code = -1;
    const std::string out = run_command("sh -c 'cd " + kSourceDir + " && " + kBinary + " explain " +
                                            name + " --files deploy/examples/serviceentries.yaml'",
                                        &exit_code);
    EXPECT_EQ(out, expected) << name;
    ++checked;
    name.clear();
    expected.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line.find("can't find") != std::string::npos;
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      check();
      in_block = !in_block;
      continue;
    }
    if (!in_block) continue;
    const std::string prompt = "$ globaldns explain ";
    if (line.rfind(prompt, 0) == 0) {
      check();
      name = line.substr(prompt.size());
    } else {
      expected += line + "\n";
    }
  }
  EXPECT_EQ(checked, 3u);
}

// Before the first snapshot: 503 for /zone, and /explain says every query gets SERVFAIL.
TEST(ExplainBeforeFirstSnapshot, ZoneIsUnavailableAndExplainSaysServfail) {
  const fs::path dir =
      fs::temp_directory_path() / ("globaldns-explain-early-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "broken.yaml") << "kind: [unclosed\n";
  {
    ServerProcess server(kBinary, {"serve", "--files", (dir / "broken.yaml").string()},
                         dir / "server.log");
    const uint16_t port = server.http_port("/zone");
    ASSERT_NE(port, 0) << server.log();
    const HttpReply zone = http_get(port, "/zone");
    EXPECT_EQ(zone.status, 503u);
    EXPECT_NE(zone.body.find("no snapshot published yet"), std::string::npos) << zone.body;
    const HttpReply explained = http_get(port, "/explain?name=a.global");
    EXPECT_EQ(explained.status, 503u);
    EXPECT_NE(explained.body.find("SERVFAIL"), std::string::npos) << explained.body;
    int exit_code = -1;
    run_command(kBinary + " explain a.global --server 127.0.0.1:" + std::to_string(port),
                &exit_code);
    EXPECT_EQ(exit_code, 1);
  }
  fs::remove_all(dir);
}

}  // namespace
