// Unit tests of sync/file_source on a temporary directory: initial load, edits, removals, renames.
#include "sync/file_source.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "resolver/snapshot_holder.hpp"
#include "sync/sync_controller.hpp"

namespace globaldns::sync {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr auto kWait = std::chrono::seconds(3);  // bound on every wait; a pass takes far less

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "globaldns-sync-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string se_yaml(const std::string& name, const std::string& host,
                    const std::string& address = "240.0.0.1") {
  return "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: " + name +
         "\n  namespace: ns\nspec:\n  hosts: [" + host + "]\n  addresses: [" + address + "]\n";
}

// Writes in place, as `echo > file` does.
void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// Writes a temporary file and renames it over `path`, as most editors and tools do.
void write_by_rename(const fs::path& path, const std::string& text) {
  const fs::path tmp =
      path.parent_path() / std::string(".").append(path.filename().string()).append(".tmp");
  write_file(tmp, text);
  fs::rename(tmp, path);
}

std::vector<std::string> names(const std::vector<ServiceEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

// Holds what the source hands on as SyncController::replace_source_parts() does: the source
// keeps no entries, so what its callee holds is all there is.
class PartsHolder {
 public:
  void apply(SourceParts change) {
    if (change.scope == PartsScope::Whole) {
      std::set<std::string> named;
      for (const auto& part : change.parts) named.insert(part.name);
      std::erase_if(parts_, [&](const auto& item) { return named.count(item.first) == 0; });
    }
    for (auto& part : change.parts) {
      if (part.entries.empty()) {
        parts_.erase(part.name);
      } else {
        std::vector<ServiceEntry>& held = parts_[part.name];
        held.clear();
        for (const PackedEntry& entry : part.entries) held.push_back(entry.unpack());
      }
    }
    loads_.push_back(change.load);
  }
  // Every part's entries, by part name.
  std::vector<ServiceEntry> entries() const {
    std::vector<ServiceEntry> out;
    for (const auto& [name, entries] : parts_)
      out.insert(out.end(), entries.begin(), entries.end());
    return out;
  }
  const std::map<std::string, std::vector<ServiceEntry>>& parts() const { return parts_; }
  const std::vector<SourceLoad>& loads() const { return loads_; }

 private:
  std::map<std::string, std::vector<ServiceEntry>> parts_;
  std::vector<SourceLoad> loads_;
};

class FileSourceTest : public ::testing::Test {
 protected:
  // Inotify tests use a poll long enough that only inotify can make them pass in time.
  std::unique_ptr<FileSource> make(std::vector<fs::path> paths,
                                   WatchMode mode = WatchMode::InotifyAndPoll,
                                   milliseconds poll = milliseconds(60'000)) {
    FileSourceOptions options;
    for (const auto& p : paths) options.paths.push_back(p.string());
    options.watch = mode;
    options.poll_interval = poll;
    options.debounce = milliseconds(50);
    return std::make_unique<FileSource>(io_, options, callback());
  }

  // Each call leaves in calls_ everything the callee holds afterwards.
  FileSource::Callback callback() {
    return [this](SourceParts change) {
      held_.apply(std::move(change));
      calls_.push_back(held_.entries());
    };
  }

  // Runs the io_context until `done` holds or kWait passes.
  template <typename Pred>
  bool run_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_one_for(milliseconds(10));
    }
    return true;
  }

  // Runs the io_context for a fixed short time, to show that nothing happens.
  void run_for(milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) io_.run_one_for(milliseconds(10));
  }

  const std::vector<ServiceEntry>& last() const { return calls_.back(); }

  boost::asio::io_context io_;
  TempDir dir_;
  PartsHolder held_;
  std::vector<std::vector<ServiceEntry>> calls_;
};

TEST_F(FileSourceTest, LoadsFilesAndDirectoryContentsOnce) {
  const fs::path conf = dir_.path() / "conf";
  fs::create_directory(conf);
  write_file(conf / "b.yml", se_yaml("b", "b.global"));
  write_file(conf / "a.yaml", se_yaml("a", "a.global"));
  write_file(conf / ".hidden.yaml", se_yaml("hidden", "h.global"));
  write_file(conf / "notes.txt", se_yaml("txt", "t.global"));
  fs::create_directory(conf / "sub.yaml");  // a directory, not a file
  write_file(conf / "sub.yaml" / "c.yaml", se_yaml("nested", "n.global"));
  write_file(dir_.path() / "elsewhere.yaml", se_yaml("linked", "l.global"));
  fs::create_symlink(dir_.path() / "elsewhere.yaml", conf / "link.yaml");
  fs::create_symlink(dir_.path() / "missing.yaml", conf / "dangling.yaml");
  const fs::path single = dir_.path() / "single.yaml";
  write_file(single, se_yaml("single", "s.global"));

  auto source = make({single, conf});
  ASSERT_TRUE(source->load_initial().ok());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(names(last()), (std::vector<std::string>{"single", "a", "b", "linked"}));
  EXPECT_EQ(last()[1].origin, (conf / "a.yaml").string() + ":1");
  EXPECT_TRUE(source->complete());
  EXPECT_TRUE(source->problems().empty());
}

TEST_F(FileSourceTest, InterruptedLoadStopsBetweenFilesAndHandsNothingOn) {
  const fs::path conf = dir_.path() / "conf";
  fs::create_directory(conf);
  for (const char* name : {"a", "b", "c", "d"}) {
    write_file(conf / (std::string(name) + ".yaml"), se_yaml(name, std::string(name) + ".global"));
  }
  int asked = 0;
  FileSourceOptions options;
  options.paths = {conf.string()};
  options.decode_ahead_bytes = 0;  // the helper may be on a file: it stops all the same
  // Asked before the directory, then before each file: the third ask comes after a.yaml.
  options.interrupted = [&] { return ++asked == 3; };
  FileSource source(io_, options, callback());
  const auto loaded = source.load_initial();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error(), kLoadInterrupted);
  EXPECT_EQ(asked, 3);  // not asked again once it said yes
  EXPECT_TRUE(calls_.empty());

  // Not asked outside the initial load: a later rescan reads everything.
  source.rescan();
  EXPECT_EQ(asked, 3);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(names(last()), (std::vector<std::string>{"a", "b", "c", "d"}));
}

// The first load decodes a directory's files on two threads: every file is still handed on
// once, as decoded, and a file that does not decode is still only that file's problem.
TEST_F(FileSourceTest, FirstLoadOfManyFilesHandsOnEachAsDecoded) {
  const fs::path conf = dir_.path() / "conf";
  fs::create_directory(conf);
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) {
    std::string name = "s";
    name += std::to_string(100 + i);  // names sort as the files do
    if (i == 17) {
      write_file(conf / (name + ".yaml"), "spec: [unclosed\n");
      continue;
    }
    write_file(conf / (name + ".yaml"), se_yaml(name, name + ".global"));
    want.push_back(name);
  }
  FileSourceOptions options;
  options.paths = {conf.string()};
  options.decode_ahead_bytes = 0;  // two threads however small
  FileSource source(io_, options, callback());
  ASSERT_TRUE(source.load_initial().ok());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(held_.parts().size(), want.size());
  std::vector<std::string> got = names(held_.entries());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(source.reads(), 40u);
  EXPECT_EQ(source.failures(), 1u);
  ASSERT_EQ(source.problems().size(), 1u);
  EXPECT_NE(source.problems()[0].find("s117.yaml"), std::string::npos) << source.problems()[0];
}

TEST_F(FileSourceTest, MissingOrUnusablePathIsAStartupError) {
  auto missing = make({dir_.path() / "nope.yaml"});
  const auto result = missing->load_initial();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("nope.yaml"), std::string::npos) << result.error();
  EXPECT_TRUE(calls_.empty());

  const std::string fifo = (dir_.path() / "fifo.yaml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto special = make({fifo});
  EXPECT_FALSE(special->load_initial().ok());
}

TEST_F(FileSourceTest, SyntaxErrorAtStartupIsNotFatalButIncomplete) {
  const fs::path good = dir_.path() / "good.yaml";
  const fs::path bad = dir_.path() / "bad.yaml";
  write_file(good, se_yaml("good", "g.global"));
  write_file(bad, "a: [\n");
  auto source = make({good, bad});
  ASSERT_TRUE(source->load_initial().ok());
  EXPECT_EQ(names(last()), std::vector<std::string>{"good"});
  EXPECT_FALSE(source->complete());
  const auto problems = source->problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind(bad.string() + ":2:", 0), 0u) << problems[0];

  write_file(bad, se_yaml("fixed", "f.global"));
  source->rescan();
  EXPECT_TRUE(source->complete());
  EXPECT_TRUE(source->problems().empty());
  EXPECT_EQ(names(last()), (std::vector<std::string>{"good", "fixed"}));
}

TEST_F(FileSourceTest, BecomingCompleteCallsBackEvenWithoutNewEntries) {
  const fs::path good = dir_.path() / "good.yaml";
  const fs::path bad = dir_.path() / "bad.yaml";
  write_file(good, se_yaml("good", "g.global"));
  write_file(bad, "a: [\n");
  auto source = make({good, bad});
  ASSERT_TRUE(source->load_initial().ok());
  ASSERT_FALSE(source->complete());
  write_file(bad, "# nothing here yet\n");
  source->rescan();
  EXPECT_TRUE(source->complete());
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(names(last()), std::vector<std::string>{"good"});
  source->rescan();
  EXPECT_EQ(calls_.size(), 2u);
}

TEST_F(FileSourceTest, EditIsSeenWithinASecond) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  const auto started = std::chrono::steady_clock::now();
  write_file(file, se_yaml("two", "two.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
}

TEST_F(FileSourceTest, BrokenEditKeepsLastGoodContentsUntilFixed) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  write_file(file, "apiVersion: v1\nkind: [unclosed\n");
  ASSERT_TRUE(run_until([&] { return !source->problems().empty(); }));
  EXPECT_EQ(calls_.size(), 1u);  // nothing changed for the callback
  EXPECT_EQ(names(held_.entries()), std::vector<std::string>{"one"});
  EXPECT_TRUE(source->complete());  // it did load once
  EXPECT_EQ(source->problems()[0].rfind(file.string() + ":", 0), 0u);

  write_file(file, se_yaml("two", "two.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
  EXPECT_TRUE(source->problems().empty());
}

TEST_F(FileSourceTest, FileDeletedFromADirectoryDropsItsEntries) {
  write_file(dir_.path() / "a.yaml", se_yaml("a", "a.global"));
  write_file(dir_.path() / "b.yaml", se_yaml("b", "b.global"));
  auto source = make({dir_.path()});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();
  EXPECT_EQ(names(last()), (std::vector<std::string>{"a", "b"}));

  fs::remove(dir_.path() / "a.yaml");
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"b"});
}

TEST_F(FileSourceTest, NewFileInADirectoryIsPickedUp) {
  write_file(dir_.path() / "a.yaml", se_yaml("a", "a.global"));
  auto source = make({dir_.path()});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  write_by_rename(dir_.path() / "c.yaml", se_yaml("c", "c.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), (std::vector<std::string>{"a", "c"}));
}

TEST_F(FileSourceTest, RenameReplaceOfAConfiguredFileIsSeen) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  write_by_rename(file, se_yaml("two", "two.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
  write_by_rename(file, se_yaml("three", "three.global"));  // the watch survives the first swap
  ASSERT_TRUE(run_until([&] { return calls_.size() == 3; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"three"});
}

TEST_F(FileSourceTest, ConfiguredFileThatDisappearsKeepsItsEntries) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  fs::remove(file);
  ASSERT_TRUE(run_until([&] { return !source->problems().empty(); }));
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(names(held_.entries()), std::vector<std::string>{"one"});
  EXPECT_NE(source->problems()[0].find("missing"), std::string::npos);

  write_file(file, se_yaml("two", "two.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
  EXPECT_TRUE(source->problems().empty());
}

TEST_F(FileSourceTest, ConfigMapSymlinkSwapIsSeen) {
  // The layout kubelet writes for a ConfigMap volume.
  const fs::path mount = dir_.path() / "mount";
  fs::create_directories(mount / "..2024_01_01_v1");
  write_file(mount / "..2024_01_01_v1" / "se.yaml", se_yaml("v1", "v1.global"));
  fs::create_directory_symlink("..2024_01_01_v1", mount / "..data");
  fs::create_symlink("..data/se.yaml", mount / "se.yaml");
  auto dir_source = make({mount});
  ASSERT_TRUE(dir_source->load_initial().ok());
  auto file_source = make({mount / "se.yaml"});
  ASSERT_TRUE(file_source->load_initial().ok());
  dir_source->start();
  file_source->start();
  ASSERT_EQ(calls_.size(), 2u);

  fs::create_directories(mount / "..2024_01_02_v2");
  write_file(mount / "..2024_01_02_v2" / "se.yaml", se_yaml("v2", "v2.global"));
  fs::create_directory_symlink("..2024_01_02_v2", mount / "..data_tmp");
  fs::rename(mount / "..data_tmp", mount / "..data");
  fs::remove_all(mount / "..2024_01_01_v1");
  ASSERT_TRUE(run_until([&] { return calls_.size() == 4; }));
  EXPECT_EQ(names(calls_[2]), std::vector<std::string>{"v2"});
  EXPECT_EQ(names(calls_[3]), std::vector<std::string>{"v2"});
}

TEST_F(FileSourceTest, BurstOfWritesCausesOneReload) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("n0", "n0.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  source->start();
  io_.poll();  // the watch is armed

  for (int i = 1; i <= 20; ++i) {
    write_file(file, se_yaml(std::string("n").append(std::to_string(i)), "n.global"));
  }
  ASSERT_TRUE(run_until([&] { return calls_.size() >= 2; }));
  run_for(milliseconds(200));  // longer than the debounce: no second reload comes
  EXPECT_EQ(calls_.size(), 2u);
  EXPECT_EQ(names(last()), std::vector<std::string>{"n20"});
}

TEST_F(FileSourceTest, ChangeThatDecodesToTheSameEntriesDoesNotCallBack) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  write_file(file, se_yaml("one", "one.global") + "# a comment at the end\n");
  source->rescan();
  EXPECT_EQ(calls_.size(), 1u);
}

// Written an hour ago, so that the source may trust its stat() (see FileState::stamp).
void age(const fs::path& file) {
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::hours(1));
}

TEST_F(FileSourceTest, UnchangedFilesAreNotReadAgain) {
  write_file(dir_.path() / "a.yaml", se_yaml("a", "a.global"));
  write_file(dir_.path() / "b.yaml", se_yaml("b", "b.global"));
  age(dir_.path() / "a.yaml");
  age(dir_.path() / "b.yaml");
  auto source = make({dir_.path()});
  ASSERT_TRUE(source->load_initial().ok());
  EXPECT_EQ(source->reads(), 2u);
  source->rescan();
  source->rescan();
  EXPECT_EQ(source->reads(), 2u);
  EXPECT_EQ(calls_.size(), 1u);

  // Rewritten in place, same size: the stat differs, so it is read and decoded.
  {
    std::ofstream out(dir_.path() / "b.yaml", std::ios::in | std::ios::out);
    out << se_yaml("c", "c.global");
  }
  source->rescan();
  EXPECT_EQ(source->reads(), 3u);
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(names(last()), (std::vector<std::string>{"a", "c"}));
  // Modified within the last second: read again next time, in case a second write shares
  // the first one's timestamp; unchanged bytes do not call back.
  source->rescan();
  EXPECT_EQ(source->reads(), 4u);
  EXPECT_EQ(calls_.size(), 2u);
}

// A file read again because its stat() cannot be trusted is first only fingerprinted, in
// blocks: equal bytes must fingerprint alike, and a change in any block must show.
TEST_F(FileSourceTest, AFileOfManyBlocksIsFingerprintedWhole) {
  std::string text;
  for (int i = 0; text.size() < 300'000; ++i) {
    if (i > 0) text += "---\n";
    std::string name = "e";
    name += std::to_string(i);
    text += se_yaml(name, name + ".global");
  }
  const fs::path file = dir_.path() / "big.yaml";
  write_file(file, text);
  auto source = make({dir_.path()});
  ASSERT_TRUE(source->load_initial().ok());
  ASSERT_EQ(calls_.size(), 1u);
  const size_t listed = held_.entries().size();
  ASSERT_GT(listed, 1000u);

  write_file(file, text);  // the same bytes, written again: read, not handed on
  source->rescan();
  EXPECT_EQ(calls_.size(), 1u);

  // One address in the last block changed, the size kept.
  std::string changed = text;
  const size_t at = changed.rfind("240.0.0.1");
  ASSERT_GT(at, 4 * 65536u);
  changed.replace(at, 9, "240.0.0.7");
  write_file(file, changed);
  source->rescan();
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(held_.entries().size(), listed);
  EXPECT_EQ(held_.entries().back().addresses, std::vector<std::string>{"240.0.0.7"});
}

TEST_F(FileSourceTest, RewriteThatRestoresTheModificationTimeIsStillSeen) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  age(file);
  const auto old_mtime = fs::last_write_time(file);
  auto source = make({file});
  ASSERT_TRUE(source->load_initial().ok());
  {
    std::ofstream out(file, std::ios::in | std::ios::out);
    out << se_yaml("two", "two.global");  // same size
  }
  fs::last_write_time(file, old_mtime);  // as `touch -r` or `cp -p` would; ctime still moves
  source->rescan();
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
}

TEST_F(FileSourceTest, PollAloneSeesChanges) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  auto source = make({dir_.path()}, WatchMode::PollOnly, milliseconds(50));
  ASSERT_TRUE(source->load_initial().ok());
  source->start();

  write_file(file, se_yaml("two", "two.global"));
  ASSERT_TRUE(run_until([&] { return calls_.size() == 2; }));
  EXPECT_EQ(names(last()), std::vector<std::string>{"two"});
  fs::remove(file);
  ASSERT_TRUE(run_until([&] { return calls_.size() == 3; }));
  EXPECT_TRUE(last().empty());
}

// The source keeps no entries: what is served after each change comes from the controller's
// parts alone.
TEST_F(FileSourceTest, ControllerHoldsEachFileAsAPart) {
  SyncSettings settings;
  settings.translate.zones = {"global."};
  settings.translate.allowed = {parse_cidr("240.0.0.0/8").value()};
  settings.zone.zones = {resolver::ZoneSpec{"global.", {}, {}}};
  resolver::SnapshotHolder holder;
  SyncController controller(settings, holder);
  controller.require_sources({"files"});
  const auto served = [&] {
    std::vector<std::string> out;
    for (const auto& host : controller.translation().hosts) out.push_back(host.name);
    return out;
  };
  // The same object (ns/dup) in both files, with the same creationTimestamp (none): the copy
  // whose origin sorts first, a.yaml's, is served.
  write_file(dir_.path() / "a.yaml",
             se_yaml("a", "a.global") + "---\n" + se_yaml("dup", "one.global"));
  write_file(dir_.path() / "b.yaml",
             se_yaml("b", "b.global") + "---\n" + se_yaml("dup", "two.global"));
  const fs::path bad = dir_.path() / "c.yaml";
  write_file(bad, "a: [\n");
  FileSourceOptions options;
  options.paths = {dir_.path().string()};
  options.watch = WatchMode::PollOnly;
  FileSource source(io_, options, [&](SourceParts change) {
    (void)controller.replace_source_parts("files", std::move(change));
  });
  ASSERT_TRUE(source.load_initial().ok());
  EXPECT_EQ(holder.current(), nullptr);  // c.yaml has never loaded: nothing published
  EXPECT_EQ(served(), (std::vector<std::string>{"a.global", "b.global", "one.global"}));
  write_file(bad, se_yaml("c", "c.global"));
  source.rescan();
  ASSERT_NE(holder.current(), nullptr);
  EXPECT_EQ(served(), (std::vector<std::string>{"a.global", "b.global", "c.global", "one.global"}));
  ASSERT_EQ(controller.sources().size(), 1u);
  EXPECT_EQ(controller.sources()[0].entries, 5u);

  // A file that stops decoding keeps its entries.
  write_file(dir_.path() / "a.yaml", "kind: [unclosed\n");
  source.rescan();
  EXPECT_FALSE(source.problems().empty());
  EXPECT_EQ(served(), (std::vector<std::string>{"a.global", "b.global", "c.global", "one.global"}));
  // Removed from the directory, it drops them, and b.yaml's copy of ns/dup takes over.
  fs::remove(dir_.path() / "a.yaml");
  source.rescan();
  EXPECT_EQ(served(), (std::vector<std::string>{"b.global", "c.global", "two.global"}));
  EXPECT_EQ(controller.sources()[0].entries, 3u);
  EXPECT_TRUE(controller.translation().conflicts.empty());
}

TEST_F(FileSourceTest, DestroyedSourceLeavesOnlyHarmlessHandlers) {
  const fs::path file = dir_.path() / "se.yaml";
  write_file(file, se_yaml("one", "one.global"));
  {
    auto source = make({file}, WatchMode::InotifyAndPoll, milliseconds(10));
    ASSERT_TRUE(source->load_initial().ok());
    source->start();
    write_file(file, se_yaml("two", "two.global"));
    run_for(milliseconds(30));  // events and timers are in flight
  }
  write_file(file, se_yaml("three", "three.global"));
  run_for(milliseconds(100));  // handlers of the destroyed source run and do nothing
  for (const auto& call : calls_) {
    EXPECT_NE(names(call), std::vector<std::string>{"three"});
  }
}

}  // namespace
}  // namespace globaldns::sync
