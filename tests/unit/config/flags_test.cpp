// Tests of command-line flag parsing and of laying the flags over a Config.
#include "config/flags.hpp"

#include <gtest/gtest.h>

namespace globaldns::config {
namespace {

using Strings = std::vector<std::string>;

// Parses args and returns the Config they give when laid over the defaults.
struct Applied {
  ParsedArgs parsed;
  Config config;
};

Applied apply(const Strings& args) {
  ParsedArgs parsed = parse_flags(args);
  Config config = apply_overrides(Config(), parsed.overrides);
  return {std::move(parsed), std::move(config)};
}

struct FlagCase {
  std::string name;
  Strings args;
  void (*expect)(const Config&);  // what the flags set, over the defaults
  Strings keys;
};

class FlagValueTest : public testing::TestWithParam<FlagCase> {};

TEST_P(FlagValueTest, Sets) {
  Applied a = apply(GetParam().args);
  ASSERT_EQ(a.parsed.errors, Strings{});
  EXPECT_EQ(a.parsed.overrides.keys, GetParam().keys);
  GetParam().expect(a.config);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, FlagValueTest,
    testing::Values(
        FlagCase{
            "Separate", {"--ttl", "5"}, [](const Config& c) { EXPECT_EQ(c.ttl, 5u); }, {"ttl"}},
        FlagCase{"Equals", {"--ttl=5"}, [](const Config& c) { EXPECT_EQ(c.ttl, 5u); }, {"ttl"}},
        FlagCase{"LastScalarWins",
                 {"--ttl", "5", "--ttl=6"},
                 [](const Config& c) { EXPECT_EQ(c.ttl, 6u); },
                 {"ttl"}},
        FlagCase{"ListenReplacesAndRepeats",
                 {"--listen", "[::1]:53", "--listen=0.0.0.0:53"},
                 [](const Config& c) {
                   EXPECT_EQ(c.listen, (Strings{"[::1]:53", "0.0.0.0:53"}));
                 },
                 {"listen"}},
        FlagCase{"HealthReadyAndLameduck",
                 {"--health", "off", "--ready=[::1]:0", "--lameduck-ms", "0"},
                 [](const Config& c) {
                   EXPECT_EQ(c.health, "off");
                   EXPECT_EQ(c.ready, "[::1]:0");
                   EXPECT_EQ(c.lameduck_ms, 0u);
                 },
                 {"health", "ready", "lameduck_ms"}},
        FlagCase{"GrpcAndItsTls",
                 {"--grpc", "off", "--grpc-tls-cert", "/c.pem", "--grpc-tls-key=/k.pem",
                  "--grpc-tls-client-ca", "/ca.pem"},
                 [](const Config& c) {
                   EXPECT_EQ(c.grpc, "off");
                   EXPECT_EQ(c.grpc_tls.cert, "/c.pem");
                   EXPECT_EQ(c.grpc_tls.key, "/k.pem");
                   EXPECT_EQ(c.grpc_tls.client_ca, "/ca.pem");
                 },
                 {"grpc", "grpc_tls.cert", "grpc_tls.key", "grpc_tls.client_ca"}},
        FlagCase{"AllowCidrReplacesDefault",
                 {"--allow-cidr", "fd00::/8"},
                 [](const Config& c) { EXPECT_EQ(c.allow_cidrs, Strings{"fd00::/8"}); },
                 {"allow_cidrs"}},
        FlagCase{"ZoneAndFiles",
                 {"--zone", "a.global.", "--files", "/x", "--zone", "b.global.", "--files=/y"},
                 [](const Config& c) {
                   EXPECT_EQ(c.zones, (Strings{"a.global.", "b.global."}));
                   EXPECT_EQ(c.files, (Strings{"/x", "/y"}));
                 },
                 {"zones", "files"}},
        FlagCase{"ScalarsOfEveryKind",
                 {"--threads", "2", "--edns-udp-size", "512", "--log-level", "warn",
                  "--log-format=json"},
                 [](const Config& c) {
                   EXPECT_EQ(c.threads, 2u);
                   EXPECT_EQ(c.edns_udp_size, 512);
                   EXPECT_EQ(c.log.level, LogLevel::Warn);
                   EXPECT_EQ(c.log.format, LogFormat::Json);
                 },
                 {"threads", "edns_udp_size", "log.level", "log.format"}},
        FlagCase{"Kubernetes",
                 {"--in-cluster", "true", "--kubeconfig", "/k", "--context", "c1", "--context=c2",
                  "--kube-namespace", "istio-testing", "--kube-label-selector=app=a,tier!=web",
                  "--kube-api-version", "v1beta1"},
                 [](const Config& c) {
                   EXPECT_TRUE(c.kubernetes.in_cluster);
                   EXPECT_EQ(c.kubernetes.kubeconfig, "/k");
                   EXPECT_EQ(c.kubernetes.contexts, (Strings{"c1", "c2"}));
                   EXPECT_EQ(c.kubernetes.namespaces, Strings{"istio-testing"});
                   EXPECT_EQ(c.kubernetes.label_selector, "app=a,tier!=web");
                   EXPECT_EQ(c.kubernetes.api_version, ApiVersion::V1beta1);
                 },
                 {"kubernetes.in_cluster", "kubernetes.kubeconfig", "kubernetes.contexts",
                  "kubernetes.namespaces", "kubernetes.label_selector", "kubernetes.api_version"}},
        FlagCase{"InClusterFalse",
                 {"--in-cluster=false"},
                 [](const Config& c) { EXPECT_FALSE(c.kubernetes.in_cluster); },
                 {"kubernetes.in_cluster"}},
        FlagCase{"NothingGiven", {}, [](const Config& c) { EXPECT_EQ(c, Config()); }, {}}),
    [](const testing::TestParamInfo<FlagCase>& info) { return info.param.name; });

struct FlagErrorCase {
  std::string name;
  Strings args;
  Strings errors;
};

class FlagErrorTest : public testing::TestWithParam<FlagErrorCase> {};

TEST_P(FlagErrorTest, Reports) {
  EXPECT_EQ(parse_flags(GetParam().args).errors, GetParam().errors);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, FlagErrorTest,
    testing::Values(
        FlagErrorCase{
            "Unknown", {"--tll", "5"}, {"unknown flag \"--tll\" (did you mean \"--ttl\"?)"}},
        FlagErrorCase{"UnknownWithEquals",
                      {"--allow-cdir=10.0.0.0/8"},
                      {"unknown flag \"--allow-cdir\" (did you mean \"--allow-cidr\"?)"}},
        FlagErrorCase{"UnknownFarFromAll", {"--frobnicate"}, {"unknown flag \"--frobnicate\""}},
        FlagErrorCase{"SingleDash", {"-ttl"}, {"unknown flag \"-ttl\" (did you mean \"--ttl\"?)"}},
        FlagErrorCase{"MissingAtEnd", {"--ttl"}, {"--ttl: missing its value (--ttl SECONDS)"}},
        FlagErrorCase{"MissingBeforeFlag",
                      {"--listen", "--ttl", "5"},
                      {"--listen: missing its value (--listen ADDR:PORT)"}},
        FlagErrorCase{
            "MissingConfig", {"--config"}, {"--config: missing its value (--config FILE)"}},
        FlagErrorCase{
            "EmptyConfig", {"--config="}, {"--config: missing its value (--config FILE)"}},
        FlagErrorCase{"HelpWithValue", {"--help=yes"}, {"--help: takes no value"}},
        FlagErrorCase{"BadInteger",
                      {"--ttl", "abc"},
                      {"--ttl: expected an integer from 0 to 2147483647, got \"abc\""}},
        FlagErrorCase{"BadEquals",
                      {"--edns-udp-size=100"},
                      {"--edns-udp-size: expected an integer from 512 to 4096, got \"100\""}},
        FlagErrorCase{"EmptyEquals",
                      {"--zone="},
                      {"--zone: expected a domain name, got \"\" (the name is empty)"}},
        FlagErrorCase{"BadListItem",
                      {"--listen", "127.0.0.1:53", "--listen", "::1:53"},
                      {"--listen: expected ADDR:PORT such as 127.0.0.1:5353 or [::1]:5353, got "
                       "\"::1:53\" (an IPv6 address goes in brackets, as in [::1]:5353)"}},
        FlagErrorCase{"HealthNotAnAddress",
                      {"--health", "localhost:8080"},
                      {"--health: expected ADDR:PORT such as 127.0.0.1:8080 or [::1]:8080, or "
                       "off, got \"localhost:8080\" (\"localhost\" is not an IPv4 address)"}},
        FlagErrorCase{"ReadyOffIsLowerCase",
                      {"--ready", "OFF"},
                      {"--ready: expected ADDR:PORT such as 127.0.0.1:8080 or [::1]:8080, or off, "
                       "got \"OFF\" (write off in lower case)"}},
        FlagErrorCase{"BadLevel",
                      {"--log-level", "loud"},
                      {"--log-level: expected one of trace, debug, info, warn, error, got "
                       "\"loud\""}},
        FlagErrorCase{"BadBool",
                      {"--in-cluster", "yes"},
                      {"--in-cluster: expected one of false, true, got \"yes\""}},
        FlagErrorCase{"BadApiVersion",
                      {"--kube-api-version", "v2"},
                      {"--kube-api-version: expected one of auto, v1, v1beta1, v1alpha3, got "
                       "\"v2\""}},
        FlagErrorCase{"ContextWithSpace",
                      {"--context", "a b"},
                      {"--context: expected a name without spaces, got \"a b\" (it contains a "
                       "space)"}},
        FlagErrorCase{"FileOnlySettingHasNoFlag",
                      {"--file-debounce-ms", "5"},
                      {"unknown flag \"--file-debounce-ms\""}},
        FlagErrorCase{"AllReported",
                      {"--tll", "5", "--ttl", "x", "--threads"},
                      {"unknown flag \"--tll\" (did you mean \"--ttl\"?)",
                       "--ttl: expected an integer from 0 to 2147483647, got \"x\"",
                       "--threads: missing its value (--threads N)"}}),
    [](const testing::TestParamInfo<FlagErrorCase>& info) { return info.param.name; });

TEST(ParseFlags, PositionalArgumentsAndDoubleDash) {
  ParsedArgs p =
      parse_flags(Strings{"httpbin.ns.global", "--ttl", "5", "-", "--", "--listen", "x"});
  EXPECT_EQ(p.errors, Strings{});
  EXPECT_EQ(p.positional, (Strings{"httpbin.ns.global", "-", "--listen", "x"}));
  EXPECT_EQ(p.overrides.keys, Strings{"ttl"});
}

TEST(ParseFlags, ConfigAndHelp) {
  ParsedArgs p = parse_flags(Strings{"--config", "/etc/g.yaml", "-h"});
  EXPECT_EQ(p.errors, Strings{});
  EXPECT_EQ(p.overrides.config_file, "/etc/g.yaml");
  EXPECT_TRUE(p.help);
  EXPECT_TRUE(parse_flags(Strings{"--help"}).help);
  EXPECT_EQ(parse_flags(Strings{"--config=a.yaml", "--config", "b.yaml"}).overrides.config_file,
            "b.yaml");
}

TEST(ApplyOverrides, ChangesOnlyTheGivenSettings) {
  Config base;
  base.ttl = 99;
  base.listen = {"10.0.0.1:53", "10.0.0.2:53"};
  base.zones = {"mesh."};
  ParsedArgs p = parse_flags(Strings{"--listen", "[::1]:53", "--log-level=debug"});
  ASSERT_TRUE(p.ok());
  Config merged = apply_overrides(base, p.overrides);
  Config want = base;
  want.listen = {"[::1]:53"};
  want.log.level = LogLevel::Debug;
  EXPECT_EQ(merged, want);
}

TEST(FlagsHelp, ListsEveryFlagFromTheTable) {
  std::string help = flags_help();
  for (const char* flag :
       {"--config FILE", "--listen ADDR:PORT", "--files PATH", "--zone NAME", "--allow-cidr CIDR",
        "--ttl SECONDS", "--threads N", "--edns-udp-size N", "--log-level LEVEL", "--help"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("Default: \"127.0.0.1:5353\". File key: listen."), std::string::npos) << help;
  for (size_t start = 0, end; (end = help.find('\n', start)) != std::string::npos;
       start = end + 1) {
    EXPECT_LE(end - start, 100u) << help.substr(start, end - start);
  }
}

}  // namespace
}  // namespace globaldns::config
