// Tests of load(): the --config file, then the flags, then validation.
#include "config/load.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace globaldns::config {
namespace {

using Strings = std::vector<std::string>;

// A config file in the test's temporary directory, removed afterwards.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& text) : path_(testing::TempDir() + name) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Load, NoArgumentsGivesDefaults) {
  Invocation inv = load(Strings{});
  EXPECT_EQ(inv.errors, Strings{});
  EXPECT_EQ(inv.config, Config());
  EXPECT_FALSE(inv.help);
}

TEST(Load, FlagsOverrideTheFile) {
  TempFile file("globaldns_load_test.yaml",
                "listen: [\"10.0.0.1:53\", \"10.0.0.2:53\"]\nttl: 60\nthreads: 3\n"
                "zones: [mesh.]\nlog:\n  level: debug\n");
  Invocation inv = load(Strings{"--config", file.path(), "--ttl=5", "--listen", "[::1]:5353",
                                "--log-level", "error", "name.global"});
  ASSERT_EQ(inv.errors, Strings{});
  Config want;
  want.listen = {"[::1]:5353"};  // the flag replaced the file's two addresses
  want.ttl = 5;
  want.threads = 3;  // from the file, no flag
  want.zones = {"mesh."};
  want.log.level = LogLevel::Error;
  EXPECT_EQ(inv.config, want);
  EXPECT_EQ(inv.positional, Strings{"name.global"});
}

TEST(Load, ReportsFlagAndFileErrorsTogether) {
  TempFile file("globaldns_load_test_bad.yaml", "tll: 5\n");
  Invocation inv = load(Strings{"--threads", "x", "--config", file.path()});
  EXPECT_EQ(inv.errors,
            (Strings{"--threads: expected an integer from 0 to 1024, got \"x\"",
                     file.path() + ":1:1: unknown key \"tll\" (did you mean \"ttl\"?)"}));
}

TEST(Load, MissingConfigFile) {
  Invocation inv = load(Strings{"--config=/nonexistent/g.yaml"});
  EXPECT_EQ(inv.errors, Strings{"/nonexistent/g.yaml: cannot read: No such file or directory"});
}

TEST(Load, HelpReadsNothingElse) {
  Invocation inv = load(Strings{"--config=/nonexistent/g.yaml", "--help"});
  EXPECT_TRUE(inv.help);
  EXPECT_EQ(inv.errors, Strings{});
}

}  // namespace
}  // namespace globaldns::config
