// Creating, limiting, populating and tearing down a container's cgroup, on
// v1, v2 and hybrid hosts (the layout comes from cgroup::Hierarchy).
//
//   auto h = Hierarchy::detect({});
//   auto cg = ContainerCgroup::create(*h, id, {.memory = 64 << 20, .cpus = 0.5, .pids = 100}, {});
//   cg->add(child_pid);                 // before the child execs the container's command
//   ...
//   cg->kill(SIGKILL);                  // every process in it (cgroup.kill on v2, else per pid)
//   cg->remove();                       // rmdir in every hierarchy, waiting for it to empty
//
// The cgroup is "/ctk/<id>" in every hierarchy that has a controller ctk uses
// (v1: memory, cpu, cpuacct, pids, blkio — so `ctk stats` sees the
// container's I/O as docker's does — plus the named "name=systemd" hierarchy
// when mounted, as runc does; v2: the unified tree) — what discovery's
// match_cgroup_path recognises. On a hybrid host the container is also
// placed in the v2 unified tree (no controllers there, but PSI and
// cgroup.kill work), as runc does. On v2 the parent's cgroup.subtree_control
// gets +cpu +memory +pids (those the tree has) in the mount's root and in
// /ctk. "/ctk" itself is shared by every container and is never removed
// (removing it would race with a concurrent create).
#pragma once

#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/core.h"

namespace ctk::rt::cgroup {

// Limits are checked before anything is created (check_limits): memory at
// least 6 MiB (docker's minimum), cpus at least 0.01 (the kernel's 1 ms CFS
// quota), pids at least 1 (a front end maps docker's "-1/0 = unlimited" to
// no limit).
struct Limits {
  // bytes: memory.max / memory.limit_in_bytes; swap as docker does for
  // --memory without --memory-swap (memory+swap = 2x memory) where the host
  // accounts swap (memory.swap.max / memory.memsw.limit_in_bytes exists)
  std::optional<int64_t> memory;
  // cores: cpu.max "quota period" / cfs_quota_us+cfs_period_us, period 100000
  std::optional<double> cpus;
  std::optional<int64_t> pids; // pids.max
};

// Errc::invalid_argument naming the bad value, or success.
Result<void> check_limits(const Limits &limits);

class ContainerCgroup {
public:
  // Creates /ctk/<id> (and /ctk) in every hierarchy and writes the limits.
  // An error leaves no /ctk/<id> it made (the shared /ctk and controllers
  // enabled in subtree_control stay) and names the file and the cause:
  // "cannot set memory limit: /sys/fs/cgroup/memory/ctk/ab12/memory.limit_in_bytes: ...".
  // A /ctk/<id> that already exists is joined, as runc does, and not removed
  // on error. Limits the host has no controller for are Errc::unsupported,
  // refused before anything is made. `paths` prefixes /sys for fixture tests.
  static Result<ContainerCgroup> create(const Hierarchy &h, const std::string &id,
                                        const Limits &limits, const HostPaths &paths = {});
  // The cgroup of an existing container (for stop/rm by a later ctk process).
  static ContainerCgroup open(const Hierarchy &h, const std::string &id,
                              const HostPaths &paths = {});

  // Moves `pid` into the cgroup in every hierarchy (writes cgroup.procs).
  Result<void> add(pid_t pid) const;

  // Joining without the kernel's global threadgroup lock. Writing a PID to
  // cgroup.procs takes that lock, and its first writer waits for an RCU
  // grace period (~7.5 ms here, a third of a container's start; runc pays
  // it too). A new process that is created in the v2 cgroup by
  // clone3(CLONE_INTO_CGROUP, v2_dir) and, while single-threaded, writes "0"
  // (itself) to each v1 hierarchy's `tasks` never takes it. The fds are
  // opened before the clone; the child calls join_self().
  struct JoinFds {
    UniqueFd v2_dir;                // -1 on a pure v1 host
    std::vector<UniqueFd> v1_tasks; // O_WRONLY
    std::vector<std::string> v1_dirs; // for error messages
  };
  Result<JoinFds> open_for_join() const;
  // In the new process: the v1 half of the join. Async-signal-safe apart
  // from the error's message.
  static Result<void> join_self(const JoinFds &fds);
  // Freezes (or thaws) every process in the cgroup through the v2 cgroup's
  // cgroup.freeze, and waits up to `timeout_ms` until cgroup.events says so.
  // Errc::unsupported without a v2 cgroup (a pure v1 host: ctk does not use
  // the v1 freezer hierarchy).
  Result<void> freeze(bool frozen, int timeout_ms = 2000) const;
  // Signals every process in the cgroup (v2 cgroup.kill for SIGKILL when
  // available; otherwise each pid listed in cgroup.procs, with SIGKILL
  // repeated until no new pid shows up). Does not wait for them to exit:
  // remove() does. A cgroup that no longer exists is not an error.
  Result<void> kill(int sig) const;
  // PIDs in the cgroup (from the first hierarchy that has it: the unified
  // tree when there is one). Errc::not_found when no directory exists.
  Result<std::vector<pid_t>> pids() const;
  // Removes the directories, and cgroups a container nested below them;
  // retries EBUSY up to `timeout_ms` while killed processes finish exiting
  // (the error then lists the pids still inside). Missing directories are
  // not an error (teardown is idempotent).
  Result<void> remove(int timeout_ms = 2000) const;
  // How many processes the kernel's OOM killer killed in the cgroup
  // ("oom_kill" of memory.events on v2, of memory.oom_control on v1), for
  // State.oom_killed / inspect's .State.OOMKilled. Errc::unsupported without
  // a memory controller; read it before remove().
  Result<uint64_t> oom_kills() const;

  const std::string &path() const { return path_; } // "/ctk/<id>", as in /proc/PID/cgroup
  const std::vector<std::string> &dirs() const { return dirs_; } // absolute directories

private:
  std::string path_;
  std::vector<std::string> dirs_;
  std::vector<int> versions_; // cgroup version of each of dirs_
  std::string memory_dir_; // the dir in the memory controller's hierarchy, "" if none
  int memory_version_ = 0;
};

// Every /ctk/<id> cgroup directory on the host (absolute, sorted; one per
// hierarchy), for `system check/prune`. The id is the last path component.
Result<std::vector<std::string>> list_ctk_cgroups(const Hierarchy &h, const HostPaths &paths = {});

} // namespace ctk::rt::cgroup
