// Signalling, stopping, waiting for and removing ctk containers made by any
// earlier ctk process: everything goes through the state files and locks.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/container_ops.h"
#include "internal.h"

namespace ctk::rt::container {

namespace detail {


namespace {
int rm_entry(const char *path, const struct stat *, int, struct FTW *) {
  ::remove(path);
  return 0;
}
Result<void> remove_tree(const std::string &path) {
  if (::access(path.c_str(), F_OK) != 0)
    return {};
  ::nftw(path.c_str(), rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (::access(path.c_str(), F_OK) == 0)
    return fail(Errc::io, "cannot remove " + path);
  return {};
}
} // namespace

Result<void> remove_files(const Paths &paths, const ContainerConfig &c, bool network_detached) {
  if (c.network == "bridge" && !network_detached)
    if (auto bn = net::BridgeNetwork::open({.state_dir = paths.run_root + "/net"}))
      (void)bn->detach(c.id);
  if (auto h = cgroup::Hierarchy::detect({})) {
    auto cg = cgroup::ContainerCgroup::open(*h, c.id);
    (void)cg.kill(SIGKILL);
    if (auto r = cg.remove(); !r)
      return wrap(r, "cannot remove container " + c.name);
  }
  if (auto r = remove_tree(paths.dir(c.id)); !r)
    return wrap(r, "cannot remove container " + c.name);
  ::rmdir((paths.run_dir(c.id) + "/rootfs").c_str());
  if (auto r = remove_tree(paths.run_dir(c.id)); !r)
    return wrap(r, "cannot remove container " + c.name);
  return unregister_name(paths, c.name, c.id);
}

} // namespace detail

Result<void> kill(const Paths &paths, const std::string &id, int sig) {
  auto rec = load_record(paths, id);
  if (!rec)
    return wrap(rec, "cannot kill container " + id);
  if (rec->state.status != "running" || rec->state.pid <= 0)
    return fail(Errc::invalid_argument,
                fmt::format("cannot kill container {}: it is not running", rec->config.name));
  // A pidfd pins the process, so a PID reused after the check is never signalled.
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, rec->state.pid, 0));
  if (pfd < 0)
    return fail_errno("cannot kill container " + rec->config.name);
  UniqueFd pidfd(pfd);
  if (!process_alive(rec->state.pid, rec->state.pid_start))
    return fail(Errc::invalid_argument,
                fmt::format("cannot kill container {}: it is not running", rec->config.name));
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0u) != 0)
    return fail_errno("cannot kill container " + rec->config.name);
  return {};
}

Result<int> wait(const Paths &paths, const std::string &id) {
  auto rec = load_record(paths, id);
  if (!rec)
    return wrap(rec, "cannot wait for container " + id);
  {
    auto lock = FileLock::acquire(monitor_lock_path(paths, id), LockMode::shared);
    if (!lock && lock.error().code != Errc::not_found)
      return wrap(lock, "cannot wait for container " + rec->config.name);
  }
  auto after = load_record(paths, id);
  if (!after) // --rm: it is gone; the exit code went with it
    return rec->state.exit_code;
  return after->state.exit_code;
}

Result<void> stop(const Paths &paths, const std::string &id, std::chrono::seconds timeout) {
  auto rec = load_record(paths, id);
  if (!rec)
    return wrap(rec, "cannot stop container " + id);
  if (rec->state.status != "running")
    return {}; // docker: stopping a stopped container succeeds
  if (auto r = kill(paths, id, SIGTERM); !r && r.error().code != Errc::invalid_argument)
    return r;
  const pid_t pid = rec->state.pid;
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd >= 0) {
    UniqueFd pidfd(pfd);
    pollfd p{pidfd.get(), POLLIN, 0};
    int ms = static_cast<int>(std::chrono::milliseconds(timeout).count());
    if (::poll(&p, 1, ms) == 0)
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0u);
  }
  // The monitor records the exit and tears down; stop returns after that.
  auto lock = FileLock::acquire(monitor_lock_path(paths, id), LockMode::shared);
  return {};
}

Result<void> remove(const Paths &paths, const std::string &id, bool force) {
  auto rec = load_record(paths, id);
  if (!rec)
    return wrap(rec, "cannot remove container " + id);
  const std::string &name = rec->config.name;
  if (rec->state.status == "running") {
    if (!force)
      return fail(Errc::busy, fmt::format("cannot remove container {}: it is running: stop it "
                                          "first or use rm -f",
                                          name));
    (void)kill(paths, id, SIGKILL);
  }
  {
    auto lock = FileLock::acquire(monitor_lock_path(paths, id), LockMode::exclusive);
  }
  auto lock = FileLock::acquire(paths.run_dir(id) + "/lock", LockMode::exclusive);
  return detail::remove_files(paths, rec->config);
}

} // namespace ctk::rt::container
