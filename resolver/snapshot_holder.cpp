// Snapshot publication: a mutex only on publish and on a worker's refresh, never per query.
#include "resolver/snapshot_holder.hpp"

namespace globaldns::resolver {

void SnapshotHolder::publish(std::shared_ptr<const Snapshot> snapshot) {
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard lock(mutex_);
    old = std::move(snapshot_);
    snapshot_ = std::move(snapshot);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // `old` is released here, outside the lock; workers still holding it keep it alive.
}

std::shared_ptr<const Snapshot> SnapshotHolder::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void SnapshotReader::refresh(uint64_t generation) noexcept {
  local_ = holder_.current();
  seen_ = generation;
}

}  // namespace globaldns::resolver
