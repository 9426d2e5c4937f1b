// The stats plugin's commands and the helpers they share.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/cgroup_stats.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::stats {

namespace rt = ctk::rt;
namespace cg = ctk::rt::cgroup;
using rt::plugin::Call;

// What a command reads: a container (or, for a PID target outside any
// container, that host process) and its cgroup directories.
struct Subject {
  std::string name;    // container name, short ID, or the process's comm
  std::string id;      // container ID; empty for a host process
  std::string runtime; // "docker", ...; "-" for a host process
  pid_t pid = 0;       // container init (or the host process); 0 if unknown
  std::string cgroup;  // primary cgroup path, as /proc/PID/cgroup shows it
  cg::StatDirs dirs;
};

// TARGET through the resolver; a PID (pid://N or N) of a process in no
// container is taken as that host process and its own cgroup.
rt::Result<Subject> resolve_subject(rt::discovery::Resolver &r, const cg::Hierarchy &h,
                                    const std::string &target, const rt::HostPaths &paths);
// The same, with the host's cgroup layout detected and a resolver of its
// own: what a one-target command (cgroup, cgroup watch) needs.
rt::Result<Subject> target_subject(const Call &call, const std::string &target,
                                   const rt::HostPaths &paths);
// A container as listed by the resolver; fails when it has no cgroup to read.
rt::Result<Subject> subject_of(const rt::discovery::Container &c, const cg::Hierarchy &h,
                               const std::vector<rt::proc::CgroupEntry> *init_cgroups,
                               const rt::HostPaths &paths);

// The PID whose /proc/PID/net/dev counts the subject's traffic, or 0 when
// it shares the host's network namespace (--net host, a host process): its
// NET I/O would be the whole host's, so it stays blank.
pid_t net_pid_of(const Subject &s, const rt::HostPaths &paths);

// docker's units: binary with 4 significant digits for memory ("1.5GiB"),
// decimal with 3 for I/O ("12.3MB").
std::string binary_size(uint64_t v);
std::string decimal_size(uint64_t v);
std::string pair(const std::optional<uint64_t> &a, const std::optional<uint64_t> &b, bool binary);

// Waits up to `ms` or until interrupted; false when interrupted.
bool sleep_interruptible(const Call &call, int ms);

int run_cgroup(Call &call);
int run_cgroup_watch(Call &call);
int run_stats(Call &call);

} // namespace ctk::plugins::stats
