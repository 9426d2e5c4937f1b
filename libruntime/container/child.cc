// The container's first process, from the clone to execve. It runs in a
// fresh mount namespace, so everything it mounts (the overlay, /proc, /dev,
// the bind mounts) is private to the container and disappears with it: the
// host never sees a container mount and teardown cannot leave one behind.
//
// Image-controlled paths (mount destinations, the working directory) are
// resolved inside the root with openat2(RESOLVE_IN_ROOT) and mounted through
// /proc/self/fd/N, so a symlink planted in the image cannot redirect a mount
// onto the host.
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "ctk/runtime/exec.h"
#include "ctk/runtime/pty.h"
#include "internal.h"

namespace ctk::rt::container::detail {
namespace {

[[noreturn]] void die(const ChildSpec &s, int status, const std::string &msg) {
  std::string line = fmt::format("{} {}", status, msg);
  [[maybe_unused]] ssize_t n = ::write(s.err_fd, line.data(), line.size());
  ::_exit(status);
}
[[noreturn]] void die_errno(const ChildSpec &s, const std::string &what) {
  die(s, 125, what + ": " + std::strerror(errno));
}

int openat2_in_root(int root, const std::string &path, int flags, mode_t mode = 0) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// mkdir -p of `path` inside the root, then an O_PATH fd on it (or on a new
// empty file when `file`): the mount point of a bind or tmpfs mount.
int make_in_root(const ChildSpec &s, int root, const std::string &path, bool file) {
  std::string prefix;
  auto parts = split(path, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i] == ".")
      continue;
    const bool last = i + 1 == parts.size();
    std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + std::string(parts[i]);
    int fd = openat2_in_root(root, prefix, O_PATH);
    if (fd >= 0) {
      ::close(fd);
      continue;
    }
    if (errno != ENOENT)
      die_errno(s, "cannot resolve " + prefix + " in the container");
    int pfd = openat2_in_root(root, parent, O_PATH | O_DIRECTORY);
    if (pfd < 0)
      die_errno(s, "cannot resolve " + parent + " in the container");
    std::string name(parts[i]);
    int rc;
    if (last && file) {
      rc = ::mknodat(pfd, name.c_str(), S_IFREG | 0644, 0);
    } else {
      rc = ::mkdirat(pfd, name.c_str(), 0755);
    }
    ::close(pfd);
    if (rc != 0 && errno != EEXIST)
      die_errno(s, "cannot create " + prefix + " in the container");
  }
  int fd = openat2_in_root(root, path.empty() ? "/" : path, O_PATH);
  if (fd < 0)
    die_errno(s, "cannot resolve " + path + " in the container");
  return fd;
}

void mount_at(const ChildSpec &s, int root, const std::string &dst, const char *src,
              const char *type, unsigned long flags, const char *data, bool file = false) {
  int fd = make_in_root(s, root, dst, file);
  if (::mount(src, fd_path(fd).c_str(), type, flags, data) != 0)
    die_errno(s, fmt::format("cannot mount {} on {}", src ? src : type, dst));
  ::close(fd);
}

// Remounts the mount now at `dst` read-only (a bind remount changes only
// this mount's flags, not the filesystem's).
void remount_ro(const ChildSpec &s, int root, const std::string &dst, unsigned long extra = 0) {
  int fd = openat2_in_root(root, dst, O_PATH);
  if (fd < 0)
    die_errno(s, "cannot resolve " + dst + " in the container");
  if (::mount(nullptr, fd_path(fd).c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | extra, nullptr) != 0)
    die_errno(s, "cannot make " + dst + " read-only");
  ::close(fd);
}

void setup_dev(const ChildSpec &s, int root) {
  mount_at(s, root, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
           "mode=755,size=65536k");
  int dev = openat2_in_root(root, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    die_errno(s, "cannot open /dev in the container");
  struct Node {
    const char *name;
    unsigned maj, min;
  };
  for (Node n : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7},
                 Node{"random", 1, 8}, Node{"urandom", 1, 9}, Node{"tty", 5, 0}}) {
    if (::mknodat(dev, n.name, S_IFCHR | 0666, makedev(n.maj, n.min)) != 0)
      die_errno(s, fmt::format("cannot create /dev/{}", n.name));
    // mknod obeys the umask; the nodes must be 0666 whatever it is.
    ::fchmodat(dev, n.name, 0666, 0);
  }
  struct Link {
    const char *target, *name;
  };
  for (Link l : {Link{"pts/ptmx", "ptmx"}, Link{"/proc/self/fd", "fd"},
                 Link{"/proc/self/fd/0", "stdin"}, Link{"/proc/self/fd/1", "stdout"},
                 Link{"/proc/self/fd/2", "stderr"}, Link{"/proc/kcore", "core"}})
    ::symlinkat(l.target, dev, l.name);
  ::close(dev);
  mount_at(s, root, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  if (s.shm_from > 0) {
    // The IPC namespace's POSIX shared memory lives in the target's /dev/shm.
    auto tree = clone_process_tree(s.shm_from, 0, "dev/shm");
    if (!tree)
      die(s, 125, tree.error().wrap("cannot share the /dev/shm of PID " +
                                    std::to_string(s.shm_from)).message());
    int fd = make_in_root(s, root, "/dev/shm", false);
    if (::move_mount(tree->get(), "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
      die_errno(s, "cannot mount the shared /dev/shm");
    ::close(fd);
  } else {
    mount_at(s, root, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "mode=1777,size=65536k");
  }
  // mqueue needs an IPC namespace of our own to show only the container's queues.
  if (!s.join.count("ipc") && s.cfg->ipc_mode != "host")
    mount_at(s, root, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
             nullptr);
}

void setup_mounts(const ChildSpec &s) {
  const ContainerConfig &c = *s.cfg;
  // Nothing we mount may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    die_errno(s, "cannot make / a slave mount");
  std::string ov = fmt::format("lowerdir={},upperdir={}/upper,workdir={}/work", s.lowerdir,
                               s.dir, s.dir);
  // An --rm container's upper dir dies with it: "volatile" spares the sync of
  // the whole upper filesystem that unmounting an overlay otherwise does at
  // exit (tens of milliseconds of every run). Kept containers stay durable.
  if (c.auto_remove)
    ov += ",volatile";
  if (::mount("overlay", s.rootfs.c_str(), "overlay", 0, ov.c_str()) != 0)
    die_errno(s, "cannot mount overlay for container " + c.name);
  int root = ::open(s.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    die_errno(s, "cannot open the root of container " + c.name);

  mount_at(s, root, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  if (c.network == "host" && !c.security.privileged) {
    // sysfs of the host's network namespace: bind the host's, read-only.
    mount_at(s, root, "/sys", "/sys", nullptr, MS_BIND | MS_REC, nullptr);
    remount_ro(s, root, "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  } else {
    mount_at(s, root, "/sys", "sysfs", "sysfs",
             MS_NOSUID | MS_NODEV | MS_NOEXEC | (c.security.privileged ? 0 : MS_RDONLY), nullptr);
  }
  setup_dev(s, root);

  for (const Mount &m : c.mounts) {
    if (m.type == "tmpfs") {
      std::string opts = m.options.empty() ? "mode=1777" : m.options;
      mount_at(s, root, m.destination, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str());
    } else {
      struct stat st{};
      if (::stat(m.source.c_str(), &st) != 0)
        die_errno(s, "invalid mount source " + m.source);
      mount_at(s, root, m.destination, m.source.c_str(), nullptr, MS_BIND | MS_REC, nullptr,
               !S_ISDIR(st.st_mode));
    }
    if (m.read_only)
      remount_ro(s, root, m.destination);
  }
  if (c.debug_target) {
    int fd = make_in_root(s, root, "/target", false);
    if (auto r = mount_debug_target(c, s.dir, fd); !r)
      die(s, 125, r.error().message());
    ::close(fd);
  }

  for (const char *f : {"hosts", "hostname", "resolv.conf"}) {
    std::string src = s.dir + "/" + f;
    mount_at(s, root, std::string("/etc/") + f, src.c_str(), nullptr, MS_BIND, nullptr, true);
    if (c.read_only)
      remount_ro(s, root, std::string("/etc/") + f);
  }
  if (c.init) {
    mount_at(s, root, "/dev/init", s.init_path.c_str(), nullptr, MS_BIND, nullptr, true);
    remount_ro(s, root, "/dev/init");
  }
  if (!c.working_dir.empty()) {
    int fd = make_in_root(s, root, c.working_dir, false);
    ::close(fd);
  }

  if (!c.security.privileged) {
    for (const auto &p : security::masked_paths()) {
      int fd = openat2_in_root(root, p, O_PATH | O_NOFOLLOW);
      if (fd < 0)
        continue; // absent on this kernel
      struct stat st{};
      ::fstat(fd, &st);
      int rc = S_ISDIR(st.st_mode)
                   ? ::mount("tmpfs", fd_path(fd).c_str(), "tmpfs", MS_RDONLY, "size=0")
                   : ::mount("/dev/null", fd_path(fd).c_str(), nullptr, MS_BIND, nullptr);
      if (rc != 0)
        die_errno(s, "cannot mask " + p);
      ::close(fd);
    }
    for (const auto &p : security::readonly_paths()) {
      int fd = openat2_in_root(root, p, O_PATH | O_NOFOLLOW);
      if (fd < 0)
        continue;
      if (::mount(fd_path(fd).c_str(), fd_path(fd).c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
          0)
        die_errno(s, "cannot bind " + p);
      ::close(fd);
      remount_ro(s, root, p, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
  }
  ::close(root);

  if (::chdir(s.rootfs.c_str()) != 0)
    die_errno(s, "cannot enter the root of container " + c.name);
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    die_errno(s, "cannot pivot_root into container " + c.name);
  if (::umount2(".", MNT_DETACH) != 0)
    die_errno(s, "cannot detach the old root");
  if (::chdir("/") != 0)
    die_errno(s, "cannot chdir to /");
  if (c.read_only && ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    die_errno(s, "cannot make the root read-only");
}

// /sys/fs/cgroup as the container sees it, mounted inside its cgroup
// namespace so each hierarchy's root is the container's own cgroup (what
// docker shows): on v2 a cgroup2 mount; on v1 and hybrid hosts a tmpfs with
// one mount per hierarchy the container has a cgroup in, named as on the
// host (memory, cpu, ..., unified); a hierarchy it is not in would show the
// host's whole tree.
// Read-only unless --privileged, as docker does.
void setup_cgroupfs(const ChildSpec &s) {
  if (!s.cgroups)
    return;
  const unsigned long ro = s.cfg->security.privileged ? 0 : MS_RDONLY;
  const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  constexpr std::string_view base = "/sys/fs/cgroup";
  if (s.cgroups->layout == cgroup::Layout::v2) {
    if (::mount("cgroup2", base.data(), "cgroup2", flags | ro, nullptr) != 0)
      die_errno(s, "cannot mount /sys/fs/cgroup");
    return;
  }
  if (s.cgroups->layout == cgroup::Layout::none)
    return;
  if (::mount("tmpfs", base.data(), "tmpfs", flags, "mode=755,size=64k") != 0)
    die_errno(s, "cannot mount a tmpfs on /sys/fs/cgroup");
  for (const auto &m : s.cgroups->mounts) {
    std::string_view mp = m.mount_point;
    if (mp.size() <= base.size() + 1 || mp.substr(0, base.size()) != base ||
        mp[base.size()] != '/')
      continue;
    std::string name(mp.substr(base.size() + 1));
    if (name.find('/') != std::string::npos)
      continue;
    bool joined = false;
    for (const auto &d : s.cgroup_dirs)
      joined = joined || (d.size() > mp.size() && d.compare(0, mp.size(), mp) == 0 &&
                          d[mp.size()] == '/');
    if (!joined)
      continue;
    std::string dst = std::string(base) + "/" + name;
    if (::mkdir(dst.c_str(), 0555) != 0 && errno != EEXIST)
      die_errno(s, "cannot create " + dst);
    int rc;
    if (m.version == 2) {
      rc = ::mount("cgroup2", dst.c_str(), "cgroup2", flags | ro, nullptr);
    } else {
      std::string opts;
      bool named = false;
      for (const auto &c : m.controllers) {
        opts += (opts.empty() ? "" : ",") + c;
        named = named || c.rfind("name=", 0) == 0;
      }
      // Only a name: "none" keeps the kernel from taking every controller.
      if (named && m.controllers.size() == 1)
        opts = "none," + opts;
      rc = ::mount("cgroup", dst.c_str(), "cgroup", flags | ro, opts.c_str());
    }
    if (rc != 0)
      die_errno(s, "cannot mount " + dst);
  }
  if (ro && ::mount(nullptr, base.data(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | flags,
                    nullptr) != 0)
    die_errno(s, "cannot make /sys/fs/cgroup read-only");
}

// -u USER[:GROUP] against the container's /etc/passwd and /etc/group (read
// after pivot_root, so they are the container's files), as ctk exec does.
ns::Credentials resolve_user(const ChildSpec &s) {
  auto text = [](const char *path) -> std::optional<std::string> {
    auto t = read_file(path);
    return t ? std::optional<std::string>(std::move(*t)) : std::nullopt;
  };
  auto c = ns::resolve_user(s.cfg->user, text("/etc/passwd"), text("/etc/group"));
  if (!c)
    die(s, 125, c.error().message());
  return std::move(*c);
}

std::string env_get(const std::vector<std::string> &env, std::string_view key) {
  for (const auto &e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return {};
}

} // namespace

void child_main(const ChildSpec &s) {
  const ContainerConfig &c = *s.cfg;
  // The monitor ignores SIGTERM, SIGINT, SIGHUP and SIGPIPE; ignored
  // dispositions survive execve, and a shell cannot even trap a signal
  // ignored on entry. The container starts with the defaults.
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (s.cgroup_join)
    if (auto r = cgroup::ContainerCgroup::join_self(*s.cgroup_join); !r)
      die(s, 125, r.error().message());
  for (const char *kind : {"net", "ipc", "uts"}) {
    auto it = s.join.find(kind);
    if (it != s.join.end() && ::setns(it->second, 0) != 0)
      die_errno(s, std::string("cannot join the ") + kind + " namespace");
  }
  // The mounts need nothing from the monitor, so they are made while it moves
  // us into the cgroups: the first cgroup migration waits for an RCU grace
  // period (about 10 ms), which the mount work now overlaps. The bridge's
  // hosts file is rewritten in place, so binding it before attach is fine.
  setup_mounts(s);
  pty::Pair pty;
  if (s.tty) {
    auto pair = pty::open_at("/dev/pts", &s.ws);
    if (!pair)
      die(s, 125, pair.error().message());
    pty = std::move(*pair);
    const int master = pty.master.get();
    if (auto r = pty::send_fds(s.pty_sock, std::span<const int>(&master, 1)); !r)
      die(s, 125, r.error().message());
    pty.master.reset();
  }
  ::close(s.pty_sock);
  if (s.new_uts && !c.hostname.empty() &&
      ::sethostname(c.hostname.data(), c.hostname.size()) != 0)
    die_errno(s, "cannot set the hostname");

  char go = 0;
  if (::read(s.go_fd, &go, 1) != 1)
    ::_exit(125); // the monitor gave up: nothing to report to
  ::close(s.go_fd);

  // After the monitor moved us into the container's cgroup, so that it is the
  // root of the container's cgroup namespace.
  if (::unshare(CLONE_NEWCGROUP) != 0)
    die_errno(s, "cannot create a cgroup namespace");
  setup_cgroupfs(s);

  if (s.tty) {
    if (auto r = pty::make_controlling(pty.slave.get()); !r)
      die(s, 125, r.error().message());
  } else {
    for (int i = 0; i < 3; ++i)
      if (s.stdio[i] != i && ::dup2(s.stdio[i], i) < 0)
        die_errno(s, "cannot set up stdio");
  }

  ns::Credentials ids = resolve_user(s);
  // The terminal belongs to the container's user, as a login's does.
  if (s.tty && ::fchown(0, ids.uid, static_cast<gid_t>(-1)) != 0)
    die_errno(s, "cannot give the terminal to the container's user");
  std::vector<std::string> env = c.env;
  if (env_get(env, "PATH").empty())
    env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (env_get(env, "HOSTNAME").empty() && !c.hostname.empty())
    env.push_back("HOSTNAME=" + c.hostname);
  if (env_get(env, "HOME").empty())
    env.push_back("HOME=" + ids.home);
  if (c.tty && env_get(env, "TERM").empty())
    env.push_back("TERM=xterm");

  if (!c.working_dir.empty() && ::chdir(c.working_dir.c_str()) != 0)
    die_errno(s, "cannot chdir to " + c.working_dir);

  std::vector<std::string> argv = c.entrypoint;
  argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());
  if (argv.empty())
    die(s, 125, "no command specified");
  // PATH lookup in the container (execvpe would use ctk's own PATH).
  std::string file = argv[0];
  if (file.find('/') == std::string::npos) {
    std::string found;
    const std::string path = env_get(env, "PATH");
    for (auto dir : split(path, ':')) {
      std::string cand = std::string(dir.empty() ? "." : dir) + "/" + file;
      struct stat st{};
      if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        found = cand;
        break;
      }
    }
    if (found.empty())
      die(s, 127, fmt::format("exec: \"{}\": executable file not found in $PATH", file));
    file = found;
  }
  if (c.init) {
    argv.insert(argv.begin(), {"/dev/init", "--"});
    file = "/dev/init";
  }

  if (::prctl(PR_SET_KEEPCAPS, 1) != 0)
    die_errno(s, "cannot keep capabilities");
  if (::setgroups(ids.groups.size(), ids.groups.data()) != 0)
    die_errno(s, "cannot set supplementary groups");
  if (::setgid(ids.gid) != 0 || ::setuid(ids.uid) != 0)
    die_errno(s, fmt::format("cannot switch to user {}:{}", ids.uid, ids.gid));

  // No host descriptor crosses into the container: only stdio, the error
  // pipe (moved to 3) and the sealed exec helper (moved to 4) stay, and both
  // are gone once the container's command runs.
  // Through high numbers first: either may already sit on 3 or 4.
  int err_hi = ::fcntl(s.err_fd, F_DUPFD_CLOEXEC, 100);
  int exec_hi = ::fcntl(s.exec_fd, F_DUPFD_CLOEXEC, 100);
  if (err_hi < 0 || ::dup3(err_hi, 3, O_CLOEXEC) < 0)
    ::_exit(125);
  const_cast<ChildSpec &>(s).err_fd = 3;
  if (exec_hi < 0 || ::dup3(exec_hi, 4, O_CLOEXEC) < 0)
    die_errno(s, "cannot keep the exec helper");
  ::syscall(SYS_close_range, 5u, ~0u, 0u);

  if (auto r = security::apply_security(*s.security); !r)
    die(s, 125, r.error().message());

  // ctk-exec ERR_FD FILE ARGV...: the error pipe stays open across the
  // helper's exec (it closes it on its own exec of FILE).
  std::vector<std::string> hargv = {"ctk-exec", "3", file};
  hargv.insert(hargv.end(), argv.begin(), argv.end());
  std::vector<char *> av, ev;
  for (auto &a : hargv)
    av.push_back(a.data());
  av.push_back(nullptr);
  for (auto &e : env)
    ev.push_back(e.data());
  ev.push_back(nullptr);
  ::fcntl(3, F_SETFD, 0);
  ::syscall(SYS_execveat, 4, "", av.data(), ev.data(), AT_EMPTY_PATH);
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  int e = errno;
  die(s, 126, fmt::format("cannot run the exec helper: {}", std::strerror(e)));
}
} // namespace ctk::rt::container::detail
