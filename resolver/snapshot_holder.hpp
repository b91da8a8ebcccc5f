// SnapshotHolder: publishes immutable snapshots; SnapshotReader: a worker's lock-free view of it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace globaldns::resolver {

class Snapshot;

// Publication is rare (a data change); reads are per query. Workers keep their own
// shared_ptr and compare one atomic generation number per batch, so the mutex is taken
// only when a new snapshot appears (std::atomic<std::shared_ptr> is not lock-free in
// libstdc++ 12; dnsdist's sholder.hh does the same).
class SnapshotHolder {
 public:
  void publish(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> current() const;
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> generation_{0};
};

// One per worker thread; not thread-safe itself.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotHolder& holder) : holder_(holder) {}

  // Call once per batch of queries: refreshes the local copy when the generation moved.
  const Snapshot* get() noexcept {
    const uint64_t g = holder_.generation();
    if (g != seen_) refresh(g);
    return local_.get();
  }

 private:
  void refresh(uint64_t generation) noexcept;

  const SnapshotHolder& holder_;
  std::shared_ptr<const Snapshot> local_;
  uint64_t seen_ = 0;
};

}  // namespace globaldns::resolver
