// FileSource: ServiceEntries from YAML files and directories, kept current by inotify and a poll.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "resolver/result.hpp"
#include "sync/service_entry.hpp"
#include "sync/source_parts.hpp"
#include "sync/yaml_decoder.hpp"

namespace globaldns::sync {

enum class WatchMode : uint8_t {
  InotifyAndPoll,  // inotify for speed, the poll in case it misses or is unavailable
  PollOnly,        // for filesystems inotify cannot see (some network mounts), and tests
};

struct FileSourceOptions {
  // Each a file, or a directory whose *.yaml / *.yml regular files (symlinks followed, names
  // starting with '.' ignored, not recursive) are all read.
  std::vector<std::string> paths;
  // Events closer together than this cause one rescan (an editor's save is several events).
  std::chrono::milliseconds debounce{100};
  // A burst of events that never pauses still rescans this often.
  std::chrono::milliseconds max_debounce{1000};
  std::chrono::milliseconds poll_interval{2000};
  WatchMode watch = WatchMode::InotifyAndPoll;
  DecodeLimits limits;
  // Asked between files while load_initial() reads them; true stops the load (a SIGTERM
  // must not wait for a million entries to decode). Empty: never.
  std::function<bool()> interrupted;
  // A directory whose files hold at least this many bytes is read and decoded on two threads
  // in load_initial() (388 MB at 1M entries: about 11 s alone, 7 s so). Below it a second
  // thread saves under a second, and its malloc arena cost up to 7 MB at 100k entries.
  uint64_t decode_ahead_bytes = uint64_t{64} << 20;
};

// What load_initial() fails with when `interrupted` stopped it.
inline constexpr std::string_view kLoadInterrupted = "loading ServiceEntry files interrupted";

// Reading happens on the io_context's thread (load_initial() on the caller's). A file that
// stops decoding keeps its last good entries; a file removed from a watched directory drops
// its entries; a configured file that disappears keeps its entries with a warning, because
// editors and ConfigMap updates briefly remove files, and deleting is not how operators
// remove entries. Only files whose bytes changed are decoded again: a file's size and a hash
// of its bytes are kept, not the bytes (388 MB of YAML at 1M entries). Nor are the decoded
// entries kept: each file is one part (named by its path) handed on when its entries change,
// and the callee holds them (SyncController::replace_source_parts()).
// A file read and decoded ahead of its turn (file_source.cpp).
struct FilePrefetch;

class FileSource {
 public:
  // Called with the files whose entries changed, each with all its entries (none: the file is
  // gone or empty), and when complete() first becomes true; load_initial()'s call has every
  // file with entries (PartsScope::Whole). `load` says whether complete() holds.
  using Callback = std::function<void(SourceParts change)>;

  FileSource(boost::asio::io_context& io, FileSourceOptions options, Callback on_change);
  // stop() cancels timers and closes with an error_code; Asio's cancel() throws only on a bad
  // descriptor, a bug for which terminating is the right outcome.
  ~FileSource();  // NOLINT(bugprone-exception-escape)
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // The first, synchronous read. Fails when a configured path does not exist or cannot be
  // read (a startup error), or with kLoadInterrupted; a file with a YAML error does not fail
  // it (see complete()). On success calls the callback once, on this thread, with whatever
  // was decoded.
  Result<Ok> load_initial();

  // Begins watching and polling on the io_context. Call after load_initial() succeeded.
  void start();
  // Stops watching; pending handlers become no-ops. Also done by the destructor.
  void stop();

  // Rescans now instead of waiting for an event or the poll (io_context thread only).
  void rescan();

  // Every configured file, and every file now in a configured directory, decoded at least once.
  bool complete() const noexcept { return complete_.load(std::memory_order_acquire); }
  // What is wrong now: YAML errors, skipped objects, missing files. Any thread.
  std::vector<std::string> problems() const;
  // Paths that cannot be used now, each still serving its last good contents: configured files
  // missing, files unreadable or not decoding, directories that cannot be listed. Any thread.
  size_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  // Files read so far; a rescan does not read a file whose stat() is as when last read.
  uint64_t reads() const noexcept { return reads_; }

 private:
  enum class PathKind : uint8_t { File, Directory };

  struct FileStamp {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;  // which no one can set back, unlike mtime (touch -r, cp -p)
    bool operator==(const FileStamp&) const = default;
  };

  struct FileState {
    // Its part of the source, unique even when a file is configured twice, or both alone and
    // through its directory (each is one copy, as before parts existed).
    std::string part;
    // Of the bytes as last read, decoded successfully or not.
    std::optional<std::pair<size_t, size_t>> fingerprint;  // size, hash
    // stat() of the file when it was last read; equal on a later scan means unchanged without
    // reading it (as NSD and Knot check zone files). Not kept for a file modified within the
    // last second: a second write in the same timestamp tick would look the same.
    std::optional<FileStamp> stamp;
    bool decoded_once = false;
    // Of the last successful decode, which the callback got: a new decode that hashes the
    // same (a comment edited) is not handed on again.
    size_t entries = 0;
    size_t entries_hash = 0;
    std::vector<std::string> problems;  // skipped objects of that decode
    std::string read_error;
    std::string decode_error;
    bool missing = false;
  };

  struct PathState {
    std::string path;
    PathKind kind = PathKind::File;
    std::string watch_dir;
    FileState file;                          // PathKind::File
    std::map<std::string, FileState> files;  // PathKind::Directory, by file name
    std::string list_error;                  // PathKind::Directory
  };

  enum class Refresh : uint8_t { Unchanged, Changed, Vanished };

  // Every file's state.
  template <typename Fn>
  void for_each_file(Fn&& fn) const {
    for (const auto& path : paths_) {
      if (path.kind == PathKind::File) {
        fn(path.file);
      } else {
        for (const auto& [name, file] : path.files) fn(file);
      }
    }
  }

  static FileStamp stamp_of(const struct stat& st);
  // Asks options_.interrupted during the initial load; remembers a yes.
  bool stop_loading();

  // Each appends the files whose entries changed to `changed`. `prefetched` (the file read and
  // decoded ahead: the first load decodes a directory's files on two threads), when given, is
  // used instead of reading the file, if the file has never been read.
  Refresh refresh_file(FileState& state, const std::string& display, PathKind configured_as,
                       std::vector<SourcePart>& changed, FilePrefetch* prefetched = nullptr);
  void refresh_directory(PathState& path, std::vector<SourcePart>& changed);
  void refresh_all(std::vector<SourcePart>& changed);
  void publish_status();
  void notify(std::vector<SourcePart> changed, PartsScope scope);

  void add_watches();
  void read_events();
  void schedule_rescan();
  void arm_poll();

  FileSourceOptions options_;
  Callback on_change_;
  std::vector<PathState> paths_;

  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer debounce_timer_;
  boost::asio::steady_timer poll_timer_;
  std::array<char, 8192> event_buffer_{};
  std::chrono::steady_clock::time_point burst_start_{};
  bool rescan_pending_ = false;
  bool started_ = false;
  uint64_t reads_ = 0;
  bool loading_ = false;                  // inside load_initial(): `interrupted` is asked
  bool interrupted_ = false;              // it said so; the load stopped
  std::set<std::string> watch_failures_;  // "dir: error", each logged once
  // Handlers hold a weak_ptr to this: one that runs after the destructor does nothing.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  std::atomic<bool> complete_{false};
  std::atomic<size_t> failures_{0};
  mutable std::mutex problems_mutex_;
  std::vector<std::string> problems_;
};

}  // namespace globaldns::sync
