// Tests of validate() on Configs built in code.
#include "config/validate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace globaldns::config {
namespace {

TEST(Validate, ReportsEveryBadValueWithItsKey) {
  Config c;
  c.listen = {"127.0.0.1:53", "localhost:53"};
  c.zones.clear();
  c.edns_udp_size = 100;
  c.soa.rname = "a..b";
  c.allow_cidrs = {"240.0.0.1/8"};
  c.log.level = static_cast<LogLevel>(9);
  EXPECT_EQ(validate(c),
            (std::vector<std::string>{
                "listen[1]: expected ADDR:PORT such as 127.0.0.1:5353 or [::1]:5353, got "
                "\"localhost:53\" (\"localhost\" is not an IPv4 address)",
                "zones: expected at least 1 item, got an empty list",
                "allow_cidrs[0]: expected a CIDR such as 240.0.0.0/8 or fd00::/8, got "
                "\"240.0.0.1/8\" (host bits are set; the network is 240.0.0.0/8)",
                "edns_udp_size: expected an integer from 512 to 4096, got \"100\"",
                "soa.rname: expected a domain name, got \"a..b\" (empty label)",
                "log.level: expected one of trace, debug, info, warn, error, got \"9\"",
            }));
}

TEST(Validate, KubernetesSettingsThatOnlyWorkTogether) {
  Config c;
  c.kubernetes.contexts = {"cluster2"};
  c.kubernetes.retry_initial_ms = 5000;
  c.kubernetes.retry_max_ms = 1000;
  EXPECT_EQ(validate(c),
            (std::vector<std::string>{
                "kubernetes.contexts: name contexts of a kubeconfig; set kubernetes.kubeconfig",
                "kubernetes.retry_initial_ms: larger than kubernetes.retry_max_ms (1000)",
            }));
  c.kubernetes.kubeconfig = "/etc/kube/config";
  c.kubernetes.retry_initial_ms = 1000;
  EXPECT_TRUE(validate(c).empty());
}

TEST(Validate, GrpcListenerTakesEveryInterfaceOrOff) {
  Config c;
  EXPECT_EQ(c.grpc, ":8053");
  for (const char* ok : {":8053", "off", "127.0.0.1:0", "[::]:8053"}) {
    c.grpc = ok;
    EXPECT_TRUE(validate(c).empty()) << ok;
  }
  c.grpc = "localhost:8053";
  EXPECT_EQ(validate(c),
            std::vector<std::string>{
                "grpc: expected ADDR:PORT such as 127.0.0.1:8053 or [::1]:8053, :PORT for every "
                "interface, or off, got \"localhost:8053\" (\"localhost\" is not an IPv4 "
                "address)"});
  c.grpc = "OFF";
  EXPECT_EQ(validate(c).size(), 1u);
}

TEST(Validate, RateLimitingIsOffByDefaultAndItsSettingsAreChecked) {
  Config c;
  EXPECT_EQ(c.rrl.responses_per_second, 0u);  // off
  EXPECT_EQ(c.rrl.slip, 2u);
  EXPECT_EQ(c.rrl.ipv4_prefix, 24u);
  EXPECT_EQ(c.rrl.ipv6_prefix, 56u);
  EXPECT_EQ(c.rrl.table_size, 65536u);
  c.rrl.responses_per_second = 1000001;
  c.rrl.slip = 11;
  c.rrl.ipv4_prefix = 0;
  c.rrl.ipv6_prefix = 129;
  c.rrl.table_size = 1000;
  EXPECT_EQ(validate(c), (std::vector<std::string>{
                             "rrl.responses_per_second: expected an integer from 0 to 1000000, got "
                             "\"1000001\"",
                             "rrl.slip: expected an integer from 0 to 10, got \"11\"",
                             "rrl.ipv4_prefix: expected an integer from 1 to 32, got \"0\"",
                             "rrl.ipv6_prefix: expected an integer from 1 to 128, got \"129\"",
                             "rrl.table_size: 1000 is not a power of two; use 512 or 1024",
                         }));
  c.rrl = {.responses_per_second = 20,
           .slip = 0,
           .ipv4_prefix = 32,
           .ipv6_prefix = 128,
           .table_size = 1};
  EXPECT_TRUE(validate(c).empty());
  c.rrl.table_size = 4194304 * 2;  // too large: the range says so, not the power-of-two check
  EXPECT_EQ(validate(c),
            std::vector<std::string>{"rrl.table_size: expected an integer from 1 to 4194304, got "
                                     "\"8388608\""});
}

// Readable files in a fresh directory, removed at the end of the test.
class GrpcTlsFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("globaldns-validate-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    for (const char* name : {"cert.pem", "key.pem", "ca.pem"}) std::ofstream(dir_ / name) << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(GrpcTlsFiles, CertAndKeyGoTogether) {
  Config c;
  c.grpc_tls.cert = path("cert.pem");
  EXPECT_EQ(validate(c), std::vector<std::string>{
                             "grpc_tls.cert: needs grpc_tls.key, the certificate's private key"});
  c.grpc_tls = {};
  c.grpc_tls.key = path("key.pem");
  EXPECT_EQ(validate(c), std::vector<std::string>{
                             "grpc_tls.key: needs grpc_tls.cert, the certificate it belongs to"});
  c.grpc_tls.cert = path("cert.pem");
  EXPECT_TRUE(validate(c).empty());
}

TEST_F(GrpcTlsFiles, ClientCaNeedsTls) {
  Config c;
  c.grpc_tls.client_ca = path("ca.pem");
  EXPECT_EQ(validate(c), std::vector<std::string>{"grpc_tls.client_ca: client certificates need "
                                                  "TLS; set grpc_tls.cert and grpc_tls.key"});
  c.grpc_tls.cert = path("cert.pem");
  c.grpc_tls.key = path("key.pem");
  EXPECT_TRUE(validate(c).empty());
}

TEST_F(GrpcTlsFiles, FilesMustBeReadable) {
  Config c;
  c.grpc_tls.cert = path("cert.pem");
  c.grpc_tls.key = path("missing-key.pem");
  c.grpc_tls.client_ca = path("missing-ca.pem");
  EXPECT_EQ(validate(c), (std::vector<std::string>{
                             "grpc_tls.key: cannot read " + path("missing-key.pem") +
                                 ": No such file or directory",
                             "grpc_tls.client_ca: cannot read " + path("missing-ca.pem") +
                                 ": No such file or directory",
                         }));
}

}  // namespace
}  // namespace globaldns::config
