// Tests of answer_grpc_query: what a DnsService/Query request gets, every reply decoded by ldns.
#include "dns/grpc/grpc_query.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "dns/wire/constants.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"
#include "tests/support/ldns_check.hpp"
#include "tests/unit/resolver/test_zone.hpp"

namespace globaldns::dns {
namespace {

using globaldns::testing::decode;
using globaldns::testing::LdnsPkt;
using globaldns::testing::make_query;
using globaldns::testing::QueryOptions;
using resolver::Outcome;

constexpr size_t kBigCount = 40;  // 40 A records: 640 bytes of RDATA alone, past 512

class GrpcQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resolver::ZoneData data = resolver::testzone::data();
    resolver::HostRecords big{"big.istio-testing.global", {}, {}};
    for (uint8_t i = 1; i <= kBigCount; ++i) big.v4.push_back({240, 0, 1, i});
    data.hosts.push_back(big);
    auto built = resolver::build_snapshot(data);
    ASSERT_TRUE(built.ok()) << built.error();
    snap_ = built.value();
  }

  struct Reply {
    GrpcAnswer answer;
    std::vector<uint8_t> bytes;
    LdnsPkt pkt;
  };

  Reply ask(const std::vector<uint8_t>& query, const resolver::Snapshot* snap) {
    Reply r;
    std::vector<uint8_t> out(kGrpcMaxMessage, 0);
    r.answer = answer_grpc_query(snap, query, out);
    r.bytes.assign(out.begin(), out.begin() + static_cast<long>(r.answer.response_size));
    if (!r.bytes.empty()) r.pkt = decode(r.bytes.data(), r.bytes.size());
    return r;
  }
  Reply ask(const std::vector<uint8_t>& query) { return ask(query, snap_.get()); }
  Reply ask(const std::string& name, uint16_t type, const QueryOptions& o = {}) {
    return ask(make_query(name, type, o));
  }

  // What CoreDNS's request.Match demands of a reply before it accepts it.
  static void expect_mirrors(const std::vector<uint8_t>& query, const Reply& r) {
    ASSERT_TRUE(r.answer.answered()) << rejection_message(r.answer.rejection);
    ASSERT_TRUE(r.pkt);
    EXPECT_TRUE(ldns_pkt_qr(r.pkt.get()));
    EXPECT_EQ(ldns_pkt_qdcount(r.pkt.get()), 1);
    LdnsPkt q = decode(query.data(), query.size());
    ASSERT_TRUE(q);
    EXPECT_EQ(ldns_pkt_id(r.pkt.get()), ldns_pkt_id(q.get()));
    const ldns_rr* rq = ldns_rr_list_rr(ldns_pkt_question(r.pkt.get()), 0);
    const ldns_rr* qq = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
    EXPECT_EQ(ldns_dname_compare(ldns_rr_owner(rq), ldns_rr_owner(qq)), 0);
    EXPECT_EQ(ldns_rr_get_type(rq), ldns_rr_get_type(qq));
    EXPECT_EQ(ldns_rr_get_class(rq), ldns_rr_get_class(qq));
    EXPECT_EQ(r.answer.query_size, query.size());
  }

  Reply expect_rejected(const std::vector<uint8_t>& query, GrpcRejection why) {
    Reply r = ask(query);
    EXPECT_EQ(r.answer.rejection, why) << rejection_message(r.answer.rejection);
    EXPECT_FALSE(r.answer.answered());
    EXPECT_EQ(r.answer.response_size, 0u);
    EXPECT_EQ(r.answer.query_size, query.size());
    return r;
  }

  std::shared_ptr<const resolver::Snapshot> snap_;
};

TEST_F(GrpcQueryTest, HitIsAnAuthoritativeReply) {
  const auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  Reply r = ask(q);
  expect_mirrors(q, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::Hit);
  EXPECT_TRUE(ldns_pkt_aa(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 1);
  EXPECT_EQ(r.answer.response_size, r.bytes.size());
}

TEST_F(GrpcQueryTest, NoDataAndNxDomainAreRepliesWithTheSoa) {
  const auto nodata = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_AAAA);
  Reply r = ask(nodata);
  expect_mirrors(nodata, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::NoData);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 1);

  const auto nx = make_query("nothere.istio-testing.global.", LDNS_RR_TYPE_A);
  r = ask(nx);
  expect_mirrors(nx, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::NxDomain);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(r.pkt.get()), 0)),
            LDNS_RR_TYPE_SOA);
}

// As over TCP: no 512-byte limit without EDNS, and no TC.
TEST_F(GrpcQueryTest, LargeAnswerIsWholeWithoutTruncation) {
  const auto q = make_query("big.istio-testing.global.", LDNS_RR_TYPE_A);
  Reply r = ask(q);
  expect_mirrors(q, r);
  EXPECT_GT(r.answer.response_size, wire::kUdpClassicLimit);
  EXPECT_FALSE(ldns_pkt_tc(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), kBigCount);
}

TEST_F(GrpcQueryTest, QuestionIsMirroredByteForByte) {
  const auto q = make_query("HttpBin.Istio-Testing.GLOBAL.", LDNS_RR_TYPE_A);
  Reply r = ask(q);
  expect_mirrors(q, r);
  // The name as sent, 0x20 case included, not the lower-cased form the engine looks up.
  const size_t question_end = q.size();
  EXPECT_TRUE(std::equal(q.begin() + wire::kHeaderSize, q.begin() + question_end,
                         r.bytes.begin() + wire::kHeaderSize));
}

TEST_F(GrpcQueryTest, RepliesThatAreNotNoErrorStillMirror) {
  const auto refused = make_query("example.com.", LDNS_RR_TYPE_A);
  Reply r = ask(refused);
  expect_mirrors(refused, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::Refused);

  QueryOptions v1;
  v1.edns = true;
  v1.edns_version = 1;
  const auto badvers = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A, v1);
  r = ask(badvers);
  expect_mirrors(badvers, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::BadVers);

  const auto opt = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_OPT);
  r = ask(opt);
  expect_mirrors(opt, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::FormErr);
}

// Nothing published yet: SERVFAIL in our zones, as over UDP, never NXDOMAIN.
TEST_F(GrpcQueryTest, ServFailBeforeTheFirstSnapshot) {
  const auto q = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);
  Reply r = ask(q, nullptr);
  expect_mirrors(q, r);
  EXPECT_EQ(r.answer.result.outcome, Outcome::ServFail);
  EXPECT_EQ(ldns_pkt_get_rcode(r.pkt.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(GrpcQueryTest, NotADnsQueryIsRejected) {
  const auto good = make_query("httpbin.istio-testing.global.", LDNS_RR_TYPE_A);

  expect_rejected({}, GrpcRejection::TooShort);
  expect_rejected(std::vector<uint8_t>(good.begin(), good.begin() + 11), GrpcRejection::TooShort);

  auto response = good;
  response[2] |= 0x80;  // QR
  expect_rejected(response, GrpcRejection::IsResponse);

  auto notify = good;
  notify[2] = static_cast<uint8_t>((notify[2] & 0x87) | (4 << 3));  // opcode NOTIFY
  expect_rejected(notify, GrpcRejection::NotQuery);

  std::vector<uint8_t> no_question(good.begin(), good.begin() + wire::kHeaderSize);
  no_question[5] = 0;  // QDCOUNT 0
  expect_rejected(no_question, GrpcRejection::QuestionCount);

  auto two = good;
  two[5] = 2;  // QDCOUNT 2, one question present
  expect_rejected(two, GrpcRejection::QuestionCount);

  expect_rejected(std::vector<uint8_t>(good.begin(), good.end() - 3), GrpcRejection::Malformed);

  auto answers = good;
  answers[7] = 1;  // ANCOUNT 1 in a query, and no record there
  expect_rejected(answers, GrpcRejection::Malformed);

  auto huge = good;
  huge.resize(kGrpcMaxMessage + 1, 0);
  expect_rejected(huge, GrpcRejection::TooLarge);
}

TEST(GrpcRejectionMessage, EachReasonHasItsOwnSentence) {
  std::set<std::string> seen;
  for (GrpcRejection r :
       {GrpcRejection::None, GrpcRejection::TooLarge, GrpcRejection::TooShort,
        GrpcRejection::IsResponse, GrpcRejection::QuestionCount, GrpcRejection::NotQuery,
        GrpcRejection::Malformed, GrpcRejection::NoMirror})
    EXPECT_TRUE(seen.insert(rejection_message(r)).second) << rejection_message(r);
}

}  // namespace
}  // namespace globaldns::dns
