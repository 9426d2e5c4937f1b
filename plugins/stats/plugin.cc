// The stats plugin: cgroup metrics of containers of every runtime.
//
//   ctk stats [TARGET...]          docker stats' columns, a sample per --interval
//   ctk stats --no-stream          one sample
//   ctk cgroup TARGET              limits beside usage, memory breakdown, PSI, warnings
//   ctk cgroup --watch TARGET      OOM kills and limit hits as they happen ("cgroup watch")
#include "commands.h"

namespace ctk::plugins::stats {
namespace {

template <class T, size_t N> constexpr size_t count(const T (&)[N]) {
  return N;
}

#define TARGET_HELP                                                                                \
  "A container (name, ID prefix, docker://NAME, podman://NAME, containerd://NS/ID, crio://ID) "    \
  "or a host PID (pid://N or N); a PID in no container means that process's own cgroup"

const ctk_option_v1 kStatsOptions[] = {
    {"all", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Show all containers, stopped ones with blank values (default: running only)"},
    {"no-stream", 0, CTK_OPT_FLAG | CTK_OPT_NO_LIVE, CTK_ARG_STRING, nullptr, nullptr, "Print one sample and exit"},
    {"interval", 0, 0, CTK_ARG_STRING, "SECONDS", "1",
     "Seconds between samples (fractions allowed)"},
    {"iterations", 'n', CTK_OPT_NO_LIVE, CTK_ARG_INT, "N", nullptr,
     "Print N samples and exit (default: until interrupted)"},
    {"sort", 0, 0, CTK_ARG_STRING, "KEY", "name",
     "Order rows of each sample by cpu, mem, pids, net, block (largest first), name, or none"},
};
const ctk_positional_v1 kStatsPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL | CTK_POS_VARIADIC,
     "Only these containers (default: every running container)"},
};
const ctk_column_v1 kStatsColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, 0, "Container name (short ID when it has none)"},
    {"ID", "CONTAINER ID", CTK_COL_ID, CTK_COL_QUIET, "Container ID"},
    {"Runtime", "RUNTIME", CTK_COL_STRING, 0, "Runtime that owns it; - for a host process"},
    {"CPUPerc", "CPU %", CTK_COL_PERCENT, 0,
     "CPU use since the previous sample, 100% = one core (docker's formula)"},
    {"MemUsage", "MEM USAGE / LIMIT", CTK_COL_STRING, 0,
     "Working set (usage minus inactive file cache, as docker shows it) / limit (host memory "
     "when unlimited)"},
    {"MemPerc", "MEM %", CTK_COL_PERCENT, 0, "Working set as a percentage of the limit"},
    {"NetIO", "NET I/O", CTK_COL_STRING, 0, "Bytes received / sent on all interfaces but lo"},
    {"BlockIO", "BLOCK I/O", CTK_COL_STRING, 0, "Bytes read / written to block devices"},
    {"PIDs", "PIDS", CTK_COL_INT, 0, "Processes and threads in the cgroup"},
    {"PID", "PID", CTK_COL_INT, CTK_COL_HIDDEN, "Host PID of the container's init"},
    {"Cgroup", "CGROUP", CTK_COL_STRING, CTK_COL_HIDDEN | CTK_COL_WIDE, "Cgroup path"},
    {"CPUUsage", "CPU TIME", CTK_COL_DURATION, CTK_COL_HIDDEN, "CPU time used in total"},
    {"CPULimit", "CPU LIMIT", CTK_COL_STRING, CTK_COL_HIDDEN, "CPU quota in cores; null when none"},
    {"CPUPeriods", "PERIODS", CTK_COL_INT, CTK_COL_HIDDEN, "CFS bandwidth periods elapsed"},
    {"CPUThrottledPeriods", "THROTTLED", CTK_COL_INT, CTK_COL_HIDDEN,
     "Periods in which the quota ran out"},
    {"CPUThrottledTime", "THROTTLED TIME", CTK_COL_DURATION, CTK_COL_HIDDEN,
     "Time its tasks waited for the next period"},
    {"MemWorkingSet", "WORKING SET", CTK_COL_BYTES, CTK_COL_HIDDEN, "Usage minus inactive file"},
    {"MemLimit", "MEM LIMIT", CTK_COL_BYTES, CTK_COL_HIDDEN, "Memory limit; null when none"},
    {"MemCgroupUsage", "MEM CGROUP USAGE", CTK_COL_BYTES, CTK_COL_HIDDEN,
     "memory.current / memory.usage_in_bytes, page cache included"},
    {"MemAnon", "ANON", CTK_COL_BYTES, CTK_COL_HIDDEN, "Anonymous memory"},
    {"MemFile", "FILE", CTK_COL_BYTES, CTK_COL_HIDDEN, "Page cache"},
    {"MemInactiveFile", "INACTIVE FILE", CTK_COL_BYTES, CTK_COL_HIDDEN,
     "Page cache the kernel reclaims first"},
    {"MemKernel", "KERNEL", CTK_COL_BYTES, CTK_COL_HIDDEN, "Kernel memory (slab, stacks)"},
    {"MemSock", "SOCK", CTK_COL_BYTES, CTK_COL_HIDDEN, "Network socket buffers"},
    {"MemShmem", "SHMEM", CTK_COL_BYTES, CTK_COL_HIDDEN, "Shared memory and tmpfs"},
    {"MemSwap", "SWAP", CTK_COL_BYTES, CTK_COL_HIDDEN, "Swap used"},
    {"OOMEvents", "OOM", CTK_COL_INT, CTK_COL_HIDDEN, "Times the limit could not be met (v2)"},
    {"OOMKills", "OOM KILLS", CTK_COL_INT, CTK_COL_HIDDEN, "Processes the OOM killer killed"},
    {"MemLimitHits", "LIMIT HITS", CTK_COL_INT, CTK_COL_HIDDEN,
     "Times usage hit the limit (memory.events max / memory.failcnt)"},
    {"PIDsLimit", "PIDS LIMIT", CTK_COL_INT, CTK_COL_HIDDEN, "pids.max; null when none"},
    {"NetRxBytes", "NET RX", CTK_COL_BYTES, CTK_COL_HIDDEN, "Bytes received"},
    {"NetTxBytes", "NET TX", CTK_COL_BYTES, CTK_COL_HIDDEN, "Bytes sent"},
    {"NetRxPackets", "RX PACKETS", CTK_COL_INT, CTK_COL_HIDDEN, "Packets received"},
    {"NetTxPackets", "TX PACKETS", CTK_COL_INT, CTK_COL_HIDDEN, "Packets sent"},
    {"BlockReadBytes", "BLOCK READ", CTK_COL_BYTES, CTK_COL_HIDDEN, "Bytes read"},
    {"BlockWriteBytes", "BLOCK WRITE", CTK_COL_BYTES, CTK_COL_HIDDEN, "Bytes written"},
    {"BlockReadOps", "READ OPS", CTK_COL_INT, CTK_COL_HIDDEN, "Read operations"},
    {"BlockWriteOps", "WRITE OPS", CTK_COL_INT, CTK_COL_HIDDEN, "Write operations"},
    {"CPUPressure", "CPU PSI", CTK_COL_PERCENT, CTK_COL_HIDDEN,
     "Share of the last 10 s some tasks waited for CPU (PSI some avg10)"},
    {"MemPressure", "MEM PSI", CTK_COL_PERCENT, CTK_COL_HIDDEN, "Memory PSI some avg10"},
    {"MemPressureFull", "MEM PSI FULL", CTK_COL_PERCENT, CTK_COL_HIDDEN, "Memory PSI full avg10"},
    {"IOPressure", "IO PSI", CTK_COL_PERCENT, CTK_COL_HIDDEN, "IO PSI some avg10"},
    {"IOPressureFull", "IO PSI FULL", CTK_COL_PERCENT, CTK_COL_HIDDEN, "IO PSI full avg10"},
    {"Processes", "PROCESSES", CTK_COL_LIST, CTK_COL_HIDDEN | CTK_COL_WIDE,
     "Its processes as \"HOSTPID:CONTAINERPID COMM\" (as of the last container lookup)"},
    {"Warnings", "WARNINGS", CTK_COL_LIST, CTK_COL_HIDDEN | CTK_COL_WIDE,
     "Near a limit (90%), throttled, OOM kills, in plain words"},
};

const ctk_option_v1 kCgroupOptions[] = {
    {"window", 0, 0, CTK_ARG_INT, "MS", "250",
     "Milliseconds between the two CPU readings that give the usage rate"},
    {"watch", 'w', CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "Report OOM kills and limit hits as they happen, until interrupted"},
};
const ctk_positional_v1 kTarget[] = {{"TARGET", CTK_ARG_TARGET, 0, TARGET_HELP}};
const ctk_column_v1 kCgroupColumns[] = {
    {"Resource", "RESOURCE", CTK_COL_STRING, 0,
     "target, cgroup, cpu, memory, pids, io, pressure, network"},
    {"Metric", "METRIC", CTK_COL_STRING, 0, "What is measured"},
    {"Value", "VALUE", CTK_COL_STRING, CTK_COL_WIDE, "Current value, in human units"},
    {"Limit", "LIMIT", CTK_COL_STRING, 0, "Its limit, when it has one"},
    {"Percent", "%", CTK_COL_PERCENT, 0, "Value as a share of the limit (PSI: avg10)"},
    {"Note", "NOTE", CTK_COL_STRING, CTK_COL_WIDE,
     "A warning in plain words: near a limit, throttled, OOM kills"},
    {"Raw", "RAW", CTK_COL_OBJECT, CTK_COL_HIDDEN, "The value as a number (in Unit)"},
    {"RawLimit", "RAW LIMIT", CTK_COL_OBJECT, CTK_COL_HIDDEN, "The limit as a number"},
    {"Unit", "UNIT", CTK_COL_STRING, CTK_COL_HIDDEN,
     "bytes, ns, count, cores, psi, path, pid, string, bool"},
};

const ctk_column_v1 kWatchColumns[] = {
    {"Time", "TIME", CTK_COL_TIMESTAMP, 0, "When it was seen"},
    {"Name", "NAME", CTK_COL_STRING, 0, "Container (or process) name"},
    {"ID", "CONTAINER ID", CTK_COL_ID, 0, "Container ID"},
    {"Event", "EVENT", CTK_COL_STRING, 0,
     "oom_kill, oom, memory_limit, memory_high, pids_limit, gone"},
    {"Count", "COUNT", CTK_COL_INT, 0, "The kernel's counter after the event"},
    {"Delta", "DELTA", CTK_COL_INT, 0, "Events since the previous report"},
    {"Note", "NOTE", CTK_COL_STRING, CTK_COL_WIDE, "What happened, in plain words"},
};

const ctk_command_v1 kCommands[] = {
    {"stats", "Live CPU, memory, network, block IO and PIDs of containers of every runtime",
     "[OPTIONS] [TARGET...]",
     "docker stats' columns for the running containers of every runtime, read from their "
     "cgroups (v1 and v2) and network namespaces: no daemon needed. A sample every --interval "
     "seconds until interrupted, --iterations N samples, or one with --no-stream; each sample is "
     "a table, or JSON lines with --format json. CPU % of the first sample comes from a "
     "pre-read up to a second earlier, as docker's does.\n"
     "Hidden columns (--format json, --format '{{.MemAnon}}') hold the detail: memory "
     "breakdown, throttling, PSI, OOM counts, the cgroup path, host PID and processes. "
     "A container that exits mid-sample, an unreadable file or a missing controller leaves "
     "blank cells.",
     kStatsOptions, count(kStatsOptions), kStatsPositionals, count(kStatsPositionals),
     kStatsColumns, count(kStatsColumns), CTK_CMD_STREAM | CTK_CMD_LIVE,
     &rt::plugin::entry<run_stats>},
    {"cgroup", "Cgroup limits beside usage, memory breakdown, PSI and events of a container",
     "[OPTIONS] TARGET",
     "One row per metric: the cgroup path(s), CPU (rate against the quota, throttling), memory "
     "(usage and working set against the limit, anon/file/kernel/sock/shmem, swap, limit hits, "
     "OOM kills), pids, block IO, pressure (PSI) and network. NOTE says in plain words when "
     "usage is at 90% of a limit, the CPU quota is throttling it, or OOM kills happened; "
     "those notes are also printed as warnings. JSON keeps raw numbers in Raw/RawLimit/Unit.",
     kCgroupOptions, count(kCgroupOptions), kTarget, count(kTarget), kCgroupColumns,
     count(kCgroupColumns), 0, &rt::plugin::entry<run_cgroup>},
    {"cgroup watch", "Report OOM kills and limit hits of a container as they happen", "TARGET",
     "Waits on memory.events (cgroup v2, inotify) or the memory.oom_control eventfd (v1) and "
     "prints one row per event: OOM kills, OOM events, memory limit hits, memory.high hits, "
     "pids limit hits (re-read every second on v1, which has no notification for them), until "
     "interrupted or the cgroup is removed.",
     nullptr, 0, kTarget, count(kTarget), kWatchColumns, count(kWatchColumns), CTK_CMD_STREAM,
     &rt::plugin::entry<run_cgroup_watch>},
};

} // namespace
} // namespace ctk::plugins::stats

CTK_DEFINE_PLUGIN("stats", "Container resource usage from cgroups", ctk::plugins::stats::kCommands)
