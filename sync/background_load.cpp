// BackgroundLoad: one thread, fed pieces through a queue, indexing them in arrival order.
#include "sync/background_load.hpp"

#include <pthread.h>

#include <string_view>
#include <utility>

namespace globaldns::sync {

BackgroundLoad::BackgroundLoad(const TranslateOptions& options, const resolver::ZoneData& zone,
                               TranslationIndex::Tag tag, size_t expected)
    : tag_(tag), index_(std::make_unique<TranslationIndex>(options)) {
  (void)index_->begin_load(expected);  // a new index is empty
  // Settings that fail here fail the caller's own build the same way, which reports them.
  if (auto created = resolver::ZoneBuilder::create(zone)) {
    builder_ = std::move(created.value());
    builder_->reserve(expected);
  }
  thread_ = std::thread([this] { run(); });
  (void)::pthread_setname_np(thread_.native_handle(), "gdns-load");  // top -H
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

BackgroundLoad::Loaded BackgroundLoad::finish() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (failure_) std::rethrow_exception(failure_);
  return Loaded{std::move(index_), std::move(builder_)};
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
  // The index looks each entry up in tables of 8 MB (at 1M) at random: fetched a few entries
  // ahead, an insert no longer waits for them (BM_IndexLoadInPages: 911 -> 646 ms at 1M).
  constexpr size_t kAhead = TranslationIndex::kPrefetchAhead;
  for (size_t i = 0; i < piece.size(); ++i) {
    if (i + kAhead < piece.size()) index_->prefetch(piece[i + kAhead]);
    PackedEntry& entry = piece[i];
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
      const auto earlier = index_->copies_of(ns, name, tag_);
      // Its hosts may go or pass to another entry, which the builder would not learn.
      if (!earlier.empty()) builder_.reset();
      for (const auto handle : earlier) index_->erase(handle);
    }
    const auto handle = index_->insert(std::move(entry), tag_);
    // A host changes hands only to a claim that wins it, and that claim's entry comes later:
    // upserting each entry's hosts as it comes leaves the builder with the winners' records.
    if (builder_) {
      index_->for_each_host_served_by(handle, [this](const resolver::HostRecords& host) {
        if (builder_ && !builder_->upsert(host)) builder_.reset();  // the caller's build says why
      });
    }
  }
}

}  // namespace globaldns::sync
