// Tests of ClusterCredentials from a kubeconfig and from an in-cluster service account.
#include "sync/kube/credentials.hpp"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/sync_kube/credentials_test_util.hpp"

namespace globaldns::sync::kube {
namespace {

using testing::base64;
using testing::TempDir;
using testing::write_file;

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(FromKubeconfig, ReadsReferencedFilesRelativeToTheKubeconfig) {
  TempDir dir;
  write_file(dir.path() / "kube" / "ca.pem", "CA-PEM");
  write_file(dir.path() / "kube" / "client.crt", "CERT-PEM");
  write_file(dir.path() / "kube" / "client.key", "KEY-PEM");
  write_file(dir.path() / "kube" / "config", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://[fd00::1]:6443", certificate-authority: ca.pem}}]
users: [{name: u, user: {client-certificate: client.crt, client-key: client.key, tokenFile: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)");
  auto r = from_kubeconfig(dir.path() / "kube" / "config", "");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->host, "fd00::1");
  EXPECT_EQ(r->port, 6443);
  EXPECT_EQ(r->ca_pem, "CA-PEM");
  EXPECT_EQ(r->client_cert_pem, "CERT-PEM");
  EXPECT_EQ(r->client_key_pem, "KEY-PEM");
  EXPECT_EQ(r->token.token_file, dir.path() / "kube" / "t");
  EXPECT_EQ(r->namespace_, "default");
  EXPECT_EQ(r->verify, TlsVerify::On);
  EXPECT_EQ(join_host_port(r->host, r->port), "[fd00::1]:6443");
}

TEST(FromKubeconfig, InlineDataWinsAndNamespaceIsKept) {
  TempDir dir;
  write_file(dir.path() / "config",
             "current-context: x\n"
             "clusters: [{name: c, cluster: {server: 'https://h', "
             "certificate-authority: missing.pem, "
             "certificate-authority-data: " +
                 base64("INLINE") +
                 "}}]\n"
                 "contexts: [{name: x, context: {cluster: c, namespace: "
                 "ns1}}]\n");
  auto r = from_kubeconfig(dir.path() / "config", "x");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->ca_pem, "INLINE");
  EXPECT_EQ(r->namespace_, "ns1");
  EXPECT_FALSE(r->client_cert_pem);
  EXPECT_TRUE(r->token.empty());
}

TEST(FromKubeconfig, MissingCaFileIsNamed) {
  TempDir dir;
  write_file(dir.path() / "config", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h", certificate-authority: gone.pem}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  auto r = from_kubeconfig(dir.path() / "config", "");
  ASSERT_FALSE(r);
  EXPECT_NE(
      r.error().find("context \"x\": certificate-authority " + (dir.path() / "gone.pem").string()),
      std::string::npos)
      << r.error();
}

TEST(InCluster, ReadsEnvAndServiceAccountFiles) {
  TempDir dir;
  write_file(dir.path() / "token", "sa-token\n");
  write_file(dir.path() / "ca.crt", "CA");
  write_file(dir.path() / "namespace", "istio-system");
  auto r = from_in_cluster(
      fake_env({{"KUBERNETES_SERVICE_HOST", "fd00::a"}, {"KUBERNETES_SERVICE_PORT", "443"}}),
      dir.path());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->host, "fd00::a");
  EXPECT_EQ(r->port, 443);
  EXPECT_EQ(join_host_port(r->host, r->port), "[fd00::a]:443");
  EXPECT_EQ(r->token.token, "sa-token");
  EXPECT_EQ(r->token.token_file, dir.path() / "token");
  EXPECT_EQ(r->ca_pem, "CA");
  EXPECT_EQ(r->namespace_, "istio-system");
  EXPECT_EQ(r->verify, TlsVerify::On);
  EXPECT_EQ(join_host_port("10.0.0.1", 6443), "10.0.0.1:6443");
}

TEST(InCluster, MissingPiecesAreNamed) {
  TempDir dir;
  const auto env =
      fake_env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});

  auto no_env = from_in_cluster(fake_env({{"KUBERNETES_SERVICE_PORT", "443"}}), dir.path());
  ASSERT_FALSE(no_env);
  EXPECT_NE(no_env.error().find("KUBERNETES_SERVICE_HOST not set"), std::string::npos);
  auto no_both = from_in_cluster(fake_env({}), dir.path());
  ASSERT_FALSE(no_both);
  EXPECT_NE(no_both.error().find("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"),
            std::string::npos);
  auto bad_port = from_in_cluster(
      fake_env({{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "https"}}),
      dir.path());
  ASSERT_FALSE(bad_port);
  EXPECT_NE(bad_port.error().find("\"https\" is not a port"), std::string::npos);

  auto no_token = from_in_cluster(env, dir.path());
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.error().find((dir.path() / "token").string()), std::string::npos)
      << no_token.error();

  write_file(dir.path() / "token", "t");
  auto no_ca = from_in_cluster(env, dir.path());
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().find((dir.path() / "ca.crt").string()), std::string::npos)
      << no_ca.error();

  write_file(dir.path() / "ca.crt", "CA");
  auto no_namespace = from_in_cluster(env, dir.path());
  ASSERT_TRUE(no_namespace) << no_namespace.error();
  EXPECT_EQ(no_namespace->namespace_, "default");
}

}  // namespace
}  // namespace globaldns::sync::kube
