// /metrics: coredns_* as CoreDNS ≥ 1.10 names them, then globaldns_* and process_*.
#include "app/metrics_page.hpp"

#include <chrono>
#include <string_view>

#include "dns/server/server.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"
#include "metrics/query_counters.hpp"
#include "sync/kube/kube_source.hpp"
#include "sync/sync_controller.hpp"

#ifndef GLOBALDNS_VERSION
#define GLOBALDNS_VERSION "unknown"
#endif
#ifndef GLOBALDNS_REVISION
#define GLOBALDNS_REVISION "unknown"
#endif

namespace globaldns::app {
namespace {

using metrics::Exposition;
using metrics::Type;

void counter(Exposition& out, std::string_view name, std::string_view help, uint64_t value) {
  out.family(name, help, Type::Counter);
  out.sample(name, {}, value);
}

void gauge(Exposition& out, std::string_view name, std::string_view help, double value) {
  out.family(name, help, Type::Gauge);
  out.sample(name, {}, value);
}

// Integers (serials, Unix times, sizes) written exactly, not as 1.7e+09.
void gauge(Exposition& out, std::string_view name, std::string_view help, uint64_t value) {
  out.family(name, help, Type::Gauge);
  out.sample(name, {}, value);
}

void write_server(Exposition& out, const dns::ServerStats& s) {
  counter(out, "globaldns_dns_udp_queries_total", "UDP datagrams given to the answer engine.",
          s.udp_queries);
  counter(out, "globaldns_dns_tcp_queries_total", "TCP messages given to the answer engine.",
          s.tcp_queries);
  counter(out, "globaldns_dns_dropped_total",
          "Queries left unanswered: no readable header, a response, too long, or no room to send.",
          s.dropped);
  counter(out, "globaldns_dns_truncated_total", "Answers sent with TC set.", s.truncated);
  counter(out, "globaldns_dns_tcp_connections_total", "TCP connections accepted and served.",
          s.tcp_connections);
  counter(out, "globaldns_dns_tcp_connections_refused_total",
          "TCP connections closed at once because max_connections were open.",
          s.tcp_connections_refused);
  counter(out, "globaldns_dns_tcp_timeouts_total",
          "TCP connections closed by the idle or the write timeout.", s.tcp_timeouts);
  counter(out, "globaldns_dns_udp_send_errors_total", "UDP answers the kernel refused to send.",
          s.udp_send_errors);
  counter(out, "globaldns_dns_rrl_dropped_total",
          "UDP answers not sent because their client prefix was over rrl.responses_per_second.",
          s.rrl_dropped);
  counter(out, "globaldns_dns_rrl_slipped_total",
          "UDP answers over the rate limit sent as an empty TC reply instead (rrl.slip).",
          s.rrl_slipped);
}

void write_sync(Exposition& out, const sync::SyncCounters& c, uint32_t serial) {
  gauge(out, "globaldns_snapshot_serial", "SOA serial of the snapshot served; 0 before the first.",
        uint64_t{serial});
  counter(out, "globaldns_snapshot_publishes_total", "Snapshots published.", c.publishes);
  counter(out, "globaldns_snapshot_build_failures_total",
          "Snapshot builds that failed; the previous snapshot kept serving.", c.build_failures);
  gauge(out, "globaldns_snapshot_last_build_seconds",
        "Time to build the last snapshot (encoding the changed shards) and publish it.",
        c.last_build_seconds);
  out.family("globaldns_snapshot_build_seconds_total",
             "Time spent building snapshots, summed over every publish.", Type::Counter);
  out.sample("globaldns_snapshot_build_seconds_total", {}, c.build_seconds_total);
  gauge(out, "globaldns_snapshot_last_publish_timestamp_seconds",
        "Unix time of the last publish; 0 before the first.",
        static_cast<uint64_t>(c.last_publish_unix));
  gauge(out, "globaldns_served_names", "Host names served (wildcards included).",
        uint64_t{c.served.names});
  gauge(out, "globaldns_served_addresses", "A and AAAA records served.",
        uint64_t{c.served.addresses});
  // Every reason, zeros included, so that a rate or alert on one reason has a series from the
  // start; the labels are sync::skip_reason_label's, stable once released.
  out.family("globaldns_service_entries_skipped",
             "ServiceEntries, hosts or addresses not served, as of the last publish, by reason "
             "(the log and /explain say which and why).",
             Type::Gauge);
  for (size_t r = 0; r < sync::kSkipReasonCount; ++r) {
    const std::string_view reason = sync::skip_reason_label(static_cast<sync::SkipReason>(r));
    out.sample("globaldns_service_entries_skipped", {{"reason", reason}},
               uint64_t{c.served.skipped_by_reason[r]});
  }
  gauge(out, "globaldns_host_conflicts",
        "Hosts claimed by more than one ServiceEntry, as of the last publish (the oldest wins).",
        uint64_t{c.served.conflicts});
}

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void write_sources(Exposition& out, const MetricsSources& s) {
  struct Row {
    std::string_view name;
    bool loaded;
    double last_success;  // 0: never
  };
  std::vector<Row> rows;
  if (s.files_configured)
    rows.push_back({"files", s.files_loaded, static_cast<double>(s.files_last_load_unix)});
  for (const auto& source : s.kube) {
    const sync::kube::SyncState& st = source->status().sync;
    rows.push_back(
        {source->name(), st.synced_once, st.last_success ? unix_seconds(*st.last_success) : 0.0});
  }
  out.family("globaldns_source_loaded",
             "1 once the source has loaded completely (every file read, or a cluster listed).",
             Type::Gauge);
  for (const Row& r : rows)
    out.sample("globaldns_source_loaded", {{"source", r.name}}, r.loaded ? 1.0 : 0.0);
  out.family("globaldns_source_last_success_timestamp_seconds",
             "Unix time of the source's last successful load, list or watch event; 0: never.",
             Type::Gauge);
  for (const Row& r : rows)
    out.sample("globaldns_source_last_success_timestamp_seconds", {{"source", r.name}},
               r.last_success);
  if (s.files_configured) {
    // The Kubernetes sources say the same with globaldns_kube_connected.
    out.family("globaldns_source_failures",
               "Paths of the source that cannot be used now (missing, unreadable or not decoding "
               "files, directories that cannot be listed); each keeps serving its last good "
               "contents.",
               Type::Gauge);
    out.sample("globaldns_source_failures", {{"source", "files"}},
               static_cast<double>(s.files_failures));
  }
  if (s.kube.empty()) return;
  out.family("globaldns_kube_connected",
             "1 while the cluster's last list or watch request is healthy.", Type::Gauge);
  for (const auto& source : s.kube)
    out.sample("globaldns_kube_connected", {{"source", source->name()}},
               source->status().sync.connected ? 1.0 : 0.0);
  out.family("globaldns_kube_relists_total", "Complete lists of a cluster after the first.",
             Type::Counter);
  for (const auto& source : s.kube)
    out.sample("globaldns_kube_relists_total", {{"source", source->name()}},
               source->status().sync.relists);
  out.family("globaldns_kube_watch_restarts_total",
             "Watches of a cluster that ended (timeout, error, dropped) and were started again.",
             Type::Counter);
  for (const auto& source : s.kube)
    out.sample("globaldns_kube_watch_restarts_total", {{"source", source->name()}},
               source->status().sync.watch_restarts);
}

}  // namespace

std::string metrics_page(const MetricsSources& s) {
  Exposition out;
  out.family("coredns_build_info",
             "A metric with a constant '1' value labeled by version, revision, and goversion from "
             "which CoreDNS was built.",
             Type::Gauge);
  out.sample("coredns_build_info",
             {{"version", GLOBALDNS_VERSION},
              {"revision", GLOBALDNS_REVISION},
              {"goversion", "g++ " __VERSION__}},
             uint64_t{1});
  const dns::ServerStats stats = s.server.stats();
  counter(out, "coredns_panics_total",
          "Exceptions caught at the top of a DNS worker's loop (the operation is lost, the worker "
          "goes on).",
          stats.handler_exceptions);
  s.queries.write(out);
  write_server(out, stats);
  write_sync(out, s.controller.counters(), s.controller.serial());
  write_sources(out, s);
  metrics::write_process_metrics(out);
  return out.take();
}

}  // namespace globaldns::app
