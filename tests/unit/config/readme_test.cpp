// Tests that every YAML example in config/README.md loads without errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/yaml_loader.hpp"

namespace globaldns::config {
namespace {

// The bodies of the ```yaml fenced blocks.
std::vector<std::string> yaml_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  const std::string open = "```yaml\n";
  for (size_t start = markdown.find(open); start != std::string::npos;
       start = markdown.find(open, start)) {
    start += open.size();
    size_t end = markdown.find("```", start);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(start, end - start));
    start = end + 3;
  }
  return blocks;
}

TEST(Readme, YamlExamplesLoad) {
  std::ifstream in(std::string(GLOBALDNS_SOURCE_DIR) + "/config/README.md");
  ASSERT_TRUE(in) << "config/README.md not found";
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> blocks = yaml_blocks(text.str());
  ASSERT_FALSE(blocks.empty());
  for (size_t i = 0; i < blocks.size(); ++i) {
    LoadResult r = load_config_text(blocks[i], "README.md block " + std::to_string(i + 1));
    EXPECT_EQ(r.errors, std::vector<std::string>{}) << blocks[i];
  }
}

}  // namespace
}  // namespace globaldns::config
