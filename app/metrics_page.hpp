// The /metrics page: CoreDNS's series and globaldns's own, gathered at scrape time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace globaldns::dns {
class Server;
}
namespace globaldns::metrics {
class QueryCounters;
}
namespace globaldns::sync {
class SyncController;
namespace kube {
class KubeSource;
}
}  // namespace globaldns::sync

namespace globaldns::app {

// What a scrape reads. Everything here lives on the serve io_context's thread, where the
// /metrics handler runs, except the server's and the controller's counters, which are
// thread-safe to read.
struct MetricsSources {
  const dns::Server& server;
  const metrics::QueryCounters& queries;
  const sync::SyncController& controller;
  const std::vector<std::unique_ptr<sync::kube::KubeSource>>& kube;
  bool files_configured = false;
  bool files_loaded = false;
  int64_t files_last_load_unix = 0;  // 0: never
  size_t files_failures = 0;         // sync::FileSource::failures()
};

std::string metrics_page(const MetricsSources& sources);

}  // namespace globaldns::app
