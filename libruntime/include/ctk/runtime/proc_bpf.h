// The BPF fast path of the process scanner: one pass of a sleepable task
// iterator (bpf/pidmap.bpf.c) instead of reading /proc/PID/* per process.
//
//   ctk::rt::proc::ScanOptions opt;
//   opt.fields = proc::kStatus | proc::kNamespaces | proc::kCgroups | proc::kCmdline;
//   auto procs = ctk::rt::proc::scan_bpf(opt);
//   if (!procs && procs.error().code == Errc::unsupported) procs = proc::scan(opt);
//
// Fills the same Process fields as proc::scan except `state` ('?') and
// `cmdline` beyond 4 KiB (truncated, `partial` set). Cgroups: the v2 entry
// and every v1 hierarchy with a controller; named hierarchies
// ("name=systemd") are not reported. Errors: unsupported when the kernel
// lacks BTF or task iterators, permission_denied without CAP_BPF/CAP_SYS_ADMIN.
// Link ctk_runtime_bpf to use it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/proc.h"

namespace ctk::rt::proc {

struct BpfScanStats {
  double load_ms = 0;   // open, CO-RE relocation, verification
  double iter_ms = 0;   // reading the iterator (the slowest reader thread)
  double decode_ms = 0; // the slowest reader's decoding, then the merge
  size_t bytes = 0;     // iterator output size
};

struct BpfScanOptions {
  // Every v1 hierarchy with a controller, as /proc/PID/cgroup lists them.
  // When false only the v2 entry and the pids and memory hierarchies are
  // read: enough to recognise a container's cgroup, at a third of the cost.
  bool all_v1_hierarchies = true;
};

Result<std::vector<Process>> scan_bpf(const ScanOptions &opt, const BpfScanOptions &bopt = {},
                                      BpfScanStats *stats = nullptr);

// Controllers of each v1 hierarchy, from the text of /proc/cgroups
// ("cpu 1 6 1" lines): hierarchy id -> {"cpu", "cpuacct"} in subsystem order.
// Hierarchy 0 (subsystems bound to v2 or unused) is left out.
std::map<int, std::vector<std::string>> parse_proc_cgroups(std::string_view text);

// Decodes the iterator's record stream (bpf/pidmap.h). `clk_tck` converts
// start times to clock ticks. parse error on a truncated or desynced stream.
Result<std::vector<Process>>
decode_pidmap_stream(std::string_view data, const std::map<int, std::vector<std::string>> &hier,
                     long clk_tck);

} // namespace ctk::rt::proc
