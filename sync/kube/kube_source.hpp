// KubeSource: one cluster's ServiceEntries: discovery of the served version, then a Reflector.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "sync/kube/api_client.hpp"
#include "sync/kube/credentials.hpp"
#include "sync/kube/reflector.hpp"
#include "sync/kube/token_source.hpp"

namespace globaldns::sync::kube {

struct KubeSourceOptions {
  std::string name;  // the source's name in the controller and in logs: "kubernetes/cluster2"
  ClusterCredentials credentials;
  std::string pinned_version;  // "" asks /apis/networking.istio.io for the preferred one
  // Everything but group_version_path, which discovery fills in.
  ReflectorOptions reflector;
};

// What the source is doing, for logs and status pages.
struct SourceStatus {
  std::string version;  // the networking.istio.io version in use; "" before discovery
  SyncState sync;
};

// Single-threaded, on the io_context's thread, like the Reflector. Discovery failures (API
// server down, Istio CRDs not installed, RBAC) are retried with the reflector's backoff, so a
// server started before its cluster is ready catches up by itself.
class KubeSource {
 public:
  using ChangeCallback = std::function<void(StoreChange change)>;
  using StatusCallback = std::function<void(const SourceStatus& status)>;

  KubeSource(boost::asio::io_context& io, KubeSourceOptions options, ChangeCallback on_change,
             StatusCallback on_status = {});
  // stop() cancels a timer and the reflector's requests; Asio's cancel() throws only on a bad
  // descriptor, a bug for which terminating is the right outcome.
  ~KubeSource();  // NOLINT(bugprone-exception-escape)
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  void start();
  void stop();

  const std::string& name() const { return options_.name; }
  const SourceStatus& status() const { return status_; }

 private:
  void discover();
  void on_discovery(Result<HttpResponse> response);
  void retry_discovery(const std::string& error);
  void start_reflector(const std::string& version);

  boost::asio::io_context& io_;
  KubeSourceOptions options_;
  ChangeCallback on_change_;
  StatusCallback on_status_;
  TokenSource token_;
  ApiClient client_;
  std::unique_ptr<Reflector> reflector_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds retry_delay_{0};
  std::string last_discovery_error_;
  SourceStatus status_;
  std::shared_ptr<int> alive_;
  bool running_ = false;
};

}  // namespace globaldns::sync::kube
