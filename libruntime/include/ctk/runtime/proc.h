// The /proc scanner.
//
//   ctk::rt::proc::ScanOptions opt;            // opt.paths.proc = fixture dir in tests
//   opt.fields = proc::kPid | proc::kNsPid | proc::kNamespaces | proc::kCgroups | proc::kCmdline;
//   auto procs = ctk::rt::proc::scan(opt);     // processes (thread-group leaders) only
//   for (const auto &p : *procs) use(p.pid, p.nspid.back(), p.ns[ns_index(NsType::pid)]);
//
// A process that exits mid-scan is dropped silently; an unreadable file leaves
// its fields empty (and sets `partial`) instead of failing the scan.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"

namespace ctk::rt::proc {

enum class NsType { cgroup, ipc, mnt, net, pid, time, user, uts };
inline constexpr size_t kNsCount = 8;
inline constexpr size_t ns_index(NsType t) { return static_cast<size_t>(t); }
// "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts": the /proc/PID/ns names.
const char *ns_name(NsType t);

// One line of /proc/PID/cgroup: "hierarchy-ID:controller-list:path".
// Hierarchy 0 with empty controllers is the v2 unified hierarchy.
struct CgroupEntry {
  int hierarchy = 0;
  std::vector<std::string> controllers; // "memory", "cpu,cpuacct" split; "name=systemd" kept
  std::string path;
};
// Parses the text of /proc/PID/cgroup; malformed lines are skipped.
std::vector<CgroupEntry> parse_cgroup_file(std::string_view text);

// Fields to read; the scan reads only the files these need.
enum Field : unsigned {
  kPid = 0,           // pid is always filled
  kStatus = 1u << 0,  // ppid, comm, state, uid, gid, nspid, kernel_thread (from status)
  kNamespaces = 1u << 1,
  kCgroups = 1u << 2,
  kCmdline = 1u << 3,
  kStartTime = 1u << 4, // from stat
  kAll = 0xffffu,
};

struct Process {
  pid_t pid = 0;
  pid_t ppid = 0;
  std::string comm;
  std::vector<std::string> cmdline; // empty for kernel threads and zombies
  char state = '?';
  uid_t uid = 0; // real uid
  gid_t gid = 0;
  uint64_t start_time = 0; // clock ticks after boot (stat field 22)
  // NSpid chain as the kernel prints it: host (outermost) first, the PID in
  // the process's own PID namespace last. Size 1 for host processes.
  std::vector<pid_t> nspid;
  std::array<uint64_t, kNsCount> ns{}; // namespace inode per NsType, 0 if unknown
  std::vector<CgroupEntry> cgroups;
  bool kernel_thread = false;
  bool partial = false; // some requested field could not be read
};

struct ScanOptions {
  HostPaths paths;
  unsigned fields = kAll;
  bool include_kernel_threads = false;
};

Result<std::vector<Process>> scan(const ScanOptions &opt);
// One process; not_found if it does not exist (or vanished while being read).
Result<Process> read_process(pid_t pid, const ScanOptions &opt);

// Inode of the namespace of `type` that `pid` is in (stat of /proc/PID/ns/T).
Result<uint64_t> ns_inode(const HostPaths &paths, pid_t pid, NsType type);

} // namespace ctk::rt::proc
