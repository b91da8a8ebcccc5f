// Tests of the settings table and the defaults it gives a Config.
#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <set>

#include "config/config.hpp"
#include "config/setting_value.hpp"
#include "config/validate.hpp"

namespace globaldns::config {
namespace {

// The defaults promised in the design, spelled out independently of the table.
TEST(Defaults, MatchTheDesign) {
  Config c;
  EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:5353"});
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.health, "127.0.0.1:8080");
  EXPECT_EQ(c.ready, "127.0.0.1:8181");
  EXPECT_EQ(c.grpc, ":8053");  // CoreDNS's: every interface
  EXPECT_EQ(c.grpc_tls, GrpcTlsConfig{});
  EXPECT_EQ(c.lameduck_ms, 5000u);
  EXPECT_EQ(c.zones, std::vector<std::string>{"global."});
  EXPECT_EQ(c.ttl, 30u);
  EXPECT_EQ(c.allow_cidrs, std::vector<std::string>{"240.0.0.0/8"});
  EXPECT_EQ(c.edns_udp_size, 1232);
  EXPECT_EQ(c.soa.mname, "globaldns.istio-system.svc.cluster.local.");
  EXPECT_EQ(c.soa.rname, "hostmaster.globaldns.istio-system.svc.cluster.local.");
  EXPECT_EQ(c.soa.ttl, 30u);
  EXPECT_EQ(c.soa.refresh, 60u);
  EXPECT_EQ(c.soa.retry, 30u);
  EXPECT_EQ(c.soa.expire, 86400u);
  EXPECT_EQ(c.soa.minimum, 30u);
  EXPECT_TRUE(c.nameservers.empty());
  EXPECT_TRUE(c.files.empty());
  EXPECT_EQ(c.file_poll_interval_ms, 2000u);
  EXPECT_EQ(c.file_debounce_ms, 100u);
  EXPECT_EQ(c.tcp.idle_timeout_ms, 10000u);
  EXPECT_EQ(c.tcp.write_timeout_ms, 10000u);
  EXPECT_EQ(c.tcp.max_connections, 1024u);
  EXPECT_EQ(c.tcp.max_queries_per_connection, 0u);
  EXPECT_EQ(c.log.level, LogLevel::Info);
  EXPECT_EQ(c.log.format, LogFormat::Text);
}

TEST(Defaults, PassValidation) {
  EXPECT_EQ(validate(Config()), std::vector<std::string>{});
}

TEST(Defaults, EachDefaultPassesItsOwnCheck) {
  for (const Setting& s : settings()) {
    EXPECT_EQ(is_list(s) ? s.default_value.size() : 1u, s.default_value.size()) << s.key;
    for (std::string_view text : s.default_value) {
      EXPECT_EQ(check_text(s, text), std::nullopt) << s.key;
    }
  }
}

TEST(Table, KeysAndFlagsAreUnique) {
  std::set<std::string_view> keys;
  std::set<std::string_view> flags = {"config", "help"};
  for (const Setting& s : settings()) {
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    }
  }
}

// render_yaml() and the loader rely on this shape.
TEST(Table, SectionsAreOneLevelContiguousAndDescribed) {
  std::set<std::string_view> closed;
  std::string_view current;
  for (const Setting& s : settings()) {
    size_t dot = s.key.find('.');
    std::string_view section = dot == std::string_view::npos ? "" : s.key.substr(0, dot);
    if (dot != std::string_view::npos) {
      EXPECT_EQ(s.key.find('.', dot + 1), std::string_view::npos) << s.key;
      EXPECT_NE(find_section(section), nullptr) << s.key;
      EXPECT_EQ(find_setting(section), nullptr) << "a setting named like section " << section;
    }
    if (section != current) {
      // Top-level keys may come between sections; a section's own keys may not be split.
      if (!section.empty()) {
        EXPECT_FALSE(closed.contains(section)) << s.key << " is apart from its section";
      }
      closed.insert(current);
      current = section;
    }
  }
}

TEST(Table, EveryEntryIsComplete) {
  for (const Setting& s : settings()) {
    EXPECT_FALSE(s.help.empty()) << s.key;
    EXPECT_EQ(s.flag.empty(), s.metavar.empty()) << s.key;
    EXPECT_EQ(s.kind == Kind::Choice, !s.choices.empty()) << s.key;
    if (s.kind == Kind::Integer) {
      EXPECT_LE(s.min, s.max) << s.key;
    }
    if (s.kind != Kind::List) {
      EXPECT_EQ(s.min_items, 0u) << s.key;
    }
  }
}

// A range wider than the member's type would wrap silently when stored.
TEST(Table, IntegerRangesFitTheirFields) {
  for (const Setting& s : settings()) {
    if (s.kind != Kind::Integer) continue;
    Config c;
    ASSERT_EQ(store_text(s, std::to_string(s.max), c), std::nullopt) << s.key;
    EXPECT_EQ(value_texts(s, c), std::vector<std::string>{std::to_string(s.max)}) << s.key;
  }
}

// Each word maps to the enum value of the same position.
TEST(Table, ChoicesFollowEnumOrder) {
  const Setting* level = find_setting("log.level");
  ASSERT_NE(level, nullptr);
  const std::pair<std::string_view, LogLevel> levels[] = {{"trace", LogLevel::Trace},
                                                          {"debug", LogLevel::Debug},
                                                          {"info", LogLevel::Info},
                                                          {"warn", LogLevel::Warn},
                                                          {"error", LogLevel::Error}};
  for (auto [word, value] : levels) {
    Config c;
    ASSERT_EQ(store_text(*level, word, c), std::nullopt);
    EXPECT_EQ(c.log.level, value) << word;
  }
  const Setting* format = find_setting("log.format");
  ASSERT_NE(format, nullptr);
  Config c;
  ASSERT_EQ(store_text(*format, "json", c), std::nullopt);
  EXPECT_EQ(c.log.format, LogFormat::Json);
}

}  // namespace
}  // namespace globaldns::config
