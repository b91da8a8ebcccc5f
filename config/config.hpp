// Config: every globaldns setting as plain values, with the documented defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace globaldns::config {

// The order matches the words in the settings table ("trace", "debug", ...).
enum class LogLevel { Trace, Debug, Info, Warn, Error };
enum class LogFormat { Text, Json };
// networking.istio.io versions; Auto takes the API server's preferred one of these.
enum class ApiVersion { Auto, V1, V1beta1, V1alpha3 };

// The SOA record at each zone apex (RFC 1035 §3.3.13); times in seconds.
struct SoaConfig {
  std::string mname;
  std::string rname;
  uint32_t ttl = 0;
  uint32_t refresh = 0;
  uint32_t retry = 0;
  uint32_t expire = 0;
  uint32_t minimum = 0;  // negative-caching TTL (RFC 2308 §4)
  bool operator==(const SoaConfig&) const = default;
};

// CHAOS-class TXT answers naming the server. Each is "auto", "off" or the text itself.
struct ChaosConfig {
  std::string version;   // version.bind. and version.server.
  std::string hostname;  // hostname.bind. and id.server.
  bool operator==(const ChaosConfig&) const = default;
};

// TLS of the gRPC listener: PEM file paths; all "" = plaintext.
struct GrpcTlsConfig {
  std::string cert;  // with key
  std::string key;
  std::string client_ca;  // "" = no client certificate asked for; else required and verified
  bool operator==(const GrpcTlsConfig&) const = default;
};

struct TcpConfig {
  uint32_t idle_timeout_ms = 0;
  uint32_t write_timeout_ms = 0;
  uint32_t max_connections = 0;
  uint32_t max_queries_per_connection = 0;  // 0 = unlimited
  bool operator==(const TcpConfig&) const = default;
};

// ServiceEntries from Kubernetes API servers: the cluster this server runs in, and/or clusters
// reached through kubeconfig contexts. Each cluster is one source.
struct KubernetesConfig {
  bool in_cluster = false;
  std::string kubeconfig;               // "" = none
  std::vector<std::string> contexts;    // empty with a kubeconfig = its current-context
  std::vector<std::string> namespaces;  // empty = all
  std::string label_selector;
  ApiVersion api_version = ApiVersion::Auto;
  uint32_t page_size = 0;
  uint32_t watch_idle_timeout_ms = 0;
  uint32_t watch_timeout_seconds = 0;  // 0 = random in [300, 600), as client-go
  uint32_t retry_initial_ms = 0;
  uint32_t retry_max_ms = 0;
  bool operator==(const KubernetesConfig&) const = default;
};

// Response rate limiting of UDP answers, per client prefix.
struct RrlConfig {
  uint32_t responses_per_second = 0;  // 0 = off
  uint32_t slip = 0;
  uint32_t ipv4_prefix = 0;
  uint32_t ipv6_prefix = 0;
  uint32_t table_size = 0;
  bool operator==(const RrlConfig&) const = default;
};

struct LogConfig {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
  std::string queries;  // the query log: "off", or its limit in lines per second
  bool operator==(const LogConfig&) const = default;
};

// Field names are the YAML keys. What each one means, its default and its allowed values are
// written once, in the settings table (config/settings.cpp); config/globaldns.example.yaml is
// generated from it.
struct Config {
  // Fills in the defaults from the settings table, so they are not repeated here.
  Config();

  std::vector<std::string> listen;  // "ADDR:PORT", IPv6 as "[::1]:5353"; see host_port.hpp
  uint32_t threads = 0;             // 0 = one per core
  std::string health;               // "ADDR:PORT" of GET /health, or "off"
  std::string ready;                // "ADDR:PORT" of GET /ready, or "off"
  std::string metrics;              // "ADDR:PORT" of GET /metrics, or "off" (no query counting)
  std::string grpc;                 // "ADDR:PORT", ":PORT" (every interface) or "off"
  GrpcTlsConfig grpc_tls;
  uint32_t lameduck_ms = 0;  // after SIGTERM: /ready 503, DNS still served; 0 = none
  std::vector<std::string> zones;
  uint32_t ttl = 0;
  std::vector<std::string> allow_cidrs;
  uint16_t edns_udp_size = 0;
  SoaConfig soa;
  std::vector<std::string> nameservers;  // empty = soa.mname
  ChaosConfig chaos;
  std::vector<std::string> files;
  uint32_t file_poll_interval_ms = 0;
  uint32_t file_debounce_ms = 0;
  KubernetesConfig kubernetes;
  TcpConfig tcp;
  RrlConfig rrl;
  LogConfig log;

  bool operator==(const Config&) const = default;
};

}  // namespace globaldns::config
