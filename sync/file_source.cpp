// FileSource: rescans on inotify events (debounced) and on a slow poll; decodes changed files.
#include "sync/file_source.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/container_hash/hash.hpp>

namespace globaldns::sync {
namespace {

namespace fs = std::filesystem;

// Events that can mean a file we read changed: written, created, removed, renamed in or out
// (editors' save-by-rename, the ConfigMap "..data" symlink swap), or the directory itself went.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;

enum class ReadStatus : uint8_t { Ok, Missing, Failed };

// Whether a read keeps the bytes or only their fingerprint: a rescan that must read a file it
// cannot trust the stat() of (written within the last second) finds it unchanged by the
// fingerprint alone, in 64 KiB, where the whole file held 3.8 MB per 10,000 entries above what
// the process keeps, and raised its peak by about 8 MB at 100k.
enum class ReadBytes : uint8_t { Keep, FingerprintOnly };

struct ReadOutcome {
  ReadStatus status = ReadStatus::Failed;
  std::string bytes;  // empty with ReadBytes::FingerprintOnly
  // The size, and a 64-bit hash of the bytes in blocks of 64 KiB: a changed file that keeps
  // both is one in 2^64.
  std::pair<size_t, size_t> fingerprint{0, 0};
  std::string error;
  struct stat st {};  // of the file read, taken before reading it
};

int64_t nanoseconds(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Reads a whole regular file (symlinks followed), refusing more than `max_bytes`.
ReadOutcome read_file(const std::string& path, size_t max_bytes, ReadBytes keep) {
  ReadOutcome out;
  // O_NONBLOCK: a FIFO dropped into the directory must not hang the event loop.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    out.status = errno == ENOENT || errno == ENOTDIR ? ReadStatus::Missing : ReadStatus::Failed;
    out.error = path + ": " + errno_text(errno);
    return out;
  }
  struct stat& st = out.st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.error = path + ": not a regular file";
    return out;
  }
  if (keep == ReadBytes::Keep)
    out.bytes.reserve(std::min(static_cast<size_t>(st.st_size), max_bytes));
  // Hashed a full block at a time whatever sizes read() returns, so equal bytes hash alike.
  std::vector<char> block(65536);
  size_t filled = 0;
  size_t total = 0;
  size_t hash = 0;
  const auto hash_block = [&] {
    boost::hash_combine(hash,
                        std::hash<std::string_view>{}(std::string_view(block.data(), filled)));
    filled = 0;
  };
  while (true) {
    const ssize_t n = ::read(fd, block.data() + filled, block.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = path + ": " + errno_text(errno);
      ::close(fd);
      return out;
    }
    if (n == 0) break;
    const auto got = static_cast<size_t>(n);
    if (total + got > max_bytes) {
      out.error = path + ": larger than the limit of " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return out;
    }
    if (keep == ReadBytes::Keep) out.bytes.append(block.data() + filled, got);
    total += got;
    filled += got;
    if (filled == block.size()) hash_block();
  }
  ::close(fd);
  if (filled > 0) hash_block();
  out.fingerprint = {total, hash};
  out.status = ReadStatus::Ok;
  return out;
}

bool yaml_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;  // hidden, and ConfigMap "..data"
  return name.ends_with(".yaml") || name.ends_with(".yml");
}

// A file's part name: its path, behind the position of the configured path it was found by.
std::string part_name(size_t configured, const std::string& display) {
  return std::to_string(configured) + " " + display;
}

std::string entry_count(size_t n) {
  return std::to_string(n) + (n == 1 ? " entry" : " entries");
}

}  // namespace

FileSource::FileSource(boost::asio::io_context& io, FileSourceOptions options, Callback on_change)
    : options_(std::move(options)),
      on_change_(std::move(on_change)),
      inotify_(io),
      debounce_timer_(io),
      poll_timer_(io) {}

FileSource::~FileSource() {  // NOLINT(bugprone-exception-escape): see the header
  stop();
  alive_.reset();
}

Result<Ok> FileSource::load_initial() {
  paths_.clear();
  for (const auto& path : options_.paths) {
    PathState state;
    state.path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error{path + ": " + errno_text(errno)};
    if (S_ISDIR(st.st_mode)) {
      state.kind = PathKind::Directory;
      state.watch_dir = path;
      std::error_code ec;
      fs::directory_iterator it(path, ec);
      if (ec) return Error{path + ": " + ec.message()};
    } else if (S_ISREG(st.st_mode)) {
      state.kind = PathKind::File;
      const fs::path parent = fs::path(path).parent_path();
      state.watch_dir = parent.empty() ? "." : parent.string();
      const ReadOutcome read =
          read_file(path, options_.limits.max_bytes, ReadBytes::FingerprintOnly);
      if (read.status != ReadStatus::Ok) return Error{read.error};
      state.file.part = part_name(paths_.size(), path);
    } else {
      return Error{path + ": neither a regular file nor a directory"};
    }
    paths_.push_back(std::move(state));
  }
  loading_ = true;
  interrupted_ = false;
  std::vector<SourcePart> changed;
  refresh_all(changed);
  loading_ = false;
  if (interrupted_) {
    // What was decoded is not handed on: forget it was read, so that a rescan hands it on.
    for (auto& path : paths_) {
      std::string part = std::move(path.file.part);
      path.file = FileState{};
      path.file.part = std::move(part);
      path.files.clear();
    }
    return Error{std::string(kLoadInterrupted)};
  }
  size_t loaded = 0;
  for_each_file([&](const FileState& file) { loaded += file.entries; });
  notify(std::move(changed), PartsScope::Whole);
  spdlog::info("files: loaded {} from {} path(s){}", entry_count(loaded), paths_.size(),
               complete() ? "" : " (some files have errors)");
  return ok_result();
}

void FileSource::start() {
  if (started_) return;
  started_ = true;
  if (options_.watch == WatchMode::InotifyAndPoll) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("files: inotify unavailable ({}); polling every {} ms", errno_text(errno),
                   options_.poll_interval.count());
    } else {
      boost::system::error_code ec;
      inotify_.assign(fd, ec);
      if (ec) {
        ::close(fd);
        spdlog::warn("files: inotify unusable ({}); polling every {} ms", ec.message(),
                     options_.poll_interval.count());
      } else {
        add_watches();
        read_events();
      }
    }
  }
  arm_poll();
}

void FileSource::stop() {
  started_ = false;
  boost::system::error_code ec;
  debounce_timer_.cancel();
  poll_timer_.cancel();
  if (inotify_.is_open()) inotify_.close(ec);
}

void FileSource::add_watches() {
  if (!inotify_.is_open()) return;
  std::set<std::string> dirs;
  for (const auto& path : paths_) dirs.insert(path.watch_dir);
  for (const auto& dir : dirs) {
    // Adding a watch that exists returns its descriptor again; after a directory is
    // recreated this watches the new one.
    if (::inotify_add_watch(inotify_.native_handle(), dir.c_str(), kWatchMask) >= 0) continue;
    const int error = errno;
    if (error == ENOENT) continue;  // the directory is gone; the rescan says so
    if (watch_failures_.insert(dir + ": " + errno_text(error)).second) {
      spdlog::warn("files: cannot watch {}: {}{}; polling it every {} ms", dir, errno_text(error),
                   error == ENOSPC ? " (inotify watch limit, fs.inotify.max_user_watches)" : "",
                   options_.poll_interval.count());
    }
  }
}

void FileSource::read_events() {
  std::weak_ptr<int> alive = alive_;
  inotify_.async_read_some(
      boost::asio::buffer(event_buffer_),
      [this, alive](const boost::system::error_code& ec, size_t /*bytes*/) {
        if (alive.expired() || ec == boost::asio::error::operation_aborted || !started_) return;
        if (ec) {
          spdlog::warn("files: reading inotify events failed ({}); polling every {} ms",
                       ec.message(), options_.poll_interval.count());
          return;
        }
        // Which file changed does not matter: a rescan compares stats and hashes, and an overflowed
        // queue (IN_Q_OVERFLOW) needs the same rescan.
        schedule_rescan();
        read_events();
      });
}

void FileSource::schedule_rescan() {
  const auto now = std::chrono::steady_clock::now();
  if (!rescan_pending_) {
    rescan_pending_ = true;
    burst_start_ = now;
  }
  debounce_timer_.expires_at(
      std::min(now + options_.debounce, burst_start_ + options_.max_debounce));
  std::weak_ptr<int> alive = alive_;
  debounce_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (alive.expired() || ec == boost::asio::error::operation_aborted || !started_) return;
    rescan_pending_ = false;
    rescan();
  });
}

void FileSource::arm_poll() {
  poll_timer_.expires_after(options_.poll_interval);
  std::weak_ptr<int> alive = alive_;
  poll_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (alive.expired() || ec == boost::asio::error::operation_aborted || !started_) return;
    rescan();
    arm_poll();
  });
}

void FileSource::rescan() {
  add_watches();
  const bool was_complete = complete();
  std::vector<SourcePart> changed;
  refresh_all(changed);
  // Also on becoming complete: a fixed file may add no entries, yet readiness waits for it.
  if (!changed.empty() || (!was_complete && complete())) {
    notify(std::move(changed), PartsScope::Changed);
  }
}

// What refresh_file() would read and decode for a file never read before, done without the
// source's state so that another thread can do it; its bytes dropped once decoded.
struct FilePrefetch {
  ReadOutcome read;
  std::optional<Result<DecodedEntries>> decoded;  // set when the read succeeded
};

namespace {

FilePrefetch read_and_decode(const std::string& display, const DecodeLimits& limits) {
  FilePrefetch out;
  out.read = read_file(display, limits.max_bytes, ReadBytes::Keep);
  if (out.read.status != ReadStatus::Ok) return out;
  out.decoded = decode_service_entries(out.read.bytes, display, limits);
  std::string().swap(out.read.bytes);  // held until taken: its room goes now
  return out;
}

// A first load's files read and decoded on this thread and one more, handed out in order.
// take(i) gives file i's: decoded already, or decoded here if no one has started it; while the
// helper is still on it, this thread decodes a later file instead of waiting. At most kWindow
// files are decoded ahead of the one taken, so what waits (a file's packed entries) stays small.
// The entries wait for the last file in the taker's copy: the helper's malloc arena gets its
// buffer back at once and holds only the window, so it has nothing left resident once the load
// is done.
class AheadReader {
 public:
  static constexpr size_t kWindow = 2;

  AheadReader(const std::vector<std::string>& displays, const DecodeLimits& limits)
      : displays_(displays), limits_(limits), done_(displays.size()), helper_([this] { run(); }) {}
  ~AheadReader() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    helper_.join();
  }
  AheadReader(const AheadReader&) = delete;
  AheadReader& operator=(const AheadReader&) = delete;

  FilePrefetch take(size_t i) {
    std::unique_lock lock(mutex_);
    taken_ = i;
    changed_.notify_all();
    while (!done_[i]) {
      if (next_ < displays_.size() && next_ <= i + kWindow) {
        decode_next(lock);
      } else {
        changed_.wait(lock);
      }
    }
    FilePrefetch out = std::move(*done_[i]);
    done_[i].reset();
    lock.unlock();
    if (out.decoded && out.decoded->ok()) {
      PackedEntries& entries = out.decoded->value().entries;
      entries = entries.clone();
    }
    return out;
  }

 private:
  // Decodes the next file not yet started, with `lock` released meanwhile.
  void decode_next(std::unique_lock<std::mutex>& lock) {
    const size_t j = next_++;
    lock.unlock();
    FilePrefetch got = read_and_decode(displays_[j], limits_);
    lock.lock();
    done_[j] = std::move(got);
    changed_.notify_all();
  }
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] {
        return stop_ || (next_ < displays_.size() && next_ <= taken_ + kWindow);
      });
      if (stop_) return;
      decode_next(lock);
    }
  }

  const std::vector<std::string>& displays_;
  const DecodeLimits& limits_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::optional<FilePrefetch>> done_;
  size_t next_ = 0;   // the first file no one has started
  size_t taken_ = 0;  // the file last asked for
  bool stop_ = false;
  std::thread helper_;  // last: started once the rest is set up
};

}  // namespace

FileSource::Refresh FileSource::refresh_file(FileState& state, const std::string& display,
                                             PathKind configured_as,
                                             std::vector<SourcePart>& changed,
                                             FilePrefetch* prefetched) {
  if (state.fingerprint) prefetched = nullptr;  // read before: the checks below need the file now
  // The poll rescans every file every 2 s: at 1M entries, reading and hashing 388 MB of YAML
  // each time cost 7 % of a core while idle. A stat() does.
  if (state.stamp && !state.missing && state.read_error.empty()) {
    struct stat st {};
    if (::stat(display.c_str(), &st) == 0 && stamp_of(st) == *state.stamp) {
      return Refresh::Unchanged;
    }
  }
  // A file read before is first only fingerprinted: most reads of a file whose stat() cannot be
  // trusted find it unchanged.
  const ReadBytes first_read = state.fingerprint ? ReadBytes::FingerprintOnly : ReadBytes::Keep;
  ReadOutcome read = prefetched != nullptr
                         ? std::move(prefetched->read)
                         : read_file(display, options_.limits.max_bytes, first_read);
  ++reads_;
  if (read.status == ReadStatus::Missing) {
    if (configured_as == PathKind::Directory) return Refresh::Vanished;
    if (!state.missing) {
      spdlog::warn("files: {} disappeared; keeping its last {} until it is back", display,
                   entry_count(state.entries));
      state.missing = true;
    }
    return Refresh::Unchanged;
  }
  if (state.missing) {
    spdlog::info("files: {} is back", display);
    state.missing = false;
  }
  if (read.status == ReadStatus::Failed) {
    if (state.read_error != read.error) {
      spdlog::error("files: {}; keeping its last {}", read.error, entry_count(state.entries));
      state.read_error = std::move(read.error);
    }
    return Refresh::Unchanged;
  }
  state.read_error.clear();
  const auto trust_stamp = [&state](const struct stat& st) {
    state.stamp = stamp_of(st);
    const auto modified = std::chrono::nanoseconds(state.stamp->mtime_ns);
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    if (now - modified < std::chrono::seconds(1)) state.stamp.reset();  // see FileState::stamp
  };
  trust_stamp(read.st);
  if (state.fingerprint == read.fingerprint) return Refresh::Unchanged;
  if (first_read == ReadBytes::FingerprintOnly && read.fingerprint.first != 0) {
    // Changed: now the bytes. A file changed again between the two reads is taken as it is
    // now; one that went, or failed, is left to the next scan, which reads it again.
    read = read_file(display, options_.limits.max_bytes, ReadBytes::Keep);
    if (read.status != ReadStatus::Ok) {
      state.stamp.reset();
      return Refresh::Unchanged;
    }
    trust_stamp(read.st);
  }
  state.fingerprint = read.fingerprint;

  auto decoded = prefetched != nullptr && prefetched->decoded
                     ? std::move(*prefetched->decoded)
                     : decode_service_entries(read.bytes, display, options_.limits);
  // Freed before the entries change hands (peak memory at 1M entries). Swapped out: assigning
  // an empty string keeps the capacity.
  std::string().swap(read.bytes);
  if (!decoded) {
    // Logged once: the same bytes are not decoded again.
    spdlog::error("files: {}; keeping the last good contents ({})", decoded.error(),
                  entry_count(state.entries));
    state.decode_error = decoded.error();
    return Refresh::Unchanged;
  }
  if (!state.decode_error.empty()) spdlog::info("files: {} decodes again", display);
  state.decode_error.clear();
  state.decoded_once = true;
  for (const auto& problem : decoded->problems) spdlog::warn("files: {}", problem);
  for (const auto& note : decoded->notes) spdlog::info("files: {}", note);
  state.problems = std::move(decoded->problems);
  // A file read for the first time with no entries has nothing to hand on either.
  // Two decodes of a file that hash the same are taken as the same entries, as two reads with
  // the same size and byte hash are taken as the same bytes.
  const size_t hash = decoded->entries.hash();
  if (decoded->entries.size() == state.entries && hash == state.entries_hash) {
    return Refresh::Unchanged;
  }
  spdlog::info("files: {}: {}", display, entry_count(decoded->entries.size()));
  state.entries = decoded->entries.size();
  state.entries_hash = hash;
  changed.push_back(SourcePart{state.part, std::move(decoded->entries)});
  return Refresh::Changed;
}

void FileSource::refresh_directory(PathState& path, std::vector<SourcePart>& changed) {
  std::error_code ec;
  fs::directory_iterator it(path.path, ec);
  if (ec) {
    // Keep everything: a directory that vanished is more likely a remount than a removal.
    const std::string error = path.path + ": " + ec.message();
    if (path.list_error != error) {
      spdlog::warn("files: {}; keeping the last {} file(s)", error, path.files.size());
      path.list_error = error;
    }
    return;
  }
  if (!path.list_error.empty()) spdlog::info("files: {} is readable again", path.path);
  path.list_error.clear();

  std::set<std::string> names;
  uintmax_t listed_bytes = 0;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code status_ec;
    if (yaml_name(name) && it->is_regular_file(status_ec)) {  // follows symlinks
      names.insert(name);
      const uintmax_t size = it->file_size(status_ec);
      if (!status_ec) listed_bytes += size;
    }
  }
  if (ec) {
    // A listing cut short would look like removed files: keep everything until the next scan.
    spdlog::warn("files: listing {} failed: {}", path.path, ec.message());
    return;
  }

  for (auto file = path.files.begin(); file != path.files.end();) {
    if (names.count(file->first) != 0) {
      ++file;
      continue;
    }
    spdlog::info("files: {}/{} removed; dropping its {}", path.path, file->first,
                 entry_count(file->second.entries));
    if (file->second.entries != 0) changed.push_back(SourcePart{file->second.part, {}});
    file = path.files.erase(file);
  }
  std::vector<std::string> displays;
  displays.reserve(names.size());
  for (const auto& name : names) displays.push_back((fs::path(path.path) / name).string());
  // A large first load reads and decodes the files on two threads, and applies them in order
  // (FileSourceOptions::decode_ahead_bytes).
  std::optional<AheadReader> ahead;
  if (loading_ && names.size() > 1 && listed_bytes >= options_.decode_ahead_bytes)
    ahead.emplace(displays, options_.limits);
  size_t index = 0;
  for (const auto& name : names) {
    if (stop_loading()) return;
    const std::string& display = displays[index];
    FileState& state = path.files[name];
    if (state.part.empty())
      state.part = part_name(static_cast<size_t>(&path - paths_.data()), display);
    std::optional<FilePrefetch> prefetched;
    if (ahead) prefetched = ahead->take(index);
    ++index;
    // Removed between the listing and the read.
    if (refresh_file(state, display, PathKind::Directory, changed,
                     prefetched ? &*prefetched : nullptr) == Refresh::Vanished) {
      if (state.entries != 0) changed.push_back(SourcePart{state.part, {}});
      path.files.erase(name);
    }
  }
  if (ahead) {
    // The helper's malloc arena held the objects it decoded, freed since but resident: give
    // the pages back before the index is built beside them.
    ahead.reset();
    ::malloc_trim(0);
  }
}

void FileSource::refresh_all(std::vector<SourcePart>& changed) {
  for (auto& path : paths_) {
    if (stop_loading()) break;
    if (path.kind == PathKind::File) {
      (void)refresh_file(path.file, path.path, PathKind::File, changed);
    } else {
      refresh_directory(path, changed);
    }
  }
  publish_status();
}

FileSource::FileStamp FileSource::stamp_of(const struct stat& st) {
  return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<int64_t>(st.st_size), nanoseconds(st.st_mtim),
                   nanoseconds(st.st_ctim)};
}

bool FileSource::stop_loading() {
  if (!loading_) return false;
  if (!interrupted_ && options_.interrupted) interrupted_ = options_.interrupted();
  return interrupted_;
}

void FileSource::publish_status() {
  bool complete = true;
  size_t failures = 0;
  std::vector<std::string> problems;
  const auto collect = [&](const FileState& file, const std::string& display) {
    complete = complete && file.decoded_once;
    if (file.missing || !file.read_error.empty() || !file.decode_error.empty()) ++failures;
    if (file.missing) problems.push_back(display + ": missing; serving its last contents");
    if (!file.read_error.empty()) problems.push_back(file.read_error);
    if (!file.decode_error.empty()) problems.push_back(file.decode_error);
    problems.insert(problems.end(), file.problems.begin(), file.problems.end());
  };
  for (const auto& path : paths_) {
    if (path.kind == PathKind::File) {
      collect(path.file, path.path);
    } else {
      if (!path.list_error.empty()) {
        ++failures;
        problems.push_back(path.list_error);
      }
      for (const auto& [name, file] : path.files) {
        collect(file, (fs::path(path.path) / name).string());
      }
    }
  }
  complete_.store(complete, std::memory_order_release);
  failures_.store(failures, std::memory_order_relaxed);
  std::lock_guard lock(problems_mutex_);
  problems_ = std::move(problems);
}

std::vector<std::string> FileSource::problems() const {
  std::lock_guard lock(problems_mutex_);
  return problems_;
}

void FileSource::notify(std::vector<SourcePart> changed, PartsScope scope) {
  if (!on_change_) return;
  try {
    on_change_(SourceParts{std::move(changed), scope,
                           complete() ? SourceLoad::Complete : SourceLoad::Partial});
  } catch (const std::exception& e) {
    // The callback is the rest of the program; it must not take the watcher down with it.
    spdlog::error("files: change callback failed: {}", e.what());
  }
}

}  // namespace globaldns::sync
