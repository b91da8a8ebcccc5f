// Unit tests of sync/translate: each rule on its own, conflicts, and determinism.
#include "sync/translate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

namespace globaldns::sync {
namespace {

ServiceEntry entry(std::string ns, std::string name, std::vector<std::string> hosts,
                   std::vector<std::string> addresses, std::optional<int64_t> created = {}) {
  ServiceEntry e;
  e.namespace_ = std::move(ns);
  e.name = std::move(name);
  e.hosts = std::move(hosts);
  e.addresses = std::move(addresses);
  e.created_unix = created;
  e.origin = "test.yaml:" + e.name;
  return e;
}

TranslateOptions options(std::vector<std::string> zones = {"global."},
                         std::vector<std::string> allowed = {"240.0.0.0/8", "fd00::/8"}) {
  TranslateOptions o;
  o.zones = std::move(zones);
  for (const auto& text : allowed) o.allowed.push_back(parse_cidr(text).value());
  return o;
}

// "name=addr,addr" per host, in output order: one string to compare a whole result.
std::string served(const Translation& t) {
  std::string out;
  for (const auto& host : t.hosts) {
    if (!out.empty()) out += " ";
    out += host.name + "=";
    std::string ips;
    // Appended piece by piece: "literal" + std::string trips g++ 12's -Wrestrict at -O3.
    for (const auto& ip : host.v4) {
      if (!ips.empty()) ips += ',';
      ips += address_to_string(ip);
    }
    for (const auto& ip : host.v6) {
      if (!ips.empty()) ips += ',';
      ips += address_to_string(ip);
    }
    out += ips;
  }
  return out;
}

// Concatenation without "literal" + std::string, which trips g++ 12's -Wrestrict at -O3.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const auto part : parts) out.append(part);
  return out;
}

Translation run(const std::vector<ServiceEntry>& entries, const TranslateOptions& o = options()) {
  return translate(entries, o);
}

TEST(TranslateTest, ServesEachHostWithAllAddressesInListedOrder) {
  const auto t =
      run({entry("ns", "a", {"b.global", "a.global"}, {"240.0.0.2", "fd00::1", "240.0.0.1"})});
  EXPECT_EQ(served(t), "a.global=240.0.0.2,240.0.0.1,fd00::1 b.global=240.0.0.2,240.0.0.1,fd00::1");
  EXPECT_TRUE(t.skipped.empty());
  EXPECT_TRUE(t.conflicts.empty());
}

TEST(TranslateTest, ZoneFilterMatchesOnLabelBoundariesCaseInsensitively) {
  const auto t =
      run({entry("ns", "a",
                 {"in.global", "global", "deep.er.GLOBAL", "xglobal", "global.com", "in.mesh"},
                 {"240.0.0.1"})},
          options({"GLOBAL", "mesh."}));
  EXPECT_EQ(served(t),
            "deep.er.global=240.0.0.1 global=240.0.0.1 in.global=240.0.0.1 "
            "in.mesh=240.0.0.1");
  ASSERT_EQ(t.skipped.size(), 2u);
  EXPECT_EQ(t.skipped[0],
            (Skip{"ns/a", "test.yaml:a", "xglobal", "outside the served zones GLOBAL, mesh.",
                  SkipReason::HostOutsideZones}));
  EXPECT_EQ(t.skipped[1].subject, "global.com");
}

TEST(TranslateTest, AddressesOutsideTheAllowedRangesAreSkipped) {
  const auto t = run({entry("ns", "a", {"a.global"}, {"10.0.0.1", "240.0.0.1"}),
                      entry("ns", "b", {"b.global"}, {"10.0.0.1"})},
                     options({"global."}, {"240.0.0.0/8"}));
  EXPECT_EQ(served(t), "a.global=240.0.0.1");
  ASSERT_EQ(t.skipped.size(), 3u);
  EXPECT_EQ(t.skipped[0], (Skip{"ns/a", "test.yaml:a", "10.0.0.1",
                                "address 10.0.0.1 is outside the allowed ranges 240.0.0.0/8",
                                SkipReason::AddressOutsideAllowed}));
  EXPECT_EQ(t.skipped[1].subject, "10.0.0.1");
  EXPECT_EQ(t.skipped[2], (Skip{"ns/b", "test.yaml:b", "b.global",
                                "none of its addresses is served", SkipReason::NoServedAddress}));
}

TEST(TranslateTest, EmptyAllowedListServesNothing) {
  const auto t = run({entry("ns", "a", {"a.global"}, {"240.0.0.1"})}, options({"global"}, {}));
  EXPECT_EQ(served(t), "");
  ASSERT_EQ(t.skipped.size(), 2u);
  EXPECT_EQ(t.skipped[0].reason,
            "address 240.0.0.1 is outside the allowed ranges (none configured)");
}

struct AddressRuleCase {
  std::string address;
  std::string served;  // "" when skipped
  std::string reason;  // the address's skip reason
};

class AddressRuleTest : public ::testing::TestWithParam<AddressRuleCase> {};

TEST_P(AddressRuleTest, Applies) {
  const auto& c = GetParam();
  const auto t = run({entry("ns", "a", {"a.global"}, {c.address})});
  EXPECT_EQ(served(t), c.served.empty() ? "" : "a.global=" + c.served);
  if (c.reason.empty()) {
    EXPECT_TRUE(t.skipped.empty());
  } else {
    ASSERT_EQ(t.skipped.size(), 2u);  // the address, then the host left without any
    EXPECT_EQ(t.skipped[0], (Skip{"ns/a", "test.yaml:a", c.address, c.reason, t.skipped[0].code}));
    EXPECT_TRUE(skips_address(t.skipped[0].code));
    EXPECT_EQ(t.skipped[1].reason, "none of its addresses is served");
    EXPECT_EQ(t.skipped[1].code, SkipReason::NoServedAddress);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AddressRuleTest,
    ::testing::Values(
        AddressRuleCase{"240.0.0.1", "240.0.0.1", ""},
        AddressRuleCase{"240.0.0.1/32", "240.0.0.1", ""}, AddressRuleCase{"fd00::1", "fd00::1", ""},
        AddressRuleCase{"FD00::1/128", "fd00::1", ""},
        AddressRuleCase{"240.0.0.0/24", "", "240.0.0.0/24 is a CIDR, not a single address"},
        AddressRuleCase{"fd00::/64", "", "fd00::/64 is a CIDR, not a single address"},
        AddressRuleCase{"not-an-ip", "", "not an IP address"},
        AddressRuleCase{"240.0.0.1/40", "", "not an IP address"},
        AddressRuleCase{
            "2001:db8::1", "",
            "address 2001:db8::1 is outside the allowed ranges 240.0.0.0/8, fd00::/8"}));

TEST(TranslateTest, StatusAddressesAreUsedOnlyWithoutSpecAddresses) {
  ServiceEntry auto_allocated = entry("ns", "auto", {"a.global", "b.global", "c.global"}, {});
  auto_allocated.status_addresses = {{"240.240.0.1", "a.global"},
                                     {"fd00::a", "A.Global."},
                                     {"240.240.0.2", "b.global"},
                                     {"240.240.0.9", ""},
                                     {"240.240.0.3", "elsewhere.global"}};
  ServiceEntry both = entry("ns", "both", {"d.global"}, {"240.0.0.4"});
  both.status_addresses = {{"240.240.0.4", "d.global"}};
  const auto t = run({auto_allocated, both});
  EXPECT_EQ(served(t),
            "a.global=240.240.0.9,240.240.0.1,fd00::a b.global=240.240.0.9,240.240.0.2 "
            "c.global=240.240.0.9 d.global=240.0.0.4");
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_EQ(t.skipped[0], (Skip{"ns/auto", "test.yaml:auto", "240.240.0.3",
                                "status address for host elsewhere.global, which spec.hosts "
                                "does not list",
                                SkipReason::StatusAddressUnknownHost}));
}

TEST(TranslateTest, EntryWithoutAddressesSkipsEachHost) {
  const auto t = run({entry("ns", "a", {"a.global"}, {})});
  EXPECT_EQ(served(t), "");
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_EQ(t.skipped[0].reason, "no addresses (spec.addresses and status.addresses are empty)");
}

TEST(TranslateTest, ResolutionNoneSkipsTheWholeEntryOnce) {
  ServiceEntry e = entry("ns", "a", {"a.global", "b.global"}, {"240.0.0.1", "bad"});
  e.resolution = Resolution::None;
  const auto t = run({e});
  EXPECT_EQ(served(t), "");
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_EQ(t.skipped[0], (Skip{"ns/a", "test.yaml:a", "", "resolution NONE is not served",
                                SkipReason::ResolutionNone}));
}

TEST(TranslateTest, OtherResolutionsAreServed) {
  for (const auto resolution :
       {Resolution::Static, Resolution::Dns, Resolution::DnsRoundRobin, Resolution::Unset}) {
    ServiceEntry e = entry("ns", "a", {"a.global"}, {"240.0.0.1"});
    e.resolution = resolution;
    EXPECT_EQ(served(run({e})), "a.global=240.0.0.1");
  }
}

struct HostRuleCase {
  std::string host;
  std::string name;    // served name, "" when skipped
  std::string reason;  // skip reason when skipped
};

class HostRuleTest : public ::testing::TestWithParam<HostRuleCase> {};

TEST_P(HostRuleTest, Applies) {
  const auto& c = GetParam();
  const auto t = run({entry("ns", "a", {c.host}, {"240.0.0.1"})});
  if (c.name.empty()) {
    EXPECT_EQ(served(t), "");
    ASSERT_EQ(t.skipped.size(), 1u);
    EXPECT_EQ(t.skipped[0], (Skip{"ns/a", "test.yaml:a", c.host, c.reason, t.skipped[0].code}));
    EXPECT_FALSE(skips_address(t.skipped[0].code));
  } else {
    EXPECT_EQ(served(t), c.name + "=240.0.0.1");
    EXPECT_TRUE(t.skipped.empty());
  }
}

const std::string kLabel63(63, 'a');

INSTANTIATE_TEST_SUITE_P(
    Table, HostRuleTest,
    ::testing::Values(
        HostRuleCase{"httpbin.bar.global", "httpbin.bar.global", ""},
        HostRuleCase{"HttpBin.Bar.GLOBAL.", "httpbin.bar.global", ""},
        HostRuleCase{"*.wild.global", "*.wild.global", ""},
        HostRuleCase{"*.global", "*.global", ""},
        HostRuleCase{"*.WILD.global.", "*.wild.global", ""},
        HostRuleCase{"a-b.9x.global", "a-b.9x.global", ""},
        HostRuleCase{kLabel63 + ".global", kLabel63 + ".global", ""},
        HostRuleCase{"*foo.global", "",
                     "partial wildcard (only \"*.\" as the first label is served)"},
        HostRuleCase{"*-foo.global", "",
                     "partial wildcard (only \"*.\" as the first label is served)"},
        HostRuleCase{"foo.*.global", "", "\"*\" is allowed only as the whole first label"},
        HostRuleCase{"*.*.global", "", "\"*\" is allowed only as the whole first label"},
        HostRuleCase{"*", "", "a bare \"*\" host is not served"},
        HostRuleCase{"", "", "empty host"}, HostRuleCase{".", "", "empty host"},
        HostRuleCase{"a..global", "", "not a valid DNS name (label \"\")"},
        HostRuleCase{"a.global..", "", "not a valid DNS name (label \"\")"},
        HostRuleCase{".a.global", "", "not a valid DNS name (label \"\")"},
        HostRuleCase{"under_score.global", "", "not a valid DNS name (label \"under_score\")"},
        HostRuleCase{"-a.global", "", "not a valid DNS name (label \"-a\")"},
        HostRuleCase{"a-.global", "", "not a valid DNS name (label \"a-\")"},
        HostRuleCase{kLabel63 + "a.global", "",
                     "not a valid DNS name (label \"" + kLabel63 + "a\")"},
        HostRuleCase{kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + kLabel63 + ".global", "",
                     "longer than 253 characters"},
        HostRuleCase{"sp ace.global", "", "not a valid DNS name (label \"sp ace\")"}));

TEST(TranslateTest, DeduplicatesAddressesAndHostsWithinAnEntry) {
  const auto t = run({entry("ns", "a", {"a.global", "A.GLOBAL", "a.global."},
                            {"240.0.0.1", "240.0.0.1/32", "fd00::1", "FD00::1", "240.0.0.1"})});
  EXPECT_EQ(served(t), "a.global=240.0.0.1,fd00::1");
  EXPECT_TRUE(t.skipped.empty());
}

TEST(TranslateTest, OlderEntryWinsAHostAndTheLoserKeepsItsOtherHosts) {
  const auto t = run({entry("z", "newer", {"shared.global", "own.global"}, {"240.0.0.2"}, 2000),
                      entry("z", "older", {"Shared.Global"}, {"240.0.0.1"}, 1000)});
  EXPECT_EQ(served(t), "own.global=240.0.0.2 shared.global=240.0.0.1");
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0], (Conflict{"shared.global", "z/older", "z/newer", "test.yaml:older",
                                      "test.yaml:newer"}));
}

TEST(TranslateTest, MissingTimestampCountsAsNewest) {
  const auto t = run({entry("a", "undated", {"x.global"}, {"240.0.0.1"}),
                      entry("b", "dated", {"x.global"}, {"240.0.0.2"}, 4'000'000'000)});
  EXPECT_EQ(served(t), "x.global=240.0.0.2");
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0].winner, "b/dated");
  EXPECT_EQ(t.conflicts[0].loser, "a/undated");
}

TEST(TranslateTest, TiesAreBrokenByNamespaceThenName) {
  const auto t = run({entry("b", "a", {"x.global"}, {"240.0.0.3"}, 1000),
                      entry("a", "z", {"x.global", "y.global"}, {"240.0.0.2"}, 1000),
                      entry("a", "y", {"y.global"}, {"240.0.0.1"}, 1000)});
  EXPECT_EQ(served(t), "x.global=240.0.0.2 y.global=240.0.0.1");
  ASSERT_EQ(t.conflicts.size(), 2u);
  EXPECT_EQ(t.conflicts[0].host, "y.global");
  EXPECT_EQ(t.conflicts[0].winner, "a/y");
  EXPECT_EQ(t.conflicts[0].loser, "a/z");
  EXPECT_EQ(t.conflicts[1].host, "x.global");
  EXPECT_EQ(t.conflicts[1].winner, "a/z");
  EXPECT_EQ(t.conflicts[1].loser, "b/a");
}

TEST(TranslateTest, AnEntryThatCannotServeAHostDoesNotClaimIt) {
  const auto t = run({entry("ns", "old-empty", {"x.global"}, {}, 1),
                      entry("ns", "old-filtered", {"x.global"}, {"10.0.0.1"}, 2),
                      entry("ns", "new", {"x.global"}, {"240.0.0.1"}, 3)});
  EXPECT_EQ(served(t), "x.global=240.0.0.1");
  EXPECT_TRUE(t.conflicts.empty());
}

TEST(TranslateTest, SameNamespaceNameTwiceKeepsTheOlderCopyWhole) {
  ServiceEntry old_copy = entry("ns", "a", {"a.global", "b.global"}, {"240.0.0.1"}, 100);
  old_copy.origin = "one.yaml:1";
  ServiceEntry new_copy = entry("ns", "a", {"a.global", "c.global"}, {"240.0.0.2"}, 200);
  new_copy.origin = "two.yaml:1";
  const auto t = run({new_copy, old_copy});
  EXPECT_EQ(served(t), "a.global=240.0.0.1 b.global=240.0.0.1");
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0], (Conflict{"", "ns/a", "ns/a", "one.yaml:1", "two.yaml:1"}));
}

TEST(TranslateTest, IdenticalCopiesAreResolvedByOrigin) {
  ServiceEntry a = entry("ns", "a", {"a.global"}, {"240.0.0.1"}, 100);
  a.origin = "b.yaml:3";
  ServiceEntry b = a;
  b.origin = "a.yaml:3";
  const auto t = run({a, b});
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0].winner_origin, "a.yaml:3");
}

TEST(TranslateTest, OutputIsSortedAndIndependentOfInputOrder) {
  std::vector<ServiceEntry> entries;
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    std::optional<int64_t> created;
    if (i % 3 != 0) created = 1000 + i % 7;  // many ties, some undated
    const std::string group = std::to_string(i % 9);
    entries.push_back(entry(
        cat({"ns", std::to_string(i % 4)}), cat({"se", n}),
        {cat({"h", group, ".global"}), cat({"own", n, ".global"}), cat({"out", n, ".example.com"})},
        {cat({"240.0.0.", n}), cat({"10.0.0.", n}), cat({"fd00::", n})}, created));
  }
  entries.push_back(entries[5]);  // a duplicate key
  entries.back().origin = "again.yaml:1";
  const Translation reference = run(entries);
  EXPECT_TRUE(std::is_sorted(reference.hosts.begin(), reference.hosts.end(),
                             [](const resolver::HostRecords& a, const resolver::HostRecords& b) {
                               return a.name < b.name;
                             }));
  EXPECT_FALSE(reference.conflicts.empty());
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(entries.begin(), entries.end(), rng);
    const Translation t = run(entries);
    EXPECT_EQ(served(t), served(reference));
    EXPECT_EQ(t.skipped, reference.skipped);
    EXPECT_EQ(t.conflicts, reference.conflicts);
  }
}

TEST(TranslateTest, SkipReasonsHaveStableDistinctSnakeCaseLabels) {
  const SkipReason all[] = {SkipReason::ResolutionNone,        SkipReason::NoHosts,
                            SkipReason::InvalidAddress,        SkipReason::AddressIsCidr,
                            SkipReason::AddressOutsideAllowed, SkipReason::StatusAddressUnknownHost,
                            SkipReason::InvalidHost,           SkipReason::HostOutsideZones,
                            SkipReason::NoServedAddress,       SkipReason::NoAddress};
  std::set<std::string_view> labels;
  for (const SkipReason reason : all) {
    const std::string_view label = skip_reason_label(reason);
    EXPECT_TRUE(labels.insert(label).second) << label;
    EXPECT_EQ(label.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos)
        << label;
  }
  // Metrics and dashboards will use these: they must not change.
  EXPECT_EQ(skip_reason_label(SkipReason::ResolutionNone), "resolution_none");
  EXPECT_EQ(skip_reason_label(SkipReason::AddressOutsideAllowed), "address_outside_allowed");
  EXPECT_EQ(skip_reason_label(SkipReason::HostOutsideZones), "host_outside_zones");
}

TEST(TranslateTest, EachRuleReportsItsReasonCode) {
  ServiceEntry none = entry("ns", "none", {"n.global"}, {"240.0.0.1"});
  none.resolution = Resolution::None;
  ServiceEntry status = entry("ns", "st", {"s.global"}, {});
  status.status_addresses = {{"240.0.0.5", "other.global"}};
  const auto t = run(
      {none, entry("ns", "nohosts", {}, {"240.0.0.1"}),
       entry("ns", "bad", {"bad_host.global", "out.example"}, {"x", "240.0.0.0/24", "10.0.0.1"}),
       entry("ns", "empty", {"e.global"}, {}), status});
  std::multiset<std::string_view> codes;
  for (const Skip& s : t.skipped) codes.insert(skip_reason_label(s.code));
  EXPECT_EQ(codes, (std::multiset<std::string_view>{
                       "resolution_none", "no_hosts", "invalid_address", "address_is_cidr",
                       "address_outside_allowed", "invalid_host", "host_outside_zones",
                       "no_address", "status_address_unknown_host", "no_served_address"}));
}

}  // namespace
}  // namespace globaldns::sync

namespace globaldns::sync {
namespace {

// The winner rule as one three-way comparison: each field decides only when all before it are
// equal, in the documented order, and the comparison is a strict weak order.
TEST(PrecedenceTest, OrdersByAgeThenNamespaceNameThenEveryOtherField) {
  std::vector<ServiceEntry> expected;
  const auto add = [&](auto edit) {
    ServiceEntry e = entry("b", "b", {"b.b.global"}, {"240.0.0.2"}, 200);
    e.origin = "b.yaml:2";
    edit(e);
    expected.push_back(e);
  };
  add([](ServiceEntry& e) { e.created_unix = 100; });  // older wins over everything below
  add([](ServiceEntry& e) { e.namespace_ = "a"; });
  add([](ServiceEntry& e) { e.name = "a"; });
  add([](ServiceEntry& e) { e.origin = "a.yaml:9"; });
  add([](ServiceEntry& e) { e.hosts = {"a.b.global"}; });
  add([](ServiceEntry& e) { e.addresses = {"240.0.0.1"}; });
  add([](ServiceEntry& e) { e.resolution = Resolution::Static; });
  add([](ServiceEntry&) {});
  add([](ServiceEntry& e) { e.status_addresses = {{"240.0.0.9", "b.b.global"}}; });
  add([](ServiceEntry& e) { e.created_unix.reset(); });  // absent: newest of all

  std::vector<ServiceEntry> sorted = expected;
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(sorted.begin(), sorted.end(), rng);
    std::sort(sorted.begin(), sorted.end(), precedes);
    EXPECT_EQ(sorted, expected) << "round " << round;
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(compare_precedence(expected[i], expected[i]) == 0) << i;
    for (size_t j = i + 1; j < expected.size(); ++j) {
      EXPECT_TRUE(compare_precedence(expected[i], expected[j]) < 0) << i << " vs " << j;
      EXPECT_TRUE(compare_precedence(expected[j], expected[i]) > 0) << j << " vs " << i;
    }
  }
}

}  // namespace
}  // namespace globaldns::sync
