// CoreDNS's query series (plugin/metrics/vars/vars.go, monitor.go, report.go): same names, labels
// and buckets, so that dashboards built for CoreDNS ≥ 1.10 work unchanged.
#include "metrics/query_counters.hpp"

#include <array>
#include <string_view>

#include "metrics/exposition.hpp"

namespace globaldns::metrics {
namespace {

// The types CoreDNS names (plugin/metrics/vars/monitor.go monitorType); the rest are "other".
constexpr std::array<std::pair<uint16_t, const char*>, 19> kNamedTypes = {{
    {1, "A"},      {28, "AAAA"},  {5, "CNAME"},  {48, "DNSKEY"}, {43, "DS"},
    {15, "MX"},    {50, "NSEC3"}, {47, "NSEC"},  {2, "NS"},      {12, "PTR"},
    {46, "RRSIG"}, {6, "SOA"},    {33, "SRV"},   {16, "TXT"},    {65, "HTTPS"},
    {64, "SVCB"},  {251, "IXFR"}, {252, "AXFR"}, {255, "ANY"},
}};
constexpr unsigned kTypes = kNamedTypes.size() + 1;  // + "other"
// RFC 6895 §2.3 rcodes 0..16; our engine writes no other, a larger one counts in the last slot.
constexpr unsigned kRcodes = 18;

// ExponentialBuckets(0.00025, 2, 16): 0.25 ms .. 8.192 s.
constexpr unsigned kDurationBounds = 16;
constexpr uint64_t kFirstDurationNs = 250000;
// CoreDNS's size buckets (vars.go): 0,100,200,300,400,511,1023,2047,4095,8291,16e3,32e3,48e3,64e3.
constexpr std::array<double, 14> kSizeBounds = {0,    100,  200,  300,   400,   511,   1023,
                                                2047, 4095, 8291, 16000, 32000, 48000, 64000};
constexpr unsigned kSizeBuckets = kSizeBounds.size() + 1;

// The cells of one (server, zone slot), in this order.
constexpr unsigned kRequests = 0;                                   // [proto][family][type]
constexpr unsigned kResponses = kRequests + 2 * 2 * kTypes;         // [rcode]
constexpr unsigned kDo = kResponses + kRcodes;                      // one
constexpr unsigned kDuration = kDo + 1;                             // [bucket], then the sum in ns
constexpr unsigned kRequestSize = kDuration + kDurationBounds + 2;  // [proto][bucket], [proto] sums
constexpr unsigned kResponseSize = kRequestSize + 2 * kSizeBuckets + 2;
constexpr unsigned kCellsPerSeries = kResponseSize + 2 * kSizeBuckets + 2;
constexpr unsigned kZoneSlots = QueryCounters::kZones + 1;

unsigned type_index(uint16_t qtype) noexcept {
  for (unsigned i = 0; i < kNamedTypes.size(); ++i)
    if (kNamedTypes[i].first == qtype) return i;
  return kNamedTypes.size();
}

unsigned size_bucket(uint32_t size) noexcept {
  unsigned i = 0;
  while (i < kSizeBounds.size() && size > kSizeBounds[i]) ++i;
  return i;
}

unsigned duration_bucket(uint64_t ns) noexcept {
  unsigned i = 0;
  uint64_t bound = kFirstDurationNs;
  while (i < kDurationBounds && ns > bound) {
    ++i;
    bound <<= 1;
  }
  return i;
}

}  // namespace

const char* type_label(uint16_t qtype) noexcept {
  const unsigned i = type_index(qtype);
  return i < kNamedTypes.size() ? kNamedTypes[i].second : "other";
}

// miekg/dns's RcodeToString names, as CoreDNS prints them (plugin/pkg/rcode), except 16, which
// miekg/dns calls BADSIG (the TSIG meaning): to a DNS query's OPT it is BADVERS (RFC 6891).
std::string rcode_label(uint16_t rcode) {
  static constexpr const char* kNames[] = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", nullptr,
      nullptr,    nullptr,   nullptr,    nullptr,    "BADVERS",
  };
  if (rcode < std::size(kNames) && kNames[rcode] != nullptr) return kNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

QueryRecorder::QueryRecorder(size_t cells, unsigned servers) : cells_(cells), servers_(servers) {}

void QueryRecorder::record(unsigned server, Proto proto, Family family,
                           const resolver::AnswerResult& result, uint32_t request_size,
                           uint64_t duration_ns) noexcept {
  if (result.outcome == resolver::Outcome::Drop || server >= servers_) return;
  const unsigned zone = result.zone >= 0 && result.zone < static_cast<int>(QueryCounters::kZones)
                            ? result.zone + 1
                            : 0;
  Counter* c = cells_.values.get() + (size_t{server} * kZoneSlots + zone) * kCellsPerSeries;
  const unsigned p = proto == Proto::Tcp ? 1 : 0;
  const unsigned f = family == Family::Ip6 ? 1 : 0;
  add(c[kRequests + (p * 2 + f) * kTypes + type_index(result.qtype)], 1);
  add(c[kResponses + (result.rcode < kRcodes ? result.rcode : kRcodes - 1)], 1);
  if (result.dnssec_ok) add(c[kDo], 1);
  add(c[kDuration + duration_bucket(duration_ns)], 1);
  add(c[kDuration + kDurationBounds + 1], duration_ns);
  add(c[kRequestSize + p * kSizeBuckets + size_bucket(request_size)], 1);
  add(c[kRequestSize + 2 * kSizeBuckets + p], request_size);
  const auto response_size = static_cast<uint32_t>(result.size);
  add(c[kResponseSize + p * kSizeBuckets + size_bucket(response_size)], 1);
  add(c[kResponseSize + 2 * kSizeBuckets + p], response_size);
}

namespace {
std::atomic<uint64_t> next_counters_id{1};
}  // namespace

QueryCounters::QueryCounters(unsigned servers)
    : servers_(servers),
      id_(next_counters_id.fetch_add(1, std::memory_order_relaxed)),
      server_names_(servers) {}

QueryCounters::~QueryCounters() = default;

QueryRecorder& QueryCounters::add_recorder() {
  const std::lock_guard lock(mutex_);
  recorders_.push_back(std::unique_ptr<QueryRecorder>(
      new QueryRecorder(size_t{servers_} * kZoneSlots * kCellsPerSeries, servers_)));
  return *recorders_.back();
}

void QueryCounters::set_server_name(unsigned server, std::string name) {
  const std::lock_guard lock(mutex_);
  if (server < servers_) server_names_[server] = std::move(name);
}

void QueryCounters::set_zone_names(std::vector<std::string> zones) {
  const std::lock_guard lock(mutex_);
  zone_names_ = std::move(zones);
}

void QueryCounters::write(Exposition& out) const {
  const std::lock_guard lock(mutex_);
  const size_t cells = size_t{servers_} * kZoneSlots * kCellsPerSeries;
  std::vector<uint64_t> sum(cells, 0);
  for (const auto& recorder : recorders_) {
    const QueryRecorder::Counter* values = recorder->cells_.values.get();
    for (size_t i = 0; i < cells; ++i) sum[i] += values[i].load(std::memory_order_relaxed);
  }

  // Every (server, zone) that has a name, with its cells.
  struct Series {
    std::string_view server;
    std::string_view zone;
    const uint64_t* c;
  };
  std::vector<Series> series;
  for (unsigned s = 0; s < servers_; ++s) {
    if (server_names_[s].empty()) continue;
    for (unsigned z = 0; z < kZoneSlots; ++z) {
      if (z != 0 && z > zone_names_.size()) break;
      series.push_back({server_names_[s], z == 0 ? std::string_view(".") : zone_names_[z - 1],
                        sum.data() + (size_t{s} * kZoneSlots + z) * kCellsPerSeries});
    }
  }
  static constexpr const char* kProto[] = {"udp", "tcp"};
  static constexpr const char* kFamily[] = {"1", "2"};

  out.family("coredns_dns_requests_total",
             "Counter of DNS requests made per zone, protocol and family.", Type::Counter);
  for (const Series& s : series) {
    for (unsigned p = 0; p < 2; ++p) {
      for (unsigned f = 0; f < 2; ++f) {
        for (unsigned t = 0; t < kTypes; ++t) {
          const uint64_t n = s.c[kRequests + (p * 2 + f) * kTypes + t];
          if (n == 0) continue;
          const char* type = t < kNamedTypes.size() ? kNamedTypes[t].second : "other";
          out.sample("coredns_dns_requests_total",
                     {{"server", s.server},
                      {"zone", s.zone},
                      {"view", ""},
                      {"proto", kProto[p]},
                      {"family", kFamily[f]},
                      {"type", type}},
                     n);
        }
      }
    }
  }

  out.family("coredns_dns_responses_total", "Counter of response status codes.", Type::Counter);
  for (const Series& s : series) {
    for (unsigned r = 0; r < kRcodes; ++r) {
      const uint64_t n = s.c[kResponses + r];
      if (n == 0) continue;
      const std::string rcode = r + 1 < kRcodes ? rcode_label(static_cast<uint16_t>(r)) : "other";
      out.sample(
          "coredns_dns_responses_total",
          {{"server", s.server}, {"zone", s.zone}, {"view", ""}, {"rcode", rcode}, {"plugin", ""}},
          n);
    }
  }

  out.family("coredns_dns_do_requests_total", "Counter of DNS requests with DO bit set per zone.",
             Type::Counter);
  for (const Series& s : series) {
    if (s.c[kDo] == 0) continue;
    out.sample("coredns_dns_do_requests_total",
               {{"server", s.server}, {"zone", s.zone}, {"view", ""}}, s.c[kDo]);
  }

  std::array<double, kDurationBounds> duration_bounds{};
  for (unsigned i = 0; i < kDurationBounds; ++i)
    duration_bounds[i] = 0.00025 * static_cast<double>(uint64_t{1} << i);
  out.family("coredns_dns_request_duration_seconds",
             "Histogram of the time (in seconds) each request took per zone.", Type::Histogram);
  for (const Series& s : series) {
    const uint64_t* buckets = s.c + kDuration;
    uint64_t count = 0;
    for (unsigned i = 0; i <= kDurationBounds; ++i) count += buckets[i];
    if (count == 0) continue;
    const Label labels[] = {{"server", s.server}, {"zone", s.zone}, {"view", ""}};
    out.histogram("coredns_dns_request_duration_seconds", labels, duration_bounds,
                  std::span<const uint64_t>(buckets, kDurationBounds + 1),
                  static_cast<double>(buckets[kDurationBounds + 1]) / 1e9);
  }

  const struct {
    const char* name;
    const char* help;
    unsigned offset;
  } sizes[] = {
      {"coredns_dns_request_size_bytes", "Size of the request in bytes, per zone and protocol.",
       kRequestSize},
      {"coredns_dns_response_size_bytes", "Size of the returned response in bytes.", kResponseSize},
  };
  for (const auto& h : sizes) {
    out.family(h.name, h.help, Type::Histogram);
    for (const Series& s : series) {
      for (unsigned p = 0; p < 2; ++p) {
        const uint64_t* buckets = s.c + h.offset + size_t{p} * kSizeBuckets;
        uint64_t count = 0;
        for (unsigned i = 0; i < kSizeBuckets; ++i) count += buckets[i];
        if (count == 0) continue;
        const Label labels[] = {
            {"server", s.server}, {"zone", s.zone}, {"view", ""}, {"proto", kProto[p]}};
        out.histogram(h.name, labels, kSizeBounds, std::span<const uint64_t>(buckets, kSizeBuckets),
                      static_cast<double>(s.c[h.offset + 2 * kSizeBuckets + p]));
      }
    }
  }
}

}  // namespace globaldns::metrics
