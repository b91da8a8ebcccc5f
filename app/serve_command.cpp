// `globaldns serve`: files -> snapshots -> UDP/TCP workers, with SIGHUP reload and SIGTERM drain.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "app/commands.hpp"
#include "app/wiring.hpp"
#include "config/load.hpp"
#include "dns/server/server.hpp"
#include "resolver/snapshot_holder.hpp"
#include "sync/file_source.hpp"
#include "sync/sync_controller.hpp"

namespace globaldns::app {

namespace {

constexpr const char* kServeUsage =
    "usage: globaldns serve [flags]\n"
    "Serves the configured zones from ServiceEntry files on UDP and TCP.\n"
    "SIGHUP reloads the config file; SIGTERM or SIGINT stops.\n\n";

// Owns the running pieces so that SIGHUP can swap the file source when `files` changes.
class Service {
 public:
  Service(std::vector<std::string> args, config::Config config)
      : args_(std::move(args)),
        config_(std::move(config)),
        controller_(sync_settings(config_), holder_),
        server_(server_options(config_), holder_) {}

  int run() {
    if (config_.files.empty())
      spdlog::warn("no ServiceEntry files configured (--files): serving only the zone apexes");
    auto source = make_source(config_);
    if (auto loaded = source->load_initial(); !loaded) {
      std::fprintf(stderr, "globaldns: %s\n", loaded.error().c_str());
      return kExitFailure;
    }
    source_ = std::move(source);
    if (auto started = server_.start(); !started) {
      std::fprintf(stderr, "globaldns: %s\n", started.error().c_str());
      return kExitFailure;
    }
    source_->start();
    if (!ready_)
      spdlog::warn("not every ServiceEntry file loaded: answering SERVFAIL until they do");

    boost::asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
    wait_for_signal(signals);
    io_.run();
    spdlog::info("stopped");
    return 0;
  }

 private:
  std::unique_ptr<sync::FileSource> make_source(const config::Config& config) {
    // The callback runs on io_'s thread (load_initial() on this one, before io_ runs).
    // The callback needs the source it belongs to, which exists only after construction.
    auto self = std::make_shared<sync::FileSource*>(nullptr);
    auto source = std::make_unique<sync::FileSource>(
        io_, file_source_options(config),
        [this, self](const std::vector<sync::ServiceEntry>& entries) {
          on_entries(**self, entries);
        });
    *self = source.get();
    return source;
  }

  // Until every file has loaded once nothing is published, so queries get SERVFAIL rather
  // than NXDOMAIN for names that are only missing because their file is broken.
  void on_entries(const sync::FileSource& source, const std::vector<sync::ServiceEntry>& entries) {
    if (!ready_ && !source.complete() && !config_.files.empty()) return;
    if (!ready_) spdlog::info("every ServiceEntry file loaded: serving");
    ready_ = true;
    controller_.apply(entries);
    // Decoding YAML (yaml-cpp nodes are large) leaves hundreds of MB freed but kept by malloc
    // on big inputs; hand it back so the resident size reflects what is served.
    malloc_trim(0);
  }

  void wait_for_signal(boost::asio::signal_set& signals) {
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_for_signal(signals);
        return;
      }
      spdlog::info("signal {}: draining and exiting", sig);
      if (source_) source_->stop();
      server_.stop();
      io_.stop();
    });
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
    if (next.listen != config_.listen || next.threads != config_.threads || next.tcp != config_.tcp)
      spdlog::warn("reload: listen, threads and tcp settings change only on restart");
    configure_logging(next);
    if (next.files != config_.files || next.file_debounce_ms != config_.file_debounce_ms ||
        next.file_poll_interval_ms != config_.file_poll_interval_ms) {
      auto source = make_source(next);
      if (auto loaded = source->load_initial(); !loaded) {
        spdlog::error("reload: {}; keeping the running configuration", loaded.error());
        return;
      }
      if (source_) source_->stop();
      source_ = std::move(source);
      source_->start();
    }
    config_ = next;
    controller_.update_settings(sync_settings(config_));
    spdlog::info("reload: configuration applied, serial {}", controller_.serial());
  }

  std::vector<std::string> args_;
  config::Config config_;
  boost::asio::io_context io_;
  resolver::SnapshotHolder holder_;
  sync::SyncController controller_;
  dns::Server server_;
  std::unique_ptr<sync::FileSource> source_;
  bool ready_ = false;
};

}  // namespace

int run_serve_command(const std::vector<std::string>& args) {
  int exit_code = 0;
  std::optional<config::Config> config = load_config_for("serve", kServeUsage, args, exit_code);
  if (!config) return exit_code;
  Service service(args, std::move(*config));
  return service.run();
}

}  // namespace globaldns::app
