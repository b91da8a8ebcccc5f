// `globaldns serve`: files and clusters -> snapshots -> UDP/TCP workers and the gRPC DnsService,
// with SIGHUP reload, /health, /ready, /metrics, /zone and /explain, and lameduck on SIGTERM.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "app/admin_endpoints.hpp"
#include "app/commands.hpp"
#include "app/metrics_page.hpp"
#include "app/wiring.hpp"
#include "config/host_port.hpp"
#include "config/load.hpp"
#include "dns/server/server.hpp"
#include "http/http_server.hpp"
#include "metrics/exposition.hpp"
#include "metrics/query_counters.hpp"
#include "resolver/snapshot_holder.hpp"
#include "sync/file_source.hpp"
#include "sync/kube/kube_source.hpp"
#include "sync/sync_controller.hpp"

namespace globaldns::app {

namespace {

constexpr const char* kServeUsage =
    "usage: globaldns serve [flags]\n"
    "Serves the configured zones on UDP, TCP and gRPC (CoreDNS's DnsService) from ServiceEntries\n"
    "in files and/or Kubernetes API servers. SIGHUP reloads the config file. SIGTERM or SIGINT\n"
    "enters lameduck (/ready answers 503, DNS and gRPC are still answered) for lameduck_ms, then\n"
    "stops; a second one stops at once.\n"
    "The health listener also serves /zone (what is served, as a zone file) and\n"
    "/explain?name=NAME (why a name is or is not served; see `globaldns explain`).\n\n";

constexpr const char* kFilesSource = "files";
// While a source cannot reach its API server, this often a reminder says what is served.
constexpr auto kStatusInterval = std::chrono::seconds(60);

// Owns the running pieces so that SIGHUP can swap the sources when their settings change.
class Service {
 public:
  Service(std::vector<std::string> args, config::Config config)
      : args_(std::move(args)),
        config_(std::move(config)),
        controller_(sync_settings(config_), holder_),
        query_counters_(config_.metrics == "off"
                            ? nullptr
                            : std::make_unique<metrics::QueryCounters>(
                                  static_cast<unsigned>(config_.listen.size()) + 1)),
        server_(counted(server_options(config_), query_counters_.get()), holder_),
        grpc_(holder_),
        status_timer_(io_),
        lameduck_timer_(io_) {}

  int run() {
    // Caught from the start: a SIGTERM while the listeners start is handled once io_ runs,
    // rather than killing the process.
    boost::asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
    auto kube = kube_source_options(config_);
    if (!kube) {
      std::fprintf(stderr, "globaldns: %s\n", kube.error().c_str());
      return kExitFailure;
    }
    if (config_.files.empty() && kube->empty())
      spdlog::warn(
          "no ServiceEntry source configured (--files, --kubeconfig, --in-cluster): "
          "serving only the zone apexes");
    std::vector<std::string> required;
    if (!config_.files.empty()) required.push_back(kFilesSource);
    for (const auto& k : *kube) required.push_back(k.name);
    controller_.require_sources(required);

    // Listeners first, as Knot does: a port in use is reported at once rather than after a
    // long load, and meanwhile DNS answers SERVFAIL and /ready says what is loading.
    if (auto started = start_http(); !started) {
      std::fprintf(stderr, "globaldns: %s\n", started.error().c_str());
      return kExitFailure;
    }
    if (auto started = start_grpc(); !started) {
      std::fprintf(stderr, "globaldns: %s\n", started.error().c_str());
      return kExitFailure;
    }
    if (auto started = server_.start(); !started) {
      std::fprintf(stderr, "globaldns: %s\n", started.error().c_str());
      return kExitFailure;
    }
    name_metrics_series();

    // Loading a million entries takes tens of seconds: a SIGTERM meanwhile (Kubernetes
    // deleting a pod that is still starting) stops it between two files; nothing but SERVFAIL
    // has been answered, so there is no lameduck to honour. Between files io_ also runs the
    // HTTP listeners' handlers, so /health and /ready answer during the load.
    wait_for_signal_while_loading(signals);
    auto files = make_file_source(config_, [this] {
      io_.poll();
      return load_stop_signal_ != 0;
    });
    const auto loaded = files->load_initial();
    if (load_stop_signal_ != 0 || !loaded) {
      if (load_stop_signal_ != 0) {
        spdlog::info("signal {} while loading ServiceEntry files: exiting", load_stop_signal_);
      } else {
        std::fprintf(stderr, "globaldns: %s\n", loaded.error().c_str());
      }
      shut_down();
      return load_stop_signal_ != 0 ? 0 : kExitFailure;
    }
    signals.cancel();  // the loading-time handler; wait_for_signal() below takes over
    if (io_.stopped()) io_.restart();
    files_ = std::move(files);
    files_->start();
    for (auto& options : *kube) start_kube_source(std::move(options));
    if (controller_.serial() == 0)
      spdlog::warn("not every source has loaded: answering SERVFAIL until they do");
    schedule_status();

    wait_for_signal(signals);
    io_.run();
    spdlog::info("stopped");
    return 0;
  }

 private:
  static dns::ServerOptions counted(dns::ServerOptions options, metrics::QueryCounters* counters) {
    options.query_counters = counters;
    return options;
  }

  // The `server` label is the address each listen entry was bound to, so port 0 shows the
  // port it got (gRPC takes the slot after them, named in start_grpc()); `zone` labels follow
  // the configured zones, which the snapshot keeps in order.
  void name_metrics_series() {
    if (!query_counters_) return;
    const std::vector<dns::ListenAddress> bound = server_.bound_udp();
    for (size_t i = 0; i < bound.size(); ++i) {
      const bool v6 = bound[i].host.find(':') != std::string::npos;
      std::string name = "dns://";
      if (v6) name += '[';
      name += bound[i].host;
      if (v6) name += ']';
      name += ':';
      name += std::to_string(bound[i].port);
      query_counters_->set_server_name(static_cast<unsigned>(i), std::move(name));
    }
    query_counters_->set_zone_names(config_.zones);
  }

  http::Response metrics_response() const {
    const MetricsSources sources{server_,
                                 *query_counters_,
                                 controller_,
                                 kube_,
                                 !config_.files.empty(),
                                 files_loaded_,
                                 files_last_load_unix_,
                                 files_ ? files_->failures() : 0};
    return {200, metrics_page(sources), metrics::kContentType};
  }

  // /health (with /zone and /explain), /ready and /metrics, each on its own listener unless
  // they name the same ADDR:PORT.
  Result<Ok> start_http() {
    struct Endpoint {
      const std::string& address;
      const char* path;
      http::Handler handler;
    };
    const Endpoint endpoints[] = {
        {config_.health, "/health",
         [](const http::Request&) {
           return http::Response{200, "OK"};
         }},
        {config_.ready, "/ready", [this](const http::Request&) { return ready_response(); }},
        {config_.metrics, "/metrics", [this](const http::Request&) { return metrics_response(); }},
    };
    std::map<std::string, http::HttpServer*> by_address;
    http::HttpServer* health = nullptr;
    for (const Endpoint& e : endpoints) {
      if (e.address == "off") continue;
      std::optional<config::HostPort> hp = config::parse_host_port(e.address);  // validated
      if (!hp) return Error{"bad HTTP listen address " + e.address};
      http::HttpServer* server = nullptr;
      if (auto it = by_address.find(e.address); it != by_address.end() && hp->port != 0)
        server = it->second;
      if (!server) {
        http::HttpServerOptions options;
        options.host = hp->host;
        options.port = hp->port;
        http_.push_back(std::make_unique<http::HttpServer>(io_, options));
        server = http_.back().get();
        by_address[e.address] = server;
      }
      server->handle(e.path, e.handler);
      if (&e.address == &config_.health) health = server;
    }
    if (health) {
      // The operators' view of what is served and why, on /health's listener (whatever its
      // port). They run on io_'s thread, which also drives the controller: they never wait
      // for an update, and DNS workers never wait for them (they read published snapshots).
      health->handle(
          "/zone", [this](const http::Request&) { return zone_endpoint(holder_.current().get()); });
      health->handle("/explain", [this](const http::Request& request) {
        return explain_endpoint(
            request.query, [this](std::string_view name) { return controller_.explain(name); });
      });
    }
    for (auto& server : http_)
      if (auto started = server->start(); !started) return started;
    return ok_result();
  }

  // CoreDNS's DnsService for a "grpc" block in a Corefile; it runs on gRPC's own threads.
  Result<Ok> start_grpc() {
    if (config_.grpc == "off") return ok_result();
    dns::GrpcServerOptions options = grpc_server_options(config_);
    // Server slot listen.size(), after the DNS listeners' (see name_metrics_series()).
    options.query_counters = query_counters_.get();
    options.metrics_server = static_cast<unsigned>(config_.listen.size());
    if (auto started = grpc_.start(options); !started) return started;
    if (query_counters_)
      query_counters_->set_server_name(options.metrics_server,
                                       std::string("grpc://").append(grpc_.address()));
    spdlog::info("serving gRPC on {} ({})", grpc_.address(),
                 options.tls.cert.empty()        ? "plaintext"
                 : options.tls.client_ca.empty() ? "TLS"
                                                 : "TLS, client certificates required");
    return ok_result();
  }

  // CoreDNS's ready plugin: 200 "OK" when ready, else 503 and what is not; "Shutting down"
  // from the first SIGTERM on, so a load balancer stops sending before DNS stops answering.
  http::Response ready_response() const {
    if (lameduck_) return {503, "Shutting down\n"};
    std::string why;
    if (!config_.files.empty() && !files_loaded_) {
      why += "files: not every file loaded";
      if (files_) {
        std::vector<std::string> problems = files_->problems();
        if (!problems.empty()) {
          why += " (";
          why += problems.front();
          if (problems.size() > 1) why += fmt::format("; {} more", problems.size() - 1);
          why += ')';
        }
      }
      why += '\n';
    }
    for (const auto& source : kube_) {
      const sync::kube::SourceStatus& st = source->status();
      if (st.sync.synced_once) continue;
      why += source->name();
      why += ": no complete list yet (";
      why += st.sync.last_error.empty() ? std::string("connecting") : st.sync.last_error;
      why += ")\n";
    }
    if (controller_.serial() == 0) why += "no snapshot published\n";
    if (why.empty()) return {200, "OK"};
    return {503, why};
  }

  std::unique_ptr<sync::FileSource> make_file_source(const config::Config& config,
                                                     std::function<bool()> interrupted = nullptr) {
    sync::FileSourceOptions options = file_source_options(config);
    options.interrupted = std::move(interrupted);
    // The callback runs on io_'s thread (load_initial() on this one, before io_ runs).
    // The callback needs the source it belongs to, which exists only after construction.
    const bool any_files = !config.files.empty();
    return std::make_unique<sync::FileSource>(
        io_, std::move(options),
        [this, any_files](sync::SourceParts change) { on_files(any_files, std::move(change)); });
  }

  // The controller holds the files' entries (the source keeps none), and publishes nothing
  // until the "files" source is loaded (SourceLoad::Complete: every file loaded once), so
  // queries get SERVFAIL rather than NXDOMAIN for names only missing because a file is broken.
  void on_files(bool any_files, sync::SourceParts change) {
    const bool loaded = change.load == sync::SourceLoad::Complete;
    if (!files_loaded_ && any_files && loaded) spdlog::info("every ServiceEntry file loaded");
    files_loaded_ = files_loaded_ || loaded;
    if (files_loaded_) {
      files_last_load_unix_ = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    }
    controller_.replace_source_parts(kFilesSource, std::move(change));
    note_ready();
    // Translating a whole set leaves tens of MB freed but kept by malloc at 1M entries; hand
    // it back so the resident size reflects what is served.
    malloc_trim(0);
  }

  void start_kube_source(sync::kube::KubeSourceOptions options) {
    const std::string name = options.name;
    // The first list is indexed on a second thread as its pages are read.
    options.reflector.first_list_pages = [this, name](sync::kube::ListPage page) {
      if (page.restart) {
        controller_.stage_restart(name);
      } else {
        controller_.stage_add(name, std::move(page.entries), page.expected);
      }
    };
    auto source = std::make_unique<sync::kube::KubeSource>(
        io_, std::move(options), [this, name](sync::kube::StoreChange change) {
          if (change.complete && change.staged) {
            controller_.stage_finish(name);
            malloc_trim(0);
          } else if (change.complete) {
            controller_.replace_source_packed(name, std::move(change.upserts));
            malloc_trim(0);  // a list of 100,000 decoded JSON objects leaves as much freed
          } else {
            controller_.update_source_packed(name, std::move(change.upserts), change.removed);
          }
          note_ready();
        });
    source->start();
    kube_.push_back(std::move(source));
  }

  void stop_kube_sources() {
    for (auto& source : kube_) source->stop();
    kube_.clear();
  }

  void note_ready() {
    if (ready_ || controller_.serial() == 0) return;
    ready_ = true;
    spdlog::info("ready: every source has loaded; serving serial {}", controller_.serial());
  }

  // Reminds, while it lasts, that a source is not being updated and what is served instead.
  void schedule_status() {
    status_timer_.expires_after(kStatusInterval);
    status_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      std::map<std::string, size_t> sizes;
      for (const sync::SourceSummary& s : controller_.sources()) sizes[s.name] = s.entries;
      for (const auto& source : kube_) {
        const sync::kube::SourceStatus& st = source->status();
        if (st.sync.connected && st.sync.synced_once) continue;
        if (!st.sync.synced_once) {
          spdlog::warn("{}: not ready: no complete list yet ({})", source->name(),
                       st.sync.last_error.empty() ? "connecting" : st.sync.last_error);
          continue;
        }
        auto it = sizes.find(source->name());
        spdlog::warn(
            "{}: API server unreachable ({}); still serving its {} ServiceEntries from "
            "the last complete data",
            source->name(), st.sync.last_error, it == sizes.end() ? 0 : it->second);
      }
      schedule_status();
    });
  }

  // During the initial load (DNS answers only SERVFAIL yet): SIGTERM and SIGINT stop it, and
  // the process; SIGHUP is ignored until it is done.
  void wait_for_signal_while_loading(boost::asio::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP while loading ServiceEntry files: ignored");
        wait_for_signal_while_loading(signals);
        return;
      }
      load_stop_signal_ = sig;
    });
  }

  void wait_for_signal(boost::asio::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_for_signal(signals);
        return;
      }
      if (lameduck_) {
        spdlog::info("signal {} during lameduck: stopping now", sig);
        return shut_down();
      }
      if (config_.lameduck_ms == 0) {
        spdlog::info("signal {}: draining and exiting", sig);
        return shut_down();
      }
      lameduck_ = true;
      spdlog::info(
          "signal {}: lameduck for {} ms: /ready answers 503, DNS and gRPC still answered; a "
          "second signal stops at once",
          sig, config_.lameduck_ms);
      lameduck_timer_.expires_after(std::chrono::milliseconds(config_.lameduck_ms));
      lameduck_timer_.async_wait([this](const boost::system::error_code& timer_ec) {
        if (timer_ec) return;
        spdlog::info("lameduck over: draining and exiting");
        shut_down();
      });
      wait_for_signal(signals);
    });
  }

  void shut_down() {
    if (files_) files_->stop();
    stop_kube_sources();
    status_timer_.cancel();
    lameduck_timer_.cancel();
    for (auto& server : http_) server->stop();
    grpc_.stop();
    server_.stop();
    io_.stop();
  }

  // SIGHUP: read the config again; a broken one is reported and the running one stays.
  void reload() {
    config::Invocation inv = config::load(args_);
    if (!inv.ok()) {
      for (const std::string& e : inv.errors) spdlog::error("reload: {}", e);
      spdlog::error("reload: keeping the running configuration");
      return;
    }
    const config::Config& next = inv.config;
    if (next.listen != config_.listen || next.threads != config_.threads ||
        next.tcp != config_.tcp || next.health != config_.health || next.ready != config_.ready ||
        next.metrics != config_.metrics || next.grpc != config_.grpc ||
        next.grpc_tls != config_.grpc_tls || next.rrl != config_.rrl)
      spdlog::warn(
          "reload: listen, threads, tcp, rrl, health, ready, metrics, grpc and grpc_tls settings "
          "change only on restart");
    std::optional<std::vector<sync::kube::KubeSourceOptions>> kube;
    if (next.kubernetes != config_.kubernetes) {
      auto options = kube_source_options(next);
      if (!options) {
        spdlog::error("reload: {}; keeping the running configuration", options.error());
        return;
      }
      kube = std::move(*options);
    }
    configure_logging(next);
    if (next.files != config_.files || next.file_debounce_ms != config_.file_debounce_ms ||
        next.file_poll_interval_ms != config_.file_poll_interval_ms) {
      auto files = make_file_source(next);
      if (auto loaded = files->load_initial(); !loaded) {
        spdlog::error("reload: {}; keeping the running configuration", loaded.error());
        return;
      }
      if (files_) files_->stop();
      files_ = std::move(files);
      files_->start();
    }
    if (kube) {
      // The new sources' first lists replace what the old ones had; a cluster no longer
      // configured stops being served.
      std::set<std::string> kept;
      for (const auto& options : *kube) kept.insert(options.name);
      std::vector<std::string> dropped;
      for (const auto& source : kube_)
        if (kept.count(source->name()) == 0) dropped.push_back(source->name());
      stop_kube_sources();
      for (const std::string& name : dropped) controller_.remove_source(name);
      for (auto& options : *kube) start_kube_source(std::move(options));
    }
    const std::string metrics = config_.metrics;
    config_ = next;
    config_.metrics = metrics;  // the listener and the counting stay as started
    if (query_counters_) query_counters_->set_zone_names(config_.zones);
    controller_.update_settings(sync_settings(config_));
    spdlog::info("reload: configuration applied, serial {}", controller_.serial());
  }

  std::vector<std::string> args_;
  config::Config config_;
  boost::asio::io_context io_;
  resolver::SnapshotHolder holder_;
  sync::SyncController controller_;
  std::unique_ptr<metrics::QueryCounters> query_counters_;  // null when metrics are off
  dns::Server server_;
  dns::GrpcServer grpc_;
  std::unique_ptr<sync::FileSource> files_;
  std::vector<std::unique_ptr<sync::kube::KubeSource>> kube_;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer lameduck_timer_;
  // After io_, so they close before it goes.
  std::vector<std::unique_ptr<http::HttpServer>> http_;
  bool files_loaded_ = false;
  int load_stop_signal_ = 0;  // a SIGTERM or SIGINT that arrived during the initial load
  int64_t files_last_load_unix_ = 0;
  bool lameduck_ = false;
  bool ready_ = false;
};

// glibc hands the top of its heap back to the system once 128 KB there are free, and moves its
// mmap threshold as large blocks come and go. A first list at 1M reads 2,000 pages of about
// 260 KB each, and their bodies, allocated and freed in turn, then faulted their pages in anew
// every time: 150,000 page faults and about 0.7 s of CPU in a 4 s start. Fixed thresholds keep
// blocks up to 4 MB in the heap and return its top past 4 MB free (a 32 MB threshold cost 5 MB
// of peak at 1M from files, 2 MB none); serve still calls malloc_trim(0) after each whole load,
// which returns what the load left free.
void set_allocator_thresholds() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

}  // namespace

int run_serve_command(const std::vector<std::string>& args) {
  set_allocator_thresholds();
  int exit_code = 0;
  std::optional<config::Config> config = load_config_for("serve", kServeUsage, args, exit_code);
  if (!config) return exit_code;
  Service service(args, std::move(*config));
  return service.run();
}

}  // namespace globaldns::app
