// Config -> module settings. The config was validated, so conversions here cannot fail.
#include "app/wiring.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstdio>
#include <memory>

#include "app/commands.hpp"
#include "config/flags.hpp"
#include "config/host_port.hpp"
#include "config/load.hpp"
#include "sync/cidr.hpp"

namespace globaldns::app {

namespace {

// The machine's host name, read once: "auto" means the name at start-up, and a SIGHUP reload
// does not change it. "" (switched off, with a warning) when it cannot be read.
const std::string& machine_host_name() {
  static const std::string name = [] {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
      spdlog::warn(
          "chaos.hostname: cannot read the host name; hostname.bind. and id.server. "
          "are refused");
      return std::string();
    }
    return std::string(buf);
  }();
  return name;
}

// "auto" -> `automatic`, "off" -> "" (not answered), anything else as it is.
std::string chaos_text(const std::string& setting, const std::string& automatic) {
  if (setting == "auto") return automatic;
  if (setting == "off") return std::string();
  return setting;
}

}  // namespace

sync::SyncSettings sync_settings(const config::Config& c) {
  sync::SyncSettings s;
  s.translate.zones = c.zones;
  for (const std::string& text : c.allow_cidrs)
    if (auto cidr = sync::parse_cidr(text)) s.translate.allowed.push_back(*cidr);
  resolver::SoaParams soa;
  soa.mname = c.soa.mname;
  soa.rname = c.soa.rname;
  soa.ttl = c.soa.ttl;
  soa.refresh = c.soa.refresh;
  soa.retry = c.soa.retry;
  soa.expire = c.soa.expire;
  soa.minimum = c.soa.minimum;
  for (const std::string& zone : c.zones) s.zone.zones.push_back({zone, soa, c.nameservers});
  s.zone.ttl = c.ttl;
  s.zone.edns_udp_size = c.edns_udp_size;
  std::string version = "globaldns ";
  version += GLOBALDNS_VERSION;
  s.zone.chaos.version = chaos_text(c.chaos.version, version);
  s.zone.chaos.hostname =
      c.chaos.hostname == "auto" ? machine_host_name() : chaos_text(c.chaos.hostname, "");
  return s;
}

dns::ServerOptions server_options(const config::Config& c) {
  dns::ServerOptions o;
  for (const std::string& text : c.listen)
    if (auto hp = config::parse_host_port(text)) o.listen.push_back({hp->host, hp->port});
  o.threads = c.threads;
  o.tcp.idle_timeout = std::chrono::milliseconds(c.tcp.idle_timeout_ms);
  o.tcp.write_timeout = std::chrono::milliseconds(c.tcp.write_timeout_ms);
  o.tcp.max_connections = c.tcp.max_connections;
  o.tcp.max_queries_per_connection = c.tcp.max_queries_per_connection;
  o.rrl.responses_per_second = c.rrl.responses_per_second;
  o.rrl.slip = c.rrl.slip;
  o.rrl.ipv4_prefix = c.rrl.ipv4_prefix;
  o.rrl.ipv6_prefix = c.rrl.ipv6_prefix;
  o.rrl.table_size = c.rrl.table_size;
  // Validated as "off" or 1 to kMaxRate: anything else is off.
  if (c.log.queries != "off") {
    std::from_chars(c.log.queries.data(), c.log.queries.data() + c.log.queries.size(),
                    o.query_log_per_second);
  }
  return o;
}

dns::GrpcServerOptions grpc_server_options(const config::Config& c) {
  dns::GrpcServerOptions o;
  if (auto hp = config::parse_host_port(c.grpc, config::EmptyHost::Any)) {
    o.host = hp->host;
    o.port = hp->port;
  }
  o.tls.cert = c.grpc_tls.cert;
  o.tls.key = c.grpc_tls.key;
  o.tls.client_ca = c.grpc_tls.client_ca;
  return o;
}

sync::FileSourceOptions file_source_options(const config::Config& c) {
  sync::FileSourceOptions o;
  o.paths = c.files;
  o.debounce = std::chrono::milliseconds(c.file_debounce_ms);
  o.poll_interval = std::chrono::milliseconds(c.file_poll_interval_ms);
  return o;
}

Result<std::vector<sync::kube::KubeSourceOptions>> kube_source_options(const config::Config& c) {
  namespace kube = sync::kube;
  const config::KubernetesConfig& k = c.kubernetes;
  kube::ReflectorOptions reflector;
  reflector.namespaces = k.namespaces;
  reflector.label_selector = k.label_selector;
  reflector.page_limit = static_cast<int>(k.page_size);
  reflector.watch_timeout_seconds = static_cast<int>(k.watch_timeout_seconds);
  reflector.idle_timeout = std::chrono::milliseconds(k.watch_idle_timeout_ms);
  reflector.backoff.initial = std::chrono::milliseconds(k.retry_initial_ms);
  reflector.backoff.cap = std::chrono::milliseconds(k.retry_max_ms);
  std::string pinned;
  switch (k.api_version) {
    case config::ApiVersion::Auto:
      break;
    case config::ApiVersion::V1:
      pinned = "v1";
      break;
    case config::ApiVersion::V1beta1:
      pinned = "v1beta1";
      break;
    case config::ApiVersion::V1alpha3:
      pinned = "v1alpha3";
      break;
  }

  std::vector<kube::KubeSourceOptions> out;
  auto add = [&](std::string name, kube::ClusterCredentials credentials) {
    kube::KubeSourceOptions o;
    o.name = std::move(name);
    o.credentials = std::move(credentials);
    o.pinned_version = pinned;
    o.reflector = reflector;
    out.push_back(std::move(o));
  };
  if (k.in_cluster) {
    auto creds = kube::from_in_cluster(kube::process_env());
    if (!creds) return Error{"kubernetes.in_cluster: " + creds.error()};
    add("kubernetes/in-cluster", std::move(*creds));
  }
  if (!k.kubeconfig.empty()) {
    const std::vector<std::string> contexts =
        k.contexts.empty() ? std::vector<std::string>{""} : k.contexts;
    for (const std::string& context : contexts) {
      auto creds = kube::from_kubeconfig(k.kubeconfig, context);
      if (!creds) return Error{"kubernetes.kubeconfig: " + creds.error()};
      std::string name = "kubernetes/";
      name.append(creds->context);
      for (const auto& existing : out)
        if (existing.name == name)
          return Error{"kubernetes.contexts: " + name + " is listed twice"};
      add(std::move(name), std::move(*creds));
    }
  }
  return out;
}

namespace {

// %* in a pattern: the message as the inside of a JSON string (RFC 8259 §7 escapes).
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : msg.payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

}  // namespace

void configure_logging(const config::Config& c) {
  static const bool once = [] {
    spdlog::set_default_logger(spdlog::stderr_color_mt("globaldns"));
    return true;
  }();
  (void)once;
  switch (c.log.level) {
    case config::LogLevel::Trace:
      spdlog::set_level(spdlog::level::trace);
      break;
    case config::LogLevel::Debug:
      spdlog::set_level(spdlog::level::debug);
      break;
    case config::LogLevel::Info:
      spdlog::set_level(spdlog::level::info);
      break;
    case config::LogLevel::Warn:
      spdlog::set_level(spdlog::level::warn);
      break;
    case config::LogLevel::Error:
      spdlog::set_level(spdlog::level::err);
      break;
  }
  if (c.log.format == config::LogFormat::Json) {
    // One JSON object per line for log shippers.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
}

std::optional<config::Config> load_config_for(const char* command, const char* usage,
                                              const std::vector<std::string>& args,
                                              int& exit_code) {
  config::Invocation inv = config::load(args);
  exit_code = kExitUsage;
  if (inv.help) {
    std::printf("%s%s", usage, config::flags_help().c_str());
    exit_code = 0;
    return std::nullopt;
  }
  if (!inv.ok()) {
    for (const std::string& e : inv.errors) std::fprintf(stderr, "globaldns: %s\n", e.c_str());
    return std::nullopt;
  }
  if (!inv.positional.empty()) {
    std::fprintf(stderr, "globaldns: %s takes no argument \"%s\"\n", command,
                 inv.positional[0].c_str());
    return std::nullopt;
  }
  configure_logging(inv.config);
  return std::move(inv.config);
}

}  // namespace globaldns::app
