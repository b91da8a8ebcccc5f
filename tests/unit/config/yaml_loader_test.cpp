// Tests of the YAML loader: every key, and the error text for each kind of mistake.
#include "config/yaml_loader.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace globaldns::config {
namespace {

TEST(LoadConfigText, EmptyOrCommentOnlyGivesDefaults) {
  for (const char* text : {"", "# nothing here\n", "---\n", "{}\n"}) {
    LoadResult r = load_config_text(text, "t.yaml");
    EXPECT_EQ(r.errors, std::vector<std::string>{}) << text;
    EXPECT_EQ(r.config, Config()) << text;
  }
}

TEST(LoadConfigText, EveryKeyLoads) {
  LoadResult r = load_config_text(R"(
listen: ["0.0.0.0:53", "[::]:53"]
threads: 4
health: 0.0.0.0:8080
ready: "[::]:8181"
lameduck_ms: 10000
zones: [global., mesh.example.]
ttl: 60
allow_cidrs: [240.0.0.0/4, fd00::/8]
edns_udp_size: 4096
nameservers: [ns1.example., ns2.example.]
soa:
  mname: ns1.example.
  rname: admin.example.
  ttl: 300
  refresh: 600
  retry: 120
  expire: 604800
  minimum: 5
chaos:
  version: "ours, 2.0"
  hostname: off
files: [/etc/globaldns/entries, /etc/globaldns/extra.yaml]
file_poll_interval_ms: 500
file_debounce_ms: 0
kubernetes:
  in_cluster: true
  kubeconfig: /etc/globaldns/remote.kubeconfig
  contexts: [cluster2, cluster3]
  namespaces: [istio-testing]
  label_selector: "globaldns=serve"
  api_version: v1alpha3
  page_size: 100
  watch_idle_timeout_ms: 5000
  watch_timeout_seconds: 60
  retry_initial_ms: 100
  retry_max_ms: 2000
tcp:
  idle_timeout_ms: 2000
  write_timeout_ms: 3000
  max_connections: 64
  max_queries_per_connection: 100
log:
  level: debug
  format: json
  queries: 250
)",
                                  "t.yaml");
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  Config want;
  want.listen = {"0.0.0.0:53", "[::]:53"};
  want.health = "0.0.0.0:8080";
  want.ready = "[::]:8181";
  want.lameduck_ms = 10000;
  want.threads = 4;
  want.zones = {"global.", "mesh.example."};
  want.ttl = 60;
  want.allow_cidrs = {"240.0.0.0/4", "fd00::/8"};
  want.edns_udp_size = 4096;
  want.nameservers = {"ns1.example.", "ns2.example."};
  want.soa = {.mname = "ns1.example.",
              .rname = "admin.example.",
              .ttl = 300,
              .refresh = 600,
              .retry = 120,
              .expire = 604800,
              .minimum = 5};
  want.chaos = {.version = "ours, 2.0", .hostname = "off"};
  want.files = {"/etc/globaldns/entries", "/etc/globaldns/extra.yaml"};
  want.file_poll_interval_ms = 500;
  want.file_debounce_ms = 0;
  want.kubernetes = {.in_cluster = true,
                     .kubeconfig = "/etc/globaldns/remote.kubeconfig",
                     .contexts = {"cluster2", "cluster3"},
                     .namespaces = {"istio-testing"},
                     .label_selector = "globaldns=serve",
                     .api_version = ApiVersion::V1alpha3,
                     .page_size = 100,
                     .watch_idle_timeout_ms = 5000,
                     .watch_timeout_seconds = 60,
                     .retry_initial_ms = 100,
                     .retry_max_ms = 2000};
  want.tcp = {.idle_timeout_ms = 2000,
              .write_timeout_ms = 3000,
              .max_connections = 64,
              .max_queries_per_connection = 100};
  want.log = {.level = LogLevel::Debug, .format = LogFormat::Json, .queries = "250"};
  EXPECT_EQ(r.config, want);
}

// "off" stays the word: YAML 1.1 would make it a boolean, yaml-cpp's scalar keeps the text.
TEST(LoadConfigText, OffDisablesAListener) {
  LoadResult r = load_config_text("health: off\nready: \"off\"\n", "c.yaml");
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config.health, "off");
  EXPECT_EQ(r.config.ready, "off");
}

TEST(LoadConfigText, UnsetKeysKeepDefaultsAndListsReplace) {
  LoadResult r = load_config_text("soa:\n  ttl: 99\nallow_cidrs: [10.0.0.0/8]\n", "t.yaml");
  ASSERT_TRUE(r.ok());
  Config want;
  want.soa.ttl = 99;
  want.allow_cidrs = {"10.0.0.0/8"};
  EXPECT_EQ(r.config, want);
}

TEST(LoadConfigText, AcceptsQuotedNumbersAndEmptyOptionalLists) {
  LoadResult r = load_config_text("ttl: \"45\"\nnameservers:\nfiles: []\nsoa:\n", "t.yaml");
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config.ttl, 45u);
  EXPECT_TRUE(r.config.nameservers.empty());
}

TEST(LoadConfigText, ChaosDefaultsToAutoAndTakesTextUpTo255Bytes) {
  EXPECT_EQ(Config().chaos, (ChaosConfig{.version = "auto", .hostname = "auto"}));
  const std::string longest(255, 'x');
  LoadResult r =
      load_config_text("chaos:\n  version: " + longest + "\n  hostname: auto\n", "t.yaml");
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config.chaos.version, longest);
  EXPECT_EQ(r.config.chaos.hostname, "auto");
  r = load_config_text("chaos:\n  version: " + longest + "y\n", "t.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("t.yaml:2:12: chaos.version: expected auto, off, or a text of 1 to "
                              "255 bytes, got \"xxx",
                              0),
            0u)
      << r.errors[0];
  const std::string tail =
      "\" (256 bytes: a TXT character-string holds at most 255 (RFC 1035 §3.3.14))";
  EXPECT_EQ(r.errors[0].substr(r.errors[0].size() - tail.size()), tail);
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> errors;
};

class LoadErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(LoadErrorTest, ReportsExactly) {
  LoadResult r = load_config_text(GetParam().yaml, "c.yaml");
  EXPECT_EQ(r.errors, GetParam().errors);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.config, Config()) << "a failed load must not return half a configuration";
}

const std::string kAddrPort = "expected ADDR:PORT such as 127.0.0.1:5353 or [::1]:5353, got ";
const std::string kTtl = "expected an integer from 0 to 2147483647, got ";

INSTANTIATE_TEST_SUITE_P(
    Mistakes, LoadErrorTest,
    testing::Values(
        // Unknown keys, at every level, with a suggestion when one is close.
        ErrorCase{"UnknownTopLevel",
                  "tll: 5\n",
                  {"c.yaml:1:1: unknown key \"tll\" (did you mean \"ttl\"?)"}},
        ErrorCase{"UnknownNested",
                  "soa:\n  mnmae: ns.example.\n",
                  {"c.yaml:2:3: unknown key \"soa.mnmae\" (did you mean \"soa.mname\"?)"}},
        ErrorCase{"UnknownNoSuggestion",
                  "log:\n  colour: blue\n",
                  {"c.yaml:2:3: unknown key \"log.colour\""}},
        ErrorCase{"KeyInWrongSection",
                  "mname: ns.example.\n",
                  {"c.yaml:1:1: unknown key \"mname\" (did you mean \"soa.mname\"?)"}},
        ErrorCase{"DottedKey",
                  "soa.ttl: 5\n",
                  {"c.yaml:1:1: unknown key \"soa.ttl\" (write sections nested: \"soa:\" with "
                   "\"ttl:\" under it)"}},
        ErrorCase{"DuplicateSection",
                  "soa:\n  ttl: 5\nsoa:\n  retry: 5\n",
                  {"c.yaml:3:1: duplicate key \"soa\""}},
        ErrorCase{"DuplicateKey", "ttl: 5\nttl: 6\n", {"c.yaml:2:1: duplicate key \"ttl\""}},
        // Wrong types.
        ErrorCase{"EmptyChaosText",
                  "chaos:\n  hostname: \"\"\n",
                  {"c.yaml:2:13: chaos.hostname: expected auto, off, or a text of 1 to 255 "
                   "bytes, got \"\" (it is empty; off switches the answer off)"}},
        ErrorCase{"QueryLogZero",
                  "log:\n  queries: 0\n",
                  {"c.yaml:2:12: log.queries: expected off, or lines per second from 1 to 1000000, "
                   "got \"0\" (not off, nor a whole number from 1 to 1000000)"}},
        ErrorCase{"QueryLogWord",
                  "log:\n  queries: on\n",
                  {"c.yaml:2:12: log.queries: expected off, or lines per second from 1 to 1000000, "
                   "got \"on\" (not off, nor a whole number from 1 to 1000000)"}},
        ErrorCase{"WordForInteger", "ttl: abc\n", {"c.yaml:1:6: ttl: " + kTtl + "\"abc\""}},
        ErrorCase{"ListForInteger", "ttl: [1]\n", {"c.yaml:1:6: ttl: " + kTtl + "a list"}},
        ErrorCase{"MissingValue", "ttl:\n", {"c.yaml:1:1: ttl: " + kTtl + "nothing"}},
        ErrorCase{"HexInteger", "ttl: 0x10\n", {"c.yaml:1:6: ttl: " + kTtl + "\"0x10\""}},
        ErrorCase{"ScalarForList",
                  "listen: 127.0.0.1:53\n",
                  {"c.yaml:1:9: listen: expected a list, got \"127.0.0.1:53\""}},
        ErrorCase{"MapInList",
                  "zones:\n  - {a: b}\n",
                  {"c.yaml:2:5: zones[0]: expected a domain name, got a map"}},
        ErrorCase{"ScalarForSection",
                  "tcp: 5\n",
                  {"c.yaml:1:6: tcp: expected a map with keys idle_timeout_ms, "
                   "write_timeout_ms, max_connections, max_queries_per_connection, got \"5\""}},
        ErrorCase{
            "TopLevelList", "- ttl\n", {"c.yaml:1:1: expected a map of settings, got a list"}},
        ErrorCase{"BadChoice",
                  "log:\n  level: verbose\n",
                  {"c.yaml:2:10: log.level: expected one of trace, debug, info, warn, error, "
                   "got \"verbose\""}},
        // Ranges.
        ErrorCase{"NegativeTtl", "ttl: -1\n", {"c.yaml:1:6: ttl: " + kTtl + "\"-1\""}},
        ErrorCase{
            "TtlTooBig", "ttl: 2147483648\n", {"c.yaml:1:6: ttl: " + kTtl + "\"2147483648\""}},
        ErrorCase{"HugeNumber",
                  "ttl: 99999999999999999999999\n",
                  {"c.yaml:1:6: ttl: " + kTtl + "\"99999999999999999999999\""}},
        ErrorCase{"EdnsTooSmall",
                  "edns_udp_size: 511\n",
                  {"c.yaml:1:16: edns_udp_size: expected an integer from 512 to 4096, got "
                   "\"511\""}},
        ErrorCase{"EdnsTooBig",
                  "edns_udp_size: 4097\n",
                  {"c.yaml:1:16: edns_udp_size: expected an integer from 512 to 4096, got "
                   "\"4097\""}},
        ErrorCase{"EmptyListen",
                  "listen: []\n",
                  {"c.yaml:1:9: listen: expected at least 1 item, got an empty list"}},
        ErrorCase{"NullZones",
                  "zones:\n",
                  {"c.yaml:1:1: zones: expected at least 1 item, got an empty list"}},
        // Value shapes.
        ErrorCase{"HealthIsAScalar",
                  "health: [\"127.0.0.1:8080\"]\n",
                  {"c.yaml:1:9: health: expected ADDR:PORT such as 127.0.0.1:8080 or [::1]:8080, "
                   "or off, got a list"}},
        ErrorCase{"HealthNotAnAddress",
                  "health: no\n",
                  {"c.yaml:1:9: health: expected ADDR:PORT such as 127.0.0.1:8080 or [::1]:8080, "
                   "or off, got \"no\" (missing \":PORT\")"}},
        ErrorCase{"ListenHostName",
                  "listen: [\"localhost:53\"]\n",
                  {"c.yaml:1:10: listen[0]: " + kAddrPort +
                   "\"localhost:53\" (\"localhost\" is not an IPv4 address)"}},
        ErrorCase{"UnbracketedIpv6",
                  "listen:\n  - \"::1:53\"\n",
                  {"c.yaml:2:5: listen[0]: " + kAddrPort +
                   "\"::1:53\" (an IPv6 address goes in brackets, as in [::1]:5353)"}},
        ErrorCase{"PortTooBig",
                  "listen: [\"127.0.0.1:65536\"]\n",
                  {"c.yaml:1:10: listen[0]: " + kAddrPort +
                   "\"127.0.0.1:65536\" (the port must be a number from 0 to 65535)"}},
        ErrorCase{"CidrHostBits",
                  "allow_cidrs: [240.0.0.1/8]\n",
                  {"c.yaml:1:15: allow_cidrs[0]: expected a CIDR such as 240.0.0.0/8 or "
                   "fd00::/8, got \"240.0.0.1/8\" (host bits are set; the network is "
                   "240.0.0.0/8)"}},
        ErrorCase{"BadZone",
                  "zones: [\"a..global\"]\n",
                  {"c.yaml:1:9: zones[0]: expected a domain name, got \"a..global\" (empty "
                   "label)"}},
        ErrorCase{"BadMname",
                  "soa:\n  mname: \"ns 1.example.\"\n",
                  {"c.yaml:2:10: soa.mname: expected a domain name, got \"ns 1.example.\" "
                   "(character ' ' is not allowed)"}},
        ErrorCase{"EmptyPath",
                  "files: [\"\"]\n",
                  {"c.yaml:1:9: files[0]: expected a file or directory path, got \"\" (the "
                   "path is empty)"}},
        // Syntax errors carry FILE:LINE:COL.
        ErrorCase{"UnclosedFlow",
                  "ttl: 5\nzones: [global.,\n",
                  {"c.yaml:3:1: end of sequence flow not found"}},
        ErrorCase{
            "BadIndentation", "soa:\n  ttl: 5\n retry: 3\n", {"c.yaml:3:2: end of map not found"}},
        // yaml-cpp 0.7's LoadAll never returns on these (issue 1040): it collects null
        // documents until memory runs out. Found by the config_loader fuzz target.
        ErrorCase{
            "LoneComma", ",", {"c.yaml:1:1: unexpected \",\" where a YAML value should start"}},
        ErrorCase{"CommaAfterDocumentStart",
                  "---\n,\n",
                  {"c.yaml:2:1: unexpected \",\" where a YAML value should start"}},
        ErrorCase{"CommaAfterSettings",
                  "ttl: 5\n...\n,\n",
                  {"c.yaml:3:1: unexpected \",\" where a YAML value should start"}},
        ErrorCase{"TwoDocuments",
                  "ttl: 5\n---\nttl: 6\n",
                  {"c.yaml:3:1: expected one YAML document, found 2"}},
        // All errors at once, in file order.
        ErrorCase{"Several",
                  "listen: [\"localhost:53\", \"[::1]:53\", \"1.2.3.4\"]\nttl: abc\n"
                  "soa:\n  mnmae: x.\n  retry: -5\nlog:\n  level: loud\n",
                  {"c.yaml:1:10: listen[0]: " + kAddrPort +
                       "\"localhost:53\" (\"localhost\" is not an IPv4 address)",
                   "c.yaml:1:38: listen[2]: " + kAddrPort + "\"1.2.3.4\" (missing \":PORT\")",
                   "c.yaml:2:6: ttl: " + kTtl + "\"abc\"",
                   "c.yaml:4:3: unknown key \"soa.mnmae\" (did you mean \"soa.mname\"?)",
                   "c.yaml:5:10: soa.retry: " + kTtl + "\"-5\"",
                   "c.yaml:7:10: log.level: expected one of trace, debug, info, warn, error, "
                   "got \"loud\""}}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(LoadConfigFile, ReadsAFile) {
  std::string path = testing::TempDir() + "globaldns_loader_test.yaml";
  std::ofstream(path) << "ttl: 7\n";
  LoadResult r = load_config_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config.ttl, 7u);
}

TEST(LoadConfigFile, ErrorsNameTheFile) {
  std::string path = testing::TempDir() + "globaldns_loader_test_bad.yaml";
  std::ofstream(path) << "ttl: x\n";
  LoadResult r = load_config_file(path);
  std::remove(path.c_str());
  EXPECT_EQ(r.errors, std::vector<std::string>{path + ":1:6: ttl: " + kTtl + "\"x\""});
}

TEST(LoadConfigFile, MissingFileIsOneError) {
  LoadResult r = load_config_file("/nonexistent/globaldns.yaml");
  EXPECT_EQ(r.errors, std::vector<std::string>{
                          "/nonexistent/globaldns.yaml: cannot read: No such file or directory"});
}

TEST(LoadConfigFile, DirectoryIsOneError) {
  LoadResult r = load_config_file("/");
  EXPECT_EQ(r.errors, std::vector<std::string>{"/: cannot read: it is a directory"});
}

}  // namespace
}  // namespace globaldns::config
