// process_* from /proc/self/stat, /proc/self/fd and /proc/stat, as client_golang's collector.
#include "metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics/exposition.hpp"

namespace globaldns::metrics {
namespace {

// The kernel's boot time, for the start time that /proc/self/stat gives in ticks since boot.
long long boot_time() {
  std::ifstream stat("/proc/stat");
  std::string key;
  long long value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
    stat.ignore(1 << 20, '\n');
  }
  return -1;
}

}  // namespace

static void write_stat(Exposition& out);
static void write_fds(Exposition& out);

void write_process_metrics(Exposition& out) {
  try {
    write_stat(out);
  } catch (const std::exception&) {
    // A /proc we cannot read as expected: the process_* from it are left out.
  }
  write_fds(out);
}

static void write_stat(Exposition& out) {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (std::getline(file, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const size_t close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(line.substr(close + 2));
      std::string f[22];  // fields 3 to 24
      for (auto& field : f) fields >> field;
      // f[i] is field i + 3 of proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24.
      const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      const long page = ::sysconf(_SC_PAGESIZE);
      if (fields && ticks > 0) {
        const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        out.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                   Type::Counter);
        out.sample("process_cpu_seconds_total", {}, cpu);
        out.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::Gauge);
        out.sample("process_virtual_memory_bytes", {}, std::stod(f[20]));
        out.family("process_resident_memory_bytes", "Resident memory size in bytes.", Type::Gauge);
        out.sample("process_resident_memory_bytes", {},
                   std::stod(f[21]) * static_cast<double>(page));
        const long long boot = boot_time();
        if (boot >= 0) {
          out.family("process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.", Type::Gauge);
          out.sample("process_start_time_seconds", {},
                     static_cast<double>(boot) + std::stod(f[19]) / ticks);
        }
      }
    }
  }
}

static void write_fds(Exposition& out) {
  std::error_code ec;
  uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++fds;
  if (!ec) {
    out.family("process_open_fds", "Number of open file descriptors.", Type::Gauge);
    out.sample("process_open_fds", {}, fds);
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.family("process_max_fds", "Maximum number of open file descriptors.", Type::Gauge);
    out.sample("process_max_fds", {}, static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace globaldns::metrics
