// The settings table: every setting's key, type, default, range and help, defined once here.
#include "config/settings.hpp"

#include <algorithm>
#include <utility>

namespace globaldns::config {
namespace {

// TTLs and SOA times are capped at 2^31 - 1 seconds (RFC 2181 §8).
constexpr uint32_t kMaxSeconds = 2147483647;
constexpr uint32_t kMaxMs = 3600000;  // one hour: longer than any sensible timeout or interval

// The YAML key is the member path ("soa.mname" -> c.soa.mname), so the two cannot drift apart.
// The member's C++ type gives the setting's kind.
#define GLOBALDNS_SETTING(path)                                      \
  .key = #path, .field = [](Config& c) -> Field { return &c.path; }, \
  .kind = kind_of<decltype(std::declval<Config&>().path)>()

const std::vector<Setting>& table() {
  static const std::vector<Setting> kSettings = {
      {
          GLOBALDNS_SETTING(listen),
          .default_value = {"127.0.0.1:5353"},
          .min_items = 1,
          .shape = Shape::HostPort,
          .flag = "listen",
          .metavar = "ADDR:PORT",
          .help =
              "Addresses to answer DNS queries on, over both UDP and TCP, as ADDR:PORT. ADDR is "
              "an IP address; an IPv6 address goes in brackets, as in \"[::1]:5353\". Port 0 "
              "picks a free port.",
      },
      {
          GLOBALDNS_SETTING(threads),
          .default_value = {"0"},
          .min = 0,
          .max = 1024,
          .flag = "threads",
          .metavar = "N",
          .help = "DNS workers, each with its own sockets: per listen address a thread blocking on "
                  "its UDP socket, and one thread for its TCP listeners. 0 starts one per CPU "
                  "core.",
      },
      {
          GLOBALDNS_SETTING(health),
          .default_value = {"127.0.0.1:8080"},
          .shape = Shape::HostPortOrOff,
          .flag = "health",
          .metavar = "ADDR:PORT",
          .help = "Where to answer HTTP GET /health: 200 \"OK\" while the process runs, as "
                  "CoreDNS's health plugin (a liveness probe). The same listener serves the "
                  "operators' /zone (what is served, as a zone file) and /explain?name=NAME "
                  "(why a name is or is not served), which `globaldns explain` asks. off: no "
                  "listener. The default is loopback only, like listen; in Kubernetes set "
                  "0.0.0.0:8080 so the kubelet can reach it on the pod IP. Port 0 picks a free "
                  "port.",
      },
      {
          GLOBALDNS_SETTING(ready),
          .default_value = {"127.0.0.1:8181"},
          .shape = Shape::HostPortOrOff,
          .flag = "ready",
          .metavar = "ADDR:PORT",
          .help = "Where to answer HTTP GET /ready, as CoreDNS's ready plugin (a readiness "
                  "probe): 200 \"OK\" once every source has loaded completely and a snapshot is "
                  "published; before that, and during lameduck, 503 with one line per reason. "
                  "off: no listener. May equal health: one listener then serves both paths.",
      },
      {
          GLOBALDNS_SETTING(metrics),
          .default_value = {"127.0.0.1:9153"},
          .shape = Shape::HostPortOrOff,
          .flag = "metrics",
          .metavar = "ADDR:PORT",
          .help = "Where to answer HTTP GET /metrics in the Prometheus text format, with "
                  "CoreDNS's names (coredns_dns_requests_total and the rest) and globaldns_* "
                  "series. off: no listener, and queries are not counted at all. May equal "
                  "health or ready: one listener then serves several paths. In Kubernetes set "
                  "0.0.0.0:9153, the port CoreDNS's prometheus plugin uses.",
      },
      {
          GLOBALDNS_SETTING(grpc),
          .default_value = {":8053"},
          .shape = Shape::AnyHostPortOrOff,
          .flag = "grpc",
          .metavar = "ADDR:PORT",
          .help = "Where to serve CoreDNS's gRPC DnsService (coredns.dns.DnsService/Query), so "
                  "that a CoreDNS \"grpc global. ADDR:PORT\" block (the istiocoredns set-up) "
                  "can use this server: the same answers as over TCP. :PORT listens on every "
                  "interface, as CoreDNS's default :8053 does. off: no listener. Plaintext unless "
                  "grpc_tls.cert is set.",
      },
      {
          GLOBALDNS_SETTING(grpc_tls.cert),
          .default_value = {""},
          .shape = Shape::OptionalPath,
          .flag = "grpc-tls-cert",
          .metavar = "PATH",
          .help = "PEM certificate (chain) of the gRPC listener; with grpc_tls.key it serves "
                  "TLS only. Empty: plaintext.",
      },
      {
          GLOBALDNS_SETTING(grpc_tls.key),
          .default_value = {""},
          .shape = Shape::OptionalPath,
          .flag = "grpc-tls-key",
          .metavar = "PATH",
          .help = "PEM private key of grpc_tls.cert.",
      },
      {
          GLOBALDNS_SETTING(grpc_tls.client_ca),
          .default_value = {""},
          .shape = Shape::OptionalPath,
          .flag = "grpc-tls-client-ca",
          .metavar = "PATH",
          .help = "PEM CA certificates: when set, gRPC clients must present a certificate signed "
                  "by one of them (CoreDNS: tls CERT KEY CA in the grpc block). Needs "
                  "grpc_tls.cert.",
      },
      {
          GLOBALDNS_SETTING(lameduck_ms),
          .default_value = {"5000"},
          .max = kMaxMs,
          .flag = "lameduck-ms",
          .metavar = "MS",
          .help = "On SIGTERM or SIGINT, keep answering DNS (and gRPC) for this many milliseconds "
                  "while /ready answers 503, so load balancers stop sending queries first; then "
                  "stop and exit 0. A second signal exits at once. 0 stops at once.",
      },
      {
          GLOBALDNS_SETTING(zones),
          .default_value = {"global."},
          .min_items = 1,
          .shape = Shape::DomainName,
          .flag = "zone",
          .metavar = "NAME",
          .help = "Zones this server is authoritative for. A ServiceEntry host such as "
                  "<svc>.<ns>.global is published when it lies inside one of them; queries for "
                  "names outside every zone are refused.",
      },
      {
          GLOBALDNS_SETTING(ttl),
          .default_value = {"30"},
          .min = 0,
          .max = kMaxSeconds,
          .flag = "ttl",
          .metavar = "SECONDS",
          .help = "TTL in seconds of the A and AAAA answers.",
      },
      {
          GLOBALDNS_SETTING(allow_cidrs),
          .default_value = {"240.0.0.0/8"},
          .shape = Shape::Cidr,
          .flag = "allow-cidr",
          .metavar = "CIDR",
          .help = "Only ServiceEntry addresses inside these ranges are published; others are "
                  "skipped with a warning. The default covers the 240.0.0.0/8 addresses "
                  "conventionally given to .global ServiceEntries. IPv6 ranges such as fd00::/8 "
                  "may be listed too.",
      },
      {
          GLOBALDNS_SETTING(edns_udp_size),
          .default_value = {"1232"},
          .min = 512,
          .max = 4096,
          .flag = "edns-udp-size",
          .metavar = "N",
          .help = "Largest UDP response in bytes, also advertised in EDNS (RFC 6891 §6.2.5). A "
                  "larger answer is truncated so that the client retries over TCP. 1232 avoids IP "
                  "fragmentation.",
      },
      {
          GLOBALDNS_SETTING(nameservers),
          .default_value = {},
          .shape = Shape::DomainName,
          .help = "Targets of the NS records at each zone apex. Empty means one NS record: "
                  "soa.mname.",
      },
      {
          GLOBALDNS_SETTING(soa.mname),
          .default_value = {"globaldns.istio-system.svc.cluster.local."},
          .shape = Shape::DomainName,
          .help = "Primary name server named in the SOA record.",
      },
      {
          GLOBALDNS_SETTING(soa.rname),
          .default_value = {"hostmaster.globaldns.istio-system.svc.cluster.local."},
          .shape = Shape::DomainName,
          .help = "Mailbox of the person responsible for the zone, with its '@' written as '.'.",
      },
      {
          GLOBALDNS_SETTING(soa.ttl),
          .default_value = {"30"},
          .max = kMaxSeconds,
          .help = "TTL of the SOA record itself.",
      },
      {
          GLOBALDNS_SETTING(soa.refresh),
          .default_value = {"60"},
          .max = kMaxSeconds,
          .help = "How often a secondary server checks for a new serial.",
      },
      {
          GLOBALDNS_SETTING(soa.retry),
          .default_value = {"30"},
          .max = kMaxSeconds,
          .help = "How long a secondary waits before retrying a failed refresh.",
      },
      {
          GLOBALDNS_SETTING(soa.expire),
          .default_value = {"86400"},
          .max = kMaxSeconds,
          .help = "How long a secondary keeps answering without reaching the primary.",
      },
      {
          GLOBALDNS_SETTING(soa.minimum),
          .default_value = {"30"},
          .max = kMaxSeconds,
          .help = "How long resolvers may cache a negative answer, NXDOMAIN or NODATA "
                  "(RFC 2308 §4).",
      },
      {
          GLOBALDNS_SETTING(chaos.version),
          .default_value = {"auto"},
          .shape = Shape::ChaosText,
          .help = "Answer to CHAOS-class TXT queries for version.bind. and version.server. (dig "
                  "CH TXT version.bind), with TTL 0. auto: \"globaldns <version>\". off: those "
                  "queries are refused, like every other CHAOS query. Anything else is served as "
                  "it is, at most 255 bytes.",
      },
      {
          GLOBALDNS_SETTING(chaos.hostname),
          .default_value = {"auto"},
          .shape = Shape::ChaosText,
          .help = "Answer to CHAOS-class TXT queries for hostname.bind. and id.server. (RFC 4892), "
                  "with TTL 0. auto: the machine's host name, read once at start-up (in "
                  "Kubernetes, the pod's name). off: those queries are refused. Anything else is "
                  "served as it is, at most 255 bytes.",
      },
      {
          GLOBALDNS_SETTING(files),
          .default_value = {},
          .shape = Shape::Path,
          .flag = "files",
          .metavar = "PATH",
          .help = "ServiceEntry YAML files, or directories of them, to publish. They are read "
                  "again when they change.",
      },
      {
          GLOBALDNS_SETTING(file_poll_interval_ms),
          .default_value = {"2000"},
          .min = 10,
          .max = kMaxMs,
          .help = "How often, in milliseconds, the files are checked for changes.",
      },
      {
          GLOBALDNS_SETTING(file_debounce_ms),
          .default_value = {"100"},
          .max = 60000,
          .help = "After a change is seen, wait this many milliseconds for writes to settle "
                  "before reading the files.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.in_cluster),
          .default_value = {"false"},
          .choices = {"false", "true"},
          .flag = "in-cluster",
          .metavar = "true|false",
          .help = "Watch the ServiceEntries of the cluster this server runs in, with its service "
                  "account: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and the token "
                  "and ca.crt under /var/run/secrets/kubernetes.io/serviceaccount (the token is "
                  "read again when it rotates).",
      },
      {
          GLOBALDNS_SETTING(kubernetes.kubeconfig),
          .default_value = {""},
          .shape = Shape::OptionalPath,
          .flag = "kubeconfig",
          .metavar = "PATH",
          .help = "A kubeconfig file whose clusters to watch (see contexts). Its server, "
                  "certificate-authority(-data), token or tokenFile, client-certificate and "
                  "client-key (or their -data forms) and insecure-skip-tls-verify are used; TLS "
                  "is verified unless it says otherwise. Empty: none.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.contexts),
          .shape = Shape::Word,
          .flag = "context",
          .metavar = "NAME",
          .help = "Contexts of the kubeconfig to watch, each one cluster. Empty watches its "
                  "current-context. Entries of every cluster and of the files are merged; when "
                  "two claim one host, the oldest ServiceEntry serves it.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.namespaces),
          .shape = Shape::Word,
          .flag = "kube-namespace",
          .metavar = "NAMESPACE",
          .help = "Watch only these namespaces. Empty watches every namespace. With several, one "
                  "cluster-wide watch is filtered, which needs the RBAC to list cluster-wide.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.label_selector),
          .default_value = {""},
          .shape = Shape::Text,
          .flag = "kube-label-selector",
          .metavar = "SELECTOR",
          .help = "Watch only ServiceEntries matching this label selector, as kubectl -l takes "
                  "it (\"app=foo,tier!=web\"). Empty: all.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.api_version),
          .default_value = {"auto"},
          .choices = {"auto", "v1", "v1beta1", "v1alpha3"},
          .flag = "kube-api-version",
          .metavar = "VERSION",
          .help = "Version of networking.istio.io to read. auto asks the API server "
                  "(/apis/networking.istio.io) and takes its preferred one of v1, v1beta1 and "
                  "v1alpha3.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.page_size),
          .default_value = {"500"},
          .min = 1,
          .max = 100000,
          .help = "ServiceEntries per page of a list (the limit parameter), as client-go's "
                  "default.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.watch_idle_timeout_ms),
          .default_value = {"90000"},
          .min = 100,
          .max = kMaxMs,
          .help = "A watch that brings nothing, not even a bookmark, for this many milliseconds "
                  "is dropped and resumed. Keep it above the API server's bookmark interval "
                  "(about 60 s).",
      },
      {
          GLOBALDNS_SETTING(kubernetes.watch_timeout_seconds),
          .default_value = {"0"},
          .max = 3600,
          .help = "timeoutSeconds asked of the API server for each watch, after which it ends "
                  "the watch and a new one continues. 0 picks 300 to 600 at random, as client-go "
                  "does, so that servers do not reconnect in step.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.retry_initial_ms),
          .default_value = {"800"},
          .min = 1,
          .max = kMaxMs,
          .help = "First delay before retrying a failed list or watch; it doubles on each "
                  "failure, with jitter, up to retry_max_ms. A Retry-After from the server is "
                  "honoured when longer.",
      },
      {
          GLOBALDNS_SETTING(kubernetes.retry_max_ms),
          .default_value = {"30000"},
          .min = 1,
          .max = kMaxMs,
          .help = "Longest delay between retries, before jitter (client-go: 30 s).",
      },
      {
          GLOBALDNS_SETTING(tcp.idle_timeout_ms),
          .default_value = {"10000"},
          .min = 1,
          .max = kMaxMs,
          .help = "Close a connection that has sent no complete query for this many milliseconds "
                  "(RFC 7766 §6.2.3).",
      },
      {
          GLOBALDNS_SETTING(tcp.write_timeout_ms),
          .default_value = {"10000"},
          .min = 1,
          .max = kMaxMs,
          .help = "Close a connection whose client has not read a response after this many "
                  "milliseconds.",
      },
      {
          GLOBALDNS_SETTING(tcp.max_connections),
          .default_value = {"1024"},
          .min = 1,
          .max = 1000000,
          .help = "Open connections allowed across all workers; more are closed at once.",
      },
      {
          GLOBALDNS_SETTING(tcp.max_queries_per_connection),
          .default_value = {"0"},
          .max = 4294967295,
          .help = "Close a connection after this many queries. 0 means no limit.",
      },
      {
          GLOBALDNS_SETTING(rrl.responses_per_second),
          .default_value = {"0"},
          .max = kMaxRate,
          .flag = "rrl-responses-per-second",
          .metavar = "N",
          .help = "UDP responses per second allowed to each client prefix (rrl.ipv4_prefix, "
                  "rrl.ipv6_prefix), with bursts of as many; every response counts, whatever "
                  "its RCODE. Past it, responses are dropped or slipped (rrl.slip). TCP and "
                  "gRPC are never limited. 0: off.",
      },
      {
          GLOBALDNS_SETTING(rrl.slip),
          .default_value = {"2"},
          .max = 10,
          .flag = "rrl-slip",
          .metavar = "N",
          .help = "Of a prefix's limited responses, every Nth is sent as an empty reply with TC "
                  "set (the question only), so that a real client retries over TCP; the others "
                  "are dropped. 1: every one is sent as TC. 0: all are dropped.",
      },
      {
          GLOBALDNS_SETTING(rrl.ipv4_prefix),
          .default_value = {"24"},
          .min = 1,
          .max = 32,
          .flag = "rrl-ipv4-prefix",
          .metavar = "BITS",
          .help = "IPv4 clients are limited together by their address's first BITS bits.",
      },
      {
          GLOBALDNS_SETTING(rrl.ipv6_prefix),
          .default_value = {"56"},
          .min = 1,
          .max = 128,
          .flag = "rrl-ipv6-prefix",
          .metavar = "BITS",
          .help = "IPv6 clients are limited together by their address's first BITS bits.",
      },
      {
          GLOBALDNS_SETTING(rrl.table_size),
          .default_value = {"65536"},
          .min = 1,
          .max = kMaxRrlTableSize,
          .flag = "rrl-table-size",
          .metavar = "N",
          .help = "Buckets in the rate-limit table, a power of two; 16 bytes each, allocated at "
                  "start-up. Prefixes are hashed to buckets with a secret key, and prefixes that "
                  "share one are limited together, so size it well above the number of client "
                  "prefixes expected at once.",
      },
      {
          GLOBALDNS_SETTING(log.level),
          .default_value = {"info"},
          .choices = {"trace", "debug", "info", "warn", "error"},
          .flag = "log-level",
          .metavar = "LEVEL",
          .help = "The least severe messages that are logged.",
      },
      {
          GLOBALDNS_SETTING(log.format),
          .default_value = {"text"},
          .choices = {"text", "json"},
          .flag = "log-format",
          .metavar = "FORMAT",
          .help = "text for people; json for one JSON object per line.",
      },
      {
          GLOBALDNS_SETTING(log.queries),
          .default_value = {"off"},
          .shape = Shape::RateOrOff,
          .flag = "query-log",
          .metavar = "N|off",
          .help = "Log each query in the default format of CoreDNS's log plugin, one line per "
                  "query: client address and port, ID, \"type class name protocol size DO-bit "
                  "bufsize\", rcode, flags, response size, duration, as in 127.0.0.1:41000 "
                  "- 4660 \"A IN httpbin.istio-testing.global. udp 46 false 512\" NOERROR "
                  "qr,aa,rd 62 0.000012s. At most N lines per second (bursts of N); how many were "
                  "left out "
                  "is logged once a second. Written in log.format whatever log.level says. "
                  "off: no query log. Read at start-up only.",
      },
  };
  return kSettings;
}

#undef GLOBALDNS_SETTING

constexpr Section kSections[] = {
    {"grpc_tls",
     "TLS for the gRPC listener, as CoreDNS's grpc plugin speaks it with tls CERT KEY CA."},
    {"soa", "The SOA record at each zone apex (RFC 1035 §3.3.13). Times are in seconds."},
    {"chaos",
     "Answers that name this server, to CHAOS-class TXT queries as BIND and NSD give them (an "
     "ANY query gets the TXT too). Other types and other names in class CHAOS are refused."},
    {"kubernetes",
     "ServiceEntries from Kubernetes API servers, streamed with list and watch. Each cluster is "
     "a source; queries get SERVFAIL until every source has loaded once, and an unreachable "
     "API server leaves its last data served."},
    {"tcp", "DNS over TCP (RFC 7766)."},
    {"rrl",
     "Response rate limiting (RRL) of UDP answers, as BIND and Knot do it, so that spoofed "
     "queries cannot turn this server into an amplifier. Read at start-up only."},
    {"log", "Logging."},
};

}  // namespace

std::span<const Setting> settings() {
  return table();
}

std::span<const Section> sections() {
  return kSections;
}

const Setting* find_setting(std::string_view key) {
  auto all = settings();
  auto it = std::find_if(all.begin(), all.end(), [&](const Setting& s) { return s.key == key; });
  return it == all.end() ? nullptr : &*it;
}

const Setting* find_flag(std::string_view flag) {
  if (flag.empty()) return nullptr;
  auto all = settings();
  auto it = std::find_if(all.begin(), all.end(), [&](const Setting& s) { return s.flag == flag; });
  return it == all.end() ? nullptr : &*it;
}

const Section* find_section(std::string_view name) {
  auto all = sections();
  auto it = std::find_if(all.begin(), all.end(), [&](const Section& s) { return s.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace globaldns::config
