// Kubeconfig parsing: the cluster, user and namespace of one context, with paths resolved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "resolver/result.hpp"

namespace globaldns::sync::kube {

enum class TlsVerify : uint8_t { On, Off };

// One file-or-inline value, e.g. certificate-authority vs certificate-authority-data.
// Inline data wins when both are set, as in client-go (CAData takes precedence over CAFile).
struct PemSource {
  std::filesystem::path file;       // resolved against the kubeconfig's directory; may be empty
  std::optional<std::string> data;  // already base64-decoded
  bool empty() const noexcept { return file.empty() && !data; }
};

// What one context selects. Strings are as written unless noted.
struct KubeconfigContext {
  std::string context_name;
  std::string cluster_name;
  std::string user_name;
  std::string server;  // e.g. "https://[fd00::1]:6443"
  PemSource certificate_authority;
  std::string tls_server_name;
  TlsVerify verify = TlsVerify::On;
  std::string token;
  std::filesystem::path token_file;  // resolved like the certificate paths
  PemSource client_certificate;
  PemSource client_key;
  std::string namespace_;  // empty when the context sets none
};

// `context` empty means current-context. `source_name` and `base_dir` are used for messages and
// for resolving relative paths (kubectl resolves them against the kubeconfig's directory).
Result<KubeconfigContext> parse_kubeconfig(std::string_view yaml_text,
                                           const std::filesystem::path& base_dir,
                                           std::string_view context, std::string_view source_name);

// Reads `path` and parses it; errors name the file.
Result<KubeconfigContext> load_kubeconfig(const std::filesystem::path& path,
                                          std::string_view context);

struct ServerAddress {
  std::string host;  // without IPv6 brackets
  uint16_t port = 443;
  std::string path;  // a prefix such as "/k8s/clusters/c-1" (Rancher), or empty
};

// Accepts "https://host[:port][/path]" with IPv6 in brackets. Plain http is refused: the token
// would travel in clear text.
Result<ServerAddress> parse_server_url(std::string_view url);

// Standard base64 (whitespace ignored) via OpenSSL; an error for anything else.
Result<std::string> decode_base64(std::string_view text);

}  // namespace globaldns::sync::kube
