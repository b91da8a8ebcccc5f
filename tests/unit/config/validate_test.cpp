// Tests of validate() on Configs built in code.
#include "config/validate.hpp"

#include <gtest/gtest.h>

namespace globaldns::config {
namespace {

TEST(Validate, ReportsEveryBadValueWithItsKey) {
  Config c;
  c.listen = {"127.0.0.1:53", "localhost:53"};
  c.zones.clear();
  c.edns_udp_size = 100;
  c.soa.rname = "a..b";
  c.allow_cidrs = {"240.0.0.1/8"};
  c.log.level = static_cast<LogLevel>(9);
  EXPECT_EQ(validate(c),
            (std::vector<std::string>{
                "listen[1]: expected ADDR:PORT such as 127.0.0.1:5353 or [::1]:5353, got "
                "\"localhost:53\" (\"localhost\" is not an IPv4 address)",
                "zones: expected at least 1 item, got an empty list",
                "allow_cidrs[0]: expected a CIDR such as 240.0.0.0/8 or fd00::/8, got "
                "\"240.0.0.1/8\" (host bits are set; the network is 240.0.0.0/8)",
                "edns_udp_size: expected an integer from 512 to 4096, got \"100\"",
                "soa.rname: expected a domain name, got \"a..b\" (empty label)",
                "log.level: expected one of trace, debug, info, warn, error, got \"9\"",
            }));
}

TEST(Validate, KubernetesSettingsThatOnlyWorkTogether) {
  Config c;
  c.kubernetes.contexts = {"cluster2"};
  c.kubernetes.retry_initial_ms = 5000;
  c.kubernetes.retry_max_ms = 1000;
  EXPECT_EQ(validate(c),
            (std::vector<std::string>{
                "kubernetes.contexts: name contexts of a kubeconfig; set kubernetes.kubeconfig",
                "kubernetes.retry_initial_ms: larger than kubernetes.retry_max_ms (1000)",
            }));
  c.kubernetes.kubeconfig = "/etc/kube/config";
  c.kubernetes.retry_initial_ms = 1000;
  EXPECT_TRUE(validate(c).empty());
}

}  // namespace
}  // namespace globaldns::config
