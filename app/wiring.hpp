// Wiring: turns the validated Config into each module's own settings (config stays a leaf).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dns/grpc/grpc_server.hpp"
#include "dns/server/server.hpp"
#include "resolver/result.hpp"
#include "sync/file_source.hpp"
#include "sync/kube/kube_source.hpp"
#include "sync/sync_controller.hpp"

namespace globaldns::app {

sync::SyncSettings sync_settings(const config::Config& config);
dns::ServerOptions server_options(const config::Config& config);
sync::FileSourceOptions file_source_options(const config::Config& config);
// Only when config.grpc is not "off".
dns::GrpcServerOptions grpc_server_options(const config::Config& config);
// One KubeSource per cluster: in-cluster first, then each kubeconfig context. Reads the
// credentials now, so a missing token, a broken kubeconfig or an unknown context is an error
// at start-up that names the file and what is wrong.
Result<std::vector<sync::kube::KubeSourceOptions>> kube_source_options(
    const config::Config& config);

void configure_logging(const config::Config& config);

// The common start of `serve` and `check`: loads and validates the config from the flags,
// prints --help (with `usage` first) or the errors, and sets up logging. On nullopt the
// command returns `exit_code`. `command` names it in the message for a stray argument.
std::optional<config::Config> load_config_for(const char* command, const char* usage,
                                              const std::vector<std::string>& args, int& exit_code);

}  // namespace globaldns::app
