// GrpcServer: DnsService on gRPC's callback API; each call is answered inline by the engine.
#include "dns/grpc/grpc_server.hpp"

#include <arpa/inet.h>
#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

#include "dns.grpc.pb.h"
#include "dns/grpc/grpc_query.hpp"
#include "metrics/query_counters.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_holder.hpp"

namespace globaldns::dns {

namespace {

// Requests up to this size reach answer_grpc_query, which turns anything over 65535 bytes into
// INVALID_ARGUMENT; past it gRPC itself answers RESOURCE_EXHAUSTED without reading it all.
constexpr int kMaxRequestBytes = 128 * 1024;
// Streams one client connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS,
// RFC 9113 §6.5.2, which recommends at least 100). gRPC's own default is unlimited; a client that
// opens more waits for a stream to finish, so one connection cannot tie up unbounded call state.
constexpr int kMaxConcurrentStreams = 100;
// How long stop() lets calls in flight finish: an answer takes microseconds.
constexpr auto kShutdownGrace = std::chrono::milliseconds(500);

// gRPC logs through gpr_log; send it to spdlog, so it has our format (text or JSON) and level.
// A client failing TLS handshakes in a loop logs an error each time: at most kLogBurst lines
// a minute go out, then one line says how many were dropped.
constexpr int kLogBurst = 20;

void log_from_grpc(gpr_log_func_args* args) {
  static std::mutex mutex;
  static auto window = std::chrono::steady_clock::time_point{};
  static int lines = 0;
  static int dropped = 0;
  {
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - window > std::chrono::minutes(1)) {
      if (dropped > 0) spdlog::warn("gRPC: {} more log lines dropped", dropped);
      window = now;
      lines = 0;
      dropped = 0;
    }
    if (++lines > kLogBurst) {
      ++dropped;
      return;
    }
  }
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      spdlog::debug("gRPC: {}", args->message);
      break;
    case GPR_LOG_SEVERITY_INFO:
      spdlog::info("gRPC: {}", args->message);
      break;
    case GPR_LOG_SEVERITY_ERROR:
      spdlog::warn("gRPC: {}", args->message);
      break;
  }
}

bool is_ipv6(const std::string& host) {
  return host.find(':') != std::string::npos;
}

std::string format_address(const std::string& host, uint16_t port) {
  std::string out;
  if (is_ipv6(host)) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

// What gRPC binds: "" is every interface; gRPC turns a wildcard into IPv6 and IPv4 sockets.
std::string grpc_target(const std::string& host, uint16_t port) {
  return format_address(host.empty() ? std::string("::") : host, port);
}

// gRPC says only that no address was added; a bind of our own says why ("Address already in
// use", "Cannot assign requested address").
std::string bind_failure(const std::string& host, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const std::string h = host.empty() ? std::string("::") : host;
  if (is_ipv6(h)) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, h.c_str(), &a->sin6_addr) != 1) return "not an IPv6 address";
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, h.c_str(), &a->sin_addr) != 1) return "not an IPv4 address";
    len = sizeof *a;
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  std::string why = "gRPC could not listen (see its log line above)";
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) why = std::strerror(errno);
  close(fd);
  return why;
}

Result<std::string> read_file(const char* what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{std::string(what) + " " + path + ": cannot read: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> memory_bio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// gRPC rejects bad PEM with a log line and a null server; checking here names the file.
Result<Ok> check_pem(const GrpcTlsOptions& tls, const std::string& cert, const std::string& key,
                     const std::string& client_ca) {
  std::unique_ptr<X509, X509Free> x509(
      PEM_read_bio_X509(memory_bio(cert).get(), nullptr, nullptr, nullptr));
  if (!x509) return Error{"grpc_tls.cert " + tls.cert + ": no PEM certificate in it"};
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      PEM_read_bio_PrivateKey(memory_bio(key).get(), nullptr, nullptr, nullptr));
  if (!pkey) return Error{"grpc_tls.key " + tls.key + ": no PEM private key in it"};
  if (X509_check_private_key(x509.get(), pkey.get()) != 1)
    return Error{"grpc_tls.key " + tls.key + " is not the key of grpc_tls.cert " + tls.cert};
  if (!client_ca.empty()) {
    std::unique_ptr<X509, X509Free> ca(
        PEM_read_bio_X509(memory_bio(client_ca).get(), nullptr, nullptr, nullptr));
    if (!ca) return Error{"grpc_tls.client_ca " + tls.client_ca + ": no PEM certificate in it"};
  }
  return ok_result();
}

Result<std::shared_ptr<::grpc::ServerCredentials>> credentials(const GrpcTlsOptions& tls) {
  if (tls.cert.empty()) return ::grpc::InsecureServerCredentials();
  auto cert = read_file("grpc_tls.cert", tls.cert);
  if (!cert) return Error{cert.error()};
  auto key = read_file("grpc_tls.key", tls.key);
  if (!key) return Error{key.error()};
  std::string client_ca;
  if (!tls.client_ca.empty()) {
    auto ca = read_file("grpc_tls.client_ca", tls.client_ca);
    if (!ca) return Error{ca.error()};
    client_ca = std::move(*ca);
  }
  if (auto checked = check_pem(tls, *cert, *key, client_ca); !checked)
    return Error{checked.error()};
  ::grpc::SslServerCredentialsOptions options(
      client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                        : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = std::move(client_ca);
  options.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  return ::grpc::SslServerCredentials(options);
}

// The service. The callback API runs Query on gRPC's own threads; it finishes inline, since the
// answer takes microseconds and never waits.
class DnsService final : public coredns::dns::DnsService::CallbackService {
 public:
  explicit DnsService(const resolver::SnapshotHolder& holder) : holder_(holder) {}

  // Before the server starts: its threads read these without a lock.
  void count_in(metrics::QueryCounters* counters, unsigned server) noexcept {
    counters_ = counters;
    metrics_server_ = server;
  }

  ::grpc::ServerUnaryReactor* Query(::grpc::CallbackServerContext* context,
                                    const coredns::dns::DnsPacket* request,
                                    coredns::dns::DnsPacket* response) override {
    // One buffer per gRPC thread; the reply is copied out of it into the response.
    thread_local std::array<uint8_t, kGrpcMaxMessage> buffer;
    // current() takes the holder's mutex for a shared_ptr copy: noise beside gRPC's own cost,
    // and gRPC's threads are not ours to give each a SnapshotReader.
    const std::shared_ptr<const resolver::Snapshot> snapshot = holder_.current();
    const std::string& msg = request->msg();
    const uint64_t started = counters_ != nullptr ? metrics::monotonic_ns() : 0;
    const GrpcAnswer a = answer_grpc_query(
        snapshot.get(),
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()), buffer);
    ::grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (!a.answered()) {
      reactor->Finish(
          ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, rejection_message(a.rejection)));
      return reactor;
    }
    if (metrics::QueryRecorder* recorder = this_threads_recorder()) {
      // "ipv6:[::1]:41000" or "ipv4:127.0.0.1:41000": the family label is the client's, as
      // the listener may take both.
      const metrics::Family family =
          context->peer().starts_with("ipv6:") ? metrics::Family::Ip6 : metrics::Family::Ip4;
      recorder->record(metrics_server_, metrics::Proto::Tcp, family, a.result,
                       static_cast<uint32_t>(a.query_size), metrics::monotonic_ns() - started);
    }
    response->set_msg(reinterpret_cast<const char*>(buffer.data()), a.response_size);
    reactor->Finish(::grpc::Status::OK);
    return reactor;
  }

 private:
  // A recorder is single-writer: each of gRPC's threads takes its own on its first query and
  // keeps it, keyed on the counters' id (not their address, which a later instance may reuse).
  metrics::QueryRecorder* this_threads_recorder() {
    if (counters_ == nullptr) return nullptr;
    thread_local uint64_t owner = 0;
    thread_local metrics::QueryRecorder* recorder = nullptr;
    if (owner != counters_->id()) {
      recorder = &counters_->add_recorder();
      owner = counters_->id();
    }
    return recorder;
  }

  const resolver::SnapshotHolder& holder_;
  metrics::QueryCounters* counters_ = nullptr;
  unsigned metrics_server_ = 0;
};

}  // namespace

struct GrpcServer::Impl {
  explicit Impl(const resolver::SnapshotHolder& holder) : service(holder) {}

  DnsService service;
  std::unique_ptr<::grpc::Server> server;
  std::string host;
  int port = 0;
};

GrpcServer::GrpcServer(const resolver::SnapshotHolder& holder)
    : impl_(std::make_unique<Impl>(holder)) {}

GrpcServer::~GrpcServer() {
  stop();
}

Result<Ok> GrpcServer::start(const GrpcServerOptions& options) {
  static std::once_flag logging;
  std::call_once(logging, [] { gpr_set_log_function(log_from_grpc); });
  const std::string shown = options.host.empty()
                                ? std::string(":").append(std::to_string(options.port))
                                : format_address(options.host, options.port);
  if (impl_->server) return Error{"cannot serve gRPC on " + shown + ": already serving"};
  auto creds = credentials(options.tls);
  if (!creds) return Error{"cannot serve gRPC on " + shown + ": " + creds.error()};

  ::grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server would share the port silently instead of
  // failing to bind, as our DNS and HTTP listeners do.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.SetMaxSendMessageSize(kMaxRequestBytes);
  int port = 0;
  builder.AddListeningPort(grpc_target(options.host, options.port), *creds, &port);
  impl_->service.count_in(options.query_counters, options.metrics_server);
  builder.RegisterService(&impl_->service);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    if (server) server->Shutdown();
    return Error{"cannot serve gRPC on " + shown + ": " + bind_failure(options.host, options.port)};
  }
  impl_->server = std::move(server);
  impl_->host = options.host;
  impl_->port = port;
  return ok_result();
}

void GrpcServer::stop() {
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  impl_->server->Wait();
  impl_->server.reset();
}

uint16_t GrpcServer::port() const noexcept {
  return static_cast<uint16_t>(impl_->port);
}

std::string GrpcServer::address() const {
  if (impl_->host.empty()) return std::string(":").append(std::to_string(impl_->port));
  return format_address(impl_->host, static_cast<uint16_t>(impl_->port));
}

}  // namespace globaldns::dns
