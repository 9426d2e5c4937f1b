// cgroup resource metrics, one interface over v1 and v2: what `ctk stats`
// and `ctk cgroup` show.
//
//   auto h = *ctk::rt::cgroup::Hierarchy::detect({});
//   auto procs = ctk::rt::proc::read_process(pid, {.fields = proc::kCgroups});
//   auto dirs = cgroup::stat_dirs(h, procs->cgroups);          // one dir per controller
//   auto g = cgroup::StatReader::open(dirs, /*net_pid=*/pid);   // dirfds kept open
//   auto a = g->read(cgroup::kStatsAll);  auto ha = cgroup::read_host_cpu({});
//   sleep(1);
//   auto b = g->read(cgroup::kStatsAll);  auto hb = cgroup::read_host_cpu({});
//   double pct = cgroup::cpu_percent(a, b, *ha, *hb).value_or(0);   // 100 = one core
//
// Every value is optional: a file that is missing (no such controller, an
// older kernel), unreadable, or vanished with its cgroup leaves the value
// empty and never fails the sample. read() only opens the files that the
// field mask needs, each with one openat+read on a directory fd opened once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/core.h"

namespace ctk::rt::cgroup {

// What to read. Each bit names the files it costs.
enum StatField : unsigned {
  kStatCpu = 1u << 0,      // v2 cpu.stat; v1 cpuacct.usage{,_user,_sys}, cpu.stat
  kStatCpuLimit = 1u << 1, // v2 cpu.max; v1 cpu.cfs_quota_us, cpu.cfs_period_us
  kStatMemory = 1u << 2,   // usage, limit, working set: v2 memory.{current,max} + memory.stat;
                           // v1 memory.{usage,limit}_in_bytes + memory.stat
  kStatMemoryDetail =
      1u << 3, // v2 memory.swap.{current,max}; v1 memory.kmem.{,tcp.}usage_in_bytes,
               // memory.memsw.*  (breakdown itself comes with kStatMemory's memory.stat)
  kStatMemoryEvents = 1u << 4, // v2 memory.events; v1 memory.oom_control, memory{,.memsw}.failcnt
  kStatPids = 1u << 5,         // pids.current, pids.max
  kStatIo = 1u << 6,           // v2 io.stat; v1 blkio.{bfq,throttle}.io_service{_bytes,d}_recursive
  kStatPressure = 1u << 7,     // {cpu,memory,io}.pressure in the unified tree (v2 and hybrid)
  kStatNetwork = 1u << 8,      // /proc/<net_pid>/net/dev of the cgroup's network namespace
  kStatsAll = 0x1ffu,
};

// The directory of one cgroup in each hierarchy that has a controller we
// read. On v2 every controller directory is `unified`; on hybrid hosts
// `unified` is the v2 directory that holds PSI files only. Empty = absent.
struct StatDirs {
  int version = 0; // 2: controllers live in the unified tree; 1: in v1 hierarchies
  std::string unified;
  std::string cpu, cpuacct, memory, pids, blkio;
};
// From the lines of /proc/PID/cgroup of a process in the cgroup.
StatDirs stat_dirs(const Hierarchy &h, const std::vector<proc::CgroupEntry> &entries);
// From one cgroup path that is the same in every hierarchy ("/docker/<id>"),
// as runtimes create them. Directories are host paths; StatReader::open
// prefixes them with HostPaths::root (fixtures).
StatDirs stat_dirs_for_path(const Hierarchy &h, std::string_view cgroup_path);

struct CpuStats {
  std::optional<uint64_t> usage_ns, user_ns, system_ns;
  std::optional<uint64_t> nr_periods, nr_throttled, throttled_ns;
  std::optional<int64_t> quota_us; // absent when unlimited ("max", -1)
  std::optional<uint64_t> period_us;
  std::optional<double> limit_cores; // quota / period
};

struct MemoryStats {
  std::optional<uint64_t> usage;       // memory.current / memory.usage_in_bytes
  std::optional<uint64_t> limit;       // absent when unlimited
  std::optional<uint64_t> working_set; // usage - inactive file, as docker shows it
  std::optional<uint64_t> anon, file, inactive_file, kernel, sock, shmem;
  std::optional<uint64_t> swap;       // v2 memory.swap.current; v1 memory.stat total_swap
  std::optional<uint64_t> swap_limit; // v2 memory.swap.max; v1 memsw limit - memory limit
  std::optional<uint64_t> oom;        // v2 memory.events "oom" (times the limit could not be met)
  std::optional<uint64_t> oom_kill;   // v2 memory.events / v1 memory.oom_control "oom_kill"
  std::optional<uint64_t> limit_hits; // v2 memory.events "max"; v1 memory.failcnt (+ memsw.failcnt)
  std::optional<uint64_t> high_hits;  // v2 memory.events "high"
  std::optional<bool> under_oom;      // v1 memory.oom_control: tasks frozen by the OOM killer now
};

struct PidsStats {
  std::optional<uint64_t> current;
  std::optional<uint64_t> limit; // absent when "max"
};

struct IoStats {
  std::optional<uint64_t> read_bytes, write_bytes, read_ops, write_ops;
};

struct PressureLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total_us = 0;
};
struct Pressure {
  std::optional<PressureLine> some, full;
};

struct NetStats {
  std::optional<uint64_t> rx_bytes, rx_packets, tx_bytes, tx_packets; // all interfaces but lo
};

struct Sample {
  uint64_t monotonic_ns = 0; // CLOCK_MONOTONIC when the sample started
  unsigned fields = 0;       // the mask that was asked for
  CpuStats cpu;
  MemoryStats memory;
  PidsStats pids;
  IoStats io;
  Pressure cpu_pressure, memory_pressure, io_pressure;
  NetStats net;
  // True when the cgroup directories were gone (the container exited):
  // every value is then empty.
  bool vanished = false;
};

// The host's CPU time from /proc/stat's "cpu" line (all jiffies, in ns) and
// the number of online CPUs: docker's "system usage" for CPU %.
struct HostCpu {
  uint64_t monotonic_ns = 0;
  uint64_t total_ns = 0;
  unsigned online_cpus = 0;
};
Result<HostCpu> read_host_cpu(const HostPaths &paths);
// MemTotal from /proc/meminfo: the limit docker shows for an unlimited container.
Result<uint64_t> read_host_memory(const HostPaths &paths);

// CPU percent as docker computes it, 100 = one core fully busy:
// (cgroup usage delta / host CPU delta) * online CPUs * 100. Empty when a
// usage is missing, the counter went backwards (a new cgroup with the same
// name), or no host time passed.
std::optional<double> cpu_percent(const Sample &prev, const Sample &cur, const HostCpu &host_prev,
                                  const HostCpu &host_cur);

// Reads one cgroup's metrics. Holds a directory fd per hierarchy, opened
// once, so each sample costs one openat+read+close per file.
class StatReader {
public:
  // Never fails for a missing directory (its values stay empty); fails only
  // when none of the directories can be opened. `net_pid` (0 = none) is a
  // process whose network namespace is the cgroup's (a container's init).
  static Result<StatReader> open(const StatDirs &dirs, pid_t net_pid, const HostPaths &paths = {});
  StatReader(StatReader &&) noexcept = default;
  StatReader &operator=(StatReader &&) noexcept = default;

  Sample read(unsigned fields) const;
  const StatDirs &dirs() const { return dirs_; }
  pid_t net_pid() const { return net_pid_; }

private:
  StatReader() = default;
  StatDirs dirs_;
  pid_t net_pid_ = 0;
  UniqueFd unified_, cpu_, cpuacct_, memory_, pids_, blkio_, proc_;
};

// Parsers, public for the unit tests and for callers that read files
// themselves. Each fills only what the text has.
void parse_cpu_stat_v2(std::string_view text, CpuStats &out);
void parse_memory_stat(std::string_view text, int version, MemoryStats &out);
void parse_memory_events(std::string_view text, MemoryStats &out);
void parse_oom_control(std::string_view text, MemoryStats &out);
void parse_io_stat_v2(std::string_view text, IoStats &out);
// blkio "MAJ:MIN Read N" lines summed; false when the file has no device line
// (the bfq files of a disk that does not use bfq).
bool parse_blkio_v1(std::string_view text, std::optional<uint64_t> &read,
                    std::optional<uint64_t> &write);
Pressure parse_pressure(std::string_view text);
NetStats parse_net_dev(std::string_view text);
// "max" or a number, as in memory.max and pids.max. nullopt for "max".
std::optional<uint64_t> parse_limit(std::string_view text);

} // namespace ctk::rt::cgroup
