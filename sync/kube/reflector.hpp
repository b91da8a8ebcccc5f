// Reflector: keeps a local copy of the cluster's ServiceEntries with list + watch, like client-go.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/kube/api_client.hpp"
#include "sync/kube/json_service_entry.hpp"
#include "sync/kube/line_splitter.hpp"
#include "sync/kube/status.hpp"
#include "sync/kube/store_prints.hpp"
#include "sync/packed_entry.hpp"
#include "sync/service_entry.hpp"

namespace globaldns::sync::kube {

struct BackoffOptions {
  std::chrono::milliseconds initial{800};  // client-go: 0.8 s
  double factor = 2.0;
  double jitter = 1.0;                            // delay * (1 + jitter * U[0,1))
  std::chrono::milliseconds cap{30000};           // before jitter, so [30, 60) s at the top
  std::chrono::milliseconds reset_after{120000};  // this long without errors resets the delay
};

// A page of the first list, as soon as it is read, for a callee that indexes the list
// meanwhile (SyncController::stage_add): at 1M, the 2 s of reading and the 1 s of indexing then
// overlap. `restart`: a list begins (again), so drop every page had so far; it comes alone.
struct ListPage {
  bool restart = false;
  size_t expected = 0;  // about how many objects the whole list has; 0: unknown
  std::vector<PackedEntry> entries;
};
using ListPageCallback = std::function<void(ListPage page)>;

struct ReflectorOptions {
  // Group-version path, e.g. "/apis/networking.istio.io/v1" (no discovery here).
  std::string group_version_path = "/apis/networking.istio.io/v1";
  // Empty: cluster-wide. One: the namespaced path. Several: ONE cluster-wide list/watch whose
  // items and events are filtered to these namespaces (one connection instead of N; the RBAC
  // for a cluster-wide list is then needed).
  std::vector<std::string> namespaces;
  std::string label_selector;
  int page_limit = 500;
  // 0: uniform in [300, 600) s per watch, as client-go does; otherwise this value.
  int watch_timeout_seconds = 0;
  // A watch silent for this long is dropped and resumed from the last RV. Keep it above the
  // server's bookmark interval (60 s on kube-apiserver).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(90)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // one LIST page
  // A watch ending cleanly this fast with no event counts as an error (client-go: 1 s).
  std::chrono::milliseconds very_short_watch{1000};
  // Changes are coalesced: the first change after a quiet spell goes out at once (after the rest
  // of the bytes already read), so a lone `kubectl apply` is not delayed; later ones wait until
  // `coalesce` has passed since the last on_change, or three times as long as that on_change took
  // (up to `coalesce_max`), so that applying changes takes at most about a quarter of a core
  // however fast they come.
  std::chrono::milliseconds coalesce{1};
  std::chrono::milliseconds coalesce_max{100};
  BackoffOptions backoff;
  std::string origin = "kubernetes";  // each entry's origin
  // When set, the first list's entries go here page by page, and the StoreChange that completes
  // it says `staged` and carries none; the first list's order and repeated keys are then the
  // callee's to handle (a store replacing by key: the later of two wins). Relists, whose
  // entries are compared with the store first, still go out whole.
  ListPageCallback first_list_pages;
  // Injectable for tests: uniform in [0, 1), and the clock.
  std::function<double()> random;
  std::function<std::chrono::steady_clock::time_point()> now;
};

struct SyncState {
  bool synced_once = false;  // a complete list has been stored
  bool connected = false;    // the last list/watch request is healthy
  std::string last_error;    // empty when healthy
  uint64_t relists = 0;      // complete lists after the first
  uint64_t watch_restarts = 0;
  std::optional<std::chrono::system_clock::time_point> last_success;  // last good list/event
  bool operator==(const SyncState&) const = default;
};

// What changed in the store since the last StoreChange. After a complete list (the first one, or
// a relist) it is the whole store, so entries deleted during a gap disappear; after watch events
// it is only the keys those events touched, so one change among 100,000 costs one entry.
struct StoreChange {
  bool complete = false;  // `upserts` is the whole store; replace, don't merge
  // With `complete`, for the first list only: its entries went out through
  // ReflectorOptions::first_list_pages, and `upserts` is empty.
  bool staged = false;
  // Sorted by namespace/name. Packed as they arrive: a list of 1M as ServiceEntry objects held
  // about 280 MB until the index was built from them, packed about 100 MB.
  std::vector<PackedEntry> upserts;
  std::vector<std::string> removed;  // namespace/name; empty when `complete`
};

// Single-threaded: construct, start(), stop() and destroy on the io_context's thread; callbacks
// run there. on_change comes after the first complete list and then after changes, coalesced.
// A partial or failed list never replaces the store, so the last good data is kept while the
// API server is unreachable.
class Reflector {
 public:
  using Clock = std::chrono::steady_clock;
  using ChangeCallback = std::function<void(StoreChange change)>;
  using StateCallback = std::function<void(const SyncState&)>;

  Reflector(boost::asio::io_context& io, ApiClient& client, ReflectorOptions options,
            ChangeCallback on_change, StateCallback on_state = {});
  // stop() cancels timers and the watch request; Asio's cancel() throws only on a bad
  // descriptor, a bug for which terminating is the right outcome.
  ~Reflector();  // NOLINT(bugprone-exception-escape)
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  void stop();  // cancels the watch and timers; no callback afterwards

  const SyncState& state() const { return state_; }
  // Objects in the store. The first list's are there once its change has gone out: within
  // that change's callback, still none.
  size_t size() const { return store_.size(); }
  const std::string& resource_version() const { return rv_; }

 private:
  enum class Next { Relist, Rewatch };

  std::string collection_path() const;
  bool wanted(const std::string& namespace_) const;
  void start_list();
  void request_page();
  void on_page(uint64_t gen, Result<HttpResponse> result);
  void take_page(std::string_view body, bool asked_ahead);
  // Whether this list's entries go out page by page (the first list, with first_list_pages).
  bool staging() const { return !state_.synced_once && options_.first_list_pages != nullptr; }
  void commit_list(std::string rv);
  void start_watch();
  void on_watch_bytes(uint64_t gen, std::string_view bytes);
  bool apply_line(std::string_view line);  // false: abandon the watch (action scheduled)
  void on_watch_end(uint64_t gen, Result<HttpResponse> result);
  void abandon_watch();
  void fail(Next next, const std::string& error, std::optional<std::chrono::milliseconds> at_least);
  void schedule(Next next, std::chrono::milliseconds delay);
  void run_next(Next next);
  std::chrono::milliseconds next_backoff();
  void mark_success();
  void stage(const std::string& key, std::optional<PackedEntry> entry);
  void mark_changed();
  void mark_replaced();
  void emit_change();
  void deliver(StoreChange change);
  void publish_state();
  double random01();
  Clock::time_point now() const;
  std::weak_ptr<int> token() const { return alive_; }

  boost::asio::io_context& io_;
  ApiClient& client_;
  ReflectorOptions options_;
  ChangeCallback on_change_;
  StateCallback on_state_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  bool running_ = false;

  // The store, as the fingerprint of each object (its entry, resourceVersion and uid) by
  // namespace/name: enough to tell a change from a resend. The entries themselves are handed
  // on and held by the callee (SyncController), not kept twice.
  StorePrints store_;
  std::string rv_;
  SyncState state_;
  SyncState published_;
  bool published_once_ = false;

  // The list in progress, in the order it came (the API server's key order): each entry and,
  // taken on arrival, its object's fingerprint, so its resourceVersion and uid are not held.
  // Vectors, not a map by key: a first list of 1M objects then goes out as this very vector,
  // where a map and then a vector of the entries each faulted in a fresh copy.
  uint64_t list_gen_ = 0;
  std::vector<PackedEntry> pending_;  // empty while the first list goes out page by page
  std::vector<StorePrints::Entry> pending_prints_;  // key hash and print, one per entry listed
  std::string continue_;  // the token of the page asked for (or guessed for the page in hand)
  // The list_gen_ of a page waiting to be decoded while the next one is asked for; 0: none. A
  // generation, not a flag, so that a list abandoned meanwhile leaves nothing to clear.
  uint64_t in_hand_gen_ = 0;
  bool unpaged_ = false;  // after an expired continue: one full list without limit
  size_t list_problems_ = 0;
  size_t logged_list_problems_ = SIZE_MAX;

  // The watch in progress.
  uint64_t watch_gen_ = 0;
  WatchHandle watch_;
  LineSplitter splitter_;
  Clock::time_point watch_started_{};
  uint64_t watch_events_ = 0;
  std::set<std::string> problem_keys_;  // keys whose bad object has been logged

  // Backoff and retry.
  std::chrono::milliseconds backoff_{0};
  Clock::time_point last_failure_{};
  boost::asio::steady_timer retry_timer_;

  // Coalescing.
  boost::asio::steady_timer change_timer_;
  bool change_armed_ = false;
  bool replaced_ = false;  // a complete list is waiting to go out
  // What goes out with the next StoreChange, by key: when replaced_, every object of the store;
  // otherwise the keys events touched, each with its entry now (nullopt: deleted).
  std::map<std::string, std::optional<PackedEntry>> staged_;
  Clock::time_point last_change_{};
  Clock::duration change_gap_{};  // the wait after an on_change, from its cost
};

}  // namespace globaldns::sync::kube
