// BackgroundLoad: one thread, fed pieces through a queue, indexing them in arrival order.
#include "sync/background_load.hpp"

#include <string_view>
#include <utility>

namespace globaldns::sync {

BackgroundLoad::BackgroundLoad(const TranslateOptions& options, TranslationIndex::Tag tag,
                               size_t expected)
    : tag_(tag), index_(std::make_unique<TranslationIndex>(options)) {
  (void)index_->begin_load(expected);  // a new index is empty
  thread_ = std::thread([this] { run(); });
}

BackgroundLoad::~BackgroundLoad() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      dropping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
}

void BackgroundLoad::add(std::vector<PackedEntry> entries) {
  if (entries.empty()) return;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(entries));
  }
  wake_.notify_one();
}

std::unique_ptr<TranslationIndex> BackgroundLoad::finish() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (failure_) std::rethrow_exception(failure_);
  return std::move(index_);
}

void BackgroundLoad::run() {
  try {
    for (;;) {
      std::vector<PackedEntry> piece;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return dropping_ || closing_ || !queue_.empty(); });
        if (dropping_ || queue_.empty()) return;  // closing_ and nothing left
        piece = std::move(queue_.front());
        queue_.pop_front();
      }
      index_piece(piece);
    }
  } catch (...) {
    // Nothing else is indexed; finish() hands the failure to its caller.
    failure_ = std::current_exception();
  }
}

void BackgroundLoad::index_piece(std::vector<PackedEntry>& piece) {
  for (PackedEntry& entry : piece) {
    const std::string_view ns = entry.namespace_();
    const std::string_view name = entry.name();
    // While the keys keep increasing none can repeat, and looking for an earlier copy would
    // cost a hash lookup per entry; after the first one out of order, every entry looks.
    if (in_key_order_) {
      in_key_order_ = !any_ || std::pair(std::string_view(last_namespace_),
                                         std::string_view(last_name_)) < std::pair(ns, name);
      any_ = true;
      last_namespace_.assign(ns);
      last_name_.assign(name);
    }
    if (!in_key_order_) {
      for (const auto handle : index_->copies_of(ns, name, tag_)) index_->erase(handle);
    }
    index_->insert(std::move(entry), tag_);
  }
}

}  // namespace globaldns::sync
