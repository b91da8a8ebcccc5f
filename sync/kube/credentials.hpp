// ClusterCredentials: where the API server is and how to authenticate, from kubeconfig or
// in-cluster.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "resolver/result.hpp"
#include "sync/kube/kubeconfig.hpp"
#include "sync/kube/token_source.hpp"

namespace globaldns::sync::kube {

// Plain data; all files except the token are read once here (the token rotates, see TokenSource).
struct ClusterCredentials {
  std::string host;  // without IPv6 brackets
  uint16_t port = 443;
  std::string base_path;              // server URL path prefix, usually empty
  std::optional<std::string> ca_pem;  // none: the system trust store
  TlsVerify verify = TlsVerify::On;
  std::string tls_server_name;  // SNI and the name checked in the certificate; empty: host
  std::optional<std::string> client_cert_pem;
  std::optional<std::string> client_key_pem;
  TokenSpec token;
  std::string namespace_;  // the context's namespace, "default" when it sets none
  std::string context;     // the kubeconfig context used; "" in-cluster
  std::string origin;      // for logs: "kubeconfig <file> context <name>" or "in-cluster"
};

inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// Returns the variable's value, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// The process environment (getenv).
EnvLookup process_env();

// "host:port", or "[v6]:port" for an IPv6 literal (Go's net.JoinHostPort).
std::string join_host_port(std::string_view host, uint16_t port);

// `context` empty means current-context.
Result<ClusterCredentials> from_kubeconfig(const std::filesystem::path& path,
                                           std::string_view context);

// KUBERNETES_SERVICE_HOST/_PORT plus token, ca.crt and namespace under `root`, like client-go's
// InClusterConfig. The token is both read now (static fallback) and named as a file to re-read.
Result<ClusterCredentials> from_in_cluster(const EnvLookup& env,
                                           const std::filesystem::path& root = kServiceAccountDir);

}  // namespace globaldns::sync::kube
