// Kubeconfig parsing with yaml-cpp; every yaml-cpp exception stops here and becomes an Error.
#include "sync/kube/kubeconfig.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace globaldns::sync::kube {
namespace {

// Internal only: thrown deep in the tree walk, turned into an Error in parse_kubeconfig.
struct ParseError {
  std::string message;
};

std::string in_quotes(std::string_view s) {
  std::string out(1, '"');  // not "\"" + string: g++ 12 -O3 warns falsely (-Wrestrict)
  out += s;
  out += '"';
  return out;
}

bool present(const YAML::Node& node) {
  return node.IsDefined() && !node.IsNull();
}

// A scalar field; absent or null reads as "". `where` names the object for the message.
std::string scalar(const YAML::Node& parent, const char* key, const std::string& where) {
  const YAML::Node node = parent[key];
  if (!present(node)) return {};
  if (!node.IsScalar()) throw ParseError{where + ": " + key + " must be a string"};
  return node.Scalar();
}

bool boolean(const YAML::Node& parent, const char* key, const std::string& where) {
  const YAML::Node node = parent[key];
  if (!present(node)) return false;
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    throw ParseError{where + ": " + key + " must be true or false"};
  }
  return value;
}

// The list under `key` ("clusters", ...), each item {name, <item_key>: {...}}.
struct NamedItem {
  std::string name;
  YAML::Node body;
};

std::vector<NamedItem> named_list(const YAML::Node& root, const char* key, const char* item_key) {
  std::vector<NamedItem> items;
  const YAML::Node list = root[key];
  if (!present(list)) return items;
  if (!list.IsSequence()) throw ParseError{std::string(key) + " must be a list"};
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) throw ParseError{where + " must be a mapping"};
    std::string name = scalar(item, "name", where);
    if (name.empty()) throw ParseError{where + " has no name"};
    YAML::Node body = item[item_key];
    if (present(body) && !body.IsMap()) {
      throw ParseError{where + " (" + in_quotes(name) + "): " + item_key + " must be a mapping"};
    }
    items.push_back({std::move(name), body});
  }
  return items;
}

const NamedItem* find(const std::vector<NamedItem>& items, std::string_view name) {
  for (const auto& item : items) {
    if (item.name == name) return &item;  // first wins, like a later duplicate being ignored
  }
  return nullptr;
}

std::string names_of(const std::vector<NamedItem>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item.name;
  }
  return out.empty() ? std::string("(none)") : out;
}

std::filesystem::path resolve(const std::filesystem::path& base_dir, const std::string& value) {
  if (value.empty()) return {};
  std::filesystem::path p(value);
  // kubectl resolves relative paths against the directory of the file that named them.
  return p.is_absolute() ? p : base_dir / p;
}

PemSource pem_source(const YAML::Node& body, const char* file_key, const char* data_key,
                     const std::filesystem::path& base_dir, const std::string& where) {
  PemSource source;
  source.file = resolve(base_dir, scalar(body, file_key, where));
  const std::string encoded = scalar(body, data_key, where);
  if (!encoded.empty()) {
    auto decoded = decode_base64(encoded);
    if (!decoded) throw ParseError{where + ": " + data_key + " " + decoded.error()};
    source.data = std::move(decoded).value();
  }
  return source;
}

KubeconfigContext walk(const YAML::Node& root, const std::filesystem::path& base_dir,
                       std::string_view wanted) {
  if (!root.IsMap()) throw ParseError{"the document is not a mapping"};
  const auto contexts = named_list(root, "contexts", "context");
  const auto clusters = named_list(root, "clusters", "cluster");
  const auto users = named_list(root, "users", "user");

  std::string name(wanted);
  if (name.empty()) {
    name = scalar(root, "current-context", "kubeconfig");
    if (name.empty()) {
      throw ParseError{"no context given and current-context is not set; contexts are: " +
                       names_of(contexts)};
    }
  }
  const NamedItem* context = find(contexts, name);
  if (context == nullptr) {
    throw ParseError{"context " + in_quotes(name) +
                     " not found; contexts are: " + names_of(contexts)};
  }
  const std::string cwhere = "context " + in_quotes(name);
  if (!present(context->body)) throw ParseError{cwhere + " is empty"};

  KubeconfigContext out;
  out.context_name = name;
  out.cluster_name = scalar(context->body, "cluster", cwhere);
  out.user_name = scalar(context->body, "user", cwhere);
  out.namespace_ = scalar(context->body, "namespace", cwhere);

  if (out.cluster_name.empty()) throw ParseError{cwhere + " names no cluster"};
  const NamedItem* cluster = find(clusters, out.cluster_name);
  if (cluster == nullptr) {
    throw ParseError{cwhere + ": cluster " + in_quotes(out.cluster_name) +
                     " not found; clusters are: " + names_of(clusters)};
  }
  const std::string kwhere = cwhere + ": cluster " + in_quotes(out.cluster_name);
  if (!present(cluster->body)) throw ParseError{kwhere + " is empty"};
  const YAML::Node& c = cluster->body;
  out.server = scalar(c, "server", kwhere);
  if (out.server.empty()) throw ParseError{kwhere + " has no server"};
  if (auto address = parse_server_url(out.server); !address) {
    throw ParseError{kwhere + ": server: " + address.error()};
  }
  out.certificate_authority =
      pem_source(c, "certificate-authority", "certificate-authority-data", base_dir, kwhere);
  out.tls_server_name = scalar(c, "tls-server-name", kwhere);
  out.verify = boolean(c, "insecure-skip-tls-verify", kwhere) ? TlsVerify::Off : TlsVerify::On;
  if (out.verify == TlsVerify::Off && !out.certificate_authority.empty()) {
    // client-go refuses this combination too: the operator's intent is unclear.
    throw ParseError{kwhere +
                     ": insecure-skip-tls-verify cannot be combined with a certificate authority"};
  }
  if (present(c["proxy-url"])) {
    throw ParseError{kwhere + ": proxy-url is not supported"};
  }

  if (out.user_name.empty()) return out;  // no credentials: anonymous, as kubectl allows
  const NamedItem* user = find(users, out.user_name);
  if (user == nullptr) {
    throw ParseError{cwhere + ": user " + in_quotes(out.user_name) +
                     " not found; users are: " + names_of(users)};
  }
  const std::string uwhere = cwhere + ": user " + in_quotes(out.user_name);
  if (!present(user->body)) return out;
  const YAML::Node& u = user->body;
  if (present(u["exec"])) {
    throw ParseError{uwhere +
                     " uses an exec credential plugin, which is not supported yet (exec plugins "
                     "are out of scope for now); use token, tokenFile or a client certificate"};
  }
  if (present(u["auth-provider"])) {
    const std::string provider =
        u["auth-provider"].IsMap() ? scalar(u["auth-provider"], "name", uwhere) : std::string();
    throw ParseError{uwhere + " uses auth-provider" +
                     (provider.empty() ? std::string() : " " + in_quotes(provider)) +
                     ", which is not supported; use token, tokenFile or a client certificate"};
  }
  if (present(u["username"]) || present(u["password"])) {
    throw ParseError{uwhere +
                     " uses username/password (basic auth), which is not supported; use token, "
                     "tokenFile or a client certificate"};
  }
  out.token = scalar(u, "token", uwhere);
  out.token_file = resolve(base_dir, scalar(u, "tokenFile", uwhere));
  out.client_certificate =
      pem_source(u, "client-certificate", "client-certificate-data", base_dir, uwhere);
  out.client_key = pem_source(u, "client-key", "client-key-data", base_dir, uwhere);
  if (out.client_certificate.empty() != out.client_key.empty()) {
    throw ParseError{uwhere + ": client-certificate and client-key must be set together"};
  }
  return out;
}

}  // namespace

Result<std::string> decode_base64(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char ch : text) {
    if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') compact.push_back(ch);
  }
  if (compact.size() % 4 != 0) return Error{"is not valid base64 (length is not a multiple of 4)"};
  if (compact.empty()) return std::string();
  std::string out(compact.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  if (n < 0) return Error{"is not valid base64"};
  // EVP_DecodeBlock counts the padding as zero bytes; drop them.
  std::size_t size = static_cast<std::size_t>(n);
  if (compact.back() == '=') --size;
  if (compact[compact.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

Result<ServerAddress> parse_server_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() || strncasecmp(url.data(), kScheme.data(), kScheme.size()) != 0) {
    return Error{"\"" + std::string(url) + "\" must start with https://"};
  }
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Error{"\"" + std::string(url) + "\" must not have a query or fragment"};
  }
  if (authority.find('@') != std::string_view::npos) {
    return Error{"\"" + std::string(url) + "\" must not contain user information"};
  }
  ServerAddress out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{"\"" + std::string(url) + "\" has no ']'"};
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Error{"\"" + std::string(url) + "\" has text after ']' that is not a port"};
      }
      port = after.substr(1);
      if (port.empty()) return Error{"\"" + std::string(url) + "\" has an empty port"};
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return Error{"\"" + std::string(url) + "\": an IPv6 address must be in brackets"};
    }
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Error{"\"" + std::string(url) + "\" has an empty port"};
    }
  }
  if (out.host.empty()) return Error{"\"" + std::string(url) + "\" has no host"};
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error{"\"" + std::string(url) + "\" has an invalid port"};
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (path != "/") out.path = std::string(path);
  return out;
}

Result<KubeconfigContext> parse_kubeconfig(std::string_view yaml_text,
                                           const std::filesystem::path& base_dir,
                                           std::string_view context, std::string_view source_name) {
  const std::string prefix = "kubeconfig " + std::string(source_name) + ": ";
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    return walk(root, base_dir, context);
  } catch (const ParseError& e) {
    return Error{prefix + e.message};
  } catch (const YAML::Exception& e) {
    return Error{prefix + "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg};
  } catch (const std::exception& e) {
    return Error{prefix + e.what()};
  }
}

Result<KubeconfigContext> load_kubeconfig(const std::filesystem::path& path,
                                          std::string_view context) {
  // A kubeconfig is small; anything larger is a mistake, not something to load.
  constexpr std::uintmax_t kMaxBytes = 16u << 20;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return Error{"kubeconfig " + path.string() + ": cannot read: " + ec.message()};
  if (!std::filesystem::is_regular_file(status)) {
    return Error{"kubeconfig " + path.string() + ": not a regular file"};
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxBytes) return Error{"kubeconfig " + path.string() + ": larger than 16 MiB"};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"kubeconfig " + path.string() + ": cannot read: " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::filesystem::path base = path.parent_path();
  if (base.empty()) base = ".";
  return parse_kubeconfig(text.str(), base, context, path.string());
}

}  // namespace globaldns::sync::kube
