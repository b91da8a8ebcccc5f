// GrpcServer: CoreDNS's gRPC DnsService (/coredns.dns.DnsService/Query) answering from a
// SnapshotHolder. gRPC and protobuf stay behind a pimpl: including this costs nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "resolver/result.hpp"

namespace globaldns::resolver {
class SnapshotHolder;
}
namespace globaldns::metrics {
class QueryCounters;
}

namespace globaldns::dns {

// PEM files; all empty means plaintext, as CoreDNS's grpc plugin speaks by default.
struct GrpcTlsOptions {
  std::string cert;       // certificate chain; with `key`
  std::string key;        // private key of `cert`
  std::string client_ca;  // when set, clients must present a certificate this CA signed
};

struct GrpcServerOptions {
  std::string host;  // an IP literal; "" binds every interface (IPv6 and IPv4)
  uint16_t port = 8053;
  GrpcTlsOptions tls;
  // Answered queries are counted here as server `metrics_server` (coredns_dns_*, proto "tcp":
  // gRPC runs over TCP); null: not counted. Must outlive the GrpcServer.
  metrics::QueryCounters* query_counters = nullptr;
  unsigned metrics_server = 0;
};

class GrpcServer {
 public:
  explicit GrpcServer(const resolver::SnapshotHolder& holder);
  ~GrpcServer();  // stop()s
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Reads the TLS files, binds and starts serving on gRPC's own threads. Errors name the
  // address or the file: "cannot serve gRPC on 127.0.0.1:8053: ...".
  Result<Ok> start(const GrpcServerOptions& options);
  // Lets calls in flight finish (briefly), then closes the listener. Idempotent.
  void stop();
  // The bound port (the kernel's choice when asked for 0); 0 before start().
  uint16_t port() const noexcept;
  // "127.0.0.1:8053", "[::1]:8053", ":8053" (every interface), with the bound port.
  std::string address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace globaldns::dns
