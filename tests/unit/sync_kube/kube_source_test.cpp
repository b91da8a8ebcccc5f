// Tests of KubeSource: discovery of the served version against the fake API server, then data.
#include "sync/kube/kube_source.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/sync_kube/fake_server.hpp"

namespace globaldns::sync::kube {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fakes::FakeServer;
using fakes::kToken;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string se_json(const std::string& name, const std::string& host) {
  boost::json::object md{{"name", name}, {"namespace", "ns1"}};
  boost::json::object spec{{"hosts", boost::json::array{host}},
                           {"addresses", boost::json::array{"240.0.0.9"}}};
  return boost::json::serialize(boost::json::object{{"apiVersion", "networking.istio.io/v1beta1"},
                                                    {"kind", "ServiceEntry"},
                                                    {"metadata", md},
                                                    {"spec", spec}});
}

// One fake API server per test: each needs its own served versions.
class KubeSourceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (source_) source_->stop();
    source_.reset();
    io_.restart();
    io_.run_for(50ms);
    server_.stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void start_server(const std::vector<std::string>& flags) {
    dir_ =
        fs::temp_directory_path() / std::string("globaldns_ksrc_").append(std::to_string(getpid()));
    fs::create_directories(dir_);
    globaldns::testing::FakeKubeOptions options;
    options.extra_args = flags;
    ASSERT_TRUE(server_.start(dir_ / "certs", options)) << "fake API server did not start";
  }

  KubeSourceOptions options(std::string token, std::string pinned = {}) const {
    KubeSourceOptions o;
    o.name = "kubernetes/test";
    o.credentials.host = "127.0.0.1";
    o.credentials.port = static_cast<uint16_t>(server_.api());
    o.credentials.ca_pem = read_file(dir_ / "certs" / "ca.crt");
    o.credentials.token.token = std::move(token);
    o.credentials.origin = "test";
    o.pinned_version = std::move(pinned);
    o.reflector.watch_timeout_seconds = 30;
    o.reflector.backoff.initial = 100ms;
    o.reflector.backoff.cap = 400ms;
    return o;
  }

  void start_source(KubeSourceOptions o) {
    source_ = std::make_unique<KubeSource>(
        io_, std::move(o),
        [this](StoreChange change) {
          ++changes_;
          entries_ = change.upserts.size();
          if (!change.upserts.empty()) origin_ = change.upserts.front().origin().text();
        },
        [this](const SourceStatus& status) { last_status_ = status; });
    source_->start();
  }

  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds bound = 10s) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(10ms);
    }
    return done();
  }

  uint64_t requests() const {
    const std::string body = server_.control("/stats", "{}");
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec || !value.is_object()) return 0;
    return static_cast<uint64_t>(value.at("total").to_number<int64_t>());
  }

  boost::asio::io_context io_;
  fs::path dir_;
  FakeServer server_;
  std::unique_ptr<KubeSource> source_;
  size_t changes_ = 0;
  size_t entries_ = 0;
  std::string origin_;
  SourceStatus last_status_;
};

TEST_F(KubeSourceTest, DiscoveryTakesThePreferredServedVersion) {
  start_server({"--versions", "v1beta1,v1alpha3", "--preferred", "v1beta1"});
  server_.control("/apply", se_json("a", "a.ns1.global"));
  start_source(options(kToken));
  ASSERT_TRUE(run_until([&] { return changes_ >= 1; }));
  EXPECT_EQ(source_->status().version, "v1beta1");
  EXPECT_EQ(entries_, 1u);
  EXPECT_EQ(origin_, "kubernetes/test");  // conflicts and skips name the source
  EXPECT_TRUE(source_->status().sync.synced_once);
}

TEST_F(KubeSourceTest, PinnedVersionIsUsedWhenServed) {
  start_server({"--versions", "v1,v1beta1,v1alpha3", "--preferred", "v1"});
  server_.control("/apply", se_json("a", "a.ns1.global"));
  start_source(options(kToken, "v1alpha3"));
  ASSERT_TRUE(run_until([&] { return changes_ >= 1; }));
  EXPECT_EQ(source_->status().version, "v1alpha3");
}

TEST_F(KubeSourceTest, PinnedVersionNotServedIsAClearErrorRetriedWithBackoff) {
  start_server({"--versions", "v1beta1", "--preferred", "v1beta1"});
  server_.control("/stats", R"({"reset":true})");
  start_source(options(kToken, "v1"));
  ASSERT_TRUE(run_until([&] { return !last_status_.sync.last_error.empty(); }));
  EXPECT_NE(last_status_.sync.last_error.find("pinned version v1"), std::string::npos)
      << last_status_.sync.last_error;
  EXPECT_NE(last_status_.sync.last_error.find("v1beta1"), std::string::npos);
  run_until([] { return false; }, 1500ms);
  EXPECT_EQ(changes_, 0u);  // never ready on a version it was told not to use
  EXPECT_TRUE(source_->status().version.empty());
  // Delays of 100 ms doubling to 400 ms, each stretched by up to 2x: at most ~8 in 1.5 s,
  // and more than one (it does retry).
  const uint64_t n = requests();
  EXPECT_GE(n, 2u);
  EXPECT_LE(n, 10u);
}

TEST_F(KubeSourceTest, RefusedTokenIsNamedInTheStatus) {
  start_server({});
  start_source(options("not-the-token"));
  ASSERT_TRUE(run_until([&] { return !last_status_.sync.last_error.empty(); }));
  EXPECT_NE(last_status_.sync.last_error.find("401"), std::string::npos)
      << last_status_.sync.last_error;
  EXPECT_NE(last_status_.sync.last_error.find("token was refused"), std::string::npos);
  EXPECT_FALSE(last_status_.sync.synced_once);
}

}  // namespace
}  // namespace globaldns::sync::kube
