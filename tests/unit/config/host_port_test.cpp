// Tests of ADDR:PORT parsing.
#include "config/host_port.hpp"

#include <gtest/gtest.h>

namespace globaldns::config {
namespace {

struct HostPortCase {
  std::string text;
  std::optional<HostPort> parsed;
  std::optional<std::string> error;
};

class HostPortTest : public testing::TestWithParam<HostPortCase> {};

TEST_P(HostPortTest, ParsesOrExplains) {
  const HostPortCase& c = GetParam();
  EXPECT_EQ(parse_host_port(c.text), c.parsed) << c.text;
  EXPECT_EQ(host_port_error(c.text), c.error) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, HostPortTest,
    testing::Values(
        HostPortCase{"127.0.0.1:5353", HostPort{"127.0.0.1", 5353}, std::nullopt},
        HostPortCase{"0.0.0.0:53", HostPort{"0.0.0.0", 53}, std::nullopt},
        HostPortCase{"[::1]:5353", HostPort{"::1", 5353}, std::nullopt},
        HostPortCase{"[::]:0", HostPort{"::", 0}, std::nullopt},
        HostPortCase{"10.0.0.1:65535", HostPort{"10.0.0.1", 65535}, std::nullopt},
        HostPortCase{"127.0.0.1", std::nullopt, "missing \":PORT\""},
        HostPortCase{"127.0.0.1:65536", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"127.0.0.1:", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"127.0.0.1:-1", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"127.0.0.1:53x", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"::1:53", std::nullopt, "an IPv6 address goes in brackets, as in [::1]:5353"},
        HostPortCase{"[::1]53", std::nullopt, "missing \"]:PORT\" after the IPv6 address"},
        HostPortCase{"[127.0.0.1]:53", std::nullopt, "\"127.0.0.1\" is not an IPv6 address"},
        HostPortCase{"localhost:53", std::nullopt, "\"localhost\" is not an IPv4 address"},
        HostPortCase{":53", std::nullopt, "\"\" is not an IPv4 address"}));

// The gRPC listener also takes ":PORT", every interface, as CoreDNS writes ":8053".
class AnyHostPortTest : public testing::TestWithParam<HostPortCase> {};

TEST_P(AnyHostPortTest, ParsesOrExplains) {
  const HostPortCase& c = GetParam();
  EXPECT_EQ(parse_host_port(c.text, EmptyHost::Any), c.parsed) << c.text;
  EXPECT_EQ(host_port_error(c.text, EmptyHost::Any), c.error) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, AnyHostPortTest,
    testing::Values(
        HostPortCase{":8053", HostPort{"", 8053}, std::nullopt},
        HostPortCase{":0", HostPort{"", 0}, std::nullopt},
        HostPortCase{"127.0.0.1:8053", HostPort{"127.0.0.1", 8053}, std::nullopt},
        HostPortCase{"[::1]:8053", HostPort{"::1", 8053}, std::nullopt},
        HostPortCase{":", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"::8053", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{":65536", std::nullopt, "the port must be a number from 0 to 65535"},
        HostPortCase{"8053", std::nullopt, "missing \":PORT\""}));

}  // namespace
}  // namespace globaldns::config
