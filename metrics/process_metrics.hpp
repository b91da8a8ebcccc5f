// Process metrics: the process_* series of Prometheus's client libraries, read from /proc.
#pragma once

namespace globaldns::metrics {

class Exposition;

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds. What /proc does not give
// (another OS, a read failure) is left out rather than written as 0.
void write_process_metrics(Exposition& out);

}  // namespace globaldns::metrics
