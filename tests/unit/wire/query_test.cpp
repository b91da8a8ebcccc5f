// Query parsing: queries built by ldns, then hand-broken ones for every FORMERR/NOTIMP/drop path.
#include "dns/wire/query.hpp"

#include <gtest/gtest.h>

#include "dns/wire/constants.hpp"
#include "tests/support/ldns_check.hpp"

namespace globaldns::dns::wire {
namespace {

using globaldns::testing::make_query;
using globaldns::testing::QueryOptions;

TEST(ParseQuery, ReadsQuestionAndEdns) {
  QueryOptions o;
  o.edns = true;
  o.edns_udp = 4096;
  o.dnssec_ok = true;
  auto msg = make_query("HttpBin.istio-testing.global.", rrtype::AAAA, o);
  Query q;
  ASSERT_EQ(parse_query(msg, q), QueryStatus::Ok);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.qtype, rrtype::AAAA);
  EXPECT_EQ(q.qclass, rrclass::IN);
  EXPECT_EQ(wire_to_text({q.qname.lower, q.qname.length}), "httpbin.istio-testing.global.");
  EXPECT_TRUE(q.edns);
  EXPECT_EQ(q.edns_udp_size, 4096);
  EXPECT_EQ(q.edns_version, 0);
  EXPECT_TRUE(q.edns_do);
}

TEST(ParseQuery, NoEdns) {
  auto msg = make_query("a.global.", rrtype::A);
  Query q;
  ASSERT_EQ(parse_query(msg, q), QueryStatus::Ok);
  EXPECT_FALSE(q.edns);
  EXPECT_EQ(q.question_end, msg.size());
}

TEST(ParseQuery, DropsShortAndResponses) {
  Query q;
  std::vector<uint8_t> shorty(11, 0);
  EXPECT_EQ(parse_query(shorty, q), QueryStatus::Drop);
  auto msg = make_query("a.global.", rrtype::A);
  msg[2] |= 0x80;  // QR
  EXPECT_EQ(parse_query(msg, q), QueryStatus::Drop);
}

TEST(ParseQuery, NotImpForOtherOpcodes) {
  auto msg = make_query("a.global.", rrtype::A);
  msg[2] = static_cast<uint8_t>((msg[2] & 0x87) | (5 << 3));  // UPDATE
  Query q;
  EXPECT_EQ(parse_query(msg, q), QueryStatus::NotImp);
  EXPECT_EQ(q.id, 0x1234);
}

TEST(ParseQuery, FormErrCases) {
  Query q;
  auto base = make_query("a.global.", rrtype::A);
  auto two_questions = base;
  two_questions[5] = 2;
  EXPECT_EQ(parse_query(two_questions, q), QueryStatus::FormErr);
  auto no_question = base;
  no_question[5] = 0;
  EXPECT_EQ(parse_query(no_question, q), QueryStatus::FormErr);
  auto with_answer = base;
  with_answer[7] = 1;
  EXPECT_EQ(parse_query(with_answer, q), QueryStatus::FormErr);
  auto cut = base;
  cut.resize(cut.size() - 2);  // QCLASS missing
  EXPECT_EQ(parse_query(cut, q), QueryStatus::FormErr);
  auto header_only = base;
  header_only.resize(12);
  EXPECT_EQ(parse_query(header_only, q), QueryStatus::FormErr);
  auto claims_additional = base;
  claims_additional[11] = 1;  // ARCOUNT 1, nothing there
  EXPECT_EQ(parse_query(claims_additional, q), QueryStatus::FormErr);
}

TEST(ParseQuery, FormErrOnTwoOptRecords) {
  QueryOptions o;
  o.edns = true;
  auto msg = make_query("a.global.", rrtype::A, o);
  const std::vector<uint8_t> opt(msg.end() - 11, msg.end());
  msg.insert(msg.end(), opt.begin(), opt.end());
  msg[11] = 2;
  Query q;
  EXPECT_EQ(parse_query(msg, q), QueryStatus::FormErr);
}

TEST(ParseQuery, FormErrOnOptWithNonRootOwnerOrBadOptions) {
  QueryOptions o;
  o.edns = true;
  auto msg = make_query("a.global.", rrtype::A, o);
  // Replace the root owner with a pointer to the question name.
  auto owner = msg;
  owner[owner.size() - 11] = 0xC0;
  owner.insert(owner.end() - 10, 0x0C);
  Query q;
  EXPECT_EQ(parse_query(owner, q), QueryStatus::FormErr);
  // An option header that claims more bytes than the rdata holds.
  auto bad_opt = msg;
  ASSERT_GT(bad_opt.size(), 11u);
  bad_opt.back() = 4;  // RDLEN 4
  for (int b : {0, 10, 0, 9})
    bad_opt.push_back(static_cast<uint8_t>(b));  // COOKIE, length 9, no data
  EXPECT_EQ(parse_query(bad_opt, q), QueryStatus::FormErr);
}

TEST(ParseQuery, SkipsOtherAdditionalRecordsWithCompressedOwners) {
  auto msg = make_query("a.global.", rrtype::A);
  // A TXT record whose owner is a pointer to the question, then nothing else.
  for (int b : {0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 1, int{'x'}})
    msg.push_back(static_cast<uint8_t>(b));
  msg[11] = 1;
  Query q;
  EXPECT_EQ(parse_query(msg, q), QueryStatus::Ok);
  EXPECT_FALSE(q.edns);
  // The same record with its rdata cut short.
  msg.pop_back();
  EXPECT_EQ(parse_query(msg, q), QueryStatus::FormErr);
}

TEST(ParseQuery, CompressionPointerInQuestionIsFormErr) {
  std::vector<uint8_t> msg = {0x12, 0x34, 0x01, 0x00, 0,    1, 0, 0, 0,
                              0,    0,    0,    0xC0, 0x0C, 0, 1, 0, 1};
  Query q;
  EXPECT_EQ(parse_query(msg, q), QueryStatus::FormErr);
}

}  // namespace
}  // namespace globaldns::dns::wire
