// validate(): the table's per-value checks, applied to values already in a Config.
#include "config/validate.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/setting_value.hpp"
#include "config/settings.hpp"

namespace globaldns::config {

namespace {

// The gRPC TLS files go together, and must be readable now: a typo should stop the start, not
// surface as a handshake failure in a client.
void check_grpc_tls(const GrpcTlsConfig& tls, std::vector<std::string>& errors) {
  if (!tls.cert.empty() && tls.key.empty())
    errors.push_back("grpc_tls.cert: needs grpc_tls.key, the certificate's private key");
  if (tls.cert.empty() && !tls.key.empty())
    errors.push_back("grpc_tls.key: needs grpc_tls.cert, the certificate it belongs to");
  if (tls.cert.empty() && !tls.client_ca.empty())
    errors.push_back(
        "grpc_tls.client_ca: client certificates need TLS; set grpc_tls.cert and grpc_tls.key");
  const std::pair<const char*, const std::string*> files[] = {
      {"grpc_tls.cert", &tls.cert},
      {"grpc_tls.key", &tls.key},
      {"grpc_tls.client_ca", &tls.client_ca}};
  for (const auto& [key, path] : files) {
    if (path->empty() || access(path->c_str(), R_OK) == 0) continue;
    std::string message(key);
    message.append(": cannot read ").append(*path).append(": ").append(std::strerror(errno));
    errors.push_back(std::move(message));
  }
}

}  // namespace

std::vector<std::string> validate(const Config& config) {
  std::vector<std::string> errors;
  for (const Setting& setting : settings()) {
    std::string key(setting.key);
    std::vector<std::string> texts = value_texts(setting, config);
    if (!is_list(setting)) {
      if (auto error = check_text(setting, texts.front())) errors.push_back(key + ": " + *error);
      continue;
    }
    if (auto error = check_count(setting, texts.size())) errors.push_back(key + ": " + *error);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (auto error = check_text(setting, texts[i])) {
        errors.push_back(key + "[" + std::to_string(i) + "]: " + *error);
      }
    }
  }
  // Settings that only mean something together.
  const KubernetesConfig& kube = config.kubernetes;
  if (!kube.contexts.empty() && kube.kubeconfig.empty())
    errors.push_back(
        "kubernetes.contexts: name contexts of a kubeconfig; set kubernetes.kubeconfig");
  if (kube.retry_initial_ms > kube.retry_max_ms)
    errors.push_back("kubernetes.retry_initial_ms: larger than kubernetes.retry_max_ms (" +
                     std::to_string(kube.retry_max_ms) + ")");
  check_grpc_tls(config.grpc_tls, errors);
  // A power of two, so that a bucket is a hash masked, not divided; say which one to use
  // rather than quietly allocating another size than the one asked for.
  if (const uint32_t size = config.rrl.table_size;
      size != 0 && size <= kMaxRrlTableSize && (size & (size - 1)) != 0) {
    uint32_t next = 1;
    while (next < size) next <<= 1;
    errors.push_back("rrl.table_size: " + std::to_string(size) + " is not a power of two; use " +
                     std::to_string(next / 2 != 0 ? next / 2 : 1) + " or " + std::to_string(next));
  }
  return errors;
}

}  // namespace globaldns::config
