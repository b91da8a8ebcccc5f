// ZoneBuilder: builds each new Snapshot from the previous one, re-encoding only the shards a
// change touched (control plane, single-threaded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "resolver/result.hpp"
#include "resolver/zone_data.hpp"

namespace globaldns::resolver {

class Snapshot;

// One change among 100,000 names must be answerable within milliseconds, so a build does not
// start from nothing: unchanged parts of the previous snapshot are shared with the new one.
// The result of any sequence of upsert/remove/build equals build_snapshot() of the same final
// data (same answers to every query).
class ZoneBuilder {
 public:
  // `zones`, ttl, edns_udp_size and chaos of `settings` are used; its hosts and serial are
  // ignored. Fails on an invalid zone, SOA or nameserver name, or a chaos text over 255 bytes,
  // as build_snapshot does.
  static Result<std::unique_ptr<ZoneBuilder>> create(const ZoneData& settings);
  ~ZoneBuilder();
  ZoneBuilder(const ZoneBuilder&) = delete;
  ZoneBuilder& operator=(const ZoneBuilder&) = delete;

  // Sets the records of host.name (replacing what it had). Empty v4 and v6 removes the host.
  // Fails, changing nothing, on a name that is not a valid domain name or lies in no zone.
  Result<Ok> upsert(const HostRecords& host);
  // Adds the addresses of host.name to those it already has, skipping duplicates: the rule
  // build_snapshot applies to a name listed twice. No addresses changes nothing. Fails like
  // upsert, changing nothing.
  Result<Ok> add(const HostRecords& host);
  // Removes a host (text form, any case, trailing dot optional); unknown names are ignored.
  void remove(std::string_view name);

  // Makes room for about `hosts` names, so a first bulk load does not rehash as it grows.
  void reserve(size_t hosts);

  // Calls its argument once for each host to load.
  using HostWalk = std::function<void(const std::function<void(const HostRecords&)>&)>;
  // Upserts every host `walk` visits (about `hosts` of them, each name once) into a builder
  // that holds only the zones' apexes: a first load. Until build() the names wait in tables of
  // about 45 bytes a name, and on a first load those tables made the start's peak; so the hosts
  // are walked twice when there are many, each time taking the names of half of the shards and
  // encoding those shards before the next walk, which halves that peak. Fails like upsert,
  // leaving the builder to be thrown away.
  Result<Ok> load(const HostWalk& walk, size_t hosts);

  // A snapshot of everything upserted so far, with this SOA serial. Cheap when little changed
  // since the last build.
  std::shared_ptr<const Snapshot> build(uint32_t serial);

  size_t host_count() const noexcept;

 private:
  ZoneBuilder();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace globaldns::resolver
