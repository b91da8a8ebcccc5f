// Unit tests of sync/cidr: prefix parsing, containment, and single-address parsing.
#include "sync/cidr.hpp"

#include <gtest/gtest.h>

#include <string>

namespace globaldns::sync {
namespace {

struct CidrCase {
  std::string text;
  bool valid;
  std::string canonical;  // to_string() when valid
};

class ParseCidrTest : public ::testing::TestWithParam<CidrCase> {};

TEST_P(ParseCidrTest, ParsesOrRejects) {
  const auto& c = GetParam();
  const auto cidr = parse_cidr(c.text);
  ASSERT_EQ(cidr.has_value(), c.valid) << c.text;
  if (cidr) {
    EXPECT_EQ(cidr->to_string(), c.canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseCidrTest,
    ::testing::Values(
        CidrCase{"240.0.0.0/8", true, "240.0.0.0/8"}, CidrCase{"0.0.0.0/0", true, "0.0.0.0/0"},
        CidrCase{"10.1.2.3/32", true, "10.1.2.3/32"},
        CidrCase{"192.168.0.0/16", true, "192.168.0.0/16"}, CidrCase{"fd00::/8", true, "fd00::/8"},
        CidrCase{"::/0", true, "::/0"}, CidrCase{"2001:DB8::/32", true, "2001:db8::/32"},
        CidrCase{"fd00::1/128", true, "fd00::1/128"},
        CidrCase{"10.0.0.1/8", false, ""},                                      // host bits set
        CidrCase{"fd00::1/64", false, ""},                                      // host bits set
        CidrCase{"10.0.0.0/33", false, ""},                                     // too long for IPv4
        CidrCase{"fd00::/129", false, ""}, CidrCase{"10.0.0.0/08", false, ""},  // leading zero
        CidrCase{"10.0.0.0/", false, ""}, CidrCase{"10.0.0.0/-1", false, ""},
        CidrCase{"10.0.0.0/+8", false, ""}, CidrCase{"10.0.0.0", false, ""},  // no prefix length
        CidrCase{"10.0.0/8", false, ""}, CidrCase{"010.0.0.0/8", false, ""},
        CidrCase{" 10.0.0.0/8", false, ""}, CidrCase{"10.0.0.0/8 ", false, ""},
        CidrCase{"fe80::1%eth0/128", false, ""},
        CidrCase{std::string("10.0.0.0\0/8", 11), false, ""}, CidrCase{"", false, ""},
        CidrCase{"/8", false, ""}, CidrCase{"garbage", false, ""}));

TEST(CidrTest, ContainsV4OnPrefixBoundaries) {
  const auto cidr = parse_cidr("240.240.0.0/12").value();
  EXPECT_TRUE(cidr.contains_v4({240, 240, 0, 0}));
  EXPECT_TRUE(cidr.contains_v4({240, 255, 255, 255}));
  EXPECT_FALSE(cidr.contains_v4({240, 239, 255, 255}));
  EXPECT_FALSE(cidr.contains_v4({241, 240, 0, 0}));
  EXPECT_FALSE(cidr.contains_v6({0xfd}));  // other family
}

TEST(CidrTest, ZeroPrefixContainsEverythingOfItsFamily) {
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains_v4({255, 255, 255, 255}));
  EXPECT_TRUE(parse_cidr("::/0")->contains_v6({0x20, 0x01}));
  EXPECT_FALSE(parse_cidr("::/0")->contains_v4({1, 2, 3, 4}));
}

TEST(CidrTest, ContainsV6) {
  const auto cidr = parse_cidr("fd00:1:2::/47").value();
  resolver::Ipv6 inside{0xfd, 0x00, 0x00, 0x01, 0x00, 0x03};  // bit 47 is the last of byte 5
  resolver::Ipv6 outside{0xfd, 0x00, 0x00, 0x01, 0x00, 0x04};
  EXPECT_FALSE(parse_cidr("fd00:1:3::/47").has_value());  // host bit 47 set
  EXPECT_TRUE(cidr.contains_v6(inside));
  EXPECT_FALSE(cidr.contains_v6(outside));
}

struct AddressCase {
  std::string text;
  AddressKind kind;
  std::string canonical;  // of the IP, for Ipv4 / Ipv6
};

class ParseAddressTest : public ::testing::TestWithParam<AddressCase> {};

TEST_P(ParseAddressTest, Classifies) {
  const auto& c = GetParam();
  const auto address = parse_address(c.text);
  ASSERT_EQ(address.kind, c.kind) << c.text;
  if (c.kind == AddressKind::Ipv4) {
    EXPECT_EQ(address_to_string(address.v4()), c.canonical);
  }
  if (c.kind == AddressKind::Ipv6) {
    EXPECT_EQ(address_to_string(address.v6()), c.canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseAddressTest,
    ::testing::Values(AddressCase{"240.0.0.1", AddressKind::Ipv4, "240.0.0.1"},
                      AddressCase{"240.0.0.1/32", AddressKind::Ipv4, "240.0.0.1"},
                      AddressCase{"fd00::1", AddressKind::Ipv6, "fd00::1"},
                      AddressCase{"FD00:0::1/128", AddressKind::Ipv6, "fd00::1"},
                      AddressCase{"240.0.0.0/24", AddressKind::Prefix, ""},
                      AddressCase{"240.0.0.1/24", AddressKind::Prefix, ""},  // as Istio allows
                      AddressCase{"fd00::/64", AddressKind::Prefix, ""},
                      AddressCase{"240.0.0.0/0", AddressKind::Prefix, ""},
                      AddressCase{"240.0.0.1/33", AddressKind::Invalid, ""},
                      AddressCase{"240.0.0.256", AddressKind::Invalid, ""},
                      AddressCase{"httpbin.example.com", AddressKind::Invalid, ""},
                      AddressCase{"", AddressKind::Invalid, ""},
                      AddressCase{std::string(100, '1'), AddressKind::Invalid, ""}));

TEST(ParseAddressTest, InsideChecksFamilyAndRange) {
  const auto v4 = parse_address("240.1.2.3");
  EXPECT_TRUE(v4.inside(parse_cidr("240.0.0.0/8").value()));
  EXPECT_FALSE(v4.inside(parse_cidr("10.0.0.0/8").value()));
  EXPECT_FALSE(v4.inside(parse_cidr("::/0").value()));
  EXPECT_FALSE(parse_address("240.0.0.0/24").inside(parse_cidr("0.0.0.0/0").value()));
}

}  // namespace
}  // namespace globaldns::sync
