// Golden query -> answer cases straight through the engine, every response decoded by ldns.
#include "resolver/answer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/support/ldns_check.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::resolver {
namespace {

using globaldns::testing::decode;
using globaldns::testing::LdnsPkt;
using globaldns::testing::make_query;
using globaldns::testing::QueryOptions;
using globaldns::testing::section;

class AnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto built = build_snapshot(testzone::data());
    ASSERT_TRUE(built.ok()) << built.error();
    snap_ = built.value();
  }

  struct Reply {
    AnswerResult result;
    std::vector<uint8_t> bytes;
    LdnsPkt pkt;
  };

  Reply ask(const std::vector<uint8_t>& query, Transport t = Transport::Udp) {
    Reply r;
    r.bytes.assign(65535, 0);
    r.result = answer(snap_.get(), query, r.bytes, t);
    r.bytes.resize(r.result.size);
    if (r.result.size) r.pkt = decode(r.bytes.data(), r.bytes.size());
    return r;
  }
  Reply ask(const std::string& name, uint16_t type, const QueryOptions& o = {},
            Transport t = Transport::Udp) {
    return ask(make_query(name, type, o), t);
  }

  std::shared_ptr<const Snapshot> snap_;
};

TEST_F(AnswerTest, HitIsAuthoritativeWithTheAddress) {
  auto r = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::Hit);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(r.pkt.get()));
  EXPECT_TRUE(ldns_pkt_qr(r.pkt.get()));
  EXPECT_TRUE(ldns_pkt_rd(r.pkt.get()));
  EXPECT_FALSE(ldns_pkt_ra(r.pkt.get()));
  EXPECT_FALSE(ldns_pkt_tc(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_id(r.pkt.get()), 0x1234);
  EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
            std::vector<std::string>{"httpbin.istio-testing.global.\t30\tIN\tA\t240.0.0.2"});
  EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 0);
}

TEST_F(AnswerTest, SeveralAddressesAnswerTogether) {
  auto r = ask("multi.istio-testing.global.", LDNS_RR_TYPE_A);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
            (std::vector<std::string>{"multi.istio-testing.global.\t30\tIN\tA\t240.0.0.3",
                                      "multi.istio-testing.global.\t30\tIN\tA\t240.0.0.4"}));
}

TEST_F(AnswerTest, AaaaForIpv6Addresses) {
  auto r = ask("dual.istio-testing.global.", LDNS_RR_TYPE_AAAA);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
            std::vector<std::string>{"dual.istio-testing.global.\t30\tIN\tAAAA\tfd00::5"});
}

TEST_F(AnswerTest, QuestionEchoedByteForByteAndCaseInsensitiveMatch) {
  auto q = make_query("HtTpBiN.IsTiO-tEsTiNg.GlObAl.", LDNS_RR_TYPE_A);
  auto r = ask(q);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::Hit);
  ASSERT_GE(r.bytes.size(), q.size());
  EXPECT_EQ(std::vector<uint8_t>(r.bytes.begin() + 12, r.bytes.begin() + q.size()),
            std::vector<uint8_t>(q.begin() + 12, q.end()));
  // The owner is a pointer to the question, so it carries the question's case.
  EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
            std::vector<std::string>{"HtTpBiN.IsTiO-tEsTiNg.GlObAl.\t30\tIN\tA\t240.0.0.2"});
}

TEST_F(AnswerTest, NoDataForExistingNameWithoutTheType) {
  auto r = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_AAAA);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::NoData);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
  auto auth = section(ldns_pkt_authority(r.pkt.get()));
  ASSERT_EQ(auth.size(), 1u);
  // Negative TTL = min(SOA TTL 60, minimum 20).
  EXPECT_EQ(auth[0].rfind("global.\t20\tIN\tSOA\tglobaldns.istio-system.svc.cluster.local. "
                          "hostmaster.globaldns.istio-system.svc.cluster.local. 1 60 30 86400 20",
                          0),
            0u)
      << auth[0];
}

TEST_F(AnswerTest, EmptyNonTerminalIsNoDataNotNxDomain) {
  for (const char* name : {"istio-testing.global.", "a.b.global.", "b.global.", "wild.global."}) {
    auto r = ask(name, LDNS_RR_TYPE_A);
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::NoData) << name;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NOERROR) << name;
    EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 1) << name;
  }
}

TEST_F(AnswerTest, NxDomainWithSoaForMissingNames) {
  for (const char* name :
       {"nope.global.", "nope.istio-testing.global.", "x.httpbin.istio-testing.global."}) {
    auto r = ask(name, LDNS_RR_TYPE_A);
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::NxDomain) << name;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NXDOMAIN) << name;
    EXPECT_TRUE(ldns_pkt_aa(r.pkt.get()));
    auto auth = section(ldns_pkt_authority(r.pkt.get()));
    ASSERT_EQ(auth.size(), 1u) << name;
    EXPECT_EQ(auth[0].rfind("global.\t20\tIN\tSOA\t", 0), 0u) << auth[0];
  }
}

TEST_F(AnswerTest, SoaOwnerIsTheApexInTheQuestionsCase) {
  auto r = ask("Nope.GLOBAL.", LDNS_RR_TYPE_A);
  ASSERT_TRUE(r.pkt);
  auto auth = section(ldns_pkt_authority(r.pkt.get()));
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0].rfind("GLOBAL.\t20\tIN\tSOA", 0), 0u) << auth[0];
}

TEST_F(AnswerTest, WildcardSynthesisesWithTheQueryNameAsOwner) {
  for (const char* name : {"foo.wild.global.", "a.b.c.wild.global."}) {
    auto r = ask(name, LDNS_RR_TYPE_A);
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::Hit) << name;
    EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
              std::vector<std::string>{std::string(name) + "\t30\tIN\tA\t240.0.0.10"});
  }
  // An existing name below the wildcard's parent answers for itself (RFC 4592 §2.2.1).
  auto exact = ask("exact.wild.global.", LDNS_RR_TYPE_A);
  EXPECT_EQ(section(ldns_pkt_answer(exact.pkt.get())),
            std::vector<std::string>{"exact.wild.global.\t30\tIN\tA\t240.0.0.11"});
  // Below an existing name the wildcard does not apply: the closest encloser is that name.
  auto below = ask("x.exact.wild.global.", LDNS_RR_TYPE_A);
  EXPECT_EQ(below.result.outcome, Outcome::NxDomain);
  // The wildcard's parent itself is an empty non-terminal, not a wildcard match.
  EXPECT_EQ(ask("wild.global.", LDNS_RR_TYPE_A).result.outcome, Outcome::NoData);
  // Wildcard NODATA: the synthesised name exists, with no AAAA.
  auto nodata = ask("foo.wild.global.", LDNS_RR_TYPE_AAAA);
  EXPECT_EQ(nodata.result.outcome, Outcome::NoData);
  EXPECT_EQ(ldns_pkt_get_rcode(nodata.pkt.get()), LDNS_RCODE_NOERROR);
  // "*" below the wildcard is no wildcard match (closest encloser is "*.wild.global").
  EXPECT_EQ(ask("a.*.wild.global.", LDNS_RR_TYPE_A).result.outcome, Outcome::NxDomain);
}

TEST_F(AnswerTest, ApexAnswersSoaAndNs) {
  auto soa = ask("global.", LDNS_RR_TYPE_SOA);
  ASSERT_TRUE(soa.pkt);
  EXPECT_EQ(soa.result.outcome, Outcome::Hit);
  auto an = section(ldns_pkt_answer(soa.pkt.get()));
  ASSERT_EQ(an.size(), 1u);
  EXPECT_EQ(an[0].rfind("global.\t60\tIN\tSOA\t", 0), 0u) << an[0];
  auto ns = ask("global.", LDNS_RR_TYPE_NS);
  EXPECT_EQ(
      section(ldns_pkt_answer(ns.pkt.get())),
      std::vector<std::string>{"global.\t60\tIN\tNS\tglobaldns.istio-system.svc.cluster.local."});
  EXPECT_EQ(ask("global.", LDNS_RR_TYPE_A).result.outcome, Outcome::NoData);
}

TEST_F(AnswerTest, AnyGetsOneRRset) {
  auto r = ask("multi.istio-testing.global.", LDNS_RR_TYPE_ANY);
  EXPECT_EQ(r.result.outcome, Outcome::Hit);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 2);
  auto apex = ask("global.", LDNS_RR_TYPE_ANY);
  auto an = section(ldns_pkt_answer(apex.pkt.get()));
  ASSERT_EQ(an.size(), 1u);
  EXPECT_NE(an[0].find("\tSOA\t"), std::string::npos);
  EXPECT_EQ(ask("istio-testing.global.", LDNS_RR_TYPE_ANY).result.outcome, Outcome::NoData);
}

// Address records are written per answer with the zone data's TTL (the shards hold their rdata
// only); SOA and NS keep the SOA's. The apex here has all four RRsets, stored one behind another.
TEST(AnswerAddressTtl, AddressesCarryTheDataTtlAndTheApexKeepsEveryRRset) {
  ZoneData d = testzone::data();
  d.ttl = 45;
  d.hosts.push_back({"global.",
                     {{240, 0, 0, 30}, {240, 0, 0, 31}},
                     {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30}}});
  auto built = build_snapshot(d);
  ASSERT_TRUE(built.ok()) << built.error();
  const Snapshot& snap = *built.value();
  std::vector<uint8_t> out(65535);
  auto answers = [&](const std::string& name, uint16_t type) {
    auto q = make_query(name, type);
    auto res = answer(&snap, q, out, Transport::Udp);
    auto pkt = decode(out.data(), res.size);
    return pkt ? section(ldns_pkt_answer(pkt.get())) : std::vector<std::string>{"undecodable"};
  };
  EXPECT_EQ(answers("dual.istio-testing.global.", LDNS_RR_TYPE_A),
            std::vector<std::string>{"dual.istio-testing.global.\t45\tIN\tA\t240.0.0.5"});
  EXPECT_EQ(answers("dual.istio-testing.global.", LDNS_RR_TYPE_AAAA),
            std::vector<std::string>{"dual.istio-testing.global.\t45\tIN\tAAAA\tfd00::5"});
  EXPECT_EQ(answers("global.", LDNS_RR_TYPE_A),
            (std::vector<std::string>{"global.\t45\tIN\tA\t240.0.0.30",
                                      "global.\t45\tIN\tA\t240.0.0.31"}));
  EXPECT_EQ(answers("global.", LDNS_RR_TYPE_AAAA),
            std::vector<std::string>{"global.\t45\tIN\tAAAA\tfd00::30"});
  EXPECT_EQ(
      answers("global.", LDNS_RR_TYPE_NS),
      std::vector<std::string>{"global.\t60\tIN\tNS\tglobaldns.istio-system.svc.cluster.local."});
  const auto soa = answers("global.", LDNS_RR_TYPE_SOA);
  ASSERT_EQ(soa.size(), 1u);
  EXPECT_EQ(soa[0].rfind("global.\t60\tIN\tSOA\t", 0), 0u) << soa[0];
  EXPECT_EQ(answers("global.", LDNS_RR_TYPE_ANY), soa);  // the first RRset (RFC 8482 §4.2)

  const NodeRef apex = snap.find(reinterpret_cast<const uint8_t*>("\6global"), 8);
  ASSERT_TRUE(apex);
  std::vector<uint16_t> types;
  size_t records = 0;
  for (const RRsetRef& set : apex.shard->rrsets(*apex.node)) {
    types.push_back(set.type);
    records += set.count;
  }
  EXPECT_EQ(types, (std::vector<uint16_t>{6, 2, 1, 28}));
  EXPECT_EQ(records, 5u);
}

// prefetch_batch reads a batch of raw datagrams before any is checked: whatever they hold, it
// reads only inside them (the sanitizer builds run this), and answers after it are exactly the
// answers without it. The zone is large enough for the pass to run (it skips small ones).
TEST(AnswerPrefetch, AnyBatchIsReadSafelyAndChangesNoAnswer) {
  ZoneData d = testzone::data();
  for (int i = 0; i < 50'000; ++i) {
    d.hosts.push_back({"svc" + std::to_string(i) + ".ns" + std::to_string(i / 100) + ".global",
                       {{240, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                         static_cast<uint8_t>(i)}},
                       {}});
  }
  auto built = build_snapshot(d);
  ASSERT_TRUE(built.ok()) << built.error();
  const Snapshot& snap = *built.value();
  ASSERT_GE(snap.node_count(), 50'000u);

  std::vector<std::vector<uint8_t>> queries = {
      make_query("svc7.ns0.global.", LDNS_RR_TYPE_A),
      make_query("SVC49999.ns499.Global.", LDNS_RR_TYPE_A),
      make_query("svc7.ns0.global.", LDNS_RR_TYPE_AAAA),
      make_query("absent.ns0.global.", LDNS_RR_TYPE_A),
      make_query("*.wild.istio-testing.global.", LDNS_RR_TYPE_A),
      make_query("x.wild.istio-testing.global.", LDNS_RR_TYPE_A),
      make_query("example.com.", LDNS_RR_TYPE_A),
      make_query(".", LDNS_RR_TYPE_NS),
  };
  const std::vector<uint8_t> hit = queries[0];
  queries.push_back({});                                        // empty
  queries.push_back({hit.begin(), hit.begin() + 5});            // part of a header
  queries.push_back({hit.begin(), hit.begin() + 12});           // a header alone
  queries.push_back({hit.begin(), hit.begin() + 17});           // a name cut short
  std::vector<uint8_t> pointer(hit.begin(), hit.begin() + 12);  // a pointer as the name
  pointer.insert(pointer.end(), {0xC0, 0x0C, 0, 1, 0, 1});
  queries.push_back(pointer);
  std::vector<uint8_t> long_label(hit.begin(), hit.begin() + 12);  // a label past the end
  long_label.push_back(63);
  long_label.insert(long_label.end(), 10, 'a');
  queries.push_back(long_label);
  std::vector<uint8_t> too_long(hit.begin(), hit.begin() + 12);  // over 255 bytes
  for (int i = 0; i < 5; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'b');
  }
  too_long.insert(too_long.end(), {0, 0, 1, 0, 1});
  queries.push_back(too_long);
  // More than one chunk of the pass.
  for (int i = 0; i < 150; ++i)
    queries.push_back(
        make_query("svc" + std::to_string(i * 300) + ".ns" + std::to_string(i * 3) + ".global.",
                   LDNS_RR_TYPE_A));

  // Exact-size copies, so that a read past a datagram's end is one past its allocation.
  std::vector<std::unique_ptr<uint8_t[]>> copies;
  std::vector<std::span<const uint8_t>> batch;
  for (const auto& q : queries) {
    copies.push_back(std::make_unique<uint8_t[]>(std::max<size_t>(q.size(), 1)));
    std::copy(q.begin(), q.end(), copies.back().get());
    batch.emplace_back(copies.back().get(), q.size());
  }
  auto answers = [&] {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& q : batch) {
      std::vector<uint8_t> bytes(4096);
      bytes.resize(answer(&snap, q, bytes, Transport::Udp).size);
      out.push_back(std::move(bytes));
    }
    return out;
  };
  const auto without = answers();
  prefetch_batch(&snap, batch);
  EXPECT_EQ(answers(), without);
  // The hit above did hit: the batch really looked names up.
  const auto pkt = decode(without[1].data(), without[1].size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(section(ldns_pkt_answer(pkt.get())),
            std::vector<std::string>{"SVC49999.ns499.Global.\t30\tIN\tA\t240.0.195.79"});
  prefetch_batch(nullptr, batch);                                      // nothing published yet
  prefetch_batch(&snap, std::span<const std::span<const uint8_t>>());  // an empty batch
}

TEST_F(AnswerTest, SecondZoneAndLongestMatch) {
  auto r = ask("svc.mesh.example.", LDNS_RR_TYPE_A);
  EXPECT_EQ(r.result.outcome, Outcome::Hit);
  auto nx = ask("other.mesh.example.", LDNS_RR_TYPE_A);
  auto auth = section(ldns_pkt_authority(nx.pkt.get()));
  ASSERT_EQ(auth.size(), 1u);
  EXPECT_EQ(auth[0].rfind("mesh.example.\t", 0), 0u) << auth[0];
}

TEST_F(AnswerTest, RefusedOutsideEveryZoneAndForOtherClasses) {
  for (const char* name : {"example.com.", ".", "global.com.", "xglobal.", "example."}) {
    auto r = ask(name, LDNS_RR_TYPE_A);
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::Refused) << name;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_REFUSED);
    EXPECT_FALSE(ldns_pkt_aa(r.pkt.get()));
    EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()) + ldns_pkt_nscount(r.pkt.get()), 0);
  }
  QueryOptions hesiod;
  hesiod.qclass = LDNS_RR_CLASS_HS;
  EXPECT_EQ(ask("version.bind.", LDNS_RR_TYPE_TXT, hesiod).result.outcome, Outcome::Refused);
  QueryOptions any_class;
  any_class.qclass = LDNS_RR_CLASS_ANY;
  EXPECT_EQ(ask("version.bind.", LDNS_RR_TYPE_TXT, any_class).result.outcome, Outcome::Refused);
  EXPECT_EQ(ask("global.", LDNS_RR_TYPE_AXFR).result.outcome, Outcome::Refused);
}

QueryOptions chaos_options() {
  QueryOptions o;
  o.qclass = LDNS_RR_CLASS_CH;
  return o;
}

// dig CH TXT version.bind: NOERROR, AA, one TXT in class CH with TTL 0, the question echoed.
TEST_F(AnswerTest, ChaosTxtNamesTheVersionAndTheHost) {
  const std::pair<const char*, const char*> cases[] = {
      {"version.bind.", "\"globaldns 1.2.3\""}, {"version.server.", "\"globaldns 1.2.3\""},
      {"hostname.bind.", "\"node-7\""},         {"id.server.", "\"node-7\""},
      {"VERSION.BIND.", "\"globaldns 1.2.3\""}, {"Version.Server.", "\"globaldns 1.2.3\""},
      {"HostName.bInD.", "\"node-7\""},         {"ID.SERVER.", "\"node-7\""},
  };
  for (const auto& [name, text] : cases) {
    auto r = ask(name, LDNS_RR_TYPE_TXT, chaos_options());
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::Hit) << name;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NOERROR) << name;
    EXPECT_TRUE(ldns_pkt_aa(r.pkt.get())) << name;
    EXPECT_FALSE(ldns_pkt_tc(r.pkt.get())) << name;
    EXPECT_EQ(ldns_pkt_id(r.pkt.get()), 0x1234);
    EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 0);
    EXPECT_EQ(ldns_pkt_arcount(r.pkt.get()), 0);
    const std::string owner = name;
    EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
              std::vector<std::string>{owner + "\t0\tCH\tTXT\t" + text})
        << name;
    // The question byte for byte (its case too), like every other answer.
    const auto q = make_query(name, LDNS_RR_TYPE_TXT, chaos_options());
    ASSERT_GE(r.bytes.size(), q.size());
    EXPECT_TRUE(std::equal(q.begin() + 12, q.end(), r.bytes.begin() + 12)) << name;
  }
}

// NSD's choice: ANY gets the TXT; any other type of these names is REFUSED, not NODATA.
TEST_F(AnswerTest, ChaosAnyGetsTheTxtOtherTypesAreRefused) {
  auto any = ask("version.bind.", LDNS_RR_TYPE_ANY, chaos_options());
  ASSERT_TRUE(any.pkt);
  EXPECT_EQ(any.result.outcome, Outcome::Hit);
  EXPECT_EQ(section(ldns_pkt_answer(any.pkt.get())),
            std::vector<std::string>{"version.bind.\t0\tCH\tTXT\t\"globaldns 1.2.3\""});
  for (const uint16_t type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS,
                              LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR}) {
    auto r = ask("hostname.bind.", type, chaos_options());
    ASSERT_TRUE(r.pkt) << type;
    EXPECT_EQ(r.result.outcome, Outcome::Refused) << type;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_REFUSED) << type;
    EXPECT_FALSE(ldns_pkt_aa(r.pkt.get())) << type;
    EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()) + ldns_pkt_nscount(r.pkt.get()), 0) << type;
  }
}

TEST_F(AnswerTest, OtherChaosNamesAreRefused) {
  for (const char* name : {"authors.bind.", "version.bind.x.", "x.version.bind.", "bind.",
                           "version.", ".", "id.server.global.", "httpbin.istio-testing.global.",
                           "global.", "version.bin.", "hostname.server.", "id.bind."}) {
    auto r = ask(name, LDNS_RR_TYPE_TXT, chaos_options());
    ASSERT_TRUE(r.pkt) << name;
    EXPECT_EQ(r.result.outcome, Outcome::Refused) << name;
    EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_REFUSED) << name;
    EXPECT_FALSE(ldns_pkt_aa(r.pkt.get())) << name;
    EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0) << name;
  }
  // IN questions for the same names are ordinary out-of-zone questions.
  EXPECT_EQ(ask("version.bind.", LDNS_RR_TYPE_TXT).result.outcome, Outcome::Refused);
}

TEST_F(AnswerTest, ChaosEdnsEchoedAndBadVersFirst) {
  QueryOptions o = chaos_options();
  o.edns = true;
  o.edns_udp = 4096;
  o.dnssec_ok = true;
  auto r = ask("id.server.", LDNS_RR_TYPE_TXT, o);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::Hit);
  EXPECT_TRUE(ldns_pkt_edns(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(r.pkt.get()), 1232);
  EXPECT_TRUE(ldns_pkt_edns_do(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 1);
  auto refused = ask("authors.bind.", LDNS_RR_TYPE_TXT, o);
  EXPECT_EQ(refused.result.outcome, Outcome::Refused);
  EXPECT_TRUE(ldns_pkt_edns(refused.pkt.get()));
  o.edns_version = 1;
  EXPECT_EQ(ask("id.server.", LDNS_RR_TYPE_TXT, o).result.outcome, Outcome::BadVers);
}

TEST_F(AnswerTest, ChaosOverTcpIsTheSame) {
  auto r = ask("version.server.", LDNS_RR_TYPE_TXT, chaos_options(), Transport::Tcp);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(section(ldns_pkt_answer(r.pkt.get())),
            std::vector<std::string>{"version.server.\t0\tCH\tTXT\t\"globaldns 1.2.3\""});
}

TEST(AnswerChaos, SwitchedOffPairsAreRefused) {
  for (const bool version_on : {false, true}) {
    ZoneData d = testzone::data();
    d.chaos.version = version_on ? "v" : "";
    d.chaos.hostname = version_on ? "" : "h";
    auto snap = build_snapshot(d);
    ASSERT_TRUE(snap.ok()) << snap.error();
    std::vector<uint8_t> out(512);
    auto outcome = [&](const char* name) {
      return answer(snap->get(), make_query(name, LDNS_RR_TYPE_TXT, chaos_options()), out,
                    Transport::Udp)
          .outcome;
    };
    const Outcome version = version_on ? Outcome::Hit : Outcome::Refused;
    const Outcome host = version_on ? Outcome::Refused : Outcome::Hit;
    EXPECT_EQ(outcome("version.bind."), version);
    EXPECT_EQ(outcome("version.server."), version);
    EXPECT_EQ(outcome("hostname.bind."), host);
    EXPECT_EQ(outcome("id.server."), host);
  }
}

// The longest text, 255 bytes, under the smallest UDP limit, with a byte of every value.
TEST(AnswerChaos, LongestTextFitsInFiveHundredTwelveBytes) {
  ZoneData d = testzone::data();
  d.chaos.version.assign(255, 'v');
  d.chaos.version[0] = '"';
  d.chaos.version[1] = '\0';
  d.chaos.version.back() = '\xff';
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok()) << snap.error();
  std::vector<uint8_t> out(512);
  const auto q = make_query("version.server.", LDNS_RR_TYPE_TXT, chaos_options());
  const AnswerResult res = answer(snap->get(), q, out, Transport::Udp);
  EXPECT_EQ(res.outcome, Outcome::Hit);
  EXPECT_FALSE(res.truncated);
  EXPECT_EQ(res.size, q.size() + 2 + 10 + 1 + 255);
  auto pkt = decode(out.data(), res.size);
  ASSERT_TRUE(pkt);
  ASSERT_EQ(ldns_pkt_ancount(pkt.get()), 1);
  const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0);
  EXPECT_EQ(ldns_rr_get_class(rr), LDNS_RR_CLASS_CH);
  EXPECT_EQ(ldns_rr_ttl(rr), 0u);
  ASSERT_EQ(ldns_rr_rd_count(rr), 1u);
  const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
  ASSERT_EQ(ldns_rdf_size(rdf), 256u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ldns_rdf_data(rdf)) + 1, 255),
            d.chaos.version);
}

TEST(AnswerChaos, TextOverTwoHundredFiftyFiveBytesIsABuildError) {
  ZoneData d = testzone::data();
  d.chaos.hostname.assign(256, 'h');
  auto snap = build_snapshot(d);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error(),
            "chaos hostname is 256 bytes long; a TXT character-string holds at most 255");
}

TEST_F(AnswerTest, RdCopiedNotSet) {
  QueryOptions o;
  o.rd = false;
  auto r = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  EXPECT_FALSE(ldns_pkt_rd(r.pkt.get()));
}

TEST_F(AnswerTest, EdnsOptEchoedWithOurSizeAndDo) {
  QueryOptions o;
  o.edns = true;
  o.edns_udp = 4096;
  o.dnssec_ok = true;
  auto r = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  ASSERT_TRUE(r.pkt);
  EXPECT_TRUE(ldns_pkt_edns(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(r.pkt.get()), 1232);
  EXPECT_EQ(ldns_pkt_edns_version(r.pkt.get()), 0);
  EXPECT_TRUE(ldns_pkt_edns_do(r.pkt.get()));
  auto plain = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  EXPECT_EQ(ldns_pkt_arcount(plain.pkt.get()), 0);
}

TEST_F(AnswerTest, BadVersForEdnsVersionAboveZero) {
  QueryOptions o;
  o.edns = true;
  o.edns_version = 1;
  auto r = ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::BadVers);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
  // BADVERS = 16: 0 in the header, 1 in the OPT's extended-rcode byte.
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), 0);
  EXPECT_EQ(ldns_pkt_edns_extended_rcode(r.pkt.get()), 1);
  EXPECT_EQ(ldns_pkt_edns_version(r.pkt.get()), 0);
}

TEST_F(AnswerTest, FormErrAndNotImpAndDrop) {
  auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  auto two = q;
  two[5] = 2;
  auto r = ask(two);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.result.outcome, Outcome::FormErr);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_FORMERR);
  EXPECT_EQ(ldns_pkt_id(r.pkt.get()), 0x1234);

  auto notify = q;
  notify[2] = static_cast<uint8_t>((notify[2] & 0x87) | (4 << 3));
  auto n = ask(notify);
  ASSERT_TRUE(n.pkt);
  EXPECT_EQ(ldns_pkt_get_rcode(n.pkt.get()), LDNS_RCODE_NOTIMPL);
  EXPECT_EQ(ldns_pkt_get_opcode(n.pkt.get()), LDNS_PACKET_NOTIFY);

  std::vector<uint8_t> garbage = {1, 2, 3, 4, 5};
  EXPECT_EQ(ask(garbage).result.outcome, Outcome::Drop);
  EXPECT_EQ(ask(garbage).result.size, 0u);
  auto response = q;
  response[2] |= 0x80;
  EXPECT_EQ(ask(response).result.outcome, Outcome::Drop);
  EXPECT_EQ(ask("httpbin.istio-testing.global.", LDNS_RR_TYPE_OPT).result.outcome,
            Outcome::FormErr);
}

// The RRL slip: the question mirrored with TC, NOERROR whatever the answer would have been,
// and no records but our OPT.
TEST_F(AnswerTest, SlipMirrorsTheQuestionWithTcAndNoRecords) {
  for (const std::string name :
       {"httpbin.istio-testing.global.", "nothere.istio-testing.global.", "www.example.com."}) {
    const auto query = make_query(name, LDNS_RR_TYPE_A);
    std::vector<uint8_t> out(4096, 0xff);
    const size_t size = slip_answer(snap_.get(), query, out);
    ASSERT_EQ(size, query.size()) << name;  // header and question only
    auto pkt = decode(out.data(), size);
    ASSERT_TRUE(pkt) << name;
    EXPECT_TRUE(ldns_pkt_qr(pkt.get()));
    EXPECT_TRUE(ldns_pkt_tc(pkt.get()));
    EXPECT_TRUE(ldns_pkt_rd(pkt.get()));
    EXPECT_FALSE(ldns_pkt_aa(pkt.get()));
    EXPECT_EQ(ldns_pkt_id(pkt.get()), 0x1234);
    EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), LDNS_RCODE_NOERROR) << name;
    EXPECT_EQ(ldns_pkt_qdcount(pkt.get()), 1);
    EXPECT_EQ(
        ldns_pkt_ancount(pkt.get()) + ldns_pkt_nscount(pkt.get()) + ldns_pkt_arcount(pkt.get()), 0);
    EXPECT_TRUE(std::equal(query.begin() + 12, query.end(), out.begin() + 12)) << name;
  }
}

TEST_F(AnswerTest, SlipKeepsOurOptAndTheDoBit) {
  QueryOptions o;
  o.edns = true;
  o.edns_udp = 4096;
  o.dnssec_ok = true;
  const auto query = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, o);
  std::vector<uint8_t> out(4096);
  const size_t size = slip_answer(snap_.get(), query, out);
  ASSERT_EQ(size, query.size());  // the query's OPT has no options either
  auto pkt = decode(out.data(), size);
  ASSERT_TRUE(pkt);
  EXPECT_TRUE(ldns_pkt_tc(pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), 0);
  EXPECT_TRUE(ldns_pkt_edns(pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(pkt.get()), 1232);
  EXPECT_TRUE(ldns_pkt_edns_do(pkt.get()));
}

TEST_F(AnswerTest, NoSlipWithoutAQuestionToMirror) {
  auto two = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  two[5] = 2;
  std::vector<uint8_t> out(4096);
  EXPECT_EQ(slip_answer(snap_.get(), two, out), 0u);  // FORMERR: no slip
  const std::vector<uint8_t> garbage = {1, 2, 3, 4, 5};
  EXPECT_EQ(slip_answer(snap_.get(), garbage, out), 0u);
}

TEST_F(AnswerTest, ServFailBeforeAnySnapshot) {
  auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  std::vector<uint8_t> out(512);
  auto res = answer(nullptr, q, out, Transport::Udp);
  EXPECT_EQ(res.outcome, Outcome::ServFail);
  auto pkt = decode(out.data(), res.size);
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_get_rcode(pkt.get()), LDNS_RCODE_SERVFAIL);
  // The CH texts come with the snapshot; other classes are refused as ever.
  QueryOptions o;
  o.qclass = LDNS_RR_CLASS_CH;
  EXPECT_EQ(answer(nullptr, make_query("version.bind.", LDNS_RR_TYPE_TXT, o), out, Transport::Udp)
                .outcome,
            Outcome::ServFail);
  o.qclass = LDNS_RR_CLASS_HS;
  EXPECT_EQ(answer(nullptr, make_query("version.bind.", LDNS_RR_TYPE_TXT, o), out, Transport::Udp)
                .outcome,
            Outcome::Refused);
}

TEST(AnswerTruncation, LargeRRsetTruncatedOverUdpWholeOverTcp) {
  ZoneData d;
  ZoneSpec z;
  z.apex = "global.";
  d.zones.push_back(z);
  HostRecords big{"big.ns.global", {}, {}};
  for (uint8_t i = 1; i <= 100; ++i) big.v4.push_back({240, 1, 0, i});  // 100 x 16 = 1600 bytes
  d.hosts.push_back(big);
  HostRecords mid{"mid.ns.global", {}, {}};
  for (uint8_t i = 1; i <= 40; ++i) mid.v4.push_back({240, 2, 0, i});  // 640 bytes
  d.hosts.push_back(mid);
  auto snap = build_snapshot(d);
  ASSERT_TRUE(snap.ok()) << snap.error();
  std::vector<uint8_t> out(65535);

  auto run = [&](const std::string& name, const QueryOptions& o, Transport t) {
    auto q = make_query(name, LDNS_RR_TYPE_A, o);
    auto res = answer(snap->get(), q, out, t);
    return std::make_pair(res, decode(out.data(), res.size));
  };
  // No EDNS: 512 bytes at most; the RRset does not fit, so none of it, TC set.
  auto [udp, udp_pkt] = run("mid.ns.global.", {}, Transport::Udp);
  ASSERT_TRUE(udp_pkt);
  EXPECT_LE(udp.size, 512u);
  EXPECT_TRUE(udp.truncated);
  EXPECT_TRUE(ldns_pkt_tc(udp_pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(udp_pkt.get()), 0);
  // EDNS 1232 fits 40 addresses.
  QueryOptions e;
  e.edns = true;
  e.edns_udp = 4096;
  auto [edns, edns_pkt] = run("mid.ns.global.", e, Transport::Udp);
  EXPECT_FALSE(edns.truncated);
  EXPECT_EQ(ldns_pkt_ancount(edns_pkt.get()), 40);
  EXPECT_TRUE(ldns_pkt_edns(edns_pkt.get()));
  // 100 addresses exceed our 1232: truncated but the OPT still there.
  auto [big_udp, big_pkt] = run("big.ns.global.", e, Transport::Udp);
  EXPECT_TRUE(big_udp.truncated);
  EXPECT_LE(big_udp.size, 1232u);
  EXPECT_TRUE(ldns_pkt_edns(big_pkt.get()));
  // A client size below 512 still gets 512 (RFC 6891 §6.2.5).
  QueryOptions tiny = e;
  tiny.edns_udp = 100;
  auto [t_udp, t_pkt] = run("nope.ns.global.", tiny, Transport::Udp);
  EXPECT_FALSE(t_udp.truncated);
  EXPECT_EQ(ldns_pkt_nscount(t_pkt.get()), 1);
  // TCP carries everything.
  auto [tcp, tcp_pkt] = run("big.ns.global.", {}, Transport::Tcp);
  EXPECT_FALSE(tcp.truncated);
  EXPECT_EQ(ldns_pkt_ancount(tcp_pkt.get()), 100);
}

}  // namespace
}  // namespace globaldns::resolver
