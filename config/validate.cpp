// validate(): the table's per-value checks, applied to values already in a Config.
#include "config/validate.hpp"

#include "config/setting_value.hpp"
#include "config/settings.hpp"

namespace globaldns::config {

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
  return errors;
}

}  // namespace globaldns::config
