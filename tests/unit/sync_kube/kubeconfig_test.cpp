// Tests of kubeconfig parsing: field forms, context choice, rejected auth, and hostile input.
#include "sync/kube/kubeconfig.hpp"

#include <gtest/gtest.h>

#include "tests/unit/sync_kube/credentials_test_util.hpp"

namespace globaldns::sync::kube {
namespace {

using testing::base64;
using testing::TempDir;
using testing::write_file;

Result<KubeconfigContext> parse(const std::string& yaml, std::string_view context = {}) {
  return parse_kubeconfig(yaml, "/cfg", context, "/cfg/config");
}

const char* kTwoContexts = R"(
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c1
  cluster:
    server: https://c1.example:6443
    certificate-authority: ca.pem
- name: c2
  cluster:
    server: https://[fd00::1]:8443/k8s/clusters/c-2
    certificate-authority-data: aGVsbG8=
    tls-server-name: api.c2
users:
- name: u1
  user:
    token: tok-1
    tokenFile: tok/file
    client-certificate: /abs/client.crt
    client-key: keys/client.key
- name: u2
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
contexts:
- name: a
  context: {cluster: c1, user: u1}
- name: b
  context: {cluster: c2, user: u2, namespace: istio-system}
)";

TEST(Kubeconfig, CurrentContextWithFilePathsResolvedAgainstTheFilesDirectory) {
  auto r = parse(kTwoContexts);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->context_name, "a");
  EXPECT_EQ(r->server, "https://c1.example:6443");
  EXPECT_EQ(r->certificate_authority.file, std::filesystem::path("/cfg/ca.pem"));
  EXPECT_FALSE(r->certificate_authority.data);
  EXPECT_EQ(r->token, "tok-1");
  EXPECT_EQ(r->token_file, std::filesystem::path("/cfg/tok/file"));
  EXPECT_EQ(r->client_certificate.file, std::filesystem::path("/abs/client.crt"));
  EXPECT_EQ(r->client_key.file, std::filesystem::path("/cfg/keys/client.key"));
  EXPECT_EQ(r->verify, TlsVerify::On);
  EXPECT_EQ(r->namespace_, "");
}

TEST(Kubeconfig, ExplicitContextWithInlineData) {
  auto r = parse(kTwoContexts, "b");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->context_name, "b");
  EXPECT_EQ(r->cluster_name, "c2");
  EXPECT_EQ(r->certificate_authority.data, "hello");
  EXPECT_EQ(r->tls_server_name, "api.c2");
  EXPECT_EQ(r->client_certificate.data, "cert");
  EXPECT_EQ(r->client_key.data, "key");
  EXPECT_EQ(r->namespace_, "istio-system");
  EXPECT_TRUE(r->token.empty());
}

TEST(Kubeconfig, MissingContextListsTheKnownOnes) {
  auto r = parse(kTwoContexts, "prod");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "kubeconfig /cfg/config: context \"prod\" not found; contexts are: a, b");
}

TEST(Kubeconfig, NoCurrentContext) {
  auto r = parse("contexts: []\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("current-context is not set"), std::string::npos) << r.error();
}

TEST(Kubeconfig, MissingClusterAndUser) {
  const std::string base = R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h"}}]
users: [{name: u, user: {token: t}}]
)";
  auto no_cluster = parse(base + "contexts: [{name: x, context: {cluster: nope, user: u}}]\n");
  ASSERT_FALSE(no_cluster);
  EXPECT_NE(no_cluster.error().find("context \"x\": cluster \"nope\" not found; clusters are: c"),
            std::string::npos)
      << no_cluster.error();
  auto no_user = parse(base + "contexts: [{name: x, context: {cluster: c, user: nobody}}]\n");
  ASSERT_FALSE(no_user);
  EXPECT_NE(no_user.error().find("user \"nobody\" not found; users are: u"), std::string::npos)
      << no_user.error();
  auto anonymous = parse(base + "contexts: [{name: x, context: {cluster: c}}]\n");
  ASSERT_TRUE(anonymous) << anonymous.error();
  EXPECT_TRUE(anonymous->token.empty());
}

TEST(Kubeconfig, UnsupportedAuthIsNamed) {
  const std::string base = R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)";
  auto exec = parse(
      base +
      R"(users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}}])");
  ASSERT_FALSE(exec);
  EXPECT_NE(exec.error().find("user \"u\" uses an exec credential plugin"), std::string::npos)
      << exec.error();
  EXPECT_NE(exec.error().find("out of scope"), std::string::npos);

  auto provider = parse(base + R"(users: [{name: u, user: {auth-provider: {name: gcp}}}])");
  ASSERT_FALSE(provider);
  EXPECT_NE(provider.error().find("auth-provider \"gcp\""), std::string::npos) << provider.error();

  auto basic = parse(base + R"(users: [{name: u, user: {username: a, password: b}}])");
  ASSERT_FALSE(basic);
  EXPECT_NE(basic.error().find("username/password"), std::string::npos) << basic.error();
}

TEST(Kubeconfig, InsecureSkipVerify) {
  auto r = parse(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: true}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->verify, TlsVerify::Off);
  auto both = parse(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: true, certificate-authority: /ca}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  EXPECT_FALSE(both);
  auto bad = parse(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h", insecure-skip-tls-verify: maybe}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("insecure-skip-tls-verify must be true or false"), std::string::npos);
}

TEST(Kubeconfig, Base64GarbageIsNamed) {
  auto r = parse(R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h", certificate-authority-data: "!!!!not base64"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("certificate-authority-data is not valid base64"), std::string::npos)
      << r.error();
}

TEST(Kubeconfig, HostileInputNeverCrashes) {
  const std::string cases[] = {
      "",
      "[",
      "{",
      ": : :",
      "- a\n- b\n",
      "42",
      "current-context: [a]\n",
      "clusters: 5\ncurrent-context: a\n",
      "contexts: {a: b}\ncurrent-context: a\n",
      "contexts: [3]\ncurrent-context: a\n",
      "contexts: [{name: a, context: 3}]\ncurrent-context: a\n",
      "contexts: [{name: [x], context: {}}]\ncurrent-context: a\n",
      "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n"
      "clusters: [{name: c, cluster: {server: {x: 1}}}]\n",
      "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n"
      "clusters: [{name: c, cluster: {server: 'http://h'}}]\n",
      "contexts: [{name: a, context: {cluster: c, user: u}}]\ncurrent-context: a\n"
      "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: [1]}]\n",
      "a: &x [*x]\n",
      "a: !!binary '%%%'\n",
      std::string("\0\xff\xfe\x01", 4),
      "\t\tcurrent-context: a",
  };
  // Deep nesting must fail cleanly, not exhaust the stack.
  const std::string deep = "current-context: " + std::string(100000, '[');
  auto deep_result = parse(deep);
  EXPECT_FALSE(deep_result);
  for (const auto& text : cases) {
    auto r = parse(text);
    EXPECT_FALSE(r) << "accepted: " << text;
    if (!r) {
      EXPECT_EQ(r.error().rfind("kubeconfig /cfg/config: ", 0), 0u) << r.error();
    }
  }
}

TEST(Kubeconfig, LoadNamesTheFile) {
  TempDir dir;
  auto missing = load_kubeconfig(dir.path() / "nope", "");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find((dir.path() / "nope").string()), std::string::npos);

  write_file(dir.path() / "sub" / "config", kTwoContexts);
  auto r = load_kubeconfig(dir.path() / "sub" / "config", "a");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->certificate_authority.file, dir.path() / "sub" / "ca.pem");

  auto malformed = load_kubeconfig(dir.path() / "sub", "");
  EXPECT_FALSE(malformed);
}

TEST(ServerUrl, Forms) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    const char* path;
  };
  const Case good[] = {
      {"https://h", "h", 443, ""},
      {"https://h/", "h", 443, ""},
      {"HTTPS://h:6443", "h", 6443, ""},
      {"https://10.0.0.1:6443", "10.0.0.1", 6443, ""},
      {"https://[fd00::1]:8443", "fd00::1", 8443, ""},
      {"https://[::1]", "::1", 443, ""},
      {"https://h:1/k8s/clusters/c-1", "h", 1, "/k8s/clusters/c-1"},
  };
  for (const auto& c : good) {
    auto r = parse_server_url(c.url);
    ASSERT_TRUE(r) << c.url << ": " << r.error();
    EXPECT_EQ(r->host, c.host) << c.url;
    EXPECT_EQ(r->port, c.port) << c.url;
    EXPECT_EQ(r->path, c.path) << c.url;
  }
  for (const char* bad : {"http://h", "h:443", "https://", "https://:443", "https://::1:443",
                          "https://[::1", "https://[::1]x", "https://h:0", "https://h:65536",
                          "https://h:", "https://h:12a", "https://u@h", "https://h/?q=1"}) {
    EXPECT_FALSE(parse_server_url(bad)) << bad;
  }
}

TEST(Base64, DecodesPaddingAndWhitespace) {
  EXPECT_EQ(decode_base64("YQ==").value(), "a");
  EXPECT_EQ(decode_base64("YWI=").value(), "ab");
  EXPECT_EQ(decode_base64("YWJj").value(), "abc");
  EXPECT_EQ(decode_base64("YWJj\nZA==\n").value(), "abcd");
  EXPECT_EQ(decode_base64("").value(), "");
  const std::string binary("\0\x01\xff", 3);
  EXPECT_EQ(decode_base64(base64(binary)).value(), binary);
  EXPECT_FALSE(decode_base64("YQ="));
  EXPECT_FALSE(decode_base64("Y!==="));
  EXPECT_FALSE(decode_base64("!!!!"));
}

}  // namespace
}  // namespace globaldns::sync::kube
