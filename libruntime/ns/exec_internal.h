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
  int seccomp_mode = 0;                         // 0 none, 1 strict, 2 filter
  std::vector<std::vector<sock_filter>> filters; // oldest first
  std::string label;                            // what to write to /proc/self/attr/exec
  bool apparmor = false;
};
Result<Confinement> read_confinement(pid_t pid, const HostPaths &paths);

// Write-only fds of the cgroup.procs files of every cgroup `pid` is in that
// this mount namespace mounts (v1 hierarchies and the v2 unified one).
Result<std::vector<UniqueFd>> open_cgroup_procs(pid_t pid, const HostPaths &paths);

} // namespace ctk::rt::ns::detail
