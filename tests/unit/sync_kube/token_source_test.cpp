// Tests of the bearer token: static, file precedence, kubelet-style rotation, failures, threads.
#include "sync/kube/token_source.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/unit/sync_kube/credentials_test_util.hpp"

namespace globaldns::sync::kube {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::TempDir;
using testing::write_file;

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::steady_clock::time_point() +
                                            seconds(1000)};
  TokenSourceOptions options(std::chrono::steady_clock::duration period = seconds(60)) {
    TokenSourceOptions o;
    o.refresh_period = period;
    o.clock = [this] { return now; };
    return o;
  }
};

// Mimics the kubelet AtomicWriter: data in a timestamped dir, `..data` a symlink to it, and
// `token -> ..data/token`; an update writes a new dir and renames a new symlink over `..data`.
class ProjectedVolume {
 public:
  explicit ProjectedVolume(const fs::path& root) : root_(root) {
    fs::create_symlink("..data/token", root_ / "token");
  }
  void publish(const std::string& token) {
    const fs::path dir = root_ / ("..2026_" + std::to_string(++generation_));
    write_file(dir / "token", token);
    const fs::path tmp = root_ / "..data_tmp";
    fs::create_symlink(dir.filename(), tmp);
    fs::rename(tmp, root_ / "..data");  // atomic replace, as the kubelet does
    if (!old_.empty()) fs::remove_all(old_);
    old_ = dir;
  }
  fs::path token_path() const { return root_ / "token"; }

 private:
  fs::path root_;
  fs::path old_;
  int generation_ = 0;
};

TEST(TokenSource, StaticToken) {
  TokenSource source(TokenSpec{"static", {}});
  EXPECT_EQ(source.token().value(), "static");
  TokenSource none(TokenSpec{});
  EXPECT_EQ(none.token().value(), "");
}

TEST(TokenSource, FileWinsOverTokenAndTrims) {
  TempDir dir;
  write_file(dir.path() / "t", "from-file \r\n\n");
  FakeClock clock;
  TokenSource source(TokenSpec{"static", dir.path() / "t"}, clock.options());
  EXPECT_EQ(source.token().value(), "from-file");
}

TEST(TokenSource, UnreadableFileFallsBackToStaticToken) {
  TempDir dir;
  FakeClock clock;
  TokenSource source(TokenSpec{"static", dir.path() / "missing"}, clock.options());
  EXPECT_EQ(source.token().value(), "static");
  EXPECT_TRUE(source.last_error());
  TokenSource no_fallback(TokenSpec{"", dir.path() / "missing"}, clock.options());
  auto r = no_fallback.token();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find((dir.path() / "missing").string()), std::string::npos) << r.error();
  write_file(dir.path() / "empty", " \n");
  TokenSource empty(TokenSpec{"", dir.path() / "empty"}, clock.options());
  auto e = empty.token();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("is empty"), std::string::npos);
}

TEST(TokenSource, SymlinkSwapSeenAfterThePeriodAndAfterInvalidate) {
  TempDir dir;
  ProjectedVolume volume(dir.path());
  volume.publish("one");
  FakeClock clock;
  TokenSource source(TokenSpec{"", volume.token_path()}, clock.options(seconds(60)));
  EXPECT_EQ(source.token().value(), "one");

  volume.publish("two");
  clock.now += seconds(59);
  EXPECT_EQ(source.token().value(), "one");  // cached within the period
  clock.now += seconds(1);
  EXPECT_EQ(source.token().value(), "two");

  volume.publish("three");
  EXPECT_EQ(source.token().value(), "two");
  source.invalidate();  // as after a 401
  EXPECT_EQ(source.token().value(), "three");
  EXPECT_EQ(source.read_failures(), 0u);
}

TEST(TokenSource, DeletedFileKeepsTheLastGoodToken) {
  TempDir dir;
  write_file(dir.path() / "t", "good");
  FakeClock clock;
  TokenSource source(TokenSpec{"static", dir.path() / "t"}, clock.options());
  EXPECT_EQ(source.token().value(), "good");
  fs::remove(dir.path() / "t");
  source.invalidate();
  EXPECT_EQ(source.token().value(), "good");  // not the static one: the file's last value wins
  clock.now += seconds(60);
  EXPECT_EQ(source.token().value(), "good");
  EXPECT_EQ(source.read_failures(), 2u);
  ASSERT_TRUE(source.last_error());
  EXPECT_NE(source.last_error()->find((dir.path() / "t").string()), std::string::npos);

  write_file(dir.path() / "t", "new");
  source.invalidate();
  EXPECT_EQ(source.token().value(), "new");
  EXPECT_FALSE(source.last_error());
}

TEST(TokenSource, ConcurrentUse) {
  TempDir dir;
  ProjectedVolume volume(dir.path());
  volume.publish("t0");
  TokenSource source(TokenSpec{"", volume.token_path()}, {.refresh_period = {}, .clock = {}});
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = source.token();
        if (!r || r->empty() || r->front() != 't') ++bad;
        source.invalidate();
      }
    });
  }
  for (int i = 1; i < 50; ++i) volume.publish(std::to_string(i).insert(0, 1, 't'));
  stop = true;
  for (auto& t : readers) t.join();
  // A swap is atomic, so every read saw a whole token (a failed read keeps the last good one).
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace globaldns::sync::kube
