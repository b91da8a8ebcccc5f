// Tests of Reflector (paged list, watch, 410 relist, drops, stalls, 429, API down) against
// fake_kube.
#include "sync/kube/reflector.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sync/kube/list_decoder.hpp"
#include "tests/unit/sync_kube/fake_server.hpp"

namespace globaldns::sync::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using fakes::kToken;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fake API server as a child process, stopped with SIGTERM.
using fakes::FakeServer;

std::string se_json(const std::string& name, const std::string& host) {
  boost::json::object md{{"name", name}, {"namespace", "ns1"}};
  boost::json::object spec{{"hosts", boost::json::array{host}}, {"resolution", "NONE"}};
  return boost::json::serialize(boost::json::object{{"apiVersion", "networking.istio.io/v1"},
                                                    {"kind", "ServiceEntry"},
                                                    {"metadata", md},
                                                    {"spec", spec}});
}

// A ServiceEntry the API server stores but globaldns cannot serve: no hosts.
std::string se_json_without_hosts(const std::string& name) {
  boost::json::object md{{"name", name}, {"namespace", "ns1"}};
  boost::json::object spec{{"hosts", boost::json::array{}}, {"resolution", "NONE"}};
  return boost::json::serialize(boost::json::object{{"apiVersion", "networking.istio.io/v1"},
                                                    {"kind", "ServiceEntry"},
                                                    {"metadata", md},
                                                    {"spec", spec}});
}

std::string delete_json(const std::string& name) {
  return std::string(R"({"namespace":"ns1","name":")").append(name).append("\"}");
}

bool has_host(const std::vector<ServiceEntry>& all, const std::string& name,
              const std::string& host) {
  for (const ServiceEntry& e : all)
    if (e.name == name && !e.hosts.empty() && e.hosts[0] == host) return true;
  return false;
}

bool has_name(const std::vector<ServiceEntry>& all, const std::string& name) {
  for (const ServiceEntry& e : all)
    if (e.name == name) return true;
  return false;
}

class ReflectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        std::string("globaldns_kref_").append(std::to_string(getpid())));
    fs::create_directories(*dir_);
    server_ = new FakeServer();
    started_ = server_->start(*dir_ / "certs");
  }
  static void TearDownTestSuite() {
    server_->stop();
    delete server_;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(started_) << "fake API server did not start";
    server_->control("/reset", "{}");
    client_ = std::make_unique<ApiClient>(io_, creds(), token_);
  }

  void TearDown() override {
    if (reflector_) reflector_->stop();
    reflector_.reset();
    io_.restart();
    io_.run_for(50ms);
    client_.reset();
    io_.restart();
    io_.run_for(50ms);
  }

  ClusterCredentials creds() const {
    ClusterCredentials c;
    c.host = "127.0.0.1";
    c.port = static_cast<uint16_t>(server_->api());
    c.ca_pem = read_text(*dir_ / "certs" / "ca.crt");
    c.origin = "test";
    return c;
  }

  ReflectorOptions options() const {
    ReflectorOptions o;
    o.watch_timeout_seconds = 30;
    o.idle_timeout = 10s;
    o.backoff.initial = 100ms;
    o.backoff.cap = 800ms;
    o.origin = "test";
    return o;
  }

  void start(ReflectorOptions o) {
    if (stage_pages_) {
      // As SyncController::stage_add keeps them: by key, the later of two.
      o.first_list_pages = [this](ListPage page) {
        if (page.restart) {
          ++restarts_;
          staged_.clear();
          return;
        }
        ++pages_;
        staged_entries_ += page.entries.size();
        expected_.push_back(page.expected);
        for (const PackedEntry& e : page.entries) staged_[e.key()] = e.unpack();
      };
    }
    reflector_ = std::make_unique<Reflector>(
        io_, *client_, std::move(o),
        [this](StoreChange change) {
          if (callback_cost_.count() > 0) std::this_thread::sleep_for(callback_cost_);
          ++snapshots_;
          last_upserts_ = change.upserts.size();
          last_removed_ = change.removed.size();
          last_staged_ = change.staged;
          if (change.staged) ++staged_changes_;
          if (change.complete) {
            ++complete_changes_;
            mirror_.clear();
          }
          if (change.staged) mirror_ = std::exchange(staged_, {});
          for (const std::string& key : change.removed) mirror_.erase(key);
          for (const PackedEntry& e : change.upserts) mirror_[e.key()] = e.unpack();
          min_after_sync_ = std::min(min_after_sync_, mirror_.size());
          last_.clear();
          for (const auto& [key, e] : mirror_) last_.push_back(e);
        },
        [this](const SyncState& s) { states_.push_back(s); });
    reflector_->start();
  }

  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds bound = 10s) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_for(10ms);
    }
    return done();
  }

  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  // ns1/a and ns1/b listed; then an update of b that the API server stores but globaldns
  // cannot decode (no hosts), which drops b from what is handed on.
  void sync_a_and_b_then_make_b_undecodable() {
    server_->control("/apply", se_json("a", "a.ns1.global"));
    server_->control("/apply", se_json("b", "b.ns1.global"));
    start(options());
    ASSERT_TRUE(run_until([&] { return last_.size() == 2; }));
    server_->control("/apply", se_json_without_hosts("b"));
    ASSERT_TRUE(run_until([&] { return !has_name(last_, "b"); }));
  }

  // keep and gone listed; then, while the watch is stalled, gone deleted, new added and the
  // history compacted: the watch comes back with 410, and a relist finds keep and new.
  void list_then_relist_after_a_compacted_gap() {
    server_->control("/apply", se_json("keep", "keep.ns1.global"));
    server_->control("/apply", se_json("gone", "gone.ns1.global"));
    start(options());
    ASSERT_TRUE(run_until([&] { return last_.size() == 2; }));
    server_->control("/fault", R"({"stall":true})");
    server_->control("/delete", delete_json("gone"));
    server_->control("/apply", se_json("new", "new.ns1.global"));
    server_->control("/compact", "{}");
    run_for(200ms);
    server_->control("/fault", R"({"stall":false})");
    ASSERT_TRUE(run_until([&] { return reflector_->state().relists >= 1; }));
    ASSERT_TRUE(run_until([&] { return has_name(last_, "new") && !has_name(last_, "gone"); }));
  }

  uint64_t stat_total() const {
    const std::string body = server_->control("/stats", "{}");
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec || !value.is_object()) return 0;
    return static_cast<uint64_t>(value.at("total").to_number<int64_t>());
  }

  asio::io_context io_;
  TokenSource token_{TokenSpec{kToken, {}}};
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<Reflector> reflector_;
  size_t snapshots_ = 0;
  std::chrono::milliseconds callback_cost_{0};  // how long applying a change "takes"
  size_t complete_changes_ = 0;
  size_t last_upserts_ = 0;
  size_t last_removed_ = 0;
  size_t min_after_sync_ = SIZE_MAX;
  std::map<std::string, ServiceEntry> mirror_;  // the store as rebuilt from the changes
  // With stage_pages_, the first list's pages as first_list_pages hands them on.
  bool stage_pages_ = false;
  size_t pages_ = 0;
  size_t restarts_ = 0;
  size_t staged_entries_ = 0;  // in every page, restarts or not
  std::vector<size_t> expected_;
  std::map<std::string, ServiceEntry> staged_;
  bool last_staged_ = false;
  size_t staged_changes_ = 0;
  std::vector<ServiceEntry> last_;
  std::vector<SyncState> states_;

  static inline fs::path* dir_ = nullptr;
  static inline FakeServer* server_ = nullptr;
  static inline bool started_ = false;
};

TEST_F(ReflectorTest, InitialPagedSyncThenAddModifyDelete) {
  server_->control("/bulk", R"({"count":1000,"namespaces":4})");
  server_->control("/stats", R"({"reset":true})");
  auto o = options();
  o.page_limit = 150;
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  EXPECT_EQ(last_.size(), 1000u);
  EXPECT_EQ(snapshots_, 1u);
  EXPECT_GE(stat_total(), 7u);  // 7 pages of 150, plus the watch
  EXPECT_TRUE(reflector_->state().synced_once);
  EXPECT_TRUE(reflector_->state().connected);
  EXPECT_EQ(reflector_->state().relists, 0u);

  server_->control("/apply", se_json("a", "a.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "a"); }));
  EXPECT_EQ(last_.size(), 1001u);
  // A watch event is handed on as that one entry, not as the whole store again.
  EXPECT_EQ(complete_changes_, 1u);
  EXPECT_EQ(last_upserts_, 1u);
  server_->control("/apply", se_json("a", "a2.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_host(last_, "a", "a2.ns1.global"); }));
  server_->control("/delete", delete_json("a"));
  ASSERT_TRUE(run_until([&] { return !has_name(last_, "a"); }));
  EXPECT_EQ(last_.size(), 1000u);
  EXPECT_EQ(last_removed_, 1u);
  EXPECT_EQ(last_upserts_, 0u);
  EXPECT_EQ(min_after_sync_, 1000u);
}

// With first_list_pages, the first list goes out page by page as it is read, and the change
// that completes it carries none of them; what comes after goes out as before.
TEST_F(ReflectorTest, FirstListGoesOutPageByPage) {
  server_->control("/bulk", R"({"count":1000,"namespaces":4})");
  stage_pages_ = true;
  auto o = options();
  o.page_limit = 150;
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  EXPECT_EQ(restarts_, 1u);  // the list began once
  EXPECT_EQ(pages_, 7u);
  ASSERT_FALSE(expected_.empty());
  EXPECT_EQ(expected_.front(), 1000u) << "from the first page's remainingItemCount";
  EXPECT_TRUE(last_staged_);
  EXPECT_EQ(last_upserts_, 0u);
  EXPECT_EQ(complete_changes_, 1u);
  EXPECT_EQ(last_.size(), 1000u);

  server_->control("/apply", se_json("a", "a.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "a"); }));
  EXPECT_FALSE(last_staged_);
  EXPECT_EQ(last_upserts_, 1u);
  EXPECT_EQ(last_.size(), 1001u);
  EXPECT_EQ(pages_, 7u);
}

// A first list begun again (its continue token expired) says so before its first page, so the
// pages of the abandoned attempt are dropped, not counted twice.
TEST_F(ReflectorTest, FirstListGoingOutPageByPageRestartsWhenItsContinueExpires) {
  server_->control("/bulk", R"({"count":1000,"namespaces":4})");
  server_->control("/fault", R"({"expire_continue":true})");
  stage_pages_ = true;
  auto o = options();
  o.page_limit = 100;
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  server_->control("/fault", R"({"expire_continue":false})");
  EXPECT_EQ(restarts_, 2u);
  EXPECT_GE(pages_, 2u);  // the first attempt's page, then the whole list in one
  EXPECT_TRUE(last_staged_);
  EXPECT_EQ(last_.size(), 1000u);
}

// Only the first list goes out in pages: a relist is compared with the store and goes out whole.
TEST_F(ReflectorTest, RelistAfterAFirstListInPagesGoesOutWhole) {
  stage_pages_ = true;
  ASSERT_NO_FATAL_FAILURE(list_then_relist_after_a_compacted_gap());
  EXPECT_EQ(staged_changes_, 1u);  // the first list's
  EXPECT_FALSE(last_staged_);
  EXPECT_EQ(last_upserts_, 2u);
  EXPECT_EQ(complete_changes_, 2u);
  EXPECT_EQ(restarts_, 1u);
  EXPECT_EQ(pages_, 1u);
}

// A page with an item that cannot be served is read again with a DOM (stream_list declines it),
// after what its first items added while streaming was dropped: each good object goes out once,
// the bad one not at all, whether the list goes out whole or page by page.
TEST_F(ReflectorTest, APageWithABadItemIsReadAgainWithoutTwiceItsGoodOnes) {
  for (const bool pages : {false, true}) {
    SCOPED_TRACE(pages ? "page by page" : "whole");
    server_->control("/reset", "{}");
    for (const char* name : {"a", "b", "d", "e"})
      server_->control("/apply", se_json(name, std::string(name) + ".ns1.global"));
    server_->control("/apply", se_json_without_hosts("c"));
    stage_pages_ = pages;
    staged_.clear();
    snapshots_ = 0;
    auto o = options();
    o.page_limit = 3;  // a, b, c (bad) on the first page; d, e on the second
    start(o);
    ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
    EXPECT_EQ(last_.size(), 4u);
    EXPECT_FALSE(has_name(last_, "c"));
    EXPECT_EQ(reflector_->size(), 4u);
    if (pages) {
      EXPECT_EQ(staged_entries_, 4u) << "objects streamed before the page was declined went too";
    }
    reflector_->stop();
    reflector_.reset();
  }
}

TEST_F(ReflectorTest, ExpiredContinueRestartsFullList) {
  server_->control("/bulk", R"({"count":1000,"namespaces":4})");
  server_->control("/fault", R"({"expire_continue":true})");
  auto o = options();
  o.page_limit = 100;
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  EXPECT_EQ(last_.size(), 1000u);
  EXPECT_EQ(snapshots_, 1u);
  server_->control("/fault", R"({"expire_continue":false})");
}

// How many list requests (not watches) the fake has seen whose query contains `part`.
size_t list_requests_with(const std::string& stats, const std::string& part) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(stats, ec);
  if (ec || !value.is_object() || !value.as_object().contains("requests")) return 0;
  size_t n = 0;
  for (const auto& r : value.at("requests").as_array()) {
    const auto& req = r.as_object();
    if (req.at("watch").as_bool()) continue;
    const auto& query = req.at("query");
    const std::string text =
        query.is_string() ? std::string(query.as_string()) : boost::json::serialize(query);
    if (text.find(part) != std::string::npos) ++n;
  }
  return n;
}

// The last page's last item carries text that looks like a continue token, so the reflector asks
// for a next page that does not exist while it decodes this one. The decoded page says the list
// is complete: the guess is dropped, its answer (a 400) ignored, and the list stands as it came.
TEST_F(ReflectorTest, WrongContinueGuessIsDroppedAndTheListStands) {
  server_->control("/apply", se_json("a", "a.ns1.global"));
  server_->control("/apply", se_json("b", "b.ns1.global"));
  boost::json::object z = boost::json::parse(se_json("z", "z.ns1.global")).as_object();
  z["metadata"].as_object()["annotations"] = boost::json::object{{"continue", "bogus"}};
  server_->control("/apply", boost::json::serialize(z));
  server_->control("/stats", R"({"reset":true})");
  auto o = options();
  o.page_limit = 2;
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1 && reflector_->state().connected; }));
  EXPECT_EQ(last_.size(), 3u);
  EXPECT_TRUE(has_name(last_, "z"));
  EXPECT_EQ(complete_changes_, 1u);
  EXPECT_EQ(min_after_sync_, 3u);
  EXPECT_EQ(reflector_->state().relists, 0u);
  EXPECT_TRUE(reflector_->state().last_error.empty()) << reflector_->state().last_error;
  const std::string stats = server_->control("/stats", "{}");
  EXPECT_EQ(list_requests_with(stats, "continue=bogus"), 1u) << "the guess was not asked for";
  run_for(300ms);  // the guess's answer has long come back: still nothing changed
  EXPECT_EQ(snapshots_, 1u);
  EXPECT_EQ(reflector_->state().relists, 0u);
}

// A page that cannot be decoded, whose continue token was good: the page asked for ahead with it
// must not count. Had it counted, the rest of the list would go out as complete without the
// first page's objects.
TEST_F(ReflectorTest, UndecodablePageDropsThePageAskedForAhead) {
  server_->control("/bulk", R"({"count":10,"namespaces":1})");
  std::string next;  // a real token for the second page of 4
  client_->get("/apis/networking.istio.io/v1/serviceentries?limit=4",
               std::chrono::steady_clock::now() + 5s, [&](Result<HttpResponse> r) {
                 if (!r.ok()) return;
                 auto page = decode_list(r->body, "t");
                 if (page.ok()) next = page->continue_token;
               });
  ASSERT_TRUE(run_until([&] { return !next.empty(); }));
  // No resourceVersion: decode_list refuses the page, after the token was read from its end.
  const std::string bad = R"({"apiVersion":"networking.istio.io/v1","items":[],)"
                          R"("kind":"ServiceEntryList","metadata":{"continue":")" +
                          next + R"("}})";
  server_->control("/fault",
                   boost::json::serialize(boost::json::object{{"status", 200},
                                                              {"raw", true},
                                                              {"count", 1},
                                                              {"path_contains", "serviceentries"},
                                                              {"body", bad}}));
  server_->control("/stats", R"({"reset":true})");
  auto o = options();
  o.page_limit = 4;
  start(o);
  ASSERT_TRUE(run_until([&] { return last_.size() == 10u; }));
  EXPECT_EQ(min_after_sync_, 10u) << "a list without its first page went out";
  EXPECT_EQ(complete_changes_, 1u);
  bool saw_error = false;
  for (const SyncState& st : states_)
    saw_error |= st.last_error.find("no metadata.resourceVersion") != std::string::npos;
  EXPECT_TRUE(saw_error);
  const std::string stats = server_->control("/stats", "{}");
  EXPECT_EQ(list_requests_with(stats, "continue=" + next), 2u) << "asked ahead, then in the relist";
}

TEST_F(ReflectorTest, InvalidObjectInEventDropsKey) {
  ASSERT_NO_FATAL_FAILURE(sync_a_and_b_then_make_b_undecodable());
  server_->control("/apply", se_json("b", "b2.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_host(last_, "b", "b2.ns1.global"); }));
  EXPECT_TRUE(reflector_->state().connected);
  EXPECT_EQ(reflector_->state().relists, 0u);
}

// The store holds keys' hashes, and two keys may share one: a delete must go out whether or not
// the store knew the key, or one of two such keys would keep the other's delete from the
// controller. Seen here with a key the store dropped (its last object did not decode).
TEST_F(ReflectorTest, ADeleteGoesOutEvenForAKeyTheStoreLacks) {
  ASSERT_NO_FATAL_FAILURE(sync_a_and_b_then_make_b_undecodable());
  const size_t before = snapshots_;
  server_->control("/delete", delete_json("b"));
  ASSERT_TRUE(run_until([&] { return snapshots_ > before; }, 3s)) << "the delete did not go out";
  EXPECT_EQ(last_removed_, 1u);
  EXPECT_EQ(last_upserts_, 0u);
  EXPECT_TRUE(has_name(last_, "a"));
}

TEST_F(ReflectorTest, BurstOfEventsIsCoalesced) {
  start(options());
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  const size_t before = snapshots_;
  std::string batch = "{\"objects\":[";
  for (int i = 0; i < 100; ++i) {
    if (i) batch.append(",");
    batch.append(se_json(std::string("b").append(std::to_string(i)), "b.ns1.global"));
  }
  batch.append("]}");
  server_->control("/apply", batch);
  ASSERT_TRUE(run_until([&] { return last_.size() == 100; }));
  run_for(200ms);
  // The 100 events arrive in one write but over several TLS records and socket reads; the
  // events of one read go out as one change, so far fewer changes than events. (How many reads
  // depends on the machine: 1-3 on a quiet one, about 10 under ASan.)
  EXPECT_LE(snapshots_ - before, 25u);
}

TEST_F(ReflectorTest, SlowReceiverGetsChangesBatched) {
  start(options());
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  callback_cost_ = 20ms;  // so the gap after each change is 3 x 20 = 60 ms
  const size_t before = snapshots_;
  // Separate writes, so separate watch chunks: only the gap can batch them.
  for (int i = 0; i < 10; ++i) {
    server_->control("/apply", se_json(std::string("s").append(std::to_string(i)), "s.ns1.global"));
    run_for(10ms);
  }
  ASSERT_TRUE(run_until([&] { return last_.size() == 10; }));
  // Unbatched this would be 10 changes; with a 60 ms gap over ~100-200 ms of writes, a few.
  EXPECT_LE(snapshots_ - before, 6u);
  EXPECT_GE(snapshots_ - before, 2u);  // the first went out alone, at once
}

TEST_F(ReflectorTest, NamespaceFilterWithSeveralNamespaces) {
  server_->control("/bulk", R"({"count":30,"namespaces":3})");
  auto o = options();
  o.namespaces = {"ns0", "ns2"};
  start(o);
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  EXPECT_EQ(last_.size(), 20u);
  for (const ServiceEntry& e : last_) EXPECT_NE(e.namespace_, "ns1");
}

TEST_F(ReflectorTest, CompactionDuringGapGives410AndRelistReplacesStore) {
  ASSERT_NO_FATAL_FAILURE(list_then_relist_after_a_compacted_gap());
  EXPECT_TRUE(has_name(last_, "keep"));
  EXPECT_EQ(last_.size(), 2u);
  EXPECT_GE(min_after_sync_, 2u);
  EXPECT_EQ(complete_changes_, 2u);  // the relist is handed on whole, replacing the store
  // Watching again after the relist.
  server_->control("/apply", se_json("later", "later.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "later"); }));
}

// The store keeps only a fingerprint per object: a relist that finds what it had hands
// nothing on, and one that finds a change hands on the whole list again.
TEST_F(ReflectorTest, RelistHandsOnOnlyWhatChanged) {
  server_->control("/apply", se_json("a", "a.ns1.global"));
  server_->control("/apply", se_json("b", "b.ns1.global"));
  start(options());
  ASSERT_TRUE(run_until([&] { return last_.size() == 2; }));
  const size_t before = snapshots_;

  // The watch comes back with 410: a relist, of the same objects.
  server_->control("/fault", R"({"status":410,"count":1})");
  server_->control("/fault", R"({"drop":true})");
  ASSERT_TRUE(run_until([&] { return reflector_->state().relists >= 1; }));
  run_for(200ms);
  EXPECT_EQ(snapshots_, before);

  // Written twice during a gap, back to the same spec: a new resourceVersion, so the relist
  // hands on the whole store, with the entries the callee had.
  server_->control("/fault", R"({"stall":true})");
  server_->control("/apply", se_json("a", "elsewhere.ns1.global"));
  server_->control("/apply", se_json("a", "a.ns1.global"));
  server_->control("/compact", "{}");
  run_for(200ms);
  server_->control("/fault", R"({"stall":false})");
  ASSERT_TRUE(run_until([&] { return reflector_->state().relists >= 2; }));
  ASSERT_TRUE(run_until([&] { return snapshots_ == before + 1; }));
  EXPECT_EQ(complete_changes_, 2u);
  EXPECT_EQ(last_.size(), 2u);
  EXPECT_TRUE(has_host(last_, "a", "a.ns1.global"));

  // Then watching goes on, one entry at a time.
  server_->control("/apply", se_json("c", "c.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "c"); }));
  EXPECT_EQ(last_upserts_, 1u);
  EXPECT_EQ(complete_changes_, 2u);
}

TEST_F(ReflectorTest, DroppedConnectionMidStreamResumes) {
  server_->control("/apply", se_json("a", "a.ns1.global"));
  start(options());
  ASSERT_TRUE(run_until([&] { return last_.size() == 1; }));
  server_->control("/fault", R"({"drop":true})");
  server_->control("/apply", se_json("b", "b.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "b"); }));
  server_->control("/fault", R"({"drop_after_events":1,"drop_partial":true})");
  server_->control("/fault", R"({"drop":true})");
  run_for(300ms);
  server_->control("/apply", se_json("c", "c.ns1.global"));
  server_->control("/apply", se_json("d", "d.ns1.global"));
  server_->control("/fault", R"({"clear":true})");
  ASSERT_TRUE(run_until([&] { return has_name(last_, "c") && has_name(last_, "d"); }));
  server_->control("/fault", R"({"drop_after_events":0})");
  EXPECT_GE(reflector_->state().watch_restarts, 1u);
  EXPECT_EQ(reflector_->state().relists, 0u);  // a cut stream resumes from the last RV
  EXPECT_EQ(min_after_sync_, 1u);
}

TEST_F(ReflectorTest, StalledWatchResumesAfterIdleTimeout) {
  server_->control("/apply", se_json("a", "a.ns1.global"));
  auto o = options();
  o.idle_timeout = 700ms;
  server_->control("/fault", R"({"bookmark_interval":0.2})");
  start(o);
  ASSERT_TRUE(run_until([&] { return last_.size() == 1; }));
  const uint64_t restarts = reflector_->state().watch_restarts;
  run_for(1000ms);  // bookmarks keep a healthy watch alive past the idle timeout
  EXPECT_EQ(reflector_->state().watch_restarts, restarts);
  server_->control("/fault", R"({"stall":true})");
  ASSERT_TRUE(run_until([&] { return reflector_->state().watch_restarts > restarts; }, 5s));
  server_->control("/fault", R"({"stall":false})");
  server_->control("/apply", se_json("b", "b.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "b"); }));
  EXPECT_EQ(reflector_->state().relists, 0u);
}

TEST_F(ReflectorTest, TooManyRequestsStormIsRateBoundedAndRecovers) {
  server_->control("/apply", se_json("a", "a.ns1.global"));
  start(options());
  ASSERT_TRUE(run_until([&] { return last_.size() == 1; }));
  server_->control("/fault",
                   R"({"status":429,"count":-1,"retry_after":1,"path_contains":"serviceentries"})");
  server_->control("/stats", R"({"reset":true})");
  server_->control("/fault", R"({"drop":true})");
  run_for(3000ms);
  const uint64_t requests = stat_total();
  EXPECT_GE(requests, 1u);
  EXPECT_LE(requests, 5u);  // Retry-After 1 s: at most about one request a second
  EXPECT_FALSE(reflector_->state().connected);
  EXPECT_NE(reflector_->state().last_error.find("429"), std::string::npos)
      << reflector_->state().last_error;
  EXPECT_EQ(last_.size(), 1u);
  server_->control("/fault", R"({"clear":true})");
  server_->control("/apply", se_json("b", "b.ns1.global"));
  ASSERT_TRUE(run_until([&] { return has_name(last_, "b"); }, 15s));
  ASSERT_TRUE(run_until([&] { return reflector_->state().connected; }));
  EXPECT_EQ(min_after_sync_, 1u);
}

TEST_F(ReflectorTest, ApiDownKeepsLastDataAndRecovers) {
  server_->control("/bulk", R"({"count":10,"namespaces":1})");
  start(options());
  ASSERT_TRUE(run_until([&] { return last_.size() == 10; }));
  ASSERT_NE(server_->control("/fault", R"({"down":true})"), "");
  // Bounded wait rather than a fixed sleep: on a loaded machine the fake is slow to cut streams.
  ASSERT_TRUE(run_until([&] { return !reflector_->state().connected; }, 15s));
  run_for(1000ms);  // a few failed reconnects while down
  EXPECT_FALSE(reflector_->state().connected);
  EXPECT_FALSE(reflector_->state().last_error.empty());
  EXPECT_EQ(last_.size(), 10u);
  server_->control("/fault", R"({"up":true})");
  server_->control("/apply", se_json("a", "a.ns1.global"));
  ASSERT_TRUE(run_until([&] { return last_.size() == 11; }, 15s));
  ASSERT_TRUE(run_until([&] { return reflector_->state().connected; }));
  EXPECT_EQ(min_after_sync_, 10u);
  bool saw_down = false;
  for (const SyncState& s : states_) saw_down |= !s.connected && s.synced_once;
  EXPECT_TRUE(saw_down);
}

TEST_F(ReflectorTest, StopCancelsEverything) {
  start(options());
  ASSERT_TRUE(run_until([&] { return snapshots_ >= 1; }));
  reflector_->stop();
  const size_t before = snapshots_;
  server_->control("/apply", se_json("a", "a.ns1.global"));
  run_for(300ms);
  EXPECT_EQ(snapshots_, before);
}

}  // namespace
}  // namespace globaldns::sync::kube
