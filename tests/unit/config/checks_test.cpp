// Tests of the domain name and CIDR checks.
#include "config/checks.hpp"

#include <gtest/gtest.h>

#include <string>

namespace globaldns::config {
namespace {

struct CheckCase {
  std::string text;
  std::optional<std::string> error;  // nothing = accepted
};

class DomainNameTest : public testing::TestWithParam<CheckCase> {};

TEST_P(DomainNameTest, Checks) {
  EXPECT_EQ(domain_name_error(GetParam().text), GetParam().error) << GetParam().text;
}

const std::string kLabel63(63, 'a');

INSTANTIATE_TEST_SUITE_P(
    Names, DomainNameTest,
    testing::Values(
        CheckCase{"global.", std::nullopt}, CheckCase{"global", std::nullopt},
        CheckCase{".", std::nullopt}, CheckCase{"*.wild.global", std::nullopt},
        CheckCase{"_dns-sd.Svc-1.global.", std::nullopt},
        CheckCase{kLabel63 + ".global.", std::nullopt}, CheckCase{"", "the name is empty"},
        CheckCase{"a..global", "empty label"}, CheckCase{".global", "empty label"},
        CheckCase{"global..", "empty label"},
        CheckCase{kLabel63 + "a.global", "label \"" + kLabel63 + "a\" is longer than 63 octets"},
        CheckCase{"bad name.global", "character ' ' is not allowed"},
        CheckCase{"a@b.global", "character '@' is not allowed"},
        // 4 labels of 63 octets: 4 * 64 + 1 = 257 octets in wire form.
        CheckCase{kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + kLabel63,
                  "longer than 255 octets in wire form"},
        // 3 * 64 + 62 + 1 = 255 octets: just fits.
        CheckCase{kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + std::string(61, 'a'),
                  std::nullopt}));

class CidrTest : public testing::TestWithParam<CheckCase> {};

TEST_P(CidrTest, Checks) {
  EXPECT_EQ(cidr_error(GetParam().text), GetParam().error) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Cidrs, CidrTest,
    testing::Values(CheckCase{"240.0.0.0/8", std::nullopt}, CheckCase{"0.0.0.0/0", std::nullopt},
                    CheckCase{"10.1.2.3/32", std::nullopt}, CheckCase{"fd00::/8", std::nullopt},
                    CheckCase{"::/0", std::nullopt}, CheckCase{"2001:db8::1/128", std::nullopt},
                    CheckCase{"240.0.0.0", "missing /PREFIX"},
                    CheckCase{"240.0.0.1/8", "host bits are set; the network is 240.0.0.0/8"},
                    CheckCase{"fd00::1/8", "host bits are set; the network is fd00::/8"},
                    CheckCase{"240.0.0.0/33", "the prefix length must be a number from 0 to 32"},
                    CheckCase{"fd00::/129", "the prefix length must be a number from 0 to 128"},
                    CheckCase{"240.0.0.0/", "the prefix length must be a number from 0 to 32"},
                    CheckCase{"240.0.0.0/+8", "the prefix length must be a number from 0 to 32"},
                    CheckCase{"240.0.0/8", "\"240.0.0\" is not an IPv4 or IPv6 address"},
                    CheckCase{"example.com/8", "\"example.com\" is not an IPv4 or IPv6 address"}));

}  // namespace
}  // namespace globaldns::config
