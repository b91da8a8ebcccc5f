// Fuzz target config_loader: any bytes as the YAML configuration text (yaml-cpp, then the
// settings table). Loading must give a Config or errors, never crash, hang, leak or throw.
#include <cstdint>
#include <string_view>

#include "config/yaml_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto loaded = globaldns::config::load_config_text(text, "fuzz.yaml");
  static_cast<void>(loaded.ok());
  return 0;
}
