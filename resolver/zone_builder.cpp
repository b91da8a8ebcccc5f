// ZoneBuilder, first version: keeps the hosts and rebuilds the whole snapshot on build().
#include "resolver/zone_builder.hpp"

#include <map>

#include "dns/wire/name.hpp"
#include "resolver/snapshot.hpp"
#include "resolver/snapshot_builder.hpp"

namespace globaldns::resolver {

struct ZoneBuilder::State {
  ZoneData data;
  std::map<std::string, HostRecords> hosts;  // by lower-cased wire name
};

ZoneBuilder::ZoneBuilder() : state_(std::make_unique<State>()) {}
ZoneBuilder::~ZoneBuilder() = default;

Result<std::unique_ptr<ZoneBuilder>> ZoneBuilder::create(const ZoneData& settings) {
  ZoneData probe = settings;
  probe.hosts.clear();
  if (auto built = build_snapshot(probe); !built) return Error{built.error()};
  std::unique_ptr<ZoneBuilder> builder(new ZoneBuilder());
  builder->state_->data = std::move(probe);
  return builder;
}

Result<Ok> ZoneBuilder::upsert(const HostRecords& host) {
  auto wire = dns::wire::text_to_wire(host.name);
  if (!wire) return Error{"host \"" + host.name + "\" is not a valid domain name"};
  if (host.v4.empty() && host.v6.empty()) {
    state_->hosts.erase(*wire);
    return Ok{};
  }
  ZoneData probe = state_->data;
  probe.hosts = {host};
  if (auto built = build_snapshot(probe); !built) return Error{built.error()};
  state_->hosts[*wire] = host;
  return Ok{};
}

void ZoneBuilder::remove(std::string_view name) {
  if (auto wire = dns::wire::text_to_wire(name)) state_->hosts.erase(*wire);
}

std::shared_ptr<const Snapshot> ZoneBuilder::build(uint32_t serial) {
  ZoneData data = state_->data;
  data.serial = serial;
  for (const auto& [wire, host] : state_->hosts) data.hosts.push_back(host);
  auto built = build_snapshot(data);
  return built ? std::move(built.value()) : nullptr;  // every host was checked by upsert
}

size_t ZoneBuilder::host_count() const noexcept {
  return state_->hosts.size();
}

}  // namespace globaldns::resolver
