// KubeSource: GET /apis/networking.istio.io, choose the version, then list + watch it.
#include "sync/kube/kube_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "sync/kube/discovery.hpp"
#include "sync/kube/status.hpp"

namespace globaldns::sync::kube {

using std::chrono::milliseconds;

KubeSource::KubeSource(boost::asio::io_context& io, KubeSourceOptions options,
                       ChangeCallback on_change, StatusCallback on_status)
    : io_(io),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_status_(std::move(on_status)),
      token_(options_.credentials.token),
      client_(io, options_.credentials, token_),
      retry_timer_(io) {}

KubeSource::~KubeSource() {  // NOLINT(bugprone-exception-escape): see the header
  stop();
}

void KubeSource::start() {
  if (running_) return;
  running_ = true;
  alive_ = std::make_shared<int>(0);
  spdlog::info("{}: connecting to {} ({})", options_.name,
               join_host_port(options_.credentials.host, options_.credentials.port),
               options_.credentials.origin);
  discover();
}

void KubeSource::stop() {
  if (!running_) return;
  running_ = false;
  alive_.reset();
  retry_timer_.cancel();
  if (reflector_) reflector_->stop();
}

void KubeSource::discover() {
  const std::string target = std::string("/apis/").append(kIstioNetworkingGroup);
  const auto deadline = ApiClient::Clock::now() + options_.reflector.request_timeout;
  client_.get(target, deadline,
              [this, weak = std::weak_ptr<int>(alive_)](Result<HttpResponse> response) {
                if (weak.expired() || !running_) return;
                on_discovery(std::move(response));
              });
}

void KubeSource::on_discovery(Result<HttpResponse> response) {
  if (!response) {
    retry_discovery("discovery: " + response.error());
    return;
  }
  if (response->status == 404) {
    retry_discovery(std::string("the API server does not serve ")
                        .append(kIstioNetworkingGroup)
                        .append(" (are Istio's CRDs installed?)"));
    return;
  }
  if (response->status != 200) {
    const KubeStatus status = decode_status_body(response->status, response->body);
    std::string error = "discovery: ";
    error.append(describe(status));
    if (response->status == 401) error.append(" (the token was refused)");
    if (response->status == 403) error.append(" (RBAC: the identity may not read the API group)");
    retry_discovery(error);
    return;
  }
  auto served = decode_api_group(response->body);
  if (!served) {
    retry_discovery("discovery: " + served.error());
    return;
  }
  auto version = choose_version(*served, options_.pinned_version);
  if (!version) {
    retry_discovery(version.error());
    return;
  }
  start_reflector(*version);
}

void KubeSource::retry_discovery(const std::string& error) {
  const BackoffOptions& b = options_.reflector.backoff;
  retry_delay_ = retry_delay_.count() == 0
                     ? b.initial
                     : std::min(b.cap, milliseconds(static_cast<int64_t>(
                                           static_cast<double>(retry_delay_.count()) * b.factor)));
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  const double jitter = options_.reflector.random
                            ? options_.reflector.random()
                            : std::uniform_real_distribution<double>(0, 1)(engine);
  const auto delay = milliseconds(static_cast<int64_t>(
      static_cast<double>(retry_delay_.count()) * (1.0 + b.jitter * std::clamp(jitter, 0.0, 1.0))));
  // The same error every retry is logged once, then again only when it changes.
  if (error != last_discovery_error_) {
    spdlog::error("{}: {}; retrying (not ready until it succeeds)", options_.name, error);
    last_discovery_error_ = error;
  }
  status_.sync.connected = false;
  status_.sync.last_error = error;
  if (on_status_) on_status_(status_);
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this, weak = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || weak.expired() || !running_) return;
    discover();
  });
}

void KubeSource::start_reflector(const std::string& version) {
  status_.version = version;
  spdlog::info("{}: reading {}/{}", options_.name, kIstioNetworkingGroup, version);
  ReflectorOptions reflector = options_.reflector;
  reflector.group_version_path =
      std::string("/apis/").append(kIstioNetworkingGroup).append("/").append(version);
  reflector.origin = options_.name;
  reflector_ = std::make_unique<Reflector>(
      io_, client_, std::move(reflector),
      [this](StoreChange change) {
        if (on_change_) on_change_(std::move(change));
      },
      [this](const SyncState& state) {
        status_.sync = state;
        if (on_status_) on_status_(status_);
      });
  reflector_->start();
}

}  // namespace globaldns::sync::kube
