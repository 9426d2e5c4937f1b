// What an exec copies from its target before forking: the cgroup.procs files
// of its cgroups, its capability sets and no_new_privs, its seccomp filters
// and its LSM label. Read in the parent so errors reach the user and the
// child only makes system calls.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "ctk/runtime/cgroup.h"
#include "exec_internal.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

namespace ctk::rt::ns::detail {

Result<CgroupJoin> open_cgroups(pid_t pid, const HostPaths &paths) {
  const std::string what = "cannot join the cgroups of PID " + std::to_string(pid);
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/cgroup");
  if (!text)
    return wrap(text, what);
  // Already there (a plain process in our own cgroups): nothing to write.
  // Moving a process in a v1 hierarchy waits for an RCU grace period
  // (cgroup_threadgroup_rwsem), milliseconds that a no-op should not cost.
  auto mine = read_file(paths.proc + "/self/cgroup");
  std::vector<proc::CgroupEntry> own;
  if (mine)
    own = proc::parse_cgroup_file(*mine);
  auto same_as_ours = [&](const proc::CgroupEntry &e) {
    for (const auto &o : own)
      if (o.hierarchy == e.hierarchy && o.controllers == e.controllers)
        return o.path == e.path;
    return false;
  };
  std::vector<proc::CgroupEntry> todo;
  for (auto &e : proc::parse_cgroup_file(*text))
    if (!same_as_ours(e))
      todo.push_back(std::move(e));
  if (todo.empty())
    return CgroupJoin{};
  auto h = cgroup::Hierarchy::detect(paths);
  if (!h)
    return wrap(h, what);
  CgroupJoin out;
  for (const auto &e : todo) {
    const cgroup::Mount *m = nullptr;
    if (e.hierarchy == 0) {
      m = h->mount_for("");
      if (m && m->version != 2)
        m = nullptr;
    } else if (!e.controllers.empty()) {
      m = h->mount_for(e.controllers.front());
      if (m && m->version != 1)
        m = nullptr;
    }
    if (!m)
      continue; // a hierarchy this mount namespace does not mount: nothing to join
    std::string rel = e.path;
    // A mount of a subtree (mountinfo root "/docker") shows paths below it.
    if (m->root != "/" && !m->root.empty()) {
      if (!rel.starts_with(m->root))
        continue;
      rel = rel.substr(m->root.size());
    }
    const std::string dir = m->mount_point + rel;
    if (m->version == 1) {
      auto fd = open_fd(dir + "/tasks", O_WRONLY);
      if (!fd)
        return wrap(fd, what);
      out.v1_tasks.push_back(std::move(*fd));
      continue;
    }
    auto d = open_fd(dir, O_RDONLY | O_DIRECTORY);
    if (!d)
      return wrap(d, what);
    auto procs = open_fd(dir + "/cgroup.procs", O_WRONLY);
    if (!procs)
      return wrap(procs, what);
    out.v2_dir = std::move(*d);
    out.v2_procs = std::move(*procs);
  }
  return out;
}

namespace {

uint64_t hex_field(std::string_view status, std::string_view key, bool &found) {
  found = false;
  for (auto line : split_lines(status)) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':')
      continue;
    std::string_view v = trim(line.substr(key.size() + 1));
    found = true;
    return std::strtoull(std::string(v).c_str(), nullptr, 16);
  }
  return 0;
}

// PTRACE_SECCOMP_GET_FILTER needs the target in a ptrace stop: seize,
// interrupt, read every filter (index 0 is the newest), detach. The stop
// lasts microseconds. A frozen (paused) target never stops: give up after a
// second rather than hang.
Result<std::vector<std::vector<sock_filter>>> read_seccomp_filters(pid_t pid) {
  const std::string what = "cannot read the seccomp filter of PID " + std::to_string(pid);
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0)
    return fail_errno(what + " (ptrace)");
  if (::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0) {
    int e = errno;
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    return fail_errno(what, e);
  }
  // The stop is reported to us, the tracer, with SIGCHLD: wait for that
  // (blocked, so it is not lost between the check and the wait) rather than
  // poll with sleeps, with a deadline for a target that never stops.
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &chld, &old);
  timespec deadline{};
  ::clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 1;
  bool stopped = false, exited = false;
  int err = 0;
  while (!stopped && !exited && !err) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, __WALL | WNOHANG);
    if (r == pid && WIFSTOPPED(st)) {
      stopped = true;
      break;
    }
    if (r == pid) {
      exited = true;
      break;
    }
    if (r < 0 && errno != EINTR) {
      err = errno;
      break;
    }
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long long left =
        (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
    if (left <= 0)
      break;
    timespec wait{static_cast<time_t>(left / 1000000000LL), static_cast<long>(left % 1000000000LL)};
    ::sigtimedwait(&chld, nullptr, &wait);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (exited)
    return fail(Errc::not_found, what + ": it exited");
  if (err)
    return fail_errno(what, err);
  if (!stopped)
    return fail(Errc::timeout, what + ": it does not stop (is it paused?)");
  std::vector<std::vector<sock_filter>> filters;
  for (unsigned long i = 0;; ++i) {
    long n = ::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid,
                      reinterpret_cast<void *>(i), nullptr);
    if (n < 0) {
      if (errno == ENOENT)
        break;
      int e = errno;
      ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
      return fail_errno(what, e);
    }
    std::vector<sock_filter> prog(static_cast<size_t>(n));
    if (::ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), pid,
                 reinterpret_cast<void *>(i), prog.data()) != n) {
      int e = errno;
      ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
      return fail_errno(what, e);
    }
    filters.push_back(std::move(prog));
  }
  ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  // Oldest first, the order they are to be installed in.
  std::reverse(filters.begin(), filters.end());
  return filters;
}

} // namespace

Result<Confinement> read_confinement(pid_t pid, const HostPaths &paths) {
  const std::string dir = paths.proc + "/" + std::to_string(pid);
  auto status = read_file(dir + "/status");
  if (!status)
    return wrap(status, "cannot read the confinement of PID " + std::to_string(pid));
  Confinement c;
  bool found = false;
  c.bounding = hex_field(*status, "CapBnd", found);
  if (!found)
    return fail(Errc::parse, "cannot read the capabilities of PID " + std::to_string(pid));
  c.inheritable = hex_field(*status, "CapInh", found);
  c.ambient = hex_field(*status, "CapAmb", found);
  for (auto line : split_lines(*status)) {
    if (line.starts_with("NoNewPrivs:"))
      c.no_new_privs = trim(line.substr(11)) == "1";
    if (line.starts_with("Seccomp:"))
      c.seccomp_mode = trim(line.substr(8)) == "2" ? 2 : (trim(line.substr(8)) == "1" ? 1 : 0);
  }
  if (c.seccomp_mode == 1)
    return fail(Errc::unsupported,
                "cannot enter PID " + std::to_string(pid) + ": it runs in seccomp strict mode");
  if (c.seccomp_mode == 2) {
    auto f = read_seccomp_filters(pid);
    if (!f)
      return tl::unexpected(f.error());
    c.filters = std::move(*f);
  }
  // The LSM label: AppArmor shows "profile (enforce)", SELinux a context.
  if (auto label = read_file(dir + "/attr/current")) {
    std::string l(trim(*label));
    if (!l.empty() && l.back() == '\0')
      l.pop_back();
    if (!l.empty() && l != "unconfined" && l != "kernel") {
      c.apparmor = ::access("/proc/self/attr/apparmor", F_OK) == 0;
      if (c.apparmor)
        if (auto sp = l.rfind(" ("); sp != std::string::npos)
          l.resize(sp);
      c.label = c.apparmor ? "exec " + l : l;
    }
  }
  return c;
}

} // namespace ctk::rt::ns::detail
