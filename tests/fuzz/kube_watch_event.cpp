// Fuzz target kube_watch_event: any bytes as one line of a Kubernetes watch stream. Decoding
// must give an event or an error, never crash, hang or leak, and must refuse a line over the
// byte limit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sync/kube/watch_event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  globaldns::sync::kube::JsonLimits limits;
  limits.max_bytes = 32 * 1024;
  limits.max_depth = 16;
  const auto result = globaldns::sync::kube::decode_watch_event(line, "fuzz", limits);
  if (size > limits.max_bytes && result.ok()) {
    std::fprintf(stderr, "kube_watch_event: accepted %zu bytes over the limit\n", size);
    std::abort();
  }
  return 0;
}
