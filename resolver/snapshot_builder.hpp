// build_snapshot: turns ZoneData into an immutable, pre-encoded Snapshot (control plane).
#pragma once

#include <memory>

#include "resolver/result.hpp"
#include "resolver/zone_data.hpp"

namespace globaldns::resolver {

class Snapshot;

// Fails (naming the offending name) on a zone or host name that is not a valid domain name,
// or a host outside every zone; translation filters those first, so a failure is a bug there.
// A fresh ZoneBuilder fed every host with add(): a name listed twice serves the union of its
// addresses, and a host without addresses is not served (no node, no empty non-terminals).
Result<std::shared_ptr<const Snapshot>> build_snapshot(const ZoneData& data);

}  // namespace globaldns::resolver
