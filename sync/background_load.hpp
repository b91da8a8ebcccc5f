// BackgroundLoad: a whole set of entries, indexed on a thread of its own as its pieces arrive.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "resolver/zone_builder.hpp"
#include "resolver/zone_data.hpp"
#include "sync/packed_entry.hpp"
#include "sync/translate.hpp"
#include "sync/translation_index.hpp"

namespace globaldns::sync {

// A first Kubernetes list of 1M entries is read for about 2 s on the io thread, and indexing it
// and filling a snapshot builder took another 1.5 s after the last page. Here each page is
// indexed on a second thread while the next ones are read, into an index of its own
// (begin_load()), which the caller then uses as it is, and the hosts each entry serves go into a
// builder as they come. Entries are kept as a store replacing by key keeps them: of two with the
// same namespace/name, the one added last (a list in the API server's key order never has two).
class BackgroundLoad {
 public:
  struct Loaded {
    std::unique_ptr<TranslationIndex> index;
    // Every host the index serves, under the zone settings given; null when it could not be
    // kept so (an entry replaced another of its key, whose hosts may have gone): build anew.
    std::unique_ptr<resolver::ZoneBuilder> builder;
  };

  // `expected`: about how many entries will come (0: unknown), for room: the index's and the
  // builder's tables are sized for it at once, so a hint that lies costs their memory (bounded
  // by the caller; the reflector caps it at 4M). `zone`: the zone settings of the builder (its
  // hosts and serial are ignored).
  BackgroundLoad(const TranslateOptions& options, const resolver::ZoneData& zone,
                 TranslationIndex::Tag tag, size_t expected);
  ~BackgroundLoad();  // drops what was loaded; waits for the thread to stop
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  void add(std::vector<PackedEntry> entries);
  // Every entry added, indexed, their copies tagged with `tag`: waits for the thread to finish
  // them. Rethrows what indexing threw (std::bad_alloc). Once only.
  Loaded finish();

 private:
  void run();
  void index_piece(std::vector<PackedEntry>& piece);

  const TranslationIndex::Tag tag_;
  // The thread's until finish() has joined it.
  std::unique_ptr<TranslationIndex> index_;
  std::unique_ptr<resolver::ZoneBuilder> builder_;
  // Whether every entry so far came in strictly increasing key order (so none repeated one).
  bool in_key_order_ = true;
  bool any_ = false;  // an entry came
  std::string last_namespace_;
  std::string last_name_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::vector<PackedEntry>> queue_;
  bool closing_ = false;   // no more pieces: index the queue, then stop
  bool dropping_ = false;  // stop as soon as possible
  std::exception_ptr failure_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace globaldns::sync
