// Wiring: turns the validated Config into each module's own settings (config stays a leaf).
#pragma once

#include "config/config.hpp"
#include "dns/server/server.hpp"
#include "sync/file_source.hpp"
#include "sync/sync_controller.hpp"

namespace globaldns::app {

sync::SyncSettings sync_settings(const config::Config& config);
dns::ServerOptions server_options(const config::Config& config);
sync::FileSourceOptions file_source_options(const config::Config& config);
void configure_logging(const config::Config& config);

}  // namespace globaldns::app
