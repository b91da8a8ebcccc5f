// Unit tests of sync/explain: each reason a name is or is not served, and agreement with the
// answers a snapshot built from the same index gives.
#include "sync/explain.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "sync/translation_index.hpp"
#include "tests/unit/sync/answers.hpp"

namespace globaldns::sync {
namespace {

using Kind = ExplainFinding::Kind;

ServiceEntry entry(std::string ns, std::string name, std::vector<std::string> hosts,
                   std::vector<std::string> addresses, int64_t created = 100) {
  ServiceEntry e;
  e.namespace_ = std::move(ns);
  e.name = std::move(name);
  e.hosts = std::move(hosts);
  e.addresses = std::move(addresses);
  e.created_unix = created;
  e.origin = "se.yaml:" + e.name;
  return e;
}

TranslateOptions options() {
  TranslateOptions o;
  o.zones = {"global.", "mesh"};
  for (const char* text : {"240.0.0.0/8", "fd00::/8"}) o.allowed.push_back(*parse_cidr(text));
  return o;
}

class ExplainTest : public ::testing::Test {
 protected:
  ExplainTest() : index_(options()) {}
  void add(ServiceEntry e) { index_.insert(std::move(e)); }
  Explanation ask(std::string_view name) { return explain(index_, name, 30); }

  TranslationIndex index_;
};

TEST_F(ExplainTest, ServedNameNamesItsEntryAddressesAndTtlInAnyCase) {
  add(entry("ns", "httpbin", {"httpbin.ns.global"}, {"240.0.0.1", "fd00::1", "240.0.0.2"}));
  for (const char* asked : {"httpbin.ns.global", "HTTPBIN.ns.Global.", "httpbin.ns.global."}) {
    const Explanation e = ask(asked);
    EXPECT_EQ(e.name, "httpbin.ns.global");
    EXPECT_EQ(e.answer, ExplainAnswer::Served);
    EXPECT_TRUE(is_served(e));
    EXPECT_EQ(e.entry, "ns/httpbin");
    EXPECT_EQ(e.origin, "se.yaml:httpbin");
    EXPECT_EQ(e.zone, "global");
    EXPECT_TRUE(e.findings.empty());
  }
  EXPECT_EQ(explanation_text(ask("httpbin.ns.global")),
            "httpbin.ns.global: served by ServiceEntry ns/httpbin (se.yaml:httpbin)\n"
            "  A    240.0.0.1 240.0.0.2 (TTL 30)\n"
            "  AAAA fd00::1 (TTL 30)\n");
}

TEST_F(ExplainTest, ServedV4OnlySaysAaaaIsNoData) {
  add(entry("ns", "a", {"a.ns.global"}, {"240.0.0.1"}));
  const std::string text = explanation_text(ask("a.ns.global"));
  EXPECT_NE(text.find("  A    240.0.0.1 (TTL 30)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  AAAA NODATA: no IPv6 address is served for it\n"), std::string::npos)
      << text;
}

TEST_F(ExplainTest, ServedNameSaysWhichOfItsAddressesAreNotServed) {
  add(entry("ns", "dual", {"d.ns.global"}, {"240.0.0.1", "2001:db8::1"}));
  const Explanation e = ask("d.ns.global");
  EXPECT_EQ(e.answer, ExplainAnswer::Served);
  ASSERT_EQ(e.unserved_addresses.size(), 1u);
  EXPECT_EQ(e.unserved_addresses[0].code, SkipReason::AddressOutsideAllowed);
  EXPECT_EQ(explanation_text(e),
            "d.ns.global: served by ServiceEntry ns/dual (se.yaml:dual)\n"
            "  A    240.0.0.1 (TTL 30)\n"
            "  AAAA NODATA: no IPv6 address is served for it\n"
            "  not served from ns/dual: address_outside_allowed: address 2001:db8::1 is outside "
            "the allowed ranges 240.0.0.0/8, fd00::/8\n");
}

TEST_F(ExplainTest, WildcardAnswerNamesTheWildcardAndItsEntry) {
  add(entry("ns", "wild", {"*.w.global"}, {"240.0.0.9"}));
  add(entry("ns", "exact", {"x.w.global"}, {"240.0.0.1"}));
  const Explanation e = ask("y.w.global");
  EXPECT_EQ(e.answer, ExplainAnswer::ServedByWildcard);
  EXPECT_EQ(e.owner, "*.w.global");
  EXPECT_EQ(e.entry, "ns/wild");
  ASSERT_EQ(e.records.v4.size(), 1u);
  EXPECT_NE(explanation_text(e).find("through the wildcard *.w.global"), std::string::npos);
  // An existing name is not covered by the wildcard (RFC 4592 §2.2.2).
  EXPECT_EQ(ask("x.w.global").entry, "ns/exact");
  EXPECT_EQ(ask("w.global").answer, ExplainAnswer::EmptyNonTerminal);
}

TEST_F(ExplainTest, WildcardDoesNotReachBelowAnEmptyNonTerminal) {
  add(entry("ns", "wild", {"*.w.global"}, {"240.0.0.9"}));
  add(entry("ns", "deep", {"a.b.w.global"}, {"240.0.0.1"}));
  // b.w.global exists (as a parent), so it is the closest encloser of c.b.w.global and has no
  // wildcard child: NXDOMAIN, although *.w.global exists.
  EXPECT_EQ(ask("c.b.w.global").answer, ExplainAnswer::NxDomain);
  EXPECT_EQ(ask("b.w.global").answer, ExplainAnswer::EmptyNonTerminal);
  EXPECT_EQ(ask("c.w.global").answer, ExplainAnswer::ServedByWildcard);
}

TEST_F(ExplainTest, EmptyNonTerminalAndApexAreNoData) {
  add(entry("ns", "a", {"a.ns.global"}, {"240.0.0.1"}));
  const Explanation ent = ask("ns.global");
  EXPECT_EQ(ent.answer, ExplainAnswer::EmptyNonTerminal);
  EXPECT_FALSE(is_served(ent));
  EXPECT_EQ(explanation_text(ent),
            "ns.global: not served: NODATA for A and AAAA, an empty non-terminal in zone global: "
            "it exists only as the parent of served names\n");
  EXPECT_EQ(ask("global").answer, ExplainAnswer::ZoneApex);
  EXPECT_EQ(ask("mesh.").answer, ExplainAnswer::ZoneApex);
}

TEST_F(ExplainTest, UnknownNameIsNxDomainWithNearbyNames) {
  add(entry("ns", "a", {"httpbin.ns.global", "other.ns.global"}, {"240.0.0.1"}));
  add(entry("prod", "a", {"web.prod.global"}, {"240.0.0.2"}));
  add(entry("prod", "b", {"httpbin.prod.global"}, {"240.0.0.3"}));
  const Explanation e = ask("httpbin.dev.global");
  EXPECT_EQ(e.answer, ExplainAnswer::NxDomain);
  EXPECT_TRUE(e.findings.empty());
  EXPECT_EQ(e.nearby, (std::vector<std::string>{"httpbin.ns.global", "httpbin.prod.global"}));
  EXPECT_EQ(explanation_text(e),
            "httpbin.dev.global: not served: NXDOMAIN in zone global: no ServiceEntry serves "
            "this name, and none lists it\n"
            "  served names like it: httpbin.ns.global, httpbin.prod.global\n");
  // Same namespace label: the siblings come first.
  EXPECT_EQ(ask("typo.prod.global").nearby,
            (std::vector<std::string>{"httpbin.prod.global", "web.prod.global"}));
}

TEST_F(ExplainTest, OutsideEveryZoneIsRefusedAndListsTheZones) {
  add(entry("ns", "a", {"a.example.com"}, {"240.0.0.1"}));
  const Explanation e = ask("a.example.com");
  EXPECT_EQ(e.answer, ExplainAnswer::OutsideZones);
  EXPECT_EQ(e.zone, "");
  ASSERT_EQ(e.findings.size(), 1u);
  ASSERT_EQ(e.findings[0].skips.size(), 1u);
  EXPECT_EQ(e.findings[0].skips[0].code, SkipReason::HostOutsideZones);
  const std::string text = explanation_text(e);
  EXPECT_NE(text.find("REFUSED, outside every served zone (global., mesh)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ns/a (se.yaml:a) lists a.example.com, not served:\n"
                      "    host_outside_zones: a.example.com: outside the served zones"),
            std::string::npos)
      << text;
}

TEST_F(ExplainTest, AddressesOutsideTheAllowedRangesAreListedWithTheRanges) {
  add(entry("ns", "a", {"a.ns.global"}, {"10.0.0.1", "192.168.0.0/24"}));
  const Explanation e = ask("a.ns.global");
  EXPECT_EQ(e.answer, ExplainAnswer::NxDomain);
  ASSERT_EQ(e.findings.size(), 1u);
  const ExplainFinding& f = e.findings[0];
  EXPECT_EQ(f.kind, Kind::Skipped);
  EXPECT_EQ(f.entry, "ns/a");
  ASSERT_EQ(f.skips.size(), 3u);
  EXPECT_EQ(f.skips[0].code, SkipReason::NoServedAddress);
  EXPECT_EQ(f.skips[1].code, SkipReason::AddressOutsideAllowed);
  EXPECT_EQ(f.skips[2].code, SkipReason::AddressIsCidr);
  EXPECT_EQ(explanation_text(e),
            "a.ns.global: not served: NXDOMAIN in zone global: no ServiceEntry serves this name\n"
            "  ns/a (se.yaml:a) lists a.ns.global, not served:\n"
            "    no_served_address: a.ns.global: none of its addresses is served\n"
            "    address_outside_allowed: address 10.0.0.1 is outside the allowed ranges "
            "240.0.0.0/8, fd00::/8\n"
            "    address_is_cidr: 192.168.0.0/24 is a CIDR, not a single address\n");
}

TEST_F(ExplainTest, ResolutionNoneSkipsTheWholeEntry) {
  ServiceEntry e = entry("ns", "none", {"n.ns.global"}, {"240.0.0.1"});
  e.resolution = Resolution::None;
  add(e);
  const Explanation x = ask("n.ns.global");
  EXPECT_EQ(x.answer, ExplainAnswer::NxDomain);
  ASSERT_EQ(x.findings.size(), 1u);
  ASSERT_EQ(x.findings[0].skips.size(), 1u);
  EXPECT_EQ(x.findings[0].skips[0].code, SkipReason::ResolutionNone);
  EXPECT_NE(explanation_text(x).find(
                "    resolution_none: the whole entry: resolution NONE is not served\n"),
            std::string::npos);
}

TEST_F(ExplainTest, EntryWithoutAddressesSaysSo) {
  add(entry("ns", "empty", {"e.ns.global"}, {}));
  const Explanation x = ask("e.ns.global");
  ASSERT_EQ(x.findings.size(), 1u);
  ASSERT_EQ(x.findings[0].skips.size(), 1u);
  EXPECT_EQ(x.findings[0].skips[0].code, SkipReason::NoAddress);
}

TEST_F(ExplainTest, InvalidHostIsReported) {
  add(entry("ns", "bad", {"bad_host.ns.global"}, {"240.0.0.1"}));
  const Explanation x = ask("BAD_HOST.ns.global");
  EXPECT_EQ(x.answer, ExplainAnswer::NxDomain);
  ASSERT_EQ(x.findings.size(), 1u);
  ASSERT_EQ(x.findings[0].skips.size(), 1u);
  EXPECT_EQ(x.findings[0].skips[0].code, SkipReason::InvalidHost);
  EXPECT_EQ(x.findings[0].skips[0].subject, "bad_host.ns.global");
}

TEST_F(ExplainTest, ConflictLoserIsNamedWithBothOrigins) {
  add(entry("ns", "new", {"c.ns.global"}, {"240.0.0.2"}, 200));
  add(entry("ns", "old", {"c.ns.global"}, {"240.0.0.1"}, 100));
  const Explanation e = ask("c.ns.global");
  EXPECT_EQ(e.answer, ExplainAnswer::Served);
  EXPECT_EQ(e.entry, "ns/old");
  ASSERT_EQ(e.findings.size(), 1u);
  EXPECT_EQ(e.findings[0], (ExplainFinding{Kind::LostConflict,
                                           "c.ns.global",
                                           "ns/new",
                                           "se.yaml:new",
                                           {},
                                           "ns/old",
                                           "se.yaml:old"}));
  EXPECT_NE(explanation_text(e).find("  ns/new (se.yaml:new) lists c.ns.global but lost it to "
                                     "the older ns/old (se.yaml:old)"),
            std::string::npos);
}

TEST_F(ExplainTest, DuplicateCopyOfOneObjectIsNamed) {
  ServiceEntry first = entry("ns", "dup", {"d.ns.global"}, {"240.0.0.1"});
  ServiceEntry second = first;
  first.origin = "a.yaml:1";
  second.origin = "b.yaml:1";
  second.addresses = {"240.0.0.2"};
  add(first);
  add(second);
  const Explanation e = ask("d.ns.global");
  EXPECT_EQ(e.answer, ExplainAnswer::Served);
  ASSERT_EQ(e.findings.size(), 1u);
  EXPECT_EQ(e.findings[0].kind, Kind::DuplicateCopy);
  EXPECT_EQ(e.findings[0].other, "ns/dup");
  EXPECT_NE(e.findings[0].origin, e.findings[0].other_origin);
}

TEST_F(ExplainTest, SkippedWildcardIsReportedForTheNamesItWouldCover) {
  add(entry("ns", "wild", {"*.w.global"}, {"10.0.0.1"}));
  add(entry("ns", "a", {"a.w.global"}, {"240.0.0.1"}));
  const Explanation e = ask("b.w.global");
  EXPECT_EQ(e.answer, ExplainAnswer::NxDomain);
  ASSERT_EQ(e.findings.size(), 1u);
  EXPECT_EQ(e.findings[0].host, "*.w.global");
  EXPECT_EQ(e.findings[0].entry, "ns/wild");
}

TEST_F(ExplainTest, AServedNameCanStillHaveSkippedListings) {
  add(entry("ns", "ok", {"s.ns.global"}, {"240.0.0.1"}, 100));
  add(entry("ns", "out", {"s.ns.global"}, {"10.0.0.1"}, 50));
  const Explanation e = ask("s.ns.global");
  EXPECT_EQ(e.entry, "ns/ok");
  ASSERT_EQ(e.findings.size(), 1u);
  EXPECT_EQ(e.findings[0].entry, "ns/out");
  EXPECT_EQ(e.findings[0].skips[0].code, SkipReason::NoServedAddress);
}

TEST_F(ExplainTest, UnpublishedStateIsNeverServed) {
  add(entry("ns", "a", {"a.ns.global"}, {"240.0.0.1"}));
  Explanation e = ask("a.ns.global");
  e.published = false;
  EXPECT_FALSE(is_served(e));
  EXPECT_NE(explanation_text(e).find("SERVFAIL"), std::string::npos);
}

// What explain says a query gets must be what the snapshot built from the same index answers.
TEST(ExplainAgreementTest, AnswersMatchTheSnapshotForRandomData) {
  const std::vector<std::string> hosts = {"a.global",   "b.a.global", "*.a.global", "c.b.a.global",
                                          "*.global",   "d.global",   "e.d.global", "x.mesh",
                                          "*.y.x.mesh", "mesh"};
  const std::vector<std::string> queries = {
      "a.global", "b.a.global", "z.a.global",   "q.b.a.global", "c.b.a.global", "global",
      "d.global", "e.d.global", "f.d.global",   "new.global",   "m.e.d.global", "x.mesh",
      "y.x.mesh", "k.y.x.mesh", "j.k.y.x.mesh", "mesh",         "out.example",  "*.a.global"};
  std::mt19937 rng(7);
  std::set<ExplainAnswer> seen;
  for (int round = 0; round < 200; ++round) {
    TranslationIndex index(options());
    const size_t entries = rng() % 6;
    for (size_t i = 0; i < entries; ++i) {
      std::vector<std::string> chosen;
      for (const auto& h : hosts)
        if (rng() % 4 == 0) chosen.push_back(h);
      std::vector<std::string> addresses;
      // append, not "literal" + string: g++ 12 -O3 warns falsely (-Wrestrict) on the latter.
      const std::string number = std::to_string(i + 1);
      if (rng() % 2) addresses.push_back(std::string("240.0.0.").append(number));
      if (rng() % 3 == 0) addresses.push_back(std::string("fd00::").append(number));
      index.insert(entry("ns", std::string("e").append(std::to_string(i)), chosen, addresses,
                         static_cast<int64_t>(rng() % 3)));
    }
    resolver::ZoneData data;
    for (const char* apex : {"global.", "mesh."}) {
      resolver::ZoneSpec zone;
      zone.apex = apex;
      data.zones.push_back(zone);
    }
    index.for_each_host([&](const resolver::HostRecords& h) { data.hosts.push_back(h); });
    auto snapshot = resolver::build_snapshot(data);
    ASSERT_TRUE(snapshot) << snapshot.error();
    for (const auto& q : queries) {
      const Explanation e = explain(index, q, 30);
      seen.insert(e.answer);
      for (const uint16_t type : {uint16_t{1}, uint16_t{28}}) {
        const auto reply = testing_answers::ask(&**snapshot, q, type);
        const auto outcome = static_cast<resolver::Outcome>(reply.at(0));
        resolver::Outcome expected = resolver::Outcome::NxDomain;
        switch (e.answer) {
          case ExplainAnswer::Served:
          case ExplainAnswer::ServedByWildcard:
            expected = (type == 1 ? e.records.v4.empty() : e.records.v6.empty())
                           ? resolver::Outcome::NoData
                           : resolver::Outcome::Hit;
            break;
          case ExplainAnswer::ZoneApex:
          case ExplainAnswer::EmptyNonTerminal:
            expected = resolver::Outcome::NoData;
            break;
          case ExplainAnswer::NxDomain:
            expected = resolver::Outcome::NxDomain;
            break;
          case ExplainAnswer::OutsideZones:
            expected = resolver::Outcome::Refused;
            break;
        }
        EXPECT_EQ(outcome, expected) << "round " << round << " " << q << " type " << type << "\n"
                                     << explanation_text(e);
      }
    }
  }
  EXPECT_EQ(seen.size(), 6u) << "the random data must reach every kind of answer";
}

}  // namespace
}  // namespace globaldns::sync
