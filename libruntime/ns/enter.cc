// Entering namespaces in a forked child, ordered as util-linux nsenter does.
//
// nsenter (sys-utils/nsenter.c) keeps its namespaces in a table whose order
// is significant: user, cgroup, ipc, uts, net, pid, mnt, time. It enters
// them in two passes: the first skips the user namespace and ignores
// failures; the second enters the user namespace and retries whatever failed,
// now reporting errors. So when the target's user namespace is the one that
// grants the privilege (a rootless container), the first pass fails with
// EPERM and the user namespace effectively goes first; when we are
// privileged and the user namespace would drop privilege, it goes last.
// Then, since a new pid namespace only applies to children, nsenter forks
// once more (continue_as_child) and propagates the child's status.
#include "ctk/runtime/ns.h"

#include <fcntl.h>
#include <sched.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ctk::rt::ns {

using proc::NsType;

int clone_flag(NsType t) {
  switch (t) {
  case NsType::cgroup:
    return CLONE_NEWCGROUP;
  case NsType::ipc:
    return CLONE_NEWIPC;
  case NsType::mnt:
    return CLONE_NEWNS;
  case NsType::net:
    return CLONE_NEWNET;
  case NsType::pid:
    return CLONE_NEWPID;
  case NsType::time:
    return CLONE_NEWTIME;
  case NsType::user:
    return CLONE_NEWUSER;
  case NsType::uts:
    return CLONE_NEWUTS;
  }
  return 0;
}

namespace {

// nsenter's namespace_files[] order.
constexpr NsType kOrder[] = {NsType::user, NsType::cgroup, NsType::ipc, NsType::uts,
                             NsType::net,  NsType::pid,    NsType::mnt, NsType::time};


// What a child reports through the status pipe when it cannot get as far as
// running the callback.
struct ChildFailure {
  enum Stage : int { setns_failed = 1, fork_failed = 2 } stage;
  int err;
  NsType type;
};

void report_and_exit(int fd, ChildFailure f) {
  // Best effort: if the parent is gone there is nobody to tell.
  ssize_t ignored = ::write(fd, &f, sizeof f);
  (void)ignored;
  ::_exit(125);
}

int status_to_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 125;
}

// Waits for `pid`, retrying on EINTR. Returns the raw status, or -1.
int wait_for(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      return -1;
  }
}

std::string what_of(const EnterSpec &spec, NsType t) {
  std::string s = std::string("the ") + proc::ns_name(t) + " namespace";
  for (const auto &[type, file] : spec.files)
    if (type == t)
      return s + " " + file;
  return s + " of pid " + std::to_string(spec.target_pid);
}

// Runs in the forked child: joins the namespaces in nsenter's two passes and
// runs fn (in a grandchild when a pid namespace was joined). Never returns.
[[noreturn]] void child_main(const EnterSpec &spec, std::vector<NsFd> &fds, int report_fd,
                             const std::function<int()> &fn) {
  // The caller may block signals (for a signalfd) or ignore SIGCHLD; the
  // work in the namespaces, often an exec'd command, should start clean, and
  // the pid-namespace middle process must be able to wait (nsenter resets
  // SIGCHLD in continue_as_child for the same reason).
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGCHLD, SIG_DFL);
  std::vector<bool> done(fds.size(), false);
  bool joined_pid = false;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].type == NsType::user)
      continue;
    if (::setns(fds[i].fd.get(), clone_flag(fds[i].type)) == 0)
      done[i] = true;
  }
  for (size_t i = 0; i < fds.size(); ++i) { // user first (it is first in the table), then retries
    if (done[i])
      continue;
    if (::setns(fds[i].fd.get(), clone_flag(fds[i].type)) != 0)
      report_and_exit(report_fd, {ChildFailure::setns_failed, errno, fds[i].type});
    done[i] = true;
  }
  for (auto &f : fds) {
    joined_pid = joined_pid || f.type == NsType::pid;
    f.fd.reset();
  }
  if (joined_pid && spec.fork_after_pidns) {
    pid_t grandchild = ::fork();
    if (grandchild < 0)
      report_and_exit(report_fd, {ChildFailure::fork_failed, errno, NsType::pid});
    if (grandchild > 0) {
      ::close(report_fd);
      int status = wait_for(grandchild);
      ::_exit(status < 0 ? 125 : status_to_code(status));
    }
  }
  ::close(report_fd);
  // An exception must not unwind into the caller's code running in the
  // child's copy of the process.
  int rc = 125;
  try {
    rc = fn();
  } catch (...) {
  }
  std::fflush(nullptr);
  ::_exit(rc & 0xff);
}

} // namespace

Result<std::vector<NsFd>> open_namespaces(const EnterSpec &spec) {
  std::vector<NsFd> out;
  auto wanted = [&](NsType t) {
    for (NsType x : spec.types)
      if (x == t)
        return true;
    for (const auto &f : spec.files)
      if (f.first == t)
        return true;
    return false;
  };
  for (NsType t : kOrder) {
    if (!wanted(t))
      continue;
    std::string path;
    for (const auto &f : spec.files)
      if (f.first == t)
        path = f.second;
    if (path.empty()) {
      if (spec.target_pid <= 0)
        return fail(Errc::invalid_argument, "cannot open " + std::string(proc::ns_name(t)) +
                                                " namespace: no target pid and no namespace file");
      path = spec.paths.proc + "/" + std::to_string(spec.target_pid) + "/ns/" + proc::ns_name(t);
    }
    auto fd = open_fd(path, O_RDONLY);
    if (!fd)
      return wrap(fd, "cannot open " + what_of(spec, t));
    // A file that is not a namespace (or another type) would only fail at
    // setns in the child, as a bare EINVAL: say what it is here.
    int kind = ::ioctl(fd->get(), NS_GET_NSTYPE);
    if (kind < 0 && errno == ENOTTY)
      return fail(Errc::invalid_argument,
                  "cannot enter " + what_of(spec, t) + ": not a namespace file", EINVAL);
    if (kind >= 0 && kind != clone_flag(t))
      return fail(Errc::invalid_argument,
                  "cannot enter " + what_of(spec, t) + ": a namespace of another type", EINVAL);
    if (t == NsType::user) {
      // setns(2) refuses to re-enter the caller's own user namespace
      // (EINVAL); nsenter -a skips it for the same reason. Joining it would
      // change nothing, so it is left out.
      struct stat mine {
      }, theirs{};
      std::string self = spec.paths.proc + "/self/ns/user";
      if (::stat(self.c_str(), &mine) == 0 && ::fstat(fd->get(), &theirs) == 0 &&
          mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev)
        continue;
    }
    out.push_back(NsFd{t, std::move(*fd)});
  }
  if (out.empty() && spec.types.empty() && spec.files.empty())
    return fail(Errc::invalid_argument, "cannot enter namespaces: none requested");
  return out;
}

Result<int> run_in(const EnterSpec &spec, const std::function<int()> &fn) {
  auto fds = open_namespaces(spec);
  if (!fds)
    return tl::unexpected(fds.error());
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return fail_errno("cannot enter namespaces: cannot create a status pipe");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  // Buffered output of the caller would otherwise be written twice.
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0)
    return fail_errno("cannot enter namespaces: cannot fork");
  if (child == 0) {
    rd.reset();
    child_main(spec, *fds, wr.release(), fn);
  }
  wr.reset();
  ChildFailure f{};
  ssize_t n;
  do {
    n = ::read(rd.get(), &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  int status = wait_for(child);
  if (n == static_cast<ssize_t>(sizeof f)) {
    if (f.stage == ChildFailure::fork_failed)
      return fail_errno(
          "cannot fork into the pid namespace of pid " + std::to_string(spec.target_pid), f.err);
    return fail_errno("cannot enter " + what_of(spec, f.type), f.err);
  }
  if (status < 0)
    return fail_errno("cannot wait for the child in the namespaces of pid " +
                      std::to_string(spec.target_pid));
  return status_to_code(status);
}

} // namespace ctk::rt::ns
