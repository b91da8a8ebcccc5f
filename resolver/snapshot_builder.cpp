// build_snapshot: a whole ZoneData through a fresh ZoneBuilder, so there is one encoding path.
#include "resolver/snapshot_builder.hpp"

#include "resolver/snapshot.hpp"
#include "resolver/zone_builder.hpp"

namespace globaldns::resolver {

Result<std::shared_ptr<const Snapshot>> build_snapshot(const ZoneData& data) {
  auto builder = ZoneBuilder::create(data);
  if (!builder) return Error{builder.error()};
  (*builder)->reserve(data.hosts.size());
  // add, not upsert: a name listed twice serves the union of its addresses.
  for (const HostRecords& host : data.hosts)
    if (auto added = (*builder)->add(host); !added) return Error{added.error()};
  return (*builder)->build(data.serial);
}

}  // namespace globaldns::resolver
