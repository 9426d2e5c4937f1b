// Pieces of the container runtime shared by its files; not public.
#pragma once

#include <sys/ioctl.h>

#include <map>
#include <string>
#include <vector>

#include "ctk/runtime/container.h"

namespace ctk::rt::container::detail {

std::string now_rfc3339();
// Replaces `path` atomically (temporary file + rename) without fsync.
Result<void> write_replace(const std::string &path, std::string_view data, mode_t mode = 0644);
Result<void> unregister_name(const Paths &paths, const std::string &name, const std::string &id);

// Removes a stopped container's directories, cgroup, endpoint and name. The
// caller made sure its monitor is gone (or is that monitor, which detaches
// the network itself: `network_detached`).
Result<void> remove_files(const Paths &paths, const ContainerConfig &c,
                          bool network_detached = false);

// Everything the container's first process needs, prepared by the monitor
// before the clone so the child only makes system calls.
struct ChildSpec {
  const ContainerConfig *cfg = nullptr;
  std::string dir;       // <root>/containers/<id>
  std::string rootfs;    // <run-root>/containers/<id>/rootfs
  std::string lowerdir;  // overlay lowerdir, top first
  std::string init_path; // host path of the static init for --init
  const security::Prepared *security = nullptr;
  const cgroup::Hierarchy *cgroups = nullptr; // the host's, mirrored at /sys/fs/cgroup
  std::vector<std::string> cgroup_dirs;       // the container's cgroup in each hierarchy
  // Set when the child was cloned into its v2 cgroup and must move itself
  // into the v1 ones (ContainerCgroup::join_self) first thing.
  const cgroup::ContainerCgroup::JoinFds *cgroup_join = nullptr;
  std::map<std::string, int> join; // "net" | "ipc" | "uts" -> namespace fd
  bool new_uts = true;
  pid_t shm_from = 0;    // --ipc container:: the target whose /dev/shm is shared
  int exec_fd = -1;      // sealed memfd of ctk-exec (see exec/ctk-exec.c)
  int go_fd = -1;        // one byte: the cgroup (and network) is ready
  int err_fd = -1;       // CLOEXEC: EOF = exec succeeded; else "<status> <message>"
  int stdio[3] = {-1, -1, -1};
  // -t: the child opens a pty from the container's own devpts (so `tty`
  // names a /dev/pts/N that exists inside), makes the slave its terminal and
  // sends the master through pty_sock; it starts with window size `winsize`.
  bool tty = false;
  int pty_sock = -1;
  winsize ws{};
};

// ctk debug (target_mount.cc): mounts c.debug_target on `dest`, an O_PATH fd
// of /target in the container's root, before pivot_root. `dir` is the
// container's directory (an image target's upper dir lives there).
Result<void> mount_debug_target(const ContainerConfig &c, const std::string &dir, int dest);
// A detached clone (open_tree) of the tree at `rel` below the root of process
// `pid` ("" = its root), made in its mount namespace by a forked helper;
// pid_start != 0 checks the process is still that one. For move_mount.
Result<UniqueFd> clone_process_tree(pid_t pid, uint64_t pid_start, const std::string &rel);

// Runs in the cloned child: namespaces, mounts, pivot_root, user, security,
// execve. Never returns.
[[noreturn]] void child_main(const ChildSpec &spec);

} // namespace ctk::rt::container::detail
