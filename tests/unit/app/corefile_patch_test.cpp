// The Corefile patcher on real-world Corefiles: expected outputs are written out by hand, and
// the properties (idempotent, reversible, the rest untouched) are checked on every fixture.
#include "app/corefile_patch.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace globaldns::app {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(GLOBALDNS_COREFILE_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::vector<std::string> kFixtures = {"kubeadm-1.13.Corefile", "kubeadm-1.18.Corefile",
                                            "kubeadm-1.28.Corefile", "tutorial.Corefile",
                                            "odd-spacing.Corefile"};

CorefilePatchOptions to(std::string target) {
  CorefilePatchOptions o;
  o.target = std::move(target);
  return o;
}

CorefilePatchOptions revert() {
  CorefilePatchOptions o;
  o.revert = true;
  return o;
}

std::string patch(const std::string& in, const CorefilePatchOptions& o) {
  auto r = patch_corefile(in, o);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::string();
}

std::string error_of(const std::string& in, const CorefilePatchOptions& o) {
  auto r = patch_corefile(in, o);
  EXPECT_FALSE(r);
  return r ? std::string() : r.error();
}

const std::string kForwardBlock =
    "# globaldns: the global zone is served by globaldns (globaldns corefile-patch)\n"
    "global:53 {\n"
    "    errors\n"
    "    cache 30\n"
    "    forward . 10.96.0.20:53\n"
    "}\n";

TEST(CorefilePatch, AppendsForwardBlockToKubeadmCorefiles) {
  for (const char* name : {"kubeadm-1.18.Corefile", "kubeadm-1.28.Corefile"}) {
    const std::string in = fixture(name);
    EXPECT_EQ(patch(in, to("10.96.0.20")), in + kForwardBlock) << name;
  }
}

TEST(CorefilePatch, UsesProxyBeforeCoreDns15) {
  const std::string in = fixture("kubeadm-1.13.Corefile");
  CorefilePatchOptions o = to("10.96.0.20");
  o.coredns_version = CoreDnsVersion{1, 2, 6};
  EXPECT_EQ(patch(in, o), in + "# globaldns: the global zone is served by globaldns (globaldns "
                               "corefile-patch)\n"
                               "global:53 {\n"
                               "    errors\n"
                               "    cache 30\n"
                               "    proxy . 10.96.0.20:53\n"
                               "}\n");
  o.coredns_version = CoreDnsVersion{1, 5, 0};
  EXPECT_EQ(patch(in, o), in + kForwardBlock);
}

TEST(CorefilePatch, ReplacesTheTutorialsIstiocorednsBlockInPlace) {
  const std::string in = fixture("tutorial.Corefile");
  const std::string main_block = in.substr(0, in.find("global:53"));
  EXPECT_EQ(patch(in, to("10.96.0.20")), main_block + kForwardBlock);
}

TEST(CorefilePatch, GrpcBlocks) {
  const std::string in = fixture("kubeadm-1.28.Corefile");
  CorefilePatchOptions o = to("10.96.0.20");
  o.grpc = true;
  const std::string out = patch(in, o);
  EXPECT_NE(out.find("\n    grpc . 10.96.0.20:8053\n}\n"), std::string::npos) << out;
  o.coredns_version = CoreDnsVersion{1, 4, 0};
  const std::string legacy = patch(in, o);
  EXPECT_NE(legacy.find("\n    proxy . 10.96.0.20:8053 {\n        protocol grpc insecure\n    }\n"),
            std::string::npos)
      << legacy;
}

TEST(CorefilePatch, TargetForms) {
  const std::string in = fixture("kubeadm-1.28.Corefile");
  EXPECT_NE(patch(in, to("10.96.0.20:5353")).find("forward . 10.96.0.20:5353\n"),
            std::string::npos);
  EXPECT_NE(patch(in, to("fd00::20")).find("forward . [fd00::20]:53\n"), std::string::npos);
  EXPECT_NE(patch(in, to("[fd00::20]:5353")).find("forward . [fd00::20]:5353\n"),
            std::string::npos);
  for (const char* bad : {"", "globaldns.istio-system", "10.96.0.20:0", "10.96.0.20:99999",
                          "10.96.0.300", "fd00::20:53x"})
    EXPECT_NE(error_of(in, to(bad)).find("expected an IP address"), std::string::npos) << bad;
}

TEST(CorefilePatch, KeepsTabsCommentsQuotesAndAddsTheMissingFinalNewline) {
  const std::string in = fixture("odd-spacing.Corefile");
  ASSERT_NE(in.back(), '\n');
  EXPECT_EQ(patch(in, to("10.96.0.20")),
            in + "\n# globaldns: the global zone is served by globaldns (globaldns "
                 "corefile-patch)\n"
                 "global:53 {\n"
                 "\terrors\n"
                 "\tcache 30\n"
                 "\tforward . 10.96.0.20:53\n"
                 "}\n");
}

TEST(CorefilePatch, FollowsTheIndentationOfAnIndentedCorefile) {
  const std::string in = "  .:53 {\n    forward . /etc/resolv.conf\n  }\n";
  EXPECT_EQ(patch(in, to("10.0.0.1")),
            in + "  # globaldns: the global zone is served by globaldns (globaldns "
                 "corefile-patch)\n"
                 "  global:53 {\n"
                 "    errors\n"
                 "    cache 30\n"
                 "    forward . 10.0.0.1:53\n"
                 "  }\n");
}

TEST(CorefilePatch, KeepsWindowsLineEndings) {
  const std::string in = ".:53 {\r\n    forward . /etc/resolv.conf\r\n}\r\n";
  const std::string out = patch(in, to("10.0.0.1"));
  EXPECT_EQ(out, in + "# globaldns: the global zone is served by globaldns (globaldns "
                      "corefile-patch)\r\n"
                      "global:53 {\r\n"
                      "    errors\r\n"
                      "    cache 30\r\n"
                      "    forward . 10.0.0.1:53\r\n"
                      "}\r\n");
  EXPECT_EQ(patch(out, to("10.0.0.1")), out);
  EXPECT_EQ(patch(out, revert()), in);
}

TEST(CorefilePatch, IdempotentAndReversibleOnEveryFixture) {
  for (const std::string& name : kFixtures) {
    const std::string in = fixture(name);
    const std::string once = patch(in, to("10.96.0.20"));
    EXPECT_EQ(patch(once, to("10.96.0.20")), once) << name;
    // A new target replaces the block, it does not add a second one.
    const std::string moved = patch(once, to("10.96.0.21"));
    EXPECT_EQ(moved.find("global:53"), moved.rfind("global:53")) << name;
    EXPECT_NE(moved.find("10.96.0.21:53"), std::string::npos) << name;
    EXPECT_EQ(moved.find("10.96.0.20"), std::string::npos) << name;
    if (name == "tutorial.Corefile") continue;  // its global block was not ours to restore
    const std::string restored = patch(once, revert());
    EXPECT_EQ(restored, in.back() == '\n' ? in : in + "\n") << name;
    EXPECT_EQ(patch(restored, revert()), restored) << name;
  }
}

TEST(CorefilePatch, SchemeAndPortFormsOfTheGlobalKeyAreRecognised) {
  for (const char* key : {"global", "global.", "GLOBAL:53", "dns://global:53", "global.:53"}) {
    const std::string in =
        std::string(".:53 {\n    whoami\n}\n") + key + " {\n    forward . 10.0.0.9\n}\n";
    EXPECT_EQ(patch(in, to("10.96.0.20")), ".:53 {\n    whoami\n}\n" + kForwardBlock) << key;
  }
  // Another port or transport is another server: left alone, and ours is added.
  for (const char* key : {"global:5353", "tls://global:853", "grpc://global"}) {
    const std::string in = std::string(key) + " {\n    whoami\n}\n";
    EXPECT_EQ(patch(in, to("10.96.0.20")), in + kForwardBlock) << key;
  }
}

TEST(CorefilePatch, RefusesWhatItCannotEditSafely) {
  const CorefilePatchOptions o = to("10.96.0.20");
  EXPECT_NE(error_of(".:53 {\n    forward . 1.1.1.1\n", o)
                .find("line 1: server block \".:53\" "
                      "is never closed"),
            std::string::npos);
  EXPECT_NE(error_of(".:53 {\n}\n}\n", o).find("line 3: '}' without a matching '{'"),
            std::string::npos);
  EXPECT_NE(error_of(".:53 {\n    template IN A x {\n      answer \"oops\n}\n", o)
                .find("line 3: a quoted string is never closed"),
            std::string::npos);
  EXPECT_NE(error_of(".:53\nforward . 1.1.1.1\n", o).find("has no '{'"), std::string::npos);
  EXPECT_NE(error_of("global:53 example.org:53 {\n    whoami\n}\n", o)
                .find("line 1: this server block serves global together with other zones"),
            std::string::npos);
  EXPECT_NE(error_of("global {\n}\n\ndns://global:53 {\n}\n", o)
                .find("lines 1 and 4: two server blocks serve global:53"),
            std::string::npos);
  EXPECT_NE(error_of(fixture("tutorial.Corefile"), revert())
                .find("line 16: the global block was not written by `globaldns corefile-patch`"),
            std::string::npos);
}

TEST(CorefilePatch, BlocksSharingALineAreCutAtTheirOwnBytes) {
  const std::string in = ".:53 { whoami } global { forward . 10.0.0.9 } example.org { whoami }\n";
  EXPECT_EQ(patch(in, to("10.96.0.20")),
            ".:53 { whoami } " + kForwardBlock + " example.org { whoami }\n");
  const std::string once = patch(in, to("10.96.0.20"));
  EXPECT_EQ(patch(once, to("10.96.0.20")), once);
  EXPECT_EQ(patch(once, revert()), ".:53 { whoami }  example.org { whoami }\n");
}

TEST(CorefilePatch, ImportsAndSnippetsAreLeftAlone) {
  const std::string in =
      "(common) {\n    errors\n}\nimport /etc/coredns/custom/*.server\n.:53 {\n    import "
      "common\n}\n";
  EXPECT_EQ(patch(in, to("10.96.0.20")), in + kForwardBlock);
}

TEST(CoreDnsVersion, Parses) {
  EXPECT_EQ(*parse_coredns_version("1.6.2"), (CoreDnsVersion{1, 6, 2}));
  EXPECT_EQ(*parse_coredns_version("v1.10.1"), (CoreDnsVersion{1, 10, 1}));
  EXPECT_EQ(*parse_coredns_version("1.4"), (CoreDnsVersion{1, 4, 0}));
  for (const char* bad : {"", "1", "one.two", "1.6.2-rc1", "1.6.2.3", "v"})
    EXPECT_FALSE(parse_coredns_version(bad)) << bad;
}

}  // namespace
}  // namespace globaldns::app
