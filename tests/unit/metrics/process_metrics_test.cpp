// process_* read from /proc for this very process.
#include "metrics/process_metrics.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "metrics/exposition.hpp"

namespace globaldns::metrics {
namespace {

// process_* from /proc: present, and plausible for this very process.
TEST(ProcessMetrics, ReadsThisProcess) {
  Exposition e;
  write_process_metrics(e);
  const std::string& text = e.text();
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_start_time_seconds ",
                           "process_open_fds ", "process_max_fds "}) {
    const size_t at = text.find(std::string("\n") + name);
    ASSERT_NE(at, std::string::npos) << name << "\n" << text;
    const double value = std::stod(text.substr(at + 1 + std::strlen(name)));
    if (std::string(name) != "process_cpu_seconds_total ") {
      EXPECT_GT(value, 0) << name;
    }
  }
  // Resident memory below virtual, and more than a megabyte (gtest alone is more).
  const auto value_of = [&](const std::string& name) {
    return std::stod(text.substr(text.find("\n" + name + " ") + name.size() + 2));
  };
  EXPECT_LT(value_of("process_resident_memory_bytes"), value_of("process_virtual_memory_bytes"));
  EXPECT_GT(value_of("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value_of("process_start_time_seconds"), 1.5e9);
}

}  // namespace
}  // namespace globaldns::metrics
