// Pieces of the container runtime shared by its files; not public.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ctk/runtime/container.h"

namespace ctk::rt::container::detail {

std::string now_rfc3339();
// Replaces `path` atomically (temporary file + rename) without fsync.
Result<void> write_replace(const std::string &path, std::string_view data, mode_t mode = 0644);
Result<void> unregister_name(const Paths &paths, const std::string &name, const std::string &id);

// Closes every descriptor of this process except `keep` (-1 entries ignored).
void close_except(std::vector<int> keep);
// Removes a stopped container's directories, cgroup, endpoint and name. The
// caller made sure its monitor is gone (or is that monitor).
Result<void> remove_files(const Paths &paths, const ContainerConfig &c);

// Everything the container's first process needs, prepared by the monitor
// before the clone so the child only makes system calls.
struct ChildSpec {
  const ContainerConfig *cfg = nullptr;
  std::string dir;       // <root>/containers/<id>
  std::string rootfs;    // <run-root>/containers/<id>/rootfs
  std::string lowerdir;  // overlay lowerdir, top first
  std::string init_path; // host path of the static init for --init
  const security::Prepared *security = nullptr;
  std::map<std::string, int> join; // "net" | "ipc" | "uts" -> namespace fd
  bool new_uts = true;
  int exec_fd = -1;      // sealed memfd of ctk-exec (see exec/ctk-exec.c)
  int go_fd = -1;        // one byte: the cgroup (and network) is ready
  int err_fd = -1;       // CLOEXEC: EOF = exec succeeded; else "<status> <message>"
  int stdio[3] = {-1, -1, -1};
  bool tty = false;
};

// Runs in the cloned child: namespaces, mounts, pivot_root, user, security,
// execve. Never returns.
[[noreturn]] void child_main(const ChildSpec &spec);

} // namespace ctk::rt::container::detail
