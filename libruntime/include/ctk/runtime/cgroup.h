// cgroup layout detection and process → cgroup directory mapping, for v1,
// v2 and hybrid hosts.
//
//   auto h = ctk::rt::cgroup::Hierarchy::detect({});   // reads /proc/self/mountinfo
//   // h->layout == Layout::hybrid on the CI machine (v1 controllers + empty unified)
//   auto dir = h->dir_for(process.cgroups, "memory");  // "/sys/fs/cgroup/memory/docker/<id>"
//   auto v2  = h->dir_for(process.cgroups, "");        // unified hierarchy directory
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/proc.h"

namespace ctk::rt::cgroup {

enum class Layout { v1, v2, hybrid, none };
const char *layout_name(Layout l);

struct Mount {
  std::string mount_point;              // host path, e.g. /sys/fs/cgroup/memory
  std::string root;                     // mountinfo root field ("/" normally)
  int version = 1;                      // 1 or 2
  std::vector<std::string> controllers; // v1: super options ("cpu","cpuacct","name=systemd"); v2: cgroup.controllers
};

struct Hierarchy {
  Layout layout = Layout::none;
  std::vector<Mount> mounts;

  // Parses a mountinfo file (paths.proc + "/self/mountinfo"); for v2 mounts
  // reads cgroup.controllers below paths.root-prefixed mount points.
  static Result<Hierarchy> detect(const HostPaths &paths);
  static Result<Hierarchy> from_mountinfo(std::string_view mountinfo, const HostPaths &paths);

  // The v1 mount that carries `controller`, or the v2 mount for "" (or for a
  // controller enabled in v2 on a pure v2 host).
  const Mount *mount_for(std::string_view controller) const;
  // The directory of the process's cgroup for `controller` ("" = unified).
  std::optional<std::string> dir_for(const std::vector<proc::CgroupEntry> &entries,
                                     std::string_view controller) const;
};

// The cgroup path a process is in, preferring the unified entry when it is
// not "/" and falling back to a v1 controller's path: what container
// discovery matches against.
std::string primary_path(const std::vector<proc::CgroupEntry> &entries);

} // namespace ctk::rt::cgroup
