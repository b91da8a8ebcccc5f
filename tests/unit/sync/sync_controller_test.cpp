// Unit tests of sync/sync_controller: publish on change only, serials, build failures, log-once.
#include "sync/sync_controller.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"

namespace globaldns::sync {
namespace {

ServiceEntry entry(std::string name, std::vector<std::string> hosts,
                   std::vector<std::string> addresses) {
  ServiceEntry e;
  e.namespace_ = "ns";
  e.name = std::move(name);
  e.hosts = std::move(hosts);
  e.addresses = std::move(addresses);
  e.origin = "se.yaml:1";
  return e;
}

SyncSettings settings() {
  SyncSettings s;
  s.translate.zones = {"global."};
  s.translate.allowed = {parse_cidr("240.0.0.0/8").value()};
  s.zone.zones = {resolver::ZoneSpec{"global.", {}, {}}};
  return s;
}

class SyncControllerTest : public ::testing::Test {
 protected:
  SyncHooks hooks() {
    SyncHooks h;
    h.unix_now = [this] { return now_; };
    h.build =
        [this](
            const resolver::ZoneData& data) -> Result<std::shared_ptr<const resolver::Snapshot>> {
      ++builds_;
      last_built_ = data;
      if (fail_build_) return Error{"injected failure"};
      return resolver::build_snapshot(data);
    };
    return h;
  }

  resolver::SnapshotHolder holder_;
  int64_t now_ = 1'700'000'000;
  int builds_ = 0;
  bool fail_build_ = false;
  resolver::ZoneData last_built_;
};

TEST_F(SyncControllerTest, FirstApplyPublishesWithTheClockAsSerial) {
  SyncController controller(settings(), holder_, hooks());
  const auto summary = controller.apply({entry("a", {"a.global", "b.global", "bad.example"},
                                               {"240.0.0.1", "240.0.0.2", "10.0.0.1"})});
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.serial, 1'700'000'000u);
  EXPECT_EQ(summary.names, 2u);
  EXPECT_EQ(summary.addresses, 4u);
  EXPECT_EQ(summary.skipped, 2u);
  EXPECT_EQ(summary.conflicts, 0u);
  ASSERT_NE(holder_.current(), nullptr);
  EXPECT_EQ(holder_.current()->serial(), 1'700'000'000u);
  EXPECT_EQ(holder_.generation(), 1u);
  EXPECT_EQ(last_built_.hosts.size(), 2u);
  EXPECT_EQ(last_built_.hosts[0].name, "a.global");
}

TEST_F(SyncControllerTest, EmptyFirstApplyStillPublishes) {
  SyncController controller(settings(), holder_, hooks());
  EXPECT_EQ(controller.apply({}).outcome, ApplyOutcome::Published);
  EXPECT_NE(holder_.current(), nullptr);
}

TEST_F(SyncControllerTest, SerialChangesOnlyWhenServedDataChanges) {
  SyncController controller(settings(), holder_, hooks());
  const auto a = entry("a", {"a.global"}, {"240.0.0.1"});
  ASSERT_EQ(controller.apply({a}).outcome, ApplyOutcome::Published);
  const auto first = holder_.current();

  // Same entries; then entries that differ only in what is not served or where they are.
  auto moved = a;
  moved.origin = "other.yaml:7";
  const auto outside = entry("b", {"b.example.com"}, {"240.0.0.9"});
  for (const auto& entries : {std::vector<ServiceEntry>{a}, std::vector<ServiceEntry>{moved},
                              std::vector<ServiceEntry>{outside, a}}) {
    const auto summary = controller.apply(entries);
    EXPECT_EQ(summary.outcome, ApplyOutcome::Unchanged);
    EXPECT_EQ(summary.serial, 1'700'000'000u);
  }
  EXPECT_EQ(builds_, 1);
  EXPECT_EQ(holder_.current(), first);
  EXPECT_EQ(holder_.generation(), 1u);

  // A real change in the same second: previous + 1.
  auto changed = controller.apply({entry("a", {"a.global"}, {"240.0.0.2"})});
  EXPECT_EQ(changed.outcome, ApplyOutcome::Published);
  EXPECT_EQ(changed.serial, 1'700'000'001u);
  EXPECT_EQ(holder_.current()->serial(), 1'700'000'001u);

  // Later: the clock.
  now_ += 3600;
  changed = controller.apply({entry("a", {"a.global"}, {"240.0.0.3"})});
  EXPECT_EQ(changed.serial, 1'700'003'600u);
  EXPECT_EQ(controller.serial(), 1'700'003'600u);
  EXPECT_EQ(holder_.generation(), 3u);
}

TEST_F(SyncControllerTest, SerialNeverGoesBackwardsWhenTheClockDoes) {
  SyncController controller(settings(), holder_, hooks());
  (void)controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})});
  now_ -= 86400;
  const auto summary = controller.apply({entry("a", {"a.global"}, {"240.0.0.2"})});
  EXPECT_EQ(summary.serial, 1'700'000'001u);
}

TEST_F(SyncControllerTest, FailedBuildKeepsTheOldSnapshot) {
  SyncController controller(settings(), holder_, hooks());
  ASSERT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  const auto served = holder_.current();

  fail_build_ = true;
  auto summary = controller.apply({entry("a", {"a.global"}, {"240.0.0.2"})});
  EXPECT_EQ(summary.outcome, ApplyOutcome::BuildFailed);
  EXPECT_EQ(summary.serial, 1'700'000'000u);
  EXPECT_EQ(holder_.current(), served);
  EXPECT_EQ(controller.serial(), 1'700'000'000u);

  fail_build_ = false;  // the same data is tried again on the next apply
  summary = controller.apply({entry("a", {"a.global"}, {"240.0.0.2"})});
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.serial, 1'700'000'001u);
}

TEST_F(SyncControllerTest, RealBuilderRejectingSettingsKeepsTheOldSnapshot) {
  SyncController controller(settings(), holder_, SyncHooks{{}, [this] { return now_; }});
  ASSERT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  const auto served = holder_.current();

  SyncSettings bad = settings();
  bad.zone.zones[0].soa.mname = "bad..name.";
  EXPECT_EQ(controller.update_settings(bad).outcome, ApplyOutcome::BuildFailed);
  EXPECT_EQ(holder_.current(), served);
}

TEST_F(SyncControllerTest, UpdateSettingsReappliesTheLastEntries) {
  SyncController controller(settings(), holder_, hooks());
  (void)controller.apply({entry("a", {"a.global"}, {"240.0.0.1", "10.0.0.1"})});
  EXPECT_EQ(last_built_.hosts[0].v4.size(), 1u);

  EXPECT_EQ(controller.update_settings(settings()).outcome, ApplyOutcome::Unchanged);

  SyncSettings wider = settings();
  wider.translate.allowed.push_back(parse_cidr("10.0.0.0/8").value());
  auto summary = controller.update_settings(wider);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(last_built_.hosts[0].v4.size(), 2u);

  SyncSettings longer_ttl = wider;
  longer_ttl.zone.ttl = 60;
  summary = controller.update_settings(longer_ttl);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(last_built_.ttl, 60u);
  EXPECT_EQ(summary.serial, 1'700'000'002u);
}

// Captures what the controller logs.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string take() {
    std::string text = stream_.str();
    stream_.str("");
    return text;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

TEST_F(SyncControllerTest, SkipsAndConflictsAreLoggedOnce) {
  LogCapture log;
  SyncController controller(settings(), holder_, hooks());
  auto older = entry("older", {"x.global"}, {"240.0.0.1"});
  older.created_unix = 1;
  auto newer = entry("newer", {"x.global", "y.global"}, {"240.0.0.2", "10.0.0.1"});
  newer.created_unix = 2;

  (void)controller.apply({older, newer});
  std::string text = log.take();
  EXPECT_EQ(count(text,
                  "warning sync: skipped ns/newer (se.yaml:1) 10.0.0.1: address 10.0.0.1 is "
                  "outside the allowed ranges 240.0.0.0/8"),
            1u)
      << text;
  EXPECT_EQ(count(text, "warning sync: conflict: x.global is claimed by ns/older"), 1u) << text;
  EXPECT_EQ(count(text,
                  "info sync: published serial 1700000000: 2 names, 2 addresses, 1 "
                  "skipped, 1 conflicts"),
            1u)
      << text;

  newer.origin = "moved.yaml:9";  // the same problems, elsewhere: still not news
  (void)controller.apply({newer, older});
  text = log.take();
  EXPECT_EQ(count(text, "warning"), 0u) << text;
  EXPECT_EQ(count(text, "published"), 0u) << text;

  auto fixed = entry("bad-host", {"Under_Score.global"}, {"240.0.0.5"});
  (void)controller.apply({older, newer, fixed});
  EXPECT_EQ(count(log.take(), "warning sync: skipped ns/bad-host"), 1u);
  fixed.hosts = {"Under-Score.global"};
  (void)controller.apply({older, newer, fixed});
  text = log.take();
  EXPECT_EQ(count(text, "info sync: ns/bad-host Under_Score.global is no longer skipped"), 1u)
      << text;

  // The loser's only claim is gone with the older entry: the conflict is over.
  (void)controller.apply({newer, fixed});
  text = log.take();
  EXPECT_EQ(count(text, "info sync: conflict over x.global is over"), 1u) << text;
}

TEST_F(SyncControllerTest, PreviouslySkippedHostNowServedIsSaid) {
  LogCapture log;
  SyncController controller(settings(), holder_, hooks());
  auto e = entry("a", {"a.global"}, {"10.0.0.1"});
  (void)controller.apply({e});
  EXPECT_EQ(count(log.take(),
                  "warning sync: skipped ns/a (se.yaml:1) a.global: none of its "
                  "addresses is served"),
            1u);
  e.addresses = {"240.0.0.1"};
  (void)controller.apply({e});
  EXPECT_EQ(count(log.take(), "info sync: a.global of ns/a is now served"), 1u);
}

}  // namespace
}  // namespace globaldns::sync
