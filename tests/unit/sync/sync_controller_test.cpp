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
#include "tests/unit/sync/answers.hpp"

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
    h.build = [this](resolver::ZoneBuilder& builder,
                     uint32_t serial) -> Result<std::shared_ptr<const resolver::Snapshot>> {
      ++builds_;
      last_host_count_ = builder.host_count();
      if (fail_build_) return Error{"injected failure"};
      return std::shared_ptr<const resolver::Snapshot>(builder.build(serial));
    };
    return h;
  }

  // Whether what is served answers A and AAAA for `names` exactly as a snapshot built from
  // scratch out of `data` (with the served serial) does.
  void expect_serves(resolver::ZoneData data, const std::vector<std::string>& names) {
    const auto served = holder_.current();
    ASSERT_NE(served, nullptr);
    data.serial = served->serial();
    const auto expected = resolver::build_snapshot(data).value();
    for (const auto& name : names) {
      for (const uint16_t qtype : {uint16_t{1}, uint16_t{28}}) {
        EXPECT_EQ(testing_answers::ask(served.get(), name, qtype),
                  testing_answers::ask(expected.get(), name, qtype))
            << name << " type " << qtype;
      }
    }
  }

  resolver::SnapshotHolder holder_;
  int64_t now_ = 1'700'000'000;
  int builds_ = 0;
  bool fail_build_ = false;
  size_t last_host_count_ = 0;
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
  EXPECT_EQ(last_host_count_, 2u);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}, {240, 0, 0, 2}}, {}},
                    {"b.global", {{240, 0, 0, 1}, {240, 0, 0, 2}}, {}}};
  expect_serves(expected, {"a.global", "b.global", "bad.example", "c.global"});
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

TEST_F(SyncControllerTest, CountersSayWhatWasServedAndWhatBuildsCost) {
  SyncController controller(settings(), holder_, hooks());
  EXPECT_EQ(controller.counters().publishes, 0u);
  ASSERT_EQ(
      controller.apply({entry("a", {"a.global", "b.global"}, {"240.0.0.1", "10.0.0.1"})}).outcome,
      ApplyOutcome::Published);
  SyncCounters c = controller.counters();
  EXPECT_EQ(c.publishes, 1u);
  EXPECT_EQ(c.build_failures, 0u);
  EXPECT_EQ(c.served.names, 2u);
  EXPECT_EQ(c.served.addresses, 2u);  // 240.0.0.1 for each host; 10.0.0.1 is outside the range
  EXPECT_GE(c.served.skipped, 1u);
  EXPECT_EQ(c.last_publish_unix, now_);
  EXPECT_GE(c.build_seconds_total, c.last_build_seconds);

  fail_build_ = true;
  EXPECT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.2"})}).outcome,
            ApplyOutcome::BuildFailed);
  c = controller.counters();
  EXPECT_EQ(c.publishes, 1u);
  EXPECT_EQ(c.build_failures, 1u);
  EXPECT_EQ(c.served.names, 2u);  // what is served did not change
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
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}};
  expect_serves(expected, {"a.global"});

  EXPECT_EQ(controller.update_settings(settings()).outcome, ApplyOutcome::Unchanged);

  SyncSettings wider = settings();
  wider.translate.allowed.push_back(parse_cidr("10.0.0.0/8").value());
  auto summary = controller.update_settings(wider);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  expected.hosts = {{"a.global", {{240, 0, 0, 1}, {10, 0, 0, 1}}, {}}};
  expect_serves(expected, {"a.global"});

  SyncSettings longer_ttl = wider;
  longer_ttl.zone.ttl = 60;
  summary = controller.update_settings(longer_ttl);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  expected.ttl = 60;
  expect_serves(expected, {"a.global"});
  EXPECT_EQ(summary.serial, 1'700'000'002u);
}

// The CHAOS texts are settings: a reload that changes only them publishes a new snapshot.
TEST_F(SyncControllerTest, UpdateSettingsChangesTheChaosAnswers) {
  SyncSettings with_version = settings();
  with_version.zone.chaos.version = "globaldns 1";
  SyncController controller(with_version, holder_, hooks());
  ASSERT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  const resolver::Snapshot* first = holder_.current().get();
  ASSERT_NE(first->chaos_txt(reinterpret_cast<const uint8_t*>("\7version\4bind"), 14), nullptr);
  EXPECT_EQ(controller.update_settings(with_version).outcome, ApplyOutcome::Unchanged);

  SyncSettings off = with_version;
  off.zone.chaos.version.clear();
  off.zone.chaos.hostname = "node-1";
  EXPECT_EQ(controller.update_settings(off).outcome, ApplyOutcome::Published);
  const auto served = holder_.current();
  EXPECT_EQ(served->chaos_txt(reinterpret_cast<const uint8_t*>("\7version\4bind"), 14), nullptr);
  const std::string* host = served->chaos_txt(reinterpret_cast<const uint8_t*>("\2id\6server"), 11);
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->substr(host->size() - 6), "node-1");
  resolver::ZoneData expected = off.zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}};
  expect_serves(expected, {"a.global"});
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

TEST_F(SyncControllerTest, PublishingIsLoggedAtInfoOncePerTenSeconds) {
  LogCapture log;
  spdlog::default_logger()->set_level(spdlog::level::debug);
  SyncController controller(settings(), holder_, hooks());
  for (int i = 0; i < 5; ++i) {
    const std::string address = std::string("240.0.0.").append(std::to_string(i + 1));
    ASSERT_EQ(controller.replace_source("k", {entry("a", {"a.global"}, {address})}).outcome,
              ApplyOutcome::Published);
  }
  const std::string text = log.take();
  // A watch brings changes far faster than anyone reads logs: the first says what is served,
  // the rest wait for the next info line (debug meanwhile).
  EXPECT_EQ(count(text, "info sync: published serial"), 1u) << text;
  EXPECT_EQ(count(text, "debug sync: published serial"), 4u) << text;
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

TEST_F(SyncControllerTest, RequiredSourcesHoldBackTheFirstPublish) {
  SyncController controller(settings(), holder_, hooks());
  controller.require_sources({"files", "cluster1"});
  auto summary = controller.replace_source("files", {entry("a", {"a.global"}, {"240.0.0.1"})});
  EXPECT_EQ(summary.outcome, ApplyOutcome::NotReady);
  EXPECT_EQ(summary.serial, 0u);
  EXPECT_EQ(summary.names, 1u);  // translated, just not served yet
  // Watch events are not a complete list: still not ready.
  summary = controller.update_source("cluster1", {entry("b", {"b.global"}, {"240.0.0.2"})}, {});
  EXPECT_EQ(summary.outcome, ApplyOutcome::NotReady);
  EXPECT_EQ(holder_.current(), nullptr);
  EXPECT_EQ(builds_, 0);

  summary = controller.replace_source("cluster1", {entry("c", {"c.global"}, {"240.0.0.3"})});
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.names, 2u);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}, {"c.global", {{240, 0, 0, 3}}, {}}};
  expect_serves(expected, {"a.global", "b.global", "c.global"});

  // Once serving, a source going away publishes like any other change.
  summary = controller.remove_source("cluster1");
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  expected.hosts.pop_back();
  expect_serves(expected, {"a.global", "c.global"});
}

TEST_F(SyncControllerTest, RemovingAnUnloadedRequiredSourceReleasesTheGate) {
  SyncController controller(settings(), holder_, hooks());
  controller.require_sources({"files", "cluster1"});
  EXPECT_EQ(controller.replace_source("files", {}).outcome, ApplyOutcome::NotReady);
  EXPECT_EQ(controller.remove_source("cluster1").outcome, ApplyOutcome::Published);
  EXPECT_NE(holder_.current(), nullptr);
}

TEST_F(SyncControllerTest, SourcesMergeAndAreCounted) {
  SyncController controller(settings(), holder_, hooks());
  auto a = entry("a", {"a.global"}, {"240.0.0.1"});
  auto a_elsewhere = a;
  a_elsewhere.origin = "cluster1";
  a_elsewhere.addresses = {"240.0.0.9"};
  (void)controller.replace_source("files", {a, entry("b", {"b.global"}, {"240.0.0.2"})});
  const auto summary = controller.update_source("cluster1", {a_elsewhere}, {});
  // One object seen twice: one copy served ("cluster1" < "se.yaml:1" breaks the tie).
  EXPECT_EQ(summary.conflicts, 1u);
  EXPECT_EQ(summary.names, 2u);
  const auto translation = controller.translation();
  ASSERT_EQ(translation.conflicts.size(), 1u);
  EXPECT_EQ(translation.conflicts[0].winner_origin, "cluster1");
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 9}}, {}}, {"b.global", {{240, 0, 0, 2}}, {}}};
  expect_serves(expected, {"a.global", "b.global"});

  const auto sources = controller.sources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].name, "cluster1");
  EXPECT_EQ(sources[0].entries, 1u);
  EXPECT_FALSE(sources[0].loaded);
  EXPECT_EQ(sources[1].name, "files");
  EXPECT_EQ(sources[1].entries, 2u);
  EXPECT_TRUE(sources[1].loaded);

  // The other copy takes over when the served one goes.
  EXPECT_EQ(controller.update_source("cluster1", {}, {"ns/a"}).outcome, ApplyOutcome::Published);
  expected.hosts[0].v4 = {{240, 0, 0, 1}};
  expect_serves(expected, {"a.global", "b.global"});
  EXPECT_EQ(controller.sources()[0].entries, 0u);
}

SourcePart part(std::string name, const std::vector<ServiceEntry>& entries) {
  SourcePart out{std::move(name), {}};
  for (const ServiceEntry& entry : entries) out.entries.push_back(entry);
  return out;
}

// The parts as one vector: a braced list would copy them, and a part's packed entries move only.
template <typename... Parts>
std::vector<SourcePart> parts_of(Parts... parts) {
  std::vector<SourcePart> out;
  (out.push_back(std::move(parts)), ...);
  return out;
}

SourceParts changed(std::vector<SourcePart> parts, SourceLoad load = SourceLoad::Complete) {
  return SourceParts{std::move(parts), PartsScope::Changed, load};
}

ServiceEntry at(ServiceEntry e, std::string origin) {
  e.origin = std::move(origin);
  return e;
}

std::vector<std::string> served_names(const Translation& t) {
  std::vector<std::string> out;
  for (const auto& host : t.hosts) out.push_back(host.name);
  return out;
}

// Two files: a.yaml serving a.global, b.yaml serving b.global.
std::vector<SourcePart> files_a_and_b() {
  return parts_of(part("a.yaml", {at(entry("a", {"a.global"}, {"240.0.0.1"}), "a.yaml:1")}),
                  part("b.yaml", {at(entry("b", {"b.global"}, {"240.0.0.2"}), "b.yaml:1")}));
}

TEST_F(SyncControllerTest, ChangedPartReplacesOnlyItsOwnEntries) {
  SyncController controller(settings(), holder_, hooks());
  (void)controller.replace_source_parts("files", changed(files_a_and_b()));
  EXPECT_EQ(served_names(controller.translation()),
            (std::vector<std::string>{"a.global", "b.global"}));

  // a.yaml now holds c instead of a; b.yaml, not named, keeps b.
  const auto summary = controller.replace_source_parts(
      "files",
      changed(parts_of(part("a.yaml", {at(entry("c", {"c.global"}, {"240.0.0.3"}), "a.yaml:1")}))));
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(served_names(controller.translation()),
            (std::vector<std::string>{"b.global", "c.global"}));
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"b.global", {{240, 0, 0, 2}}, {}}, {"c.global", {{240, 0, 0, 3}}, {}}};
  expect_serves(expected, {"a.global", "b.global", "c.global"});
  ASSERT_EQ(controller.sources().size(), 1u);  // one "files" source, whatever its parts
  EXPECT_EQ(controller.sources()[0].name, "files");
  EXPECT_EQ(controller.sources()[0].entries, 2u);

  // A part without entries is gone (a file removed from its directory).
  EXPECT_EQ(controller.replace_source_parts("files", changed(parts_of(part("b.yaml", {})))).outcome,
            ApplyOutcome::Published);
  EXPECT_EQ(served_names(controller.translation()), std::vector<std::string>{"c.global"});
  EXPECT_EQ(controller.sources()[0].entries, 1u);

  // Nothing changed in the parts named: nothing published.
  const uint32_t serial = controller.serial();
  EXPECT_EQ(
      controller
          .replace_source_parts(
              "files", changed(parts_of(part(
                           "a.yaml", {at(entry("c", {"c.global"}, {"240.0.0.3"}), "a.yaml:1")}))))
          .outcome,
      ApplyOutcome::Unchanged);
  EXPECT_EQ(controller.serial(), serial);
}

TEST_F(SyncControllerTest, WholePartsDropEveryPartNotNamed) {
  SyncController controller(settings(), holder_, hooks());
  (void)controller.replace_source_parts("files", changed(files_a_and_b()));
  // A reload whose files are b.yaml and d.yaml.
  (void)controller.replace_source_parts(
      "files",
      SourceParts{
          parts_of(part("b.yaml", {at(entry("b", {"b.global"}, {"240.0.0.2"}), "b.yaml:1")}),
                   part("d.yaml", {at(entry("d", {"d.global"}, {"240.0.0.4"}), "d.yaml:1")})),
          PartsScope::Whole, SourceLoad::Complete});
  EXPECT_EQ(served_names(controller.translation()),
            (std::vector<std::string>{"b.global", "d.global"}));
  EXPECT_EQ(controller.sources()[0].entries, 2u);
  // replace_source() is the whole source too: the parts go, its entries stay.
  (void)controller.replace_source("files", {entry("e", {"e.global"}, {"240.0.0.5"})});
  EXPECT_EQ(served_names(controller.translation()), std::vector<std::string>{"e.global"});
  EXPECT_EQ(controller.sources()[0].entries, 1u);
}

TEST_F(SyncControllerTest, PartsAreNotLoadedUntilTheSourceSaysComplete) {
  SyncController controller(settings(), holder_, hooks());
  controller.require_sources({"files"});
  auto summary = controller.replace_source_parts(
      "files", changed(parts_of(part("a.yaml", {entry("a", {"a.global"}, {"240.0.0.1"})})),
                       SourceLoad::Partial));
  EXPECT_EQ(summary.outcome, ApplyOutcome::NotReady);
  EXPECT_EQ(summary.names, 1u);  // held and translated, not served
  EXPECT_FALSE(controller.sources()[0].loaded);
  EXPECT_EQ(holder_.current(), nullptr);
  // The broken file is fixed and has no entries: nothing new, but now complete.
  summary = controller.replace_source_parts("files", changed(parts_of(), SourceLoad::Complete));
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_TRUE(controller.sources()[0].loaded);
  // Loaded stays loaded: a later file that does not decode holds nothing back.
  summary = controller.replace_source_parts(
      "files", changed(parts_of(part("b.yaml", {entry("b", {"b.global"}, {"240.0.0.2"})})),
                       SourceLoad::Partial));
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
}

// The same namespace/name in two files: the copy the winner rule picks is served, whether the
// files come as one merged list (as before parts) or as parts, in any order, and after either
// file changes.
TEST_F(SyncControllerTest, DuplicateAcrossPartsIsServedAsFromOneMergedList) {
  auto one = entry("a", {"a.global", "one.global"}, {"240.0.0.1"});
  auto two = entry("a", {"a.global", "two.global"}, {"240.0.0.2"});
  const auto check = [&](ServiceEntry first, ServiceEntry second) {
    first = at(std::move(first), "1.yaml:4");
    second = at(std::move(second), "2.yaml:1");
    resolver::SnapshotHolder merged_holder;
    SyncController merged(settings(), merged_holder);
    (void)merged.replace_source("files", {first, second});
    for (const bool reversed : {false, true}) {
      resolver::SnapshotHolder holder;
      SyncController parts(settings(), holder);
      std::vector<SourcePart> both = parts_of(part("1.yaml", {first}), part("2.yaml", {second}));
      if (reversed) std::swap(both[0], both[1]);
      for (auto& p : both)
        (void)parts.replace_source_parts("files", changed(parts_of(std::move(p))));
      const Translation want = merged.translation();
      const Translation got = parts.translation();
      EXPECT_EQ(got.hosts, want.hosts);
      EXPECT_EQ(got.conflicts, want.conflicts);
      EXPECT_EQ(got.skipped, want.skipped);
    }
    return merged.translation();
  };
  // The same creationTimestamp: the origin breaks the tie, and 1.yaml's copy is served.
  Translation t = check(one, two);
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0].winner_origin, "1.yaml:4");
  EXPECT_EQ(served_names(t), (std::vector<std::string>{"a.global", "one.global"}));
  // An older copy in the second file wins instead.
  two.created_unix = 1'600'000'000;
  t = check(one, two);
  ASSERT_EQ(t.conflicts.size(), 1u);
  EXPECT_EQ(t.conflicts[0].winner_origin, "2.yaml:1");
  EXPECT_EQ(served_names(t), (std::vector<std::string>{"a.global", "two.global"}));

  // The served copy's file drops it: the other copy takes over, and comes back when it returns.
  SyncController controller(settings(), holder_, hooks());
  (void)controller.replace_source_parts("files",
                                        changed(parts_of(part("1.yaml", {at(one, "1.yaml:4")}),
                                                         part("2.yaml", {at(two, "2.yaml:1")}))));
  (void)controller.replace_source_parts("files", changed(parts_of(part("2.yaml", {}))));
  EXPECT_EQ(served_names(controller.translation()),
            (std::vector<std::string>{"a.global", "one.global"}));
  EXPECT_EQ(controller.translation().conflicts.size(), 0u);
  (void)controller.replace_source_parts("files",
                                        changed(parts_of(part("2.yaml", {at(two, "2.yaml:1")}))));
  EXPECT_EQ(served_names(controller.translation()),
            (std::vector<std::string>{"a.global", "two.global"}));
}

// The index tags each copy with its part: a part replaced, erased or edited by a watch event
// touches only its own copies of a key that other parts and sources hold too.
TEST_F(SyncControllerTest, PartsOnlyEverTouchTheirOwnCopiesOfAKey) {
  SyncController controller(settings(), holder_, hooks());
  const auto a = entry("a", {"a.global"}, {"240.0.0.1"});
  auto a2 = a;
  a2.addresses = {"240.0.0.2"};
  (void)controller.replace_source_parts(
      "files",
      changed(parts_of(part("1.yaml", {at(a, "1.yaml:1")}), part("2.yaml", {at(a2, "2.yaml:1")}))));
  (void)controller.update_source("cluster1", {at(a2, "cluster1")}, {});
  const auto entries_of = [&](const std::string& source) {
    for (const auto& s : controller.sources())
      if (s.name == source) return s.entries;
    return size_t{0};
  };
  EXPECT_EQ(entries_of("files"), 2u);
  EXPECT_EQ(entries_of("cluster1"), 1u);
  EXPECT_EQ(controller.translation().conflicts.size(), 2u);  // three copies of ns/a

  // 1.yaml now lists its copy twice (another line): both are 1.yaml's.
  (void)controller.replace_source_parts(
      "files", changed(parts_of(part("1.yaml", {at(a, "1.yaml:1"), at(a, "1.yaml:9")}))));
  EXPECT_EQ(entries_of("files"), 3u);
  EXPECT_EQ(controller.translation().conflicts.size(), 3u);
  // The same list again changes nothing.
  const uint32_t serial = controller.serial();
  EXPECT_EQ(
      controller
          .replace_source_parts(
              "files", changed(parts_of(part("1.yaml", {at(a, "1.yaml:1"), at(a, "1.yaml:9")}))))
          .outcome,
      ApplyOutcome::Unchanged);
  EXPECT_EQ(controller.serial(), serial);
  EXPECT_EQ(entries_of("files"), 3u);

  // A watch deletion removes the watched source's copy only ("cluster1" had been served).
  (void)controller.update_source("cluster1", {}, {"ns/a"});
  EXPECT_EQ(entries_of("cluster1"), 0u);
  EXPECT_EQ(entries_of("files"), 3u);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}};  // 1.yaml:1 < 2.yaml:1
  expect_serves(expected, {"a.global"});

  // 2.yaml goes: 1.yaml's two copies stay, one of them served.
  (void)controller.replace_source_parts("files", changed(parts_of(part("2.yaml", {}))));
  EXPECT_EQ(entries_of("files"), 2u);
  const auto translation = controller.translation();
  ASSERT_EQ(translation.conflicts.size(), 1u);
  EXPECT_EQ(translation.conflicts[0].winner_origin, "1.yaml:1");
  EXPECT_EQ(translation.conflicts[0].loser_origin, "1.yaml:9");

  // A whole reload without 1.yaml drops both of its copies.
  (void)controller.replace_source_parts(
      "files",
      SourceParts{
          parts_of(part("3.yaml", {at(entry("b", {"b.global"}, {"240.0.0.3"}), "3.yaml:1")})),
          PartsScope::Whole, SourceLoad::Complete});
  EXPECT_EQ(entries_of("files"), 1u);
  EXPECT_EQ(served_names(controller.translation()), std::vector<std::string>{"b.global"});
  EXPECT_TRUE(controller.translation().conflicts.empty());
}

TEST_F(SyncControllerTest, RelistsAndResyncsOfTheSameDataChangeNothing) {
  SyncController controller(settings(), holder_, hooks());
  std::vector<ServiceEntry> entries;
  for (int i = 0; i < 50; ++i) {
    // Appended, not "literal" + std::string, which trips g++ 12's -Wrestrict at -O3.
    std::string name = "e";
    name += std::to_string(i);
    std::string host = name;
    host += ".global";
    std::string address = "240.0.0.";
    address += std::to_string(i);
    entries.push_back(entry(name, {host}, {address}));
  }
  ASSERT_EQ(controller.replace_source("cluster1", entries).outcome, ApplyOutcome::Published);
  std::reverse(entries.begin(), entries.end());
  EXPECT_EQ(controller.replace_source("cluster1", entries).outcome, ApplyOutcome::Unchanged);
  EXPECT_EQ(controller.update_source("cluster1", {entries[3]}, {}).outcome,
            ApplyOutcome::Unchanged);
  auto moved = entries[3];
  moved.origin = "elsewhere";  // not something a client sees
  EXPECT_EQ(controller.update_source("cluster1", {moved}, {}).outcome, ApplyOutcome::Unchanged);
  // Removed and added back in one call (removals first): no change either.
  EXPECT_EQ(controller.update_source("cluster1", {moved}, {moved.key()}).outcome,
            ApplyOutcome::Unchanged);
  EXPECT_EQ(builds_, 1);
  EXPECT_EQ(holder_.generation(), 1u);

  entries[0].addresses = {"240.0.1.1"};
  const auto summary = controller.replace_source("cluster1", entries);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.names, 50u);
  EXPECT_EQ(builds_, 2);
}

TEST_F(SyncControllerTest, FailedBuildIsRetriedByTheNextUpdate) {
  SyncController controller(settings(), holder_, hooks());
  ASSERT_EQ(controller.replace_source("s", {entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  const auto served = holder_.current();

  fail_build_ = true;
  auto summary = controller.update_source("s", {entry("a", {"a.global"}, {"240.0.0.2"})}, {});
  EXPECT_EQ(summary.outcome, ApplyOutcome::BuildFailed);
  summary = controller.update_source("s", {entry("b", {"b.global"}, {"240.0.0.3"})}, {});
  EXPECT_EQ(summary.outcome, ApplyOutcome::BuildFailed);
  EXPECT_EQ(holder_.current(), served);
  EXPECT_EQ(controller.serial(), 1'700'000'000u);

  fail_build_ = false;  // an update that changes nothing still publishes what is pending
  summary = controller.update_source("s", {}, {});
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.serial, 1'700'000'001u);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 2}}, {}}, {"b.global", {{240, 0, 0, 3}}, {}}};
  expect_serves(expected, {"a.global", "b.global"});

  // Changed and changed back while failing: nothing to publish afterwards.
  fail_build_ = true;
  EXPECT_EQ(controller.update_source("s", {}, {"ns/b"}).outcome, ApplyOutcome::BuildFailed);
  fail_build_ = false;
  EXPECT_EQ(controller.update_source("s", {entry("b", {"b.global"}, {"240.0.0.3"})}, {}).outcome,
            ApplyOutcome::Unchanged);
  // ... and the builder has b back: the next publish still serves it.
  EXPECT_EQ(controller.update_source("s", {entry("c", {"c.global"}, {"240.0.0.4"})}, {}).outcome,
            ApplyOutcome::Published);
  expected.hosts.push_back({"c.global", {{240, 0, 0, 4}}, {}});
  expect_serves(expected, {"a.global", "b.global", "c.global"});
}

TEST_F(SyncControllerTest, FailedBuildAfterNewSettingsIsRetriedEvenWithoutChanges) {
  SyncController controller(settings(), holder_, hooks());
  ASSERT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  SyncSettings longer_ttl = settings();
  longer_ttl.zone.ttl = 90;
  fail_build_ = true;
  EXPECT_EQ(controller.update_settings(longer_ttl).outcome, ApplyOutcome::BuildFailed);
  fail_build_ = false;
  EXPECT_EQ(controller.update_source("", {}, {}).outcome, ApplyOutcome::Published);
  resolver::ZoneData expected = longer_ttl.zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}};
  expect_serves(expected, {"a.global"});
}

TEST_F(SyncControllerTest, HostTheBuilderRejectsFailsTheUpdateUntilItGoes) {
  // Translated as in a zone the snapshot does not have: the builder refuses the host.
  SyncSettings s = settings();
  s.translate.zones.push_back("other.");
  SyncController controller(s, holder_, hooks());
  ASSERT_EQ(controller.apply({entry("a", {"a.global"}, {"240.0.0.1"})}).outcome,
            ApplyOutcome::Published);
  const auto served = holder_.current();
  const auto bad = entry("b", {"b.other"}, {"240.0.0.2"});
  EXPECT_EQ(controller.update_source("", {bad}, {}).outcome, ApplyOutcome::BuildFailed);
  EXPECT_EQ(controller.update_source("", {entry("c", {"c.global"}, {"240.0.0.3"})}, {}).outcome,
            ApplyOutcome::BuildFailed);
  EXPECT_EQ(holder_.current(), served);
  EXPECT_EQ(controller.update_source("", {}, {"ns/b"}).outcome, ApplyOutcome::Published);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{240, 0, 0, 1}}, {}}, {"c.global", {{240, 0, 0, 3}}, {}}};
  expect_serves(expected, {"a.global", "c.global"});
}

TEST_F(SyncControllerTest, UpdateSettingsAppliesToEverySource) {
  SyncController controller(settings(), holder_, hooks());
  (void)controller.replace_source("one", {entry("a", {"a.global"}, {"10.0.0.1", "240.0.0.1"})});
  (void)controller.replace_source("two", {entry("b", {"b.global"}, {"10.0.0.2"})});
  EXPECT_EQ(controller.translation().hosts.size(), 1u);
  SyncSettings wider = settings();
  wider.translate.allowed.push_back(parse_cidr("10.0.0.0/8").value());
  const auto summary = controller.update_settings(wider);
  EXPECT_EQ(summary.outcome, ApplyOutcome::Published);
  EXPECT_EQ(summary.names, 2u);
  EXPECT_EQ(summary.skipped, 0u);
  resolver::ZoneData expected = settings().zone;
  expected.hosts = {{"a.global", {{10, 0, 0, 1}, {240, 0, 0, 1}}, {}},
                    {"b.global", {{10, 0, 0, 2}}, {}}};
  expect_serves(expected, {"a.global", "b.global"});
  // Afterwards the sources update incrementally under the new settings.
  EXPECT_EQ(controller.update_source("two", {}, {"ns/b"}).outcome, ApplyOutcome::Published);
  expected.hosts.pop_back();
  expect_serves(expected, {"a.global", "b.global"});
}

TEST_F(SyncControllerTest, SkipsAndConflictsOfWatchEventsAreLoggedOnce) {
  LogCapture log;
  SyncController controller(settings(), holder_, hooks());
  auto older = entry("older", {"x.global"}, {"240.0.0.1"});
  older.created_unix = 1;
  auto newer = entry("newer", {"x.global", "y.global"}, {"240.0.0.2", "10.0.0.1"});
  newer.created_unix = 2;
  (void)controller.replace_source("files", {older});
  (void)controller.update_source("cluster1", {newer}, {});
  std::string text = log.take();
  EXPECT_EQ(count(text, "warning sync: skipped ns/newer (se.yaml:1) 10.0.0.1"), 1u) << text;
  EXPECT_EQ(count(text, "warning sync: conflict: x.global is claimed by ns/older"), 1u) << text;

  // Another version of the same entry with the same problems: not news.
  newer.hosts.push_back("z.global");
  (void)controller.update_source("cluster1", {newer}, {});
  text = log.take();
  EXPECT_EQ(count(text, "warning"), 0u) << text;

  // The same object in another source: a duplicate, logged once, over when it goes.
  (void)controller.update_source("cluster2", {newer}, {});
  (void)controller.update_source("cluster2", {newer}, {});
  text = log.take();
  EXPECT_EQ(count(text, "warning sync: conflict: ns/newer appears twice"), 1u) << text;
  (void)controller.remove_source("cluster2");
  EXPECT_EQ(count(log.take(), "info sync: conflict over a duplicate object is over"), 1u);

  (void)controller.remove_source("files");
  text = log.take();
  EXPECT_EQ(count(text, "info sync: conflict over x.global is over"), 1u) << text;
  newer.addresses = {"240.0.0.2"};
  (void)controller.update_source("cluster1", {newer}, {});
  text = log.take();
  EXPECT_EQ(count(text, "info sync: ns/newer 10.0.0.1 is no longer skipped"), 1u) << text;
}

}  // namespace
}  // namespace globaldns::sync
