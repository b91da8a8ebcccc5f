// Reflector: paginated LIST, then WATCH from its resourceVersion, with client-go's recovery rules.
#include "sync/kube/reflector.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/container_hash/hash.hpp>

#include <algorithm>
#include <charconv>
#include <new>
#include <random>
#include <utility>

#include "sync/kube/list_decoder.hpp"
#include "sync/kube/list_order.hpp"
#include "sync/kube/list_stream.hpp"
#include "sync/kube/watch_event.hpp"

namespace globaldns::sync::kube {
namespace {

using std::chrono::milliseconds;

std::string pct_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Retry-After in seconds (the HTTP-date form is ignored).
std::optional<milliseconds> retry_after(const HttpResponse& response) {
  if (!response.retry_after) return std::nullopt;
  const std::string& text = *response.retry_after;
  long seconds = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || seconds < 0) return std::nullopt;
  return milliseconds(std::min<long>(seconds, 3600) * 1000);
}

// What the store keeps of an object: equal for a resend, different (but for one time in 2^64)
// for any change, as comparing the objects was.
size_t fingerprint(const KubeObject& object) {
  size_t h = hash_entry(object.entry);
  boost::hash_combine(h, std::hash<std::string>{}(object.resource_version));
  boost::hash_combine(h, std::hash<std::string>{}(object.uid));
  return h;
}

std::string namespace_of(const std::string& key) {
  const size_t slash = key.find('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

}  // namespace

Reflector::Reflector(boost::asio::io_context& io, ApiClient& client, ReflectorOptions options,
                     ChangeCallback on_change, StateCallback on_state)
    : io_(io),
      client_(client),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_state_(std::move(on_state)),
      retry_timer_(io),
      change_timer_(io) {
  if (!options_.random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    options_.random = [engine] { return std::uniform_real_distribution<double>(0, 1)(*engine); };
  }
  if (!options_.now) options_.now = [] { return Clock::now(); };
}

Reflector::~Reflector() {  // NOLINT(bugprone-exception-escape): see the header
  stop();
}

void Reflector::start() {
  if (running_) return;
  running_ = true;
  alive_ = std::make_shared<int>(0);
  backoff_ = milliseconds(0);
  boost::asio::post(io_, [this, weak = token()] {
    if (!weak.expired() && running_) start_list();
  });
}

void Reflector::stop() {
  if (!running_) return;
  running_ = false;
  alive_.reset();  // every pending callback holds a weak token and now returns early
  ++list_gen_;
  ++watch_gen_;
  watch_.cancel();
  retry_timer_.cancel();
  change_timer_.cancel();
  change_armed_ = false;
}

double Reflector::random01() {
  const double r = options_.random();
  return std::clamp(r, 0.0, 1.0);
}

Reflector::Clock::time_point Reflector::now() const {
  return options_.now();
}

std::string Reflector::collection_path() const {
  std::string path = options_.group_version_path;
  if (options_.namespaces.size() == 1) path.append("/namespaces/").append(options_.namespaces[0]);
  path.append("/serviceentries");
  return path;
}

bool Reflector::wanted(const std::string& namespace_) const {
  if (options_.namespaces.size() <= 1) return true;  // the path already scopes it
  return std::find(options_.namespaces.begin(), options_.namespaces.end(), namespace_) !=
         options_.namespaces.end();
}

// ---- LIST ----

void Reflector::start_list() {
  ++list_gen_;
  pending_.clear();
  pending_prints_.clear();
  continue_.clear();
  list_problems_ = 0;
  if (staging()) options_.first_list_pages(ListPage{.restart = true, .expected = 0, .entries = {}});
  request_page();
}

void Reflector::request_page() {
  std::string target = collection_path();
  char sep = '?';
  auto add = [&](std::string_view name, std::string_view value) {
    target.push_back(sep);
    sep = '&';
    target.append(name).append("=").append(value);
  };
  if (!unpaged_ && options_.page_limit > 0) add("limit", std::to_string(options_.page_limit));
  if (!continue_.empty()) add("continue", pct_encode(continue_));
  if (!options_.label_selector.empty()) add("labelSelector", pct_encode(options_.label_selector));
  const uint64_t gen = list_gen_;
  client_.get(target, Clock::now() + options_.request_timeout,
              [this, weak = token(), gen](Result<HttpResponse> result) {
                if (weak.expired() || !running_ || gen != list_gen_) return;
                on_page(gen, std::move(result));
              });
}

void Reflector::on_page(uint64_t gen, Result<HttpResponse> result) {
  if (in_hand_gen_ == gen) {
    // The page asked for ahead came back before the one before it was decoded: keep the order.
    boost::asio::post(io_, [this, weak = token(), gen, result = std::move(result)]() mutable {
      if (weak.expired() || !running_ || gen != list_gen_) return;
      on_page(gen, std::move(result));
    });
    return;
  }
  if (!result.ok()) {
    fail(Next::Relist, std::string("list: ").append(result.error()), std::nullopt);
    return;
  }
  HttpResponse& response = *result;
  if (response.status != 200) {
    const KubeStatus status = decode_status_body(response.status, response.body);
    const StatusClass cls = classify(status);
    if (cls == StatusClass::Expired && !continue_.empty()) {
      // The continue token expired (compaction): restart a full, unpaged list at once.
      spdlog::info("{}: continue token expired, restarting the list", options_.origin);
      unpaged_ = true;
      start_list();
      return;
    }
    fail(Next::Relist, std::string("list: ").append(describe(status)), retry_after(response));
    return;
  }
  const std::string_view guess = guess_continue(response.body);
  if (guess.empty()) {
    take_page(response.body, false);
    return;
  }
  // The server prepares the next page while this one decodes: a page's decoding and the server's
  // encoding each take about as long, and without this they took turns (the list of 1M took
  // twice as long). The request goes out first: a handler posted now runs after it has started.
  continue_.assign(guess);
  request_page();
  in_hand_gen_ = gen;
  boost::asio::post(io_, [this, weak = token(), gen, body = std::move(response.body)] {
    if (weak.expired()) return;
    if (in_hand_gen_ == gen) in_hand_gen_ = 0;
    if (!running_ || gen != list_gen_) return;
    take_page(body, true);
  });
}

void Reflector::take_page(std::string_view body, bool asked_ahead) {
  ListPage staged{.restart = false, .expected = 0, .entries = {}};
  std::vector<PackedEntry>& entries = staging() ? staged.entries : pending_;
  const size_t entries_before = entries.size();
  const size_t prints_before = pending_prints_.size();
  const auto take = [&](const KubeObject& object) {
    if (!wanted(object.entry.namespace_)) return;
    pending_prints_.emplace_back(StorePrints::key_hash(object.entry.namespace_, object.entry.name),
                                 fingerprint(object));
    entries.emplace_back(object.entry);
  };
  // The usual page is read without a DOM; any other, decode_list() reads and explains.
  std::optional<DecodedList> page = stream_list(body, options_.origin, take);
  if (!page) {
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(entries_before), entries.end());
    pending_prints_.resize(prints_before);
    auto decoded = decode_list(body, options_.origin);
    if (!decoded.ok()) {
      ++list_gen_;  // nothing of this list counts any more, the page asked for ahead included
      fail(Next::Relist, decoded.error(), std::nullopt);  // its errors begin with "list: "
      return;
    }
    page = std::move(decoded).value();
    list_problems_ += page->problems.size();
    if (!page->problems.empty() && list_problems_ != logged_list_problems_)
      spdlog::warn("{}: list item problem (first of this page): {}", options_.origin,
                   page->problems[0]);
    for (const KubeObject& object : page->objects) take(object);
  }
  if (page->remaining_item_count && *page->remaining_item_count > 0) {
    // Room for the whole list at once: growing by doubling moved every entry held so far
    // (a million at 1M) and faulted in their pages twice. Untouched capacity costs no memory.
    // Only a hint: a bogus count is bounded, and a reservation refused is no reservation.
    const size_t more =
        static_cast<size_t>(std::min<int64_t>(*page->remaining_item_count, 4'000'000));
    const size_t want = pending_prints_.size() + more;
    staged.expected = want;
    if (want > pending_prints_.capacity()) {
      try {
        if (!staging()) pending_.reserve(want);
        pending_prints_.reserve(want);
      } catch (const std::bad_alloc&) {
        spdlog::debug("{}: no room reserved for {} listed objects", options_.origin, want);
      }
    }
  }
  if (staging() && !staged.entries.empty()) options_.first_list_pages(std::move(staged));
  if (asked_ahead) {
    if (page->continue_token == continue_) return;  // the next page is on its way
    // A wrong guess (an item's text that looked like the token): drop what it asked for.
    spdlog::debug("{}: the continue token guessed was not the page's", options_.origin);
    ++list_gen_;
  }
  if (!page->continue_token.empty()) {
    continue_ = std::move(page->continue_token);
    request_page();
    return;
  }
  commit_list(std::move(page->resource_version));
}

void Reflector::commit_list(std::string rv) {
  unpaged_ = false;
  continue_.clear();
  if (list_problems_ != logged_list_problems_) {
    if (list_problems_ > 0)
      spdlog::warn("{}: {} list item(s) skipped or kept with warnings", options_.origin,
                   list_problems_);
    logged_list_problems_ = list_problems_;
  }
  const bool staged = staging();
  if (const auto order =
          order_by_key(pending_, [](const PackedEntry& entry) { return entry.key(); })) {
    std::vector<PackedEntry> entries;
    std::vector<StorePrints::Entry> prints;
    entries.reserve(order->size());
    prints.reserve(order->size());
    for (const size_t i : *order) {
      entries.push_back(std::move(pending_[i]));
      prints.push_back(pending_prints_[i]);
    }
    pending_ = std::move(entries);
    pending_prints_ = std::move(prints);
  }

  const bool first = !state_.synced_once;
  // StorePrints keeps the first of a key listed twice, a store replacing by key the last.
  // order_by_key() dropped such repeats from a list held whole; one gone out page by page may
  // still have them.
  if (staged) std::reverse(pending_prints_.begin(), pending_prints_.end());
  // The first list's prints become the store after it has gone out: nothing reads the store
  // before the watch starts, and sorting 1M of them took 50-100 ms between the last page and
  // serving it.
  std::vector<StorePrints::Entry> first_prints;
  bool changed = first;
  if (first) {
    first_prints = std::move(pending_prints_);
  } else {
    StorePrints listed(std::move(pending_prints_));
    changed = listed != store_;
    store_ = std::move(listed);
  }
  StoreChange whole;  // the first list, as it came: nothing can be staged before it
  if (first) {
    staged_.clear();
    whole.complete = true;
    whole.staged = staged;
    whole.upserts = std::move(pending_);
  } else if (changed) {
    // The whole store goes out; events until then edit it.
    staged_.clear();
    for (PackedEntry& entry : pending_) {
      std::string key = entry.key();
      staged_.emplace_hint(staged_.end(), std::move(key), std::move(entry));
    }
  }
  std::vector<PackedEntry>().swap(pending_);
  std::vector<StorePrints::Entry>().swap(pending_prints_);
  rv_ = std::move(rv);
  problem_keys_.clear();
  if (!first) {
    ++state_.relists;
    spdlog::info("{}: relisted {} ServiceEntries at resourceVersion {}", options_.origin,
                 store_.size(), rv_);
  }
  state_.synced_once = true;
  mark_success();
  if (first) {
    replaced_ = false;
    deliver(std::move(whole));  // readiness waits for this one: no coalescing delay
    store_ = StorePrints(std::move(first_prints));
    spdlog::info("{}: synced {} ServiceEntries at resourceVersion {}", options_.origin,
                 store_.size(), rv_);
  } else if (changed) {
    mark_replaced();
  }
  start_watch();
}

// ---- WATCH ----

void Reflector::start_watch() {
  ++watch_gen_;
  const uint64_t gen = watch_gen_;
  splitter_.reset();
  watch_started_ = now();
  watch_events_ = 0;
  int timeout = options_.watch_timeout_seconds;
  if (timeout <= 0) timeout = 300 + static_cast<int>(random01() * 300.0) % 300;
  std::string target = collection_path();
  target.append("?watch=1&allowWatchBookmarks=true&resourceVersion=")
      .append(pct_encode(rv_))
      .append("&timeoutSeconds=")
      .append(std::to_string(timeout));
  if (!options_.label_selector.empty())
    target.append("&labelSelector=").append(pct_encode(options_.label_selector));
  watch_ = client_.watch(
      target,
      [this, weak = token(), gen](std::span<const char> bytes) {
        if (weak.expired() || !running_ || gen != watch_gen_) return;
        on_watch_bytes(gen, std::string_view(bytes.data(), bytes.size()));
      },
      [this, weak = token(), gen](Result<HttpResponse> result) {
        if (weak.expired() || !running_ || gen != watch_gen_) return;
        on_watch_end(gen, std::move(result));
      },
      options_.idle_timeout);
}

void Reflector::on_watch_bytes(uint64_t gen, std::string_view bytes) {
  bool keep = true;
  auto fed = splitter_.feed(bytes, [&](std::string_view line) {
    if (keep && gen == watch_gen_) keep = apply_line(line);
  });
  if (!keep || gen != watch_gen_) return;
  if (!fed.ok()) {
    abandon_watch();
    fail(Next::Rewatch, std::string("watch: ").append(fed.error()), std::nullopt);
  }
}

bool Reflector::apply_line(std::string_view line) {
  auto decoded = decode_watch_event(line, options_.origin);
  if (!decoded.ok()) {
    abandon_watch();
    fail(Next::Relist, std::string("watch: ").append(decoded.error()), std::nullopt);
    return false;
  }
  WatchEvent& event = *decoded;
  if (event.type == EventType::Error) {
    abandon_watch();
    const std::string what = std::string("watch: ").append(describe(event.status));
    switch (event.status_class) {
      case StatusClass::Expired:
        spdlog::info("{}: {}; relisting", options_.origin, what);
        run_next(Next::Relist);  // no backoff: the history moved on
        break;
      case StatusClass::TooManyRequests:
        fail(Next::Rewatch, what, std::nullopt);
        break;
      default:
        fail(Next::Relist, what, std::nullopt);
        break;
    }
    return false;
  }
  ++watch_events_;
  if (!event.resource_version.empty()) rv_ = event.resource_version;
  if (event.type != EventType::Bookmark) {
    const std::string ns = namespace_of(event.key);
    if (wanted(ns)) {
      // A delete is staged even when the store did not have the key: it holds keys' hashes,
      // and one of two keys sharing a hash must not keep the other's delete from going out.
      if (event.type == EventType::Deleted) {
        store_.erase(event.key);
        stage(event.key, std::nullopt);
        problem_keys_.erase(event.key);
      } else if (event.object) {
        const size_t print = fingerprint(*event.object);
        if (store_.set(event.key, print)) stage(event.key, PackedEntry(event.object->entry));
        problem_keys_.erase(event.key);
        if (!event.warning.empty()) spdlog::warn("{}: {}", options_.origin, event.warning);
      } else {
        store_.erase(event.key);
        stage(event.key, std::nullopt);
        if (problem_keys_.insert(event.key).second)
          spdlog::warn("{}: {}; entry dropped", options_.origin, event.problem);
      }
    }
  }
  mark_success();
  return true;
}

void Reflector::abandon_watch() {
  ++watch_gen_;  // the coming "watch cancelled" end is ignored
  ++state_.watch_restarts;
  watch_.cancel();
}

void Reflector::on_watch_end(uint64_t /*gen*/, Result<HttpResponse> result) {
  ++watch_gen_;
  ++state_.watch_restarts;
  if (!result.ok()) {
    const std::string& error = result.error();
    if (error.find("watch stalled") != std::string::npos) {
      spdlog::warn("{}: {}; resuming from resourceVersion {}", options_.origin, error, rv_);
      state_.connected = false;
      publish_state();
      run_next(Next::Rewatch);
      return;
    }
    if (error.find("stream broken") != std::string::npos) {
      // The 200 stream was cut (connection reset, proxy, apiserver restart): like client-go's
      // stream end, resume from the last RV without a relist; back off only when it was a very
      // short watch without events.
      if (watch_events_ == 0 && now() - watch_started_ < options_.very_short_watch) {
        fail(Next::Rewatch, std::string("watch: ").append(error), std::nullopt);
      } else {
        if (state_.connected)
          spdlog::warn("{}: {}; resuming from resourceVersion {}", options_.origin, error, rv_);
        state_.connected = false;
        publish_state();
        run_next(Next::Rewatch);
      }
      return;
    }
    const bool refused = error.find("refused") != std::string::npos;
    fail(refused ? Next::Rewatch : Next::Relist, std::string("watch: ").append(error),
         std::nullopt);
    return;
  }
  HttpResponse& response = *result;
  if (response.status == 200) {
    if (splitter_.buffered() > 0) {
      fail(Next::Rewatch, "watch: stream ended inside an event", std::nullopt);
      return;
    }
    if (watch_events_ == 0 && now() - watch_started_ < options_.very_short_watch) {
      fail(Next::Rewatch, "watch: very short watch with no events", std::nullopt);
      return;
    }
    publish_state();
    run_next(Next::Rewatch);  // timeoutSeconds reached: resume, no relist
    return;
  }
  const KubeStatus status = decode_status_body(response.status, response.body);
  const StatusClass cls = classify(status);
  const std::string what = std::string("watch: ").append(describe(status));
  switch (cls) {
    case StatusClass::Expired:
      spdlog::info("{}: {}; relisting", options_.origin, what);
      run_next(Next::Relist);
      return;
    case StatusClass::TooManyRequests:
    case StatusClass::Unauthorized:
      fail(Next::Rewatch, what, retry_after(response));
      return;
    default:
      fail(Next::Relist, what, retry_after(response));
      return;
  }
}

// ---- retry ----

std::chrono::milliseconds Reflector::next_backoff() {
  const BackoffOptions& b = options_.backoff;
  const auto t = now();
  if (backoff_.count() == 0 || t - last_failure_ >= b.reset_after) {
    backoff_ = b.initial;
  } else {
    backoff_ = std::min(
        b.cap,
        milliseconds(static_cast<int64_t>(static_cast<double>(backoff_.count()) * b.factor)));
  }
  last_failure_ = t;
  const double jittered = static_cast<double>(backoff_.count()) * (1.0 + b.jitter * random01());
  return milliseconds(static_cast<int64_t>(jittered));
}

void Reflector::fail(Next next, const std::string& error,
                     std::optional<std::chrono::milliseconds> at_least) {
  milliseconds delay = next_backoff();
  if (at_least && *at_least > delay) delay = *at_least;
  if (error != state_.last_error || state_.connected)
    spdlog::warn("{}: {}; retrying in {} ms ({})", options_.origin, error, delay.count(),
                 next == Next::Relist ? "relist" : "re-watch");
  state_.connected = false;
  state_.last_error = error;
  publish_state();
  schedule(next, delay);
}

void Reflector::schedule(Next next, std::chrono::milliseconds delay) {
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this, weak = token(), next](boost::system::error_code ec) {
    if (ec || weak.expired() || !running_) return;
    run_next(next);
  });
}

void Reflector::run_next(Next next) {
  if (!running_) return;
  if (next == Next::Relist)
    start_list();
  else
    start_watch();
}

void Reflector::mark_success() {
  const bool was_down = !state_.connected;
  if (was_down && !state_.last_error.empty())
    spdlog::info("{}: recovered (resourceVersion {})", options_.origin, rv_);
  state_.connected = true;
  state_.last_error.clear();
  state_.last_success = std::chrono::system_clock::now();
  if (was_down) publish_state();
}

// ---- snapshots and state ----

void Reflector::stage(const std::string& key, std::optional<PackedEntry> entry) {
  if (replaced_ && !entry) {
    staged_.erase(key);  // the complete set goes out without it
  } else {
    staged_.insert_or_assign(key, std::move(entry));
  }
  mark_changed();
}

void Reflector::mark_changed() {
  if (change_armed_) return;
  change_armed_ = true;
  // Leading edge: a change after a quiet spell goes out as soon as the bytes already read are
  // handled; changes within the gap after the last on_change wait for the rest of it.
  const auto due = last_change_ + change_gap_;
  const auto t = now();
  change_timer_.expires_after(due > t ? due - t : Clock::duration::zero());
  change_timer_.async_wait([this, weak = token()](boost::system::error_code ec) {
    if (weak.expired() || !running_) return;
    change_armed_ = false;
    if (!ec) emit_change();
  });
}

void Reflector::mark_replaced() {
  replaced_ = true;
  mark_changed();
}

void Reflector::emit_change() {
  if (!replaced_ && staged_.empty()) return;
  const bool complete = replaced_;
  StoreChange change;
  change.complete = complete;
  if (complete) change.upserts.reserve(staged_.size());
  for (auto& [key, entry] : staged_) {
    if (entry) {
      change.upserts.push_back(std::move(*entry));
    } else {
      change.removed.push_back(key);
    }
  }
  replaced_ = false;
  staged_.clear();
  deliver(std::move(change));
}

void Reflector::deliver(StoreChange change) {
  const bool complete = change.complete;
  publish_state();
  const auto started = now();
  if (on_change_) on_change_(std::move(change));
  last_change_ = now();
  // A complete list is rare and its cost says nothing about the next watch event's.
  const Clock::duration floor = options_.coalesce;
  const Clock::duration ceiling = std::max<Clock::duration>(options_.coalesce_max, floor);
  if (!complete) {
    change_gap_ = std::clamp<Clock::duration>(3 * (last_change_ - started), floor, ceiling);
  } else if (change_gap_ < floor) {
    change_gap_ = floor;
  }
}

void Reflector::publish_state() {
  if (!on_state_) return;
  // last_success moves with every event: compare without it so state changes stay rare.
  SyncState a = state_;
  SyncState b = published_;
  a.last_success.reset();
  b.last_success.reset();
  if (published_once_ && a == b) return;
  published_once_ = true;
  published_ = state_;
  on_state_(state_);
}

}  // namespace globaldns::sync::kube
