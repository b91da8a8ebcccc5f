// Tests that the committed example file is exactly what the settings table renders.
#include "config/example.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/yaml_loader.hpp"

namespace globaldns::config {
namespace {

const std::string kExamplePath =
    std::string(GLOBALDNS_SOURCE_DIR) + "/config/globaldns.example.yaml";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Example, CommittedFileMatchesTheTable) {
  EXPECT_EQ(read_file(kExamplePath), render_example())
      << "config/globaldns.example.yaml is stale; regenerate it with\n"
         "  cmake --build <build-dir> --target update_config_example";
}

TEST(Example, CommittedFileLoadsAsTheDefaults) {
  LoadResult r = load_config_file(kExamplePath);
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config, Config());
}

TEST(Example, EveryLineFitsAndEverySettingIsDocumented) {
  std::string text = render_example();
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100u) << line;
  }
  for (const char* key : {"\nlisten:", "\nttl: 30", "\n  mname: ", "\n  max_connections: 1024",
                          "\n  level: info", "\nfiles: []"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
}

TEST(RenderYaml, RoundTripsAChangedConfig) {
  Config c;
  c.listen = {"[::]:53", "0.0.0.0:53"};
  c.nameservers = {"ns1.example.", "ns2.example."};
  c.files = {"/path/with \"quotes\"/and\\backslash"};
  c.soa.expire = 1;
  c.tcp.max_queries_per_connection = 4294967295u;
  c.log.format = LogFormat::Json;
  LoadResult r = load_config_text(render_yaml(c), "rendered");
  ASSERT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.config, c);
}

}  // namespace
}  // namespace globaldns::config
