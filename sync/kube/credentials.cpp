// Building ClusterCredentials: reading the referenced files once, with errors that name them.
#include "sync/kube/credentials.hpp"
#include "sync/kube/trim_space.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace globaldns::sync::kube {
namespace {

Result<std::string> read_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{std::string(what) + " " + path.string() + " is a directory"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{std::string(what) + " " + path.string() + ": " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{std::string(what) + " " + path.string() + ": read failed"};
  return text.str();
}

// Inline data wins over the file, as in client-go.
Result<std::optional<std::string>> load_pem(const PemSource& source, std::string_view what) {
  if (source.data) return std::optional<std::string>(*source.data);
  if (source.file.empty()) return std::optional<std::string>();
  auto text = read_file(source.file, what);
  if (!text) return Error{text.error()};
  return std::optional<std::string>(std::move(text).value());
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string join_host_port(std::string_view host, uint16_t port) {
  // Appended piece by piece: g++ 12 -O3 reports a false overlap (-Wrestrict) in "[" + string.
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

Result<ClusterCredentials> from_kubeconfig(const std::filesystem::path& path,
                                           std::string_view context) {
  auto parsed = load_kubeconfig(path, context);
  if (!parsed) return Error{parsed.error()};
  const KubeconfigContext& k = *parsed;
  const std::string prefix =
      "kubeconfig " + path.string() + ": context \"" + k.context_name + "\": ";

  auto address = parse_server_url(k.server);
  if (!address) return Error{prefix + "server: " + address.error()};
  ClusterCredentials out;
  out.host = address->host;
  out.port = address->port;
  out.base_path = address->path;
  out.verify = k.verify;
  out.tls_server_name = k.tls_server_name;
  out.token = TokenSpec{k.token, k.token_file};
  out.namespace_ = k.namespace_.empty() ? "default" : k.namespace_;
  out.context = k.context_name;
  out.origin = "kubeconfig " + path.string() + " context " + k.context_name;

  auto ca = load_pem(k.certificate_authority, "certificate-authority");
  if (!ca) return Error{prefix + ca.error()};
  out.ca_pem = std::move(ca).value();
  auto cert = load_pem(k.client_certificate, "client-certificate");
  if (!cert) return Error{prefix + cert.error()};
  out.client_cert_pem = std::move(cert).value();
  auto key = load_pem(k.client_key, "client-key");
  if (!key) return Error{prefix + key.error()};
  out.client_key_pem = std::move(key).value();
  return out;
}

Result<ClusterCredentials> from_in_cluster(const EnvLookup& env,
                                           const std::filesystem::path& root) {
  const std::string prefix = "in-cluster config: ";
  const auto host = env("KUBERNETES_SERVICE_HOST");
  const auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    std::string missing;
    if (!host || host->empty()) missing = "KUBERNETES_SERVICE_HOST";
    if (!port || port->empty()) {
      missing += missing.empty() ? "KUBERNETES_SERVICE_PORT" : " and KUBERNETES_SERVICE_PORT";
    }
    return Error{prefix + missing + " not set (not running in a pod?)"};
  }
  unsigned port_value = 0;
  const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), port_value);
  if (ec != std::errc() || end != port->data() + port->size() || port_value == 0 ||
      port_value > 65535) {
    return Error{prefix + "KUBERNETES_SERVICE_PORT \"" + *port + "\" is not a port"};
  }

  ClusterCredentials out;
  // The variable holds a bare address; strip brackets in case someone added them.
  out.host = *host;
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  out.port = static_cast<uint16_t>(port_value);
  out.origin = "in-cluster";

  const auto token_path = root / "token";
  auto token = read_file(token_path, "service account token");
  if (!token) return Error{prefix + token.error()};
  // Both set, as client-go does: the file is re-read on rotation, the first read is the fallback.
  out.token = TokenSpec{trim_space(std::move(token).value()), token_path};
  if (out.token.token.empty())
    return Error{prefix + "service account token " + token_path.string() + " is empty"};

  auto ca = read_file(root / "ca.crt", "service account CA");
  if (!ca) return Error{prefix + ca.error()};
  out.ca_pem = std::move(ca).value();

  // The namespace file comes from the downward API; without it, fall back like client-go.
  auto ns = read_file(root / "namespace", "namespace");
  out.namespace_ = ns ? trim_space(std::move(ns).value()) : std::string();
  if (out.namespace_.empty()) out.namespace_ = "default";
  return out;
}

}  // namespace globaldns::sync::kube
