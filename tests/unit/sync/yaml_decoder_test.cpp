// Unit tests of sync/yaml_decoder: object shapes, API versions, lists, problems and limits.
#include "sync/yaml_decoder.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace globaldns::sync {
namespace {

// What decode_service_entries gave, its entries unpacked.
struct Decoded {
  std::vector<ServiceEntry> entries;
  std::vector<std::string> problems;
  std::vector<std::string> notes;
};

Decoded unpacked(DecodedEntries decoded) {
  return {decoded.entries.unpack(), std::move(decoded.problems), std::move(decoded.notes)};
}

Decoded decode_ok(const std::string& text) {
  auto result = decode_service_entries(text, "se.yaml");
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error());
  return result.ok() ? unpacked(std::move(result).value()) : Decoded{};
}

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(GLOBALDNS_SYNC_TEST_DATA) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(YamlDecoderTest, DecodesAV1alpha3ServiceEntry) {
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: httpbin-bar
  namespace: istio-testing
  creationTimestamp: "2024-01-02T03:04:05Z"
spec:
  hosts:
  - httpbin.bar.global
  - Other.Bar.Global.
  addresses: ["240.0.0.2", "fd00::2/128"]
  location: MESH_INTERNAL
  resolution: DNS
)");
  ASSERT_EQ(decoded.entries.size(), 1u);
  EXPECT_TRUE(decoded.problems.empty());
  const ServiceEntry& e = decoded.entries[0];
  EXPECT_EQ(e.namespace_, "istio-testing");
  EXPECT_EQ(e.name, "httpbin-bar");
  EXPECT_EQ(e.key(), "istio-testing/httpbin-bar");
  EXPECT_EQ(e.created_unix, 1704164645);
  EXPECT_EQ(e.hosts, (std::vector<std::string>{"httpbin.bar.global", "Other.Bar.Global."}));
  EXPECT_EQ(e.addresses, (std::vector<std::string>{"240.0.0.2", "fd00::2/128"}));
  EXPECT_EQ(e.resolution, Resolution::Dns);
  EXPECT_EQ(e.origin, "se.yaml:1");
}

TEST(YamlDecoderTest, MultiDocumentWithEveryServedVersionAndDefaults) {
  const auto decoded = decode_ok(R"(---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: a}
spec: {hosts: [a.global]}
---
---
# a comment-only document
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: b
spec:
  hosts: [b.global]
  resolution: STATIC
...
)");
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_TRUE(decoded.problems.empty());
  EXPECT_EQ(decoded.entries[0].key(), "default/a");
  EXPECT_EQ(decoded.entries[0].origin, "se.yaml:2");
  EXPECT_EQ(decoded.entries[0].resolution, Resolution::Unset);
  EXPECT_FALSE(decoded.entries[0].created_unix.has_value());
  EXPECT_EQ(decoded.entries[1].key(), "default/b");
  EXPECT_EQ(decoded.entries[1].origin, "se.yaml:10");
  EXPECT_EQ(decoded.entries[1].resolution, Resolution::Static);
}

TEST(YamlDecoderTest, DecodesKubectlListWithStatusAddresses) {
  auto result = decode_service_entries(read_data("kubectl_list.yaml"), "dump.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  const Decoded decoded = unpacked(std::move(result).value());
  EXPECT_TRUE(decoded.problems.empty());
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[0].key(), "istio-testing/httpbin-bar");
  EXPECT_EQ(decoded.entries[0].origin, "dump.yaml:3");
  EXPECT_EQ(decoded.entries[0].addresses, std::vector<std::string>{"240.0.0.2"});
  EXPECT_EQ(decoded.entries[1].key(), "default/auto-vip");
  EXPECT_TRUE(decoded.entries[1].addresses.empty());
  EXPECT_EQ(decoded.entries[1].status_addresses,
            (std::vector<StatusAddress>{{"240.240.0.7", "api.partner.global"},
                                        {"2001:2::f0f0:7", "api.partner.global"}}));
}

TEST(YamlDecoderTest, DecodesServiceEntryListAndJson) {
  const auto decoded = decode_ok(R"({"apiVersion": "networking.istio.io/v1",
 "kind": "ServiceEntryList",
 "items": [
  {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
   "metadata": {"name": "x", "namespace": "n"},
   "spec": {"hosts": ["x.global"], "addresses": ["240.0.0.9"], "resolution": "NONE"}},
  {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
   "metadata": {"name": "y", "namespace": "n"},
   "spec": {"hosts": ["y.global"], "resolution": "DNS_ROUND_ROBIN"}}
 ]})");
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[0].resolution, Resolution::None);
  EXPECT_EQ(decoded.entries[0].origin, "se.yaml:4");
  EXPECT_EQ(decoded.entries[1].resolution, Resolution::DnsRoundRobin);
  EXPECT_EQ(decoded.entries[1].origin, "se.yaml:7");
}

TEST(YamlDecoderTest, BadObjectIsSkippedAloneWithItsLine) {
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: good-1, namespace: ns}
spec: {hosts: [a.global]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: bad
  namespace: ns
spec:
  hosts:
  - ok.global
  - {not: a string}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {namespace: ns}
spec: {hosts: [c.global]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: good-2, namespace: ns}
spec: {hosts: [b.global]}
)");
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[0].name, "good-1");
  EXPECT_EQ(decoded.entries[1].name, "good-2");
  ASSERT_EQ(decoded.problems.size(), 2u);
  EXPECT_EQ(decoded.problems[0],
            "se.yaml:14: ns/bad: spec.hosts is not a list of strings; object skipped");
  EXPECT_EQ(decoded.problems[1], "se.yaml:18: ns/<unnamed>: missing metadata.name; object skipped");
}

struct BadShapeCase {
  std::string spec_and_status;  // appended after a valid header; first line is line 4
  std::string problem;
};

class BadShapeTest : public ::testing::TestWithParam<BadShapeCase> {};

TEST_P(BadShapeTest, IsAProblemNotAnEntry) {
  const std::string text =
      "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: n}\n" +
      GetParam().spec_and_status;
  const auto decoded = decode_ok(text);
  EXPECT_TRUE(decoded.entries.empty());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0], GetParam().problem);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadShapeTest,
    ::testing::Values(
        BadShapeCase{"", "se.yaml:1: default/n: missing spec; object skipped"},
        BadShapeCase{"spec: [a]\n", "se.yaml:4: default/n: spec is not a mapping; object skipped"},
        BadShapeCase{"spec:\n  hosts: a.global\n",
                     "se.yaml:5: default/n: spec.hosts is not a list of strings; object skipped"},
        BadShapeCase{"spec:\n  hosts: []\n",
                     "se.yaml:5: default/n: spec.hosts is missing or empty; object skipped"},
        BadShapeCase{"spec:\n  hosts: [a.global, ~]\n",
                     "se.yaml:5: default/n: spec.hosts is not a list of strings; object skipped"},
        BadShapeCase{"spec:\n  hosts: [a.global]\n  addresses: {a: b}\n",
                     "se.yaml:6: default/n: spec.addresses is not a list of strings; object "
                     "skipped"},
        BadShapeCase{"spec:\n  hosts: [a.global]\n  resolution: MAGIC\n",
                     "se.yaml:6: default/n: unknown spec.resolution \"MAGIC\"; object skipped"},
        BadShapeCase{"spec:\n  hosts: [a.global]\nstatus:\n  addresses: [240.0.0.1]\n",
                     "se.yaml:7: default/n: status.addresses is not a list of {value, host}; "
                     "object skipped"}));

TEST(YamlDecoderTest, UnsupportedApiVersionIsAProblem) {
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v2
kind: ServiceEntry
metadata: {name: n, namespace: x}
spec: {hosts: [a.global]}
)");
  EXPECT_TRUE(decoded.entries.empty());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0],
            "se.yaml:1: x/n: unsupported apiVersion \"networking.istio.io/v2\" for ServiceEntry; "
            "object skipped");
}

TEST(YamlDecoderTest, OtherKindsAreNotesAndOddDocumentsAreProblems) {
  const auto decoded = decode_ok(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
---
just a string
---
metadata: {name: kindless}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items: []
)");
  EXPECT_TRUE(decoded.entries.empty());
  EXPECT_EQ(decoded.notes,
            (std::vector<std::string>{"se.yaml:1: shop/web: ignoring Deployment (apps/v1)",
                                      "se.yaml:6: default/vs: ignoring VirtualService "
                                      "(networking.istio.io/v1)",
                                      "se.yaml:17: default/<unnamed>: ignoring List (v1)"}));
  EXPECT_EQ(decoded.problems,
            (std::vector<std::string>{"se.yaml:10: document is not a mapping; ignored",
                                      "se.yaml:12: default/kindless: no kind; ignored"}));
}

TEST(YamlDecoderTest, EmptyTextsDecodeToNothing) {
  for (const std::string text :
       {"", "\n", "---\n", "---\n...\n---\n", "# only a comment\n", "~\n"}) {
    const auto decoded = decode_ok(text);
    EXPECT_TRUE(decoded.entries.empty()) << text;
    EXPECT_TRUE(decoded.problems.empty()) << text;
    EXPECT_TRUE(decoded.notes.empty()) << text;
  }
}

TEST(YamlDecoderTest, ListItemsSeeAnchorsOfEarlierItems) {
  // A List's items are decoded one at a time as they end; an anchor stays usable after its item.
  const auto decoded = decode_ok(R"(apiVersion: v1
items:
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: a, namespace: n}
  spec: &shared
    hosts: [a.global]
    addresses: [240.0.0.1]
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: b, namespace: n}
  spec: *shared
kind: List
)");
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[1].key(), "n/b");
  EXPECT_EQ(decoded.entries[1].hosts, std::vector<std::string>{"a.global"});
  EXPECT_EQ(decoded.entries[1].addresses, std::vector<std::string>{"240.0.0.1"});
  EXPECT_EQ(decoded.entries[1].origin, "se.yaml:9");
}

TEST(YamlDecoderTest, ItemsOfADocumentThatIsNotAListAreIgnored) {
  // `items` comes before `kind` in kubectl's output, so items are decoded before the kind is
  // known; only a List keeps what they gave.
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v1
items:
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: inner}
  spec: {hosts: [inner.global]}
- 42
kind: ServiceEntry
metadata: {name: outer}
spec: {hosts: [outer.global]}
)");
  ASSERT_EQ(decoded.entries.size(), 1u);
  EXPECT_EQ(decoded.entries[0].name, "outer");
  EXPECT_TRUE(decoded.problems.empty());
}

TEST(YamlDecoderTest, ListItemThatIsNotAMappingIsAProblemWithItsLine) {
  const auto decoded = decode_ok("kind: List\nitems:\n- 42\n- [a]\n");
  EXPECT_TRUE(decoded.entries.empty());
  EXPECT_EQ(decoded.problems,
            (std::vector<std::string>{"se.yaml:3: list item is not a mapping; ignored",
                                      "se.yaml:4: list item is not a mapping; ignored"}));
}

TEST(YamlDecoderTest, QuotedNullIsAStringAndPlainNullIsNull) {
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: "null", namespace: ~}
spec: {hosts: ["null.global"], addresses: null}
)");
  ASSERT_EQ(decoded.entries.size(), 1u);
  EXPECT_EQ(decoded.entries[0].key(), "default/null");
  EXPECT_TRUE(decoded.entries[0].addresses.empty());
}

TEST(YamlDecoderTest, UnknownAnchorAndBadEncodingAreSyntaxErrors) {
  const auto alias = decode_service_entries("a: 1\nb: *nowhere\n", "alias.yaml");
  ASSERT_FALSE(alias.ok());
  EXPECT_EQ(alias.error(), "alias.yaml:2:4: unknown anchor \"nowhere\"");

  const auto utf8 = decode_service_entries("a: 1\nb: \xff\xfe\n", "utf8.yaml");
  ASSERT_FALSE(utf8.ok());
  EXPECT_EQ(utf8.error().rfind("utf8.yaml:2:4: ", 0), 0u) << utf8.error();
}

TEST(YamlDecoderTest, SyntaxErrorFailsTheWholeTextWithLineAndColumn) {
  const auto result = decode_service_entries(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a}
spec: {hosts: [a.global]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: a: b
spec: {hosts: [b.global]}
)",
                                             "broken.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().rfind("broken.yaml:9:", 0), 0u) << result.error();
}

TEST(YamlDecoderTest, SyntaxErrorMessageIsFileLineColumnMessage) {
  const auto result = decode_service_entries("a: [1, 2\nb: c\n", "x.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().rfind("x.yaml:", 0), 0u) << result.error();
  // FILE:LINE:COL: message
  const std::string& e = result.error();
  const size_t line_end = e.find(':', 7);
  const size_t col_end = e.find(':', line_end + 1);
  ASSERT_NE(col_end, std::string::npos) << e;
  EXPECT_GT(std::stoi(e.substr(7, line_end - 7)), 0) << e;
  EXPECT_GT(std::stoi(e.substr(line_end + 1, col_end - line_end - 1)), 0) << e;
  EXPECT_EQ(e.substr(col_end, 2), ": ") << e;
}

TEST(YamlDecoderTest, BadTimestampKeepsTheEntryAsNewest) {
  const auto decoded = decode_ok(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: n
  creationTimestamp: yesterday
spec: {hosts: [a.global]}
)");
  ASSERT_EQ(decoded.entries.size(), 1u);
  EXPECT_FALSE(decoded.entries[0].created_unix.has_value());
  ASSERT_EQ(decoded.problems.size(), 1u);
  EXPECT_EQ(decoded.problems[0],
            "se.yaml:5: default/n: creationTimestamp \"yesterday\" is not RFC 3339; treated as "
            "newest");
}

struct TimestampCase {
  std::string text;
  std::optional<int64_t> unix_seconds;
};

class Rfc3339Test : public ::testing::TestWithParam<TimestampCase> {};

TEST_P(Rfc3339Test, Parses) {
  EXPECT_EQ(parse_rfc3339(GetParam().text), GetParam().unix_seconds) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(Table, Rfc3339Test,
                         ::testing::Values(TimestampCase{"1970-01-01T00:00:00Z", 0},
                                           TimestampCase{"2024-01-02T03:04:05Z", 1704164645},
                                           TimestampCase{"2024-01-02t03:04:05z", 1704164645},
                                           TimestampCase{"2024-01-02 03:04:05Z", 1704164645},
                                           TimestampCase{"2024-01-02T03:04:05.999999999Z",
                                                         1704164645},
                                           TimestampCase{"2024-01-02T05:04:05+02:00", 1704164645},
                                           TimestampCase{"2024-01-01T21:34:05-05:30", 1704164645},
                                           TimestampCase{"2024-02-29T00:00:00Z", 1709164800},
                                           TimestampCase{"1969-12-31T23:59:59Z", -1},
                                           TimestampCase{"2016-12-31T23:59:60Z", 1483228800},
                                           TimestampCase{"2023-02-29T00:00:00Z", std::nullopt},
                                           TimestampCase{"2024-13-01T00:00:00Z", std::nullopt},
                                           TimestampCase{"2024-01-02T24:00:00Z", std::nullopt},
                                           TimestampCase{"2024-01-02T03:04:05", std::nullopt},
                                           TimestampCase{"2024-01-02T03:04:05.Z", std::nullopt},
                                           TimestampCase{"2024-01-02T03:04:05+0200", std::nullopt},
                                           TimestampCase{"2024-01-02T03:04:05Zjunk", std::nullopt},
                                           TimestampCase{"2024-1-02T03:04:05Z", std::nullopt},
                                           TimestampCase{"", std::nullopt}));

TEST(YamlDecoderLimitsTest, DeepNestingIsAnErrorNotACrash) {
  for (const std::string& text :
       {std::string(100000, '[') + std::string(100000, ']'), std::string(100000, '{'), [] {
          std::string s;
          for (int i = 0; i < 5000; ++i) s += "- ";
          return s + "x\n";
        }()}) {
    const auto result = decode_service_entries(text, "deep.yaml");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().rfind("deep.yaml:", 0), 0u) << result.error();
  }
}

TEST(YamlDecoderLimitsTest, NestingWithinTheLimitIsFine) {
  const std::string text = "x: " + std::string(60, '[') + std::string(60, ']') + "\n";
  EXPECT_TRUE(decode_service_entries(text, "ok.yaml").ok());
}

TEST(YamlDecoderLimitsTest, SizeAndNodeCountAreBounded) {
  DecodeLimits limits;
  limits.max_bytes = 1000;
  const auto big = decode_service_entries(std::string(1001, '#'), "big.yaml", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error(), "big.yaml: 1001 bytes is more than the limit of 1000");

  limits = DecodeLimits{};
  limits.max_nodes = 1000;
  std::string many = "[";
  for (int i = 0; i < 2000; ++i) many += "a,";
  many += "a]";
  const auto wide = decode_service_entries(many, "wide.yaml", limits);
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.error().find("more than 1000 YAML nodes"), std::string::npos) << wide.error();
}

TEST(YamlDecoderLimitsTest, AliasesDoNotExpand) {
  // "Billion laughs": every level doubles; aliases must stay references.
  std::string text = "a0: &a0 [x, x]\n";
  for (int i = 1; i < 30; ++i) {
    const std::string n = std::to_string(i);
    const std::string previous = std::to_string(i - 1);
    text.append("a").append(n).append(": &a").append(n).append(" [*a").append(previous);
    text.append(", *a").append(previous).append("]\n");
  }
  const auto result = decode_service_entries(text, "laughs.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->problems.size(), 1u);  // no kind
}

TEST(YamlDecoderLimitsTest, ALongChainOfAliasesIsFreedWithoutRecursion) {
  // Each anchor holds an alias of the one before: freed oldest first, each release would
  // recurse down the whole chain (200,000 deep overflowed the stack).
  std::string text = "a0: &a0 x\n";
  for (int i = 1; i < 200'000; ++i) {
    const std::string n = std::to_string(i);
    text.append("a").append(n).append(": &a").append(n).append(" [*a");
    text.append(std::to_string(i - 1)).append("]\n");
  }
  const auto result = decode_service_entries(text, "chain.yaml");
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->problems.size(), 1u);  // no kind
}

TEST(YamlDecoderLimitsTest, MutatedInputsNeverThrowOrCrash) {
  const std::string seed = read_data("kubectl_list.yaml");
  std::mt19937 rng(12345);  // fixed: reproducible
  static constexpr char kAlphabet[] = "-:[]{},&*!|>'\"%@`#?\n \t\\\0aZ9.";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);  // keeps the NUL
  for (int round = 0; round < 400; ++round) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      const size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1 + rng() % 16);
          break;
        default:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(pos),
                      alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    // Whatever the outcome, it is a Result: no exception, no crash.
    const auto result = decode_service_entries(text, "fuzz.yaml");
    if (!result.ok()) {
      EXPECT_EQ(result.error().rfind("fuzz.yaml", 0), 0u);
    }
  }
}

}  // namespace
}  // namespace globaldns::sync
