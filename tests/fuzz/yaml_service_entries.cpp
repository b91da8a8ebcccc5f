// Fuzz target yaml_service_entries: any bytes through the ServiceEntry YAML decoder (libyaml
// events) with small limits. It must return a value or an error, never crash, hang or leak, and
// must refuse a text over its byte limit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sync/yaml_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  globaldns::sync::DecodeLimits limits;
  limits.max_bytes = 32 * 1024;
  limits.max_nodes = 4000;
  limits.max_depth = 16;
  const auto result = globaldns::sync::decode_service_entries(text, "fuzz.yaml", limits);
  if (size > limits.max_bytes && result.ok()) {
    std::fprintf(stderr, "yaml_service_entries: accepted %zu bytes over the limit\n", size);
    std::abort();
  }
  return 0;
}
