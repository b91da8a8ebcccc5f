// Tests of ApiClient (GET, keep-alive, watch streaming, stalls, TLS and fault handling) against
// fake_kube.
#include "sync/kube/api_client.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sync/kube/line_splitter.hpp"
#include "tests/unit/sync_kube/fake_server.hpp"

namespace globaldns::sync::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using fakes::kToken;
constexpr const char* kSe = "/apis/networking.istio.io/v1/serviceentries";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// The fake API server as a child process, stopped with SIGTERM.
using fakes::FakeServer;

std::string se_json(const std::string& name, const std::string& addr) {
  boost::json::object md{{"name", name}, {"namespace", "ns1"}};
  boost::json::object spec{{"hosts", boost::json::array{name + ".ns1.global"}},
                           {"addresses", boost::json::array{addr}},
                           {"resolution", "STATIC"}};
  return boost::json::serialize(boost::json::object{{"apiVersion", "networking.istio.io/v1"},
                                                    {"kind", "ServiceEntry"},
                                                    {"metadata", md},
                                                    {"spec", spec}});
}

class ApiClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("globaldns_kcli_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    server_ = new FakeServer();
    started_ = server_->start(*dir_ / "certs");
  }
  static void TearDownTestSuite() {
    server_->stop();
    delete server_;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(started_) << "fake API server did not start";
    server_->control("/reset", "{}");
  }

  ClusterCredentials creds() const {
    ClusterCredentials c;
    c.host = "127.0.0.1";
    c.port = static_cast<uint16_t>(server_->api());
    c.ca_pem = read_text(*dir_ / "certs" / "ca.crt");
    c.origin = "test";
    return c;
  }

  // Runs the loop until `done` or the bound passes.
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds bound = 10s) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(10ms);
    }
    return done();
  }

  Result<HttpResponse> get(ApiClient& client, const std::string& target) {
    std::optional<Result<HttpResponse>> out;
    client.get(target, std::chrono::steady_clock::now() + 5s,
               [&](Result<HttpResponse> r) { out.emplace(std::move(r)); });
    if (!run_until([&] { return out.has_value(); })) return Error{"test: no completion"};
    return std::move(*out);
  }

  asio::io_context io_;
  TokenSource token_{TokenSpec{kToken, {}}};

  static inline fs::path* dir_ = nullptr;
  static inline FakeServer* server_ = nullptr;
  static inline bool started_ = false;
};

TEST_F(ApiClientTest, DiscoveryGetAndKeepAlive) {
  ApiClient client(io_, creds(), token_);
  auto first = get(client, "/apis/networking.istio.io");
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("networking.istio.io"), std::string::npos);
  auto second = get(client, "/apis");
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->status, 200);
}

TEST_F(ApiClientTest, ReconnectsAfterServerDroppedConnection) {
  ApiClient client(io_, creds(), token_);
  ASSERT_TRUE(get(client, "/apis").ok());
  server_->control("/fault", R"({"drop_connections":true})");
  auto again = get(client, "/apis");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->status, 200);
}

TEST_F(ApiClientTest, WrongTokenGives401AndInvalidatesToken) {
  const fs::path file = *dir_ / "token";
  write_text(file, "wrong");
  TokenSource token(TokenSpec{{}, file});
  ApiClient client(io_, creds(), token);
  auto denied = get(client, "/apis");
  ASSERT_TRUE(denied.ok()) << denied.error();
  EXPECT_EQ(denied->status, 401);
  // Without invalidate() the file would not be read again for 60 s.
  write_text(file, kToken);
  auto allowed = get(client, "/apis");
  ASSERT_TRUE(allowed.ok()) << allowed.error();
  EXPECT_EQ(allowed->status, 200);
}

TEST_F(ApiClientTest, ListPageBodyReceivedWhole) {
  server_->control("/bulk", R"({"count":300,"namespaces":3})");
  ApiClient client(io_, creds(), token_);
  auto page = get(client, std::string(kSe).append("?limit=500"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->status, 200);
  auto value = boost::json::parse(page->body);
  EXPECT_EQ(value.at("items").as_array().size(), 300u);
}

TEST_F(ApiClientTest, BodyLimitIsAnError) {
  server_->control("/bulk", R"({"count":300,"namespaces":3})");
  ApiClientOptions options;
  options.max_body = 4096;
  ApiClient client(io_, creds(), token_, options);
  auto page = get(client, kSe);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().find("exceeds"), std::string::npos) << page.error();
}

TEST_F(ApiClientTest, WatchStreamsEventsAsLines) {
  server_->control("/apply", se_json("a", "240.0.0.1"));
  ApiClient client(io_, creds(), token_);
  LineSplitter splitter;
  std::vector<std::string> lines;
  std::optional<Result<HttpResponse>> end;
  bool applied = false;
  WatchHandle handle = client.watch(
      std::string(kSe).append("?watch=1"),
      [&](std::span<const char> bytes) {
        auto fed = splitter.feed(std::string_view(bytes.data(), bytes.size()),
                                 [&](std::string_view line) { lines.emplace_back(line); });
        EXPECT_TRUE(fed.ok());
        if (!applied && !lines.empty()) {
          applied = true;
          server_->control("/apply", std::string("{\"objects\":[")
                                         .append(se_json("b", "240.0.0.2"))
                                         .append(",")
                                         .append(se_json("c", "240.0.0.3"))
                                         .append("]}"));
        }
      },
      [&](Result<HttpResponse> r) { end.emplace(std::move(r)); }, 5s);
  ASSERT_TRUE(run_until([&] { return lines.size() >= 3 || end.has_value(); }));
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    auto event = boost::json::parse(lines[i]);
    EXPECT_EQ(event.at("type").as_string(), "ADDED");
    EXPECT_EQ(event.at("object").at("metadata").at("name").as_string(),
              std::string(1, static_cast<char>('a' + i)));
  }
  EXPECT_TRUE(handle.active());
  handle.cancel();
  ASSERT_TRUE(run_until([&] { return end.has_value(); }));
  ASSERT_FALSE(end->ok());
  EXPECT_EQ(end->error(), "watch cancelled");
  EXPECT_FALSE(handle.active());
}

TEST_F(ApiClientTest, WatchWithTimeoutSecondsEndsCleanly) {
  ApiClient client(io_, creds(), token_);
  std::optional<Result<HttpResponse>> end;
  const auto start = std::chrono::steady_clock::now();
  client.watch(
      std::string(kSe).append("?watch=1&timeoutSeconds=1"), [](std::span<const char>) {},
      [&](Result<HttpResponse> r) { end.emplace(std::move(r)); }, 5s);
  ASSERT_TRUE(run_until([&] { return end.has_value(); }));
  ASSERT_TRUE(end->ok()) << end->error();
  EXPECT_EQ((*end)->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(ApiClientTest, StalledWatchEndsAfterIdleTimeout) {
  server_->control("/fault", R"({"stall":true})");
  ApiClient client(io_, creds(), token_);
  std::optional<Result<HttpResponse>> end;
  const auto start = std::chrono::steady_clock::now();
  client.watch(
      std::string(kSe).append("?watch=1"), [](std::span<const char>) {},
      [&](Result<HttpResponse> r) { end.emplace(std::move(r)); }, 500ms);
  ASSERT_TRUE(run_until([&] { return end.has_value(); }));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(end->ok());
  EXPECT_NE(end->error().find("watch stalled"), std::string::npos) << end->error();
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 3s);
  server_->control("/fault", R"({"stall":false})");
}

TEST_F(ApiClientTest, WatchNon200ReportsStatusAndBody) {
  server_->control("/fault",
                   R"({"status":429,"count":1,"retry_after":3,"path_contains":"serviceentries"})");
  ApiClient client(io_, creds(), token_);
  std::optional<Result<HttpResponse>> end;
  client.watch(
      std::string(kSe).append("?watch=1"), [](std::span<const char>) {},
      [&](Result<HttpResponse> r) { end.emplace(std::move(r)); }, 5s);
  ASSERT_TRUE(run_until([&] { return end.has_value(); }));
  ASSERT_TRUE(end->ok()) << end->error();
  EXPECT_EQ((*end)->status, 429);
  EXPECT_EQ((*end)->retry_after.value_or(""), "3");
  EXPECT_NE((*end)->body.find("Too many requests"), std::string::npos);
}

TEST_F(ApiClientTest, TooManyRequestsShowsRetryAfter) {
  server_->control("/fault",
                   R"({"status":429,"count":1,"retry_after":7,"path_contains":"serviceentries"})");
  ApiClient client(io_, creds(), token_);
  auto limited = get(client, kSe);
  ASSERT_TRUE(limited.ok()) << limited.error();
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->retry_after.value_or(""), "7");
  auto after = get(client, kSe);
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(after->status, 200);
}

TEST_F(ApiClientTest, DeadlineIsAnError) {
  server_->control("/fault", R"({"list_delay":2})");
  ApiClient client(io_, creds(), token_);
  std::optional<Result<HttpResponse>> out;
  const auto start = std::chrono::steady_clock::now();
  client.get(kSe, start + 300ms, [&](Result<HttpResponse> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return out.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  server_->control("/fault", R"({"list_delay":0})");
  ASSERT_FALSE(out->ok());
  EXPECT_NE(out->error().find("timed out"), std::string::npos) << out->error();
  auto again = get(client, "/apis");  // a fresh connection replaces the timed-out one
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->status, 200);
}

TEST_F(ApiClientTest, WrongCaFailsVerification) {
  const fs::path other = *dir_ / "other";
  const std::string cmd = std::string(GLOBALDNS_SOURCE_DIR)
                              .append("/tests/fake_kube/make_certs.sh ")
                              .append(other.string())
                              .append(" >/dev/null 2>&1");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ClusterCredentials c = creds();
  c.ca_pem = read_text(other / "ca.crt");
  ApiClient client(io_, c, token_);
  auto denied = get(client, "/apis");
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().find("certificate verify failed"), std::string::npos) << denied.error();
}

TEST_F(ApiClientTest, ConnectRefusedIsAClearError) {
  server_->control("/fault", R"({"down":true})");
  ApiClient client(io_, creds(), token_);
  auto refused = get(client, "/apis");
  server_->control("/fault", R"({"up":true})");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("connect to 127.0.0.1:"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace globaldns::sync::kube
