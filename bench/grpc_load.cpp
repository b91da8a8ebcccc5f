// grpc_load: a closed-loop load client for CoreDNS's DnsService (/coredns.dns.DnsService/Query),
// the gRPC counterpart of dnsperf for bench/grpc_compare.sh (ghz is not packaged in Debian).
//
//   grpc_load -s 127.0.0.1:5381 -d queries.txt [-c CHANNELS] [-q OUTSTANDING] [-l SECONDS]
//             [-n MAX_QUERIES]
//
// queries.txt is dnsperf's format ("name TYPE" per line, as bench/gen_data.py writes). Each of
// OUTSTANDING slots keeps one call in flight on channel slot % CHANNELS and sends the next query
// as soon as its answer arrives, until SECONDS have passed or MAX_QUERIES were sent. Latency is
// measured per call by the client (send -> completion callback). The summary uses dnsperf's
// wording where the idea is the same, so one parser reads both.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "127.0.0.1:5381";
  std::string queries;
  int channels = 2;
  int outstanding = 64;
  int seconds = 10;
  uint64_t max_queries = 0;  // 0: no limit
};

[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr,
               "grpc_load: %s\nusage: grpc_load -s HOST:PORT -d QUERYFILE [-c CHANNELS] "
               "[-q OUTSTANDING] [-l SECONDS] [-n MAX_QUERIES]\n",
               why.c_str());
  std::exit(2);
}

int positive(const char* flag, const char* text, int max) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > max) {
    usage_error(std::string(flag) + " takes a whole number from 1 to " + std::to_string(max) +
                ", got '" + text + "'");
  }
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") usage_error("help");
    if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
    const char* value = argv[++i];
    if (flag == "-s") {
      o.server = value;
    } else if (flag == "-d") {
      o.queries = value;
    } else if (flag == "-c") {
      o.channels = positive("-c", value, 256);
    } else if (flag == "-q") {
      o.outstanding = positive("-q", value, 100000);
    } else if (flag == "-l") {
      o.seconds = positive("-l", value, 3600);
    } else if (flag == "-n") {
      o.max_queries = static_cast<uint64_t>(positive("-n", value, 1 << 30));
    } else {
      usage_error("unknown option " + std::string(flag));
    }
  }
  if (o.queries.empty()) usage_error("-d QUERYFILE is required");
  return o;
}

std::optional<uint16_t> qtype_of(std::string_view name) {
  static const std::map<std::string_view, uint16_t> types = {
      {"A", 1},    {"NS", 2},    {"CNAME", 5}, {"SOA", 6},   {"PTR", 12}, {"MX", 15},
      {"TXT", 16}, {"AAAA", 28}, {"SRV", 33},  {"ANY", 255}, {"CAA", 257}};
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto it = types.find(upper);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

// One DNS query in wire format: ID 0 (every call is its own stream), no flags, one question.
std::optional<std::string> encode_query(std::string_view name, uint16_t qtype) {
  std::string out("\0\0\0\0\0\1\0\0\0\0\0\0", 12);
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  size_t total = 1;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) return std::nullopt;
    total += label.size() + 1;
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  if (total > 255) return std::nullopt;
  out.push_back('\0');
  out.push_back(static_cast<char>(qtype >> 8));
  out.push_back(static_cast<char>(qtype & 0xFF));
  out.append("\0\1", 2);  // class IN
  return out;
}

std::vector<std::string> read_queries(const std::string& path) {
  std::ifstream in(path);
  if (!in) usage_error("cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find_first_of(" \t");
    const std::string_view name = std::string_view(line).substr(0, space);
    std::string_view type = "A";
    if (space != std::string::npos) {
      type = std::string_view(line).substr(space);
      type.remove_prefix(std::min(type.find_first_not_of(" \t"), type.size()));
      type = type.substr(0, type.find_first_of(" \t"));
    }
    const auto qtype = qtype_of(type);
    auto wire = qtype ? encode_query(name, *qtype) : std::nullopt;
    if (!wire) {
      usage_error(path + ":" + std::to_string(number) + ": not a query line: '" + line + "'");
    }
    out.push_back(std::move(*wire));
  }
  if (out.empty()) usage_error(path + " holds no queries");
  return out;
}

// Shared by all slots; counters only, so the callbacks never wait for each other.
struct Run {
  const std::vector<std::string>* queries = nullptr;
  Clock::time_point deadline;
  uint64_t max_queries = 0;
  std::atomic<uint64_t> next{0};  // index of the next query to send
  std::atomic<int> active{0};     // slots still sending
  std::mutex mutex;
  std::condition_variable done;
};

// One call in flight at a time, so its fields are touched by one callback at a time.
struct Slot {
  Run* run = nullptr;
  coredns::dns::DnsService::Stub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> context;
  coredns::dns::DnsPacket request;
  coredns::dns::DnsPacket reply;
  Clock::time_point sent;
  std::vector<uint32_t> latency_us;
  uint64_t completed = 0;
  uint64_t failed = 0;  // gRPC status other than OK
  std::string first_error;
  std::array<uint64_t, 16> rcodes{};

  void send() {
    const uint64_t i = run->next.fetch_add(1, std::memory_order_relaxed);
    if (Clock::now() >= run->deadline || (run->max_queries != 0 && i >= run->max_queries)) {
      if (run->active.fetch_sub(1) == 1) {
        std::lock_guard lock(run->mutex);
        run->done.notify_all();
      }
      return;
    }
    request.set_msg((*run->queries)[i % run->queries->size()]);
    context = std::make_unique<grpc::ClientContext>();
    sent = Clock::now();
    stub->async()->Query(context.get(), &request, &reply,
                         [this](const grpc::Status& status) { finish(status); });
  }

  void finish(const grpc::Status& status) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
    if (status.ok() && reply.msg().size() >= 12) {
      ++completed;
      ++rcodes[static_cast<unsigned char>(reply.msg()[3]) & 0x0F];
      latency_us.push_back(static_cast<uint32_t>(us.count()));
    } else {
      ++failed;
      if (first_error.empty()) {
        first_error = status.ok() ? std::string("short reply") : status.error_message();
      }
    }
    send();
  }
};

double percentile_ms(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const std::vector<std::string> queries = read_queries(opt.queries);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<coredns::dns::DnsService::Stub>> stubs;
  for (int c = 0; c < opt.channels; ++c) {
    // A distinct channel argument per channel keeps gRPC from sharing one TCP connection.
    grpc::ChannelArguments args;
    args.SetInt("grpc_load.channel", c);
    channels.push_back(
        grpc::CreateCustomChannel(opt.server, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(5))) {
      std::fprintf(stderr, "grpc_load: cannot connect to %s within 5 s\n", opt.server.c_str());
      return 1;
    }
    stubs.push_back(coredns::dns::DnsService::NewStub(channels.back()));
  }

  Run run;
  run.queries = &queries;
  run.max_queries = opt.max_queries;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int s = 0; s < opt.outstanding; ++s) {
    auto slot = std::make_unique<Slot>();
    slot->run = &run;
    slot->stub = stubs[static_cast<size_t>(s % opt.channels)].get();
    slot->latency_us.reserve(1 << 16);
    slots.push_back(std::move(slot));
  }
  std::printf("[Status] Sending queries (to %s over %d channel(s), %d outstanding)\n",
              opt.server.c_str(), opt.channels, opt.outstanding);
  const auto start = Clock::now();
  run.deadline = start + std::chrono::seconds(opt.seconds);
  run.active = opt.outstanding;
  for (auto& slot : slots) slot->send();
  {
    // The calls carry no gRPC deadline of their own: bound the wait for the last ones here.
    std::unique_lock lock(run.mutex);
    if (!run.done.wait_until(lock, run.deadline + std::chrono::seconds(30),
                             [&] { return run.active.load() == 0; })) {
      std::fprintf(stderr, "grpc_load: calls still in flight 30 s after the end; giving up\n");
      std::_Exit(1);
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  uint64_t completed = 0;
  uint64_t failed = 0;
  std::array<uint64_t, 16> rcodes{};
  std::vector<uint32_t> latencies;
  std::string first_error;
  for (const auto& slot : slots) {
    completed += slot->completed;
    failed += slot->failed;
    for (size_t r = 0; r < rcodes.size(); ++r) rcodes[r] += slot->rcodes[r];
    latencies.insert(latencies.end(), slot->latency_us.begin(), slot->latency_us.end());
    if (first_error.empty()) first_error = slot->first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  double sum_ms = 0;
  for (uint32_t l : latencies) sum_ms += l / 1000.0;

  static const char* const kRcodeNames[16] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
  std::string codes;
  for (size_t r = 0; r < rcodes.size(); ++r) {
    if (rcodes[r] == 0) continue;
    if (!codes.empty()) codes.append(", ");
    codes.append(kRcodeNames[r]).append(" ").append(std::to_string(rcodes[r]));
  }
  std::printf("  Queries sent:         %llu\n",
              static_cast<unsigned long long>(completed + failed));
  std::printf("  Queries completed:    %llu\n", static_cast<unsigned long long>(completed));
  std::printf("  Queries lost:         %llu\n", static_cast<unsigned long long>(failed));
  std::printf("  Response codes:       %s\n", codes.c_str());
  std::printf("  Run time (s):         %.6f\n", elapsed);
  std::printf("  Queries per second:   %.6f\n", completed / elapsed);
  std::printf("  Average Latency (s):  %.6f\n",
              latencies.empty() ? 0.0 : sum_ms / 1000.0 / latencies.size());
  std::printf("  Latency p50 (ms):     %.3f\n", percentile_ms(latencies, 0.50));
  std::printf("  Latency p99 (ms):     %.3f\n", percentile_ms(latencies, 0.99));
  if (!first_error.empty()) std::printf("  First error:          %s\n", first_error.c_str());
  return failed == 0 && completed > 0 ? 0 : 1;
}
