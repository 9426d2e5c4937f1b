// spawn(): everything is opened and read in the parent, then a forked child
// joins the target step by step and execs the command.
//
// The child, in order: not dumpable; joins the cgroups (by fds opened in the
// host's mount namespace); closes every fd it does not need; for
// --keep-host-fs, clones the target's root tree inside its mount namespace
// and builds a private copy of the host's; joins the namespaces as nsenter
// does (ns.h); sets root and working directory; forks once more when it
// joined a pid namespace (the command's process is then the grandchild,
// the child waits and passes its status on). The command's process sets up
// its stdio or terminal, credentials and confinement, and execs the sealed
// ctk-exec helper, which execs the command.
//
// Two pipes lead back: `pid_w` carries the grandchild's host PID (so the
// caller can forward signals to it), `status_w` a "<status> <message>" when
// anything fails before the command runs. Both are close-on-exec: EOF on
// status_w with nothing read means the command is running.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "ctk/runtime/pty.h"
#include "exec_internal.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

extern char **environ;

namespace ctk::rt::ns {

using proc::NsType;

Result<void> validate(const ExecSpec &spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return fail(Errc::invalid_argument, "no command to run");
  if ((spec.root == PathMode::host_dir || spec.root == PathMode::ns_dir) && spec.root_path.empty())
    return fail(Errc::invalid_argument, "no root directory given");
  if ((spec.cwd == PathMode::host_dir || spec.cwd == PathMode::ns_dir) && spec.cwd_path.empty())
    return fail(Errc::invalid_argument, "no working directory given");
  if ((spec.root == PathMode::target || spec.cwd == PathMode::target || spec.copy_cgroup ||
       spec.copy_confinement || spec.keep_host_fs) &&
      spec.enter.target_pid <= 0)
    return fail(Errc::invalid_argument, "a target process is needed");
  if (spec.keep_host_fs && spec.root != PathMode::keep)
    return fail(Errc::invalid_argument, "--keep-host-fs keeps the host's root");
  return {};
}

namespace {

// Everything the child needs, prepared so that it only makes system calls.
struct Plan {
  const ExecSpec *spec = nullptr;
  std::vector<NsFd> ns;
  bool joins_pid = false, joins_user = false;
  UniqueFd root, cwd, target_mnt, host_mnt, helper, devnull;
  detail::CgroupJoin cgroups;
  bool in_v2_cgroup = false; // created there by clone3
  detail::Confinement conf;
  int pid_w = -1, status_w = -1;
  std::vector<std::string> env;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool set_uid = false, set_gid = false, set_groups = false;
};

[[noreturn]] void die(const Plan &p, int status, const std::string &msg) {
  std::string line = std::to_string(status) + " " + msg;
  (void)!::write(p.status_w, line.data(), line.size());
  ::_exit(status);
}
[[noreturn]] void die_errno(const Plan &p, const std::string &msg) {
  die(p, 125, msg + ": " + std::strerror(errno));
}



std::string ns_what(const Plan &p, NsType t) {
  for (const auto &[type, file] : p.spec->enter.files)
    if (type == t)
      return std::string("the ") + proc::ns_name(t) + " namespace " + file;
  return std::string("the ") + proc::ns_name(t) + " namespace of PID " +
         std::to_string(p.spec->enter.target_pid);
}

// --keep-host-fs, before any namespace is joined: the target's root tree is
// cloned inside its mount namespace (open_tree refuses a mount of another
// namespace), then the child goes back to the host's namespace, unshares a
// private copy, and builds a root of its own on a tmpfs: every top-level
// entry of the host's / bound in, /target the target's tree, /proc and /sys
// empty for the command's process to mount.
void build_host_root(Plan &p) {
  if (::setns(p.target_mnt.get(), CLONE_NEWNS) != 0)
    die_errno(p, "cannot enter the mount namespace of PID " +
                     std::to_string(p.spec->enter.target_pid));
  int tree = static_cast<int>(
      ::syscall(SYS_open_tree, p.root.get(), "",
                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH));
  if (tree < 0)
    die_errno(p, "cannot clone the root of PID " + std::to_string(p.spec->enter.target_pid));
  if (::setns(p.host_mnt.get(), CLONE_NEWNS) != 0 || ::unshare(CLONE_NEWNS) != 0)
    die_errno(p, "cannot create a private mount namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    die_errno(p, "cannot make the private mount namespace a slave");
  DIR *d = ::opendir("/");
  if (!d)
    die_errno(p, "cannot list /");
  // /proc is replaced anyway: its mount point carries the new root.
  const char *base = "/proc";
  if (::mount("ctk-host", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    die_errno(p, "cannot mount a tmpfs for the private root");
  while (dirent *e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == "target")
      continue;
    std::string src = "/" + name, dst = std::string(base) + "/" + name;
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      char link[4096];
      ssize_t n = ::readlink(src.c_str(), link, sizeof link - 1);
      if (n > 0) {
        link[n] = 0;
        (void)!::symlink(link, dst.c_str());
      }
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      ::mkdir(dst.c_str(), st.st_mode & 07777);
      if (name == "proc" || name == "sys")
        continue;
    } else {
      UniqueFd f(::open(dst.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    }
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      die_errno(p, "cannot bind " + src + " into the private root");
  }
  ::closedir(d);
  std::string target = std::string(base) + "/target";
  ::mkdir(target.c_str(), 0755);
  if (::syscall(SYS_move_mount, tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    die_errno(p, "cannot attach the target's root at /target");
  ::close(tree);
  if (::chdir(base) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0)
    die_errno(p, "cannot switch to the private root");
}

std::string find_in_path(const std::string &file, const std::string &path) {
  for (auto dir : split(path, ':')) {
    std::string cand = std::string(dir.empty() ? "." : dir) + "/" + file;
    struct stat st {};
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      return cand;
  }
  return {};
}

Result<void> apply_confinement(const Plan &p) {
  const auto &c = p.conf;
  int last = 63;
  while (last > 0 && ::prctl(PR_CAPBSET_READ, last) < 0)
    --last;
  for (int cap = 0; cap <= last; ++cap)
    if (!(c.bounding & (1ull << cap)) && ::prctl(PR_CAPBSET_DROP, cap) != 0)
      return fail_errno("cannot drop capability " + std::to_string(cap) + " from the bounding set");
  return {};
}

Result<void> apply_late_confinement(const Plan &p) {
  const auto &c = p.conf;
  // Permitted stays what it is (root: everything, for the seccomp load
  // below); inheritable and ambient become the target's.
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0)
    return fail_errno("cannot read capabilities");
  for (int i = 0; i < 2; ++i) {
    data[i].inheritable = static_cast<uint32_t>(c.inheritable >> (32 * i)) & data[i].permitted;
    data[i].effective = data[i].permitted;
  }
  if (::syscall(SYS_capset, &hdr, data) != 0)
    return fail_errno("cannot set capabilities");
  for (int cap = 0; cap < 64; ++cap)
    if (c.ambient & (1ull << cap))
      (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  if (c.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail_errno("cannot set no_new_privs");
  if (!c.label.empty()) {
    const char *attr = c.apparmor ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec";
    UniqueFd f(::open(attr, O_WRONLY | O_CLOEXEC));
    if (!f || ::write(f.get(), c.label.data(), c.label.size()) < 0)
      return fail_errno("cannot set the LSM label \"" + c.label + "\"");
  }
  for (const auto &f : c.filters) {
    sock_fprog prog{static_cast<unsigned short>(f.size()), const_cast<sock_filter *>(f.data())};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
      return fail_errno("cannot load the target's seccomp filter");
  }
  return {};
}

// The command's process: stdio, credentials, confinement, exec. Never returns.
[[noreturn]] void command_main(Plan &p) {
  const ExecSpec &s = *p.spec;
  if (s.keep_host_fs) {
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      die_errno(p, "cannot mount the target's /proc");
    if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr) !=
        0)
      die_errno(p, "cannot mount the target's /sys");
  }
  if (s.tty >= 0) {
    if (auto r = pty::make_controlling(s.tty); !r)
      die(p, 125, r.error().message());
  } else {
    const int want[3] = {s.stdin_fd, s.stdout_fd, s.stderr_fd};
    for (int i = 0; i < 3; ++i)
      if (want[i] >= 0 && want[i] != i && ::dup2(want[i], i) < 0)
        die_errno(p, "cannot set up stdio");
  }
  const bool confine = s.copy_confinement && !s.all_capabilities;
  if (confine)
    if (auto r = apply_confinement(p); !r)
      die(p, 125, r.error().message());
  if (confine && p.set_uid && p.uid != 0 && ::prctl(PR_SET_KEEPCAPS, 1) != 0)
    die_errno(p, "cannot keep capabilities");
  if (p.set_groups && ::setgroups(p.groups.size(), p.groups.data()) != 0) {
    // A user namespace with setgroups denied: nsenter goes on, so do we.
    if (!(errno == EPERM && p.groups.empty() && p.joins_user))
      die_errno(p, "cannot set supplementary groups");
  }
  if (p.set_gid && ::setgid(p.gid) != 0)
    die_errno(p, "cannot set group ID " + std::to_string(p.gid));
  if (p.set_uid && ::setuid(p.uid) != 0)
    die_errno(p, "cannot set user ID " + std::to_string(p.uid));
  if (confine)
    if (auto r = apply_late_confinement(p); !r)
      die(p, 125, r.error().message());

  std::string file = s.argv[0];
  const std::vector<std::string> *envp = s.env ? &p.env : nullptr;
  if (file.find('/') == std::string::npos) {
    std::string path;
    if (envp) {
      path = env_get(*envp, "PATH")
                 .value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    } else {
      const char *v = ::getenv("PATH");
      path = v ? v : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    }
    std::string found = find_in_path(file, path);
    if (found.empty())
      die(p, 127, "exec: \"" + file + "\": executable file not found in $PATH");
    file = found;
  }
  std::vector<std::string> hargv;
  if (p.helper)
    hargv = {"ctk-exec", "3", file};
  hargv.insert(hargv.end(), s.argv.begin(), s.argv.end());
  std::vector<char *> av, ev;
  for (auto &a : hargv)
    av.push_back(a.data());
  av.push_back(nullptr);
  char **env = environ;
  if (envp) {
    for (auto &e : p.env)
      ev.push_back(e.data());
    ev.push_back(nullptr);
    env = ev.data();
  }
  if (p.helper) {
    // The status pipe on 3 (ctk-exec reports there and closes it on its exec),
    // the helper on 4, nothing else: through high numbers, either may sit on 3 or 4.
    int st_hi = ::fcntl(p.status_w, F_DUPFD, 100);
    int ex_hi = ::fcntl(p.helper.get(), F_DUPFD_CLOEXEC, 100);
    if (st_hi < 0 || ex_hi < 0 || ::dup2(st_hi, 3) < 0 || ::dup3(ex_hi, 4, O_CLOEXEC) < 0)
      die_errno(p, "cannot set up the exec helper");
    p.status_w = 3;
    ::syscall(SYS_close_range, 5u, ~0u, 0u);
    ::syscall(SYS_execveat, 4, "", av.data(), env, AT_EMPTY_PATH);
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    die_errno(p, "cannot run the exec helper");
  }
  ::execve(file.c_str(), av.data(), env);
  int e = errno;
  die(p, e == ENOENT ? 127 : 126, "exec: \"" + s.argv[0] + "\": " + std::strerror(e));
}

bool single_threaded() {
  struct stat st {};
  // A directory's link count is 2 + its subdirectories: one task is 3.
  return ::stat("/proc/self/task", &st) == 0 && st.st_nlink == 3;
}

int status_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 125;
}

[[noreturn]] void child_main(Plan &p) {
  const ExecSpec &s = *p.spec;
  // Nothing inside may ptrace us or open /proc/PID/exe (ctk's binary) while
  // we are on our way in; the flag survives the forks below and is reset
  // only by the exec of the command.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGCHLD, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);

  for (auto &fd : p.cgroups.v1_tasks)
    if (::write(fd.get(), "0", 1) != 1)
      die_errno(p, "cannot join the cgroups of PID " + std::to_string(s.enter.target_pid));
  if (p.cgroups.v2_procs && !p.in_v2_cgroup && ::write(p.cgroups.v2_procs.get(), "0", 1) != 1)
    die_errno(p, "cannot join the cgroup of PID " + std::to_string(s.enter.target_pid));
  p.cgroups = {};

  std::vector<int> keep = {0,
                           1,
                           2,
                           p.pid_w,
                           p.status_w,
                           p.root.get(),
                           p.cwd.get(),
                           p.target_mnt.get(),
                           p.host_mnt.get(),
                           p.helper.get(),
                           p.devnull.get(),
                           s.tty,
                           s.stdin_fd,
                           s.stdout_fd,
                           s.stderr_fd};
  for (auto &n : p.ns)
    keep.push_back(n.fd.get());
  close_fds_except(keep);

  if (s.keep_host_fs) {
    build_host_root(p);
    p.root.reset(); // the target's root is at /target now, not ours
    p.target_mnt.reset();
    p.host_mnt.reset();
  }

  // nsenter's two passes (ns.cc): all but the user namespace, ignoring
  // failures; then the user namespace and the retries, now fatal.
  std::vector<bool> done(p.ns.size(), false);
  for (size_t i = 0; i < p.ns.size(); ++i)
    if (p.ns[i].type != NsType::user && ::setns(p.ns[i].fd.get(), clone_flag(p.ns[i].type)) == 0)
      done[i] = true;
  for (size_t i = 0; i < p.ns.size(); ++i)
    if (!done[i] && ::setns(p.ns[i].fd.get(), clone_flag(p.ns[i].type)) != 0)
      die_errno(p, "cannot enter " + ns_what(p, p.ns[i].type));
  p.ns.clear();

  if (p.root) {
    if (::fchdir(p.root.get()) != 0 || ::chroot(".") != 0)
      die_errno(p, "cannot change root directory");
    p.root.reset();
  }
  if (s.cwd == PathMode::ns_dir) {
    if (::chdir(s.cwd_path.c_str()) != 0)
      die_errno(p, "cannot change directory to " + s.cwd_path);
  } else if (p.cwd) {
    if (::fchdir(p.cwd.get()) != 0)
      die_errno(p, "cannot change directory");
    p.cwd.reset();
  } else if (p.root || s.root != PathMode::keep) {
    (void)!::chdir("/");
  }

  // A detached command is not our child: the middle process exits at once.
  if ((p.joins_pid && s.fork) || s.detach) {
    pid_t g = ::fork();
    if (g < 0)
      die_errno(p,
                "cannot fork into the pid namespace of PID " + std::to_string(s.enter.target_pid));
    if (g == 0) {
      ::close(p.pid_w);
      p.pid_w = -1;
      command_main(p);
    }
    (void)!::write(p.pid_w, &g, sizeof g);
    ::close(p.pid_w);
    ::close(p.status_w);
    if (s.tty >= 0)
      ::close(s.tty);
    if (s.detach)
      ::_exit(0);
    int st = 0;
    while (::waitpid(g, &st, 0) < 0)
      if (errno != EINTR)
        ::_exit(125);
    ::_exit(status_code(st));
  }
  ::close(p.pid_w);
  p.pid_w = -1;
  command_main(p);
}

Result<void> plan_credentials(Plan &p) {
  const ExecSpec &s = *p.spec;
  if (s.uid) {
    p.uid = *s.uid;
    p.set_uid = true;
  }
  if (s.gid) {
    p.gid = *s.gid;
    p.set_gid = true;
    p.set_groups = true; // nsenter -G drops supplementary groups
  }
  if (s.groups) {
    p.groups = *s.groups;
    p.set_groups = true;
  }
  if (p.joins_user && !s.preserve_credentials) {
    // nsenter: entering a user namespace sets uid and gid (0 by default)
    // and drops the supplementary groups.
    p.set_uid = p.set_gid = p.set_groups = true;
  }
  return {};
}

} // namespace

Result<Spawned> spawn(const ExecSpec &spec) {
  if (auto v = validate(spec); !v)
    return tl::unexpected(v.error());
  const pid_t pid = spec.enter.target_pid;
  const HostPaths &paths = spec.enter.paths;
  const std::string pdir = paths.proc + "/" + std::to_string(pid);
  Plan p;
  p.spec = &spec;

  EnterSpec enter = spec.enter;
  if (spec.keep_host_fs) {
    // The host's mount namespace (a private copy), and the host's user
    // namespace: the mounts of that copy need its privileges.
    auto drop = [](std::vector<NsType> &v, NsType t) {
      v.erase(std::remove(v.begin(), v.end(), t), v.end());
    };
    drop(enter.types, NsType::mnt);
    drop(enter.types, NsType::user);
  }
  if (!enter.types.empty() || !enter.files.empty()) {
    auto fds = open_namespaces(enter);
    if (!fds)
      return tl::unexpected(fds.error());
    p.ns = std::move(*fds);
  }
  for (const auto &n : p.ns) {
    p.joins_pid = p.joins_pid || n.type == NsType::pid;
    p.joins_user = p.joins_user || n.type == NsType::user;
  }
  auto open_dir = [&](PathMode m, const std::string &path, const char *which) -> Result<UniqueFd> {
    if (m == PathMode::target)
      return open_fd(pdir + "/" + which, O_PATH | O_DIRECTORY);
    if (m == PathMode::host_dir)
      return open_fd(path, O_PATH | O_DIRECTORY);
    return UniqueFd();
  };
  auto root = open_dir(spec.keep_host_fs ? PathMode::target : spec.root, spec.root_path, "root");
  if (!root)
    return wrap(root, "cannot open the root directory");
  p.root = std::move(*root);
  auto cwd = open_dir(spec.cwd, spec.cwd_path, "cwd");
  if (!cwd)
    return wrap(cwd, "cannot open the working directory");
  p.cwd = std::move(*cwd);
  if (spec.keep_host_fs) {
    auto t = open_fd(pdir + "/ns/mnt", O_RDONLY);
    if (!t)
      return wrap(t, "cannot open the mount namespace of PID " + std::to_string(pid));
    auto h = open_fd(paths.proc + "/self/ns/mnt", O_RDONLY);
    if (!h)
      return wrap(h, "cannot open the host's mount namespace");
    p.target_mnt = std::move(*t);
    p.host_mnt = std::move(*h);
  }
  if (spec.copy_cgroup) {
    auto cg = detail::open_cgroups(pid, paths);
    if (!cg)
      return tl::unexpected(cg.error());
    p.cgroups = std::move(*cg);
  }
  if (spec.copy_confinement && !spec.all_capabilities) {
    auto c = detail::read_confinement(pid, paths);
    if (!c)
      return tl::unexpected(c.error());
    p.conf = std::move(*c);
  }
  if (auto r = plan_credentials(p); !r)
    return tl::unexpected(r.error());
  if (spec.env)
    p.env = *spec.env;
  if (spec.sealed_exec) {
    auto h = sealed_exec_helper(spec.exec_helper);
    if (!h)
      return tl::unexpected(h.error());
    p.helper = std::move(*h);
  }
  // The target may have exited while we read it: say so plainly rather than
  // let a namespace join fail with a less obvious error.
  if (pid > 0 && ::access(pdir.c_str(), F_OK) != 0)
    return fail(Errc::not_found, "cannot enter PID " + std::to_string(pid) + ": it exited");

  int pp[2], sp[2];
  if (::pipe2(pp, O_CLOEXEC) != 0)
    return fail_errno("cannot create a pipe");
  UniqueFd pid_r(pp[0]), pid_w(pp[1]);
  if (::pipe2(sp, O_CLOEXEC) != 0)
    return fail_errno("cannot create a pipe");
  UniqueFd status_r(sp[0]), status_w(sp[1]);
  p.pid_w = pid_w.get();
  p.status_w = status_w.get();
  std::fflush(nullptr);
  pid_t child = -1;
  int pidfd = -1;
  if (p.cgroups.v2_dir && single_threaded()) {
    // Born in the target's v2 cgroup. Only from a single-threaded process:
    // clone3 bypasses glibc's fork handling (malloc locks, atfork handlers).
    clone_args ca{};
    ca.flags = CLONE_INTO_CGROUP | CLONE_PIDFD;
    ca.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
    ca.exit_signal = SIGCHLD;
    ca.cgroup = static_cast<uint64_t>(p.cgroups.v2_dir.get());
    child = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
    if (child == 0)
      p.in_v2_cgroup = true;
    else if (child < 0)
      pidfd = -1; // fall back to fork and a cgroup.procs write
  }
  if (child < 0)
    child = ::fork();
  if (child < 0)
    return fail_errno("cannot fork");
  if (child == 0) {
    pid_r.reset();
    status_r.reset();
    try {
      child_main(p);
    } catch (...) {
      ::_exit(125);
    }
  }
  pid_w.reset();
  status_w.reset();
  Spawned out;
  out.child = child;
  out.command = child;
  out.child_fd.reset(pidfd >= 0 ? pidfd : static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  pid_t g = 0;
  ssize_t n;
  while ((n = ::read(pid_r.get(), &g, sizeof g)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof g) && g > 0)
    out.command = g;
  out.status = std::move(status_r);
  return out;
}

Result<ExecResult> wait(Spawned &s) {
  std::string report;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(s.status.get(), buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    report.append(buf, static_cast<size_t>(n));
  }
  s.status.reset();
  int st = 0;
  while (::waitpid(s.child, &st, 0) < 0)
    if (errno != EINTR)
      return fail_errno("cannot wait for PID " + std::to_string(s.child));
  ExecResult r;
  r.status = status_code(st);
  if (!report.empty()) {
    long long code = 125;
    auto sp = report.find(' ');
    if (sp != std::string::npos && parse_int(report.substr(0, sp), code)) {
      r.status = static_cast<int>(code);
      r.error = report.substr(sp + 1);
    } else {
      r.status = 125;
      r.error = report;
    }
  }
  return r;
}

} // namespace ctk::rt::ns
