// Shared by the exec files of the ns module.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ctk/runtime/exec.h"

namespace ctk::rt::ns::detail {

// The target's confinement, as copied onto an exec'd command.
struct Confinement {
  uint64_t bounding = ~0ull, inheritable = 0, ambient = 0;
  bool no_new_privs = false;
  int seccomp_mode = 0;                          // 0 none, 1 strict, 2 filter
  std::vector<std::vector<sock_filter>> filters; // oldest first
  std::string label;                             // what to write to /proc/self/attr/exec
  bool apparmor = false;
};
Result<Confinement> read_confinement(pid_t pid, const HostPaths &paths);

// The cgroups of `pid` that this mount namespace mounts and we are not in
// yet. Moving a process with cgroup.procs takes the global
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
// (10-20 ms here, every time the lock has been idle); so v1 hierarchies are
// joined by writing "0" to their `tasks` file (moves only the writing thread,
// which is the whole of our single-threaded child, without that lock), and
// the v2 one by creating the child in it: clone3(CLONE_INTO_CGROUP).
struct CgroupJoin {
  std::vector<UniqueFd> v1_tasks; // write-only
  UniqueFd v2_dir;                // O_DIRECTORY, for CLONE_INTO_CGROUP
  UniqueFd v2_procs;              // write-only, when clone3 cannot be used
  bool empty() const { return v1_tasks.empty() && !v2_dir; }
};
Result<CgroupJoin> open_cgroups(pid_t pid, const HostPaths &paths);

} // namespace ctk::rt::ns::detail
