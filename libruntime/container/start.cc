// Starting a container: what the caller prepares (image layers, security,
// files), and the monitor, a detached process that owns the container's
// lifetime.
//
//   caller ──fork──> M0 (setsid) ──fork──> monitor ──clone(new namespaces)──> container PID 1
//
// M0 exits at once, so the monitor is re-parented to init (or a subreaper)
// and survives the caller being SIGKILLed. The monitor is outside the
// container's PID namespace, so nothing inside can reach it or its
// executable through /proc. It tells the caller "ok" or the error through a
// pipe, then copies the container's output to the log, reaps PID 1, records
// the exit and tears down.
#include <fcntl.h>
#include <poll.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/exec.h"
#include "ctk/runtime/image_store.h"
#include "ctk/runtime/pty.h"
#include "internal.h"

namespace ctk::rt::container {

using detail::ChildSpec;

namespace {

uint64_t start_time_of(pid_t pid) {
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat)
    return 0;
  auto rp = stat->rfind(')');
  if (rp == std::string::npos)
    return 0;
  auto fields = split(std::string_view(*stat).substr(rp + 2), ' ');
  unsigned long long v = 0;
  if (fields.size() > 19)
    parse_uint(fields[19], v); // field 22 overall
  return v;
}

// resolv.conf of the host without loopback nameservers (unreachable from a
// network namespace of its own), as docker does; Google's when none is left.
std::string container_resolv_conf(bool host_net) {
  auto text = read_file("/etc/resolv.conf");
  if (!text)
    return "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  if (host_net)
    return *text;
  std::string out;
  bool ns = false;
  for (auto line : split_lines(*text)) {
    auto t = trim(line);
    if (t.rfind("nameserver", 0) == 0) {
      auto addr = trim(t.substr(10));
      if (addr.rfind("127.", 0) == 0 || addr == "::1")
        continue;
      ns = true;
    }
    out += std::string(line) + "\n";
  }
  if (!ns)
    out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

std::string hosts_file(const ContainerConfig &c) {
  return fmt::format("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                     "ff02::2\tip6-allrouters\n{}",
                     c.network == "host" ? "" : fmt::format("127.0.1.1\t{}\n", c.hostname));
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// One stream of the container's output: split into lines for the json-file
// log (docker writes a record per line, a partial line when it is long).
struct Stream {
  int fd = -1;
  const char *name = "stdout";
  int user_fd = -1;
  std::string partial;
};

void log_line(int log_fd, const char *stream, std::string_view text) {
  nlohmann::json j{{"log", std::string(text)}, {"stream", stream}, {"time", detail::now_rfc3339()}};
  write_all(log_fd, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

// Reads what is there; false at EOF or error.
bool pump(Stream &s, int log_fd) {
  char buf[16384];
  ssize_t n = ::read(s.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0) {
    if (!s.partial.empty())
      log_line(log_fd, s.name, s.partial);
    s.partial.clear();
    return false;
  }
  std::string_view data(buf, static_cast<size_t>(n));
  if (s.user_fd >= 0)
    write_all(s.user_fd, data);
  s.partial.append(data);
  size_t start = 0, nl;
  while ((nl = s.partial.find('\n', start)) != std::string::npos) {
    log_line(log_fd, s.name, std::string_view(s.partial).substr(start, nl + 1 - start));
    start = nl + 1;
  }
  s.partial.erase(0, start);
  if (s.partial.size() >= 16384) {
    log_line(log_fd, s.name, s.partial);
    s.partial.clear();
  }
  return true;
}

bool oom_killed(const cgroup::ContainerCgroup &cg) {
  for (const auto &d : cg.dirs()) {
    for (const char *f : {"/memory.oom_control", "/memory.events"}) {
      auto text = read_file(d + f);
      if (!text)
        continue;
      for (auto line : split_lines(*text)) {
        auto parts = split(line, ' ');
        long long v = 0;
        if (parts.size() == 2 && parts[0] == "oom_kill" && parse_int(parts[1], v) && v > 0)
          return true;
      }
    }
  }
  return false;
}

struct Prepared {
  ContainerConfig cfg;
  Paths paths;
  StartOptions opt;
  std::optional<image::ImageUse> use;
  std::string lowerdir;
  security::PreparedPtr security;
  cgroup::Hierarchy hierarchy;
  int ready_w = -1, exit_w = -1, exec_fd = -1;
  winsize ws{}; // -t: the pty's first window size
};

// Undoes what the monitor set up; each step is safe to repeat.
void detach_network(const Prepared &p) {
  if (auto bn = net::BridgeNetwork::open({.state_dir = p.paths.run_root + "/net"}))
    (void)bn->detach(p.cfg.id);
}

void teardown(const Prepared &p, const std::optional<cgroup::ContainerCgroup> &cg, bool net) {
  if (net)
    detach_network(p);
  if (cg) {
    (void)cg->kill(SIGKILL);
    (void)cg->remove();
  }
  ::rmdir((p.paths.run_dir(p.cfg.id) + "/rootfs").c_str());
}

[[noreturn]] void monitor_main(Prepared &p) {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  const ContainerConfig &c = p.cfg;
  auto report = [&](int status, const std::string &msg) {
    write_all(p.ready_w, fmt::format("{} {}", status, msg));
  };
  auto lock = FileLock::acquire(monitor_lock_path(p.paths, c.id), LockMode::exclusive);
  if (!lock) {
    report(125, lock.error().message());
    ::_exit(1);
  }
  const std::string log_path = p.paths.dir(c.id) + "/" + c.id + "-json.log";
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    report(125, fmt::format("cannot open the log {}: {}", log_path, std::strerror(errno)));
    ::_exit(1);
  }

  auto cgr = cgroup::ContainerCgroup::create(p.hierarchy, c.id, c.limits);
  if (!cgr) {
    report(125, cgr.error().wrap("cannot create the cgroup of container " + c.name).message());
    ::_exit(1);
  }
  std::optional<cgroup::ContainerCgroup> cg(std::move(*cgr));

  // stdio of the container.
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  int in = -1;
  ChildSpec spec;
  int ptys[2] = {-1, -1};
  if (c.tty) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ptys) != 0) {
      report(125, "cannot create the terminal socket");
      teardown(p, cg, false);
      ::_exit(1);
    }
    spec.pty_sock = ptys[1];
    spec.ws = p.ws;
  } else {
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      report(125, "cannot create the output pipes");
      teardown(p, cg, false);
      ::_exit(1);
    }
    in = p.opt.stdin_fd >= 0 ? p.opt.stdin_fd : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    spec.stdio[0] = in;
    spec.stdio[1] = out[1];
    spec.stdio[2] = err[1];
  }
  int go[2], errp[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(errp, O_CLOEXEC) != 0) {
    report(125, "cannot create the sync pipes");
    teardown(p, cg, false);
    ::_exit(1);
  }
  spec.cfg = &c;
  spec.dir = p.paths.dir(c.id);
  spec.rootfs = p.paths.run_dir(c.id) + "/rootfs";
  spec.lowerdir = p.lowerdir;
  spec.init_path = p.opt.init_path;
  spec.security = p.security.get();
  spec.cgroups = &p.hierarchy;
  spec.cgroup_dirs = cg->dirs();
  spec.exec_fd = p.exec_fd;
  spec.go_fd = go[0];
  spec.err_fd = errp[1];
  spec.tty = c.tty;

  unsigned long flags = CLONE_NEWNS;
  std::vector<int> ns_fds;
  for (const auto &[kind, path] : p.opt.join_ns) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      report(125, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
      teardown(p, cg, false);
      ::_exit(1);
    }
    if (kind == "pid") {
      // Only children enter a PID namespace: the clone below does.
      if (::setns(fd, CLONE_NEWPID) != 0) {
        report(125, fmt::format("cannot join the pid namespace {}: {}", path, std::strerror(errno)));
        teardown(p, cg, false);
        ::_exit(1);
      }
      ::close(fd);
    } else {
      spec.join[kind] = fd;
    }
  }
  if (!p.opt.join_ns.count("pid") && c.pid_mode != "host")
    flags |= CLONE_NEWPID;
  if (!p.opt.join_ns.count("net") && c.network != "host")
    flags |= CLONE_NEWNET;
  if (!p.opt.join_ns.count("ipc") && c.ipc_mode != "host")
    flags |= CLONE_NEWIPC;
  if (!p.opt.join_ns.count("uts") && c.uts_mode != "host" && c.network != "host")
    flags |= CLONE_NEWUTS;
  spec.new_uts = flags & CLONE_NEWUTS;
  spec.shm_from = p.opt.join_ns.count("ipc") ? p.opt.shm_from : 0;

  // The child joins its cgroups without the kernel's global lock (see
  // ContainerCgroup::open_for_join): created in the v2 one, it moves itself
  // into the v1 ones. If clone3 fails (a kernel before 5.7 without
  // CLONE_INTO_CGROUP), the plain clone and cg->add() below; a real cause
  // shows there.
  auto join = cg->open_for_join();
  if (!join) {
    report(125, join.error().message());
    teardown(p, cg, false);
    ::_exit(1);
  }
  spec.cgroup_join = &*join;
  pid_t child = -1;
  bool joined_at_clone = false;
  if (join->v2_dir || !join->v1_tasks.empty()) {
    clone_args ca{};
    ca.flags = flags | (join->v2_dir ? CLONE_INTO_CGROUP : 0);
    ca.exit_signal = SIGCHLD;
    ca.cgroup = static_cast<uint64_t>(join->v2_dir ? join->v2_dir.get() : 0);
    child = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
    joined_at_clone = child >= 0;
  }
  if (!joined_at_clone) {
    spec.cgroup_join = nullptr;
    child = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr,
                                         nullptr));
  }
  if (child < 0) {
    report(125, fmt::format("cannot create the namespaces of container {}: {}", c.name,
                            std::strerror(errno)));
    teardown(p, cg, false);
    ::_exit(1);
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    detail::child_main(spec);
  }
  ::close(go[0]);
  ::close(errp[1]);
  for (int fd : {out[1], err[1], ptys[1], in})
    if (fd >= 0)
      ::close(fd);
  for (auto &[k, fd] : spec.join)
    ::close(fd);

  State st;
  st.monitor_pid = ::getpid();
  st.cgroup = cg->path();
  bool attached = false;
  // EOF: execve succeeded (the pipe is close-on-exec); text: the child failed
  // ("STATUS message"). The child mounts before it waits for "go", so it may
  // have failed already while we set up the cgroups or the network.
  bool errp_open = true;
  auto read_child_err = [&] {
    std::string text;
    char buf[4096];
    ssize_t n;
    while (errp_open && (n = ::read(errp[0], buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      text.append(buf, static_cast<size_t>(n));
    }
    if (errp_open)
      ::close(errp[0]);
    errp_open = false;
    return text;
  };
  auto abort_start = [&](int status, std::string msg) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    if (auto child_err = read_child_err(); !child_err.empty()) {
      // What the child said is the cause; ours is only its consequence.
      long long cs = 125;
      auto sp = child_err.find(' ');
      parse_int(std::string_view(child_err).substr(0, sp), cs);
      status = static_cast<int>(cs);
      msg = sp == std::string::npos ? child_err : child_err.substr(sp + 1);
    }
    teardown(p, cg, attached);
    st.status = "exited";
    st.exit_code = status;
    st.finished_at = detail::now_rfc3339();
    (void)write_state(p.paths, c, st);
    report(status, msg);
    ::_exit(1);
  };
  join->v2_dir.reset();
  join->v1_tasks.clear();
  if (!joined_at_clone)
    if (auto r = cg->add(child); !r)
      abort_start(125, r.error().wrap("cannot move container " + c.name + " into its cgroup")
                           .message());
  if (c.network == "bridge" && !p.opt.join_ns.count("net")) {
    auto bn = net::BridgeNetwork::open({.state_dir = p.paths.run_root + "/net"});
    if (!bn)
      abort_start(125, bn.error().wrap("cannot set up the bridge network").message());
    attached = true;
    auto ep = bn->attach({.id = c.id,
                          .name = c.name,
                          .netns_pid = child,
                          .ports = c.ports,
                          .hosts_file = p.paths.dir(c.id) + "/hosts"});
    if (!ep)
      abort_start(125, ep.error().wrap("cannot attach container " + c.name + " to the network")
                           .message());
    // Before the command runs, so its first packets pass too. No DOCKER-USER
    // chain: docker has no drop to get past here.
    if (c.allow_docker_forward)
      if (auto r = bn->allow_in_docker_user(); !r && r.error().code != Errc::not_found)
        abort_start(125, r.error().wrap("cannot let container " + c.name +
                                        " past docker's FORWARD drop").message());
    // A drop in another table (docker's FORWARD policy) would silently eat
    // the container's traffic: run says so (one nftables listing, ~0.1 ms).
    if (auto drop = bn->foreign_forward_drop())
      ep->warnings.push_back(*drop);
    st.endpoint = *ep;
  }
  if (::write(go[1], "g", 1) != 1)
    abort_start(125, "the container's first process died before it was set up");
  ::close(go[1]);

  std::string child_err = read_child_err();
  if (!child_err.empty()) {
    long long status = 125;
    auto sp = child_err.find(' ');
    parse_int(std::string_view(child_err).substr(0, sp), status);
    abort_start(static_cast<int>(status),
                sp == std::string::npos ? child_err : child_err.substr(sp + 1));
  }

  // -t: the child sent the master of the pty it opened in the container's
  // devpts before it waited for "go"; its exec succeeded, so it is there.
  UniqueFd master;
  if (c.tty) {
    auto fds = pty::recv_fds(ptys[0]);
    ::close(ptys[0]);
    if (!fds || fds->size() != 1)
      abort_start(125, "the container's first process did not pass its terminal");
    master = std::move((*fds)[0]);
  }

  st.status = "running";
  st.pid = child;
  st.pid_start = start_time_of(child);
  st.started_at = detail::now_rfc3339();
  (void)write_state(p.paths, c, st);
  const std::string ok = fmt::format("0 {} {}", child, ::getpid());
  if (master) {
    // The caller writes the user's input to it and sets the window size.
    const int fd = master.get();
    (void)pty::send_fds(p.ready_w, std::span<const int>(&fd, 1), ok);
  } else {
    write_all(p.ready_w, ok);
  }
  ::close(p.ready_w);

  // Copy output until the container's PID 1 exits and the streams end.
  std::vector<Stream> streams;
  if (c.tty) {
    streams.push_back({p.opt.stdout_fd >= 0 ? -1 : -1, "stdout", p.opt.stdout_fd, {}});
  } else {
    streams.push_back({out[0], "stdout", p.opt.stdout_fd, {}});
    streams.push_back({err[0], "stderr", p.opt.stderr_fd, {}});
  }
  const int pty_master = master.release();
  if (c.tty)
    streams[0].fd = pty_master;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  int status = 0;
  bool exited = false;
  int64_t drain_deadline_ms = -1;
  while (true) {
    std::vector<pollfd> pfds;
    for (auto &s : streams)
      if (s.fd >= 0)
        pfds.push_back({s.fd, POLLIN, 0});
    if (!exited && pidfd >= 0)
      pfds.push_back({pidfd, POLLIN, 0});
    if (pfds.empty())
      break;
    int timeout = exited ? 200 : (pidfd >= 0 ? -1 : 200);
    int r = ::poll(pfds.data(), pfds.size(), timeout);
    if (r < 0 && errno != EINTR)
      break;
    for (auto &s : streams) {
      if (s.fd < 0)
        continue;
      for (auto &pf : pfds)
        if (pf.fd == s.fd && (pf.revents & (POLLIN | POLLHUP | POLLERR)))
          if (!pump(s, log_fd)) {
            ::close(s.fd);
            s.fd = -1;
          }
    }
    if (!exited) {
      int ws = 0;
      pid_t w = ::waitpid(child, &ws, WNOHANG);
      if (w == child) {
        exited = true;
        status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        // Whatever else is in the cgroup (--pid host, daemonised children)
        // would hold the output pipes open.
        (void)cg->kill(SIGKILL);
        drain_deadline_ms = 2000;
      }
    } else if (r == 0 && (drain_deadline_ms -= 200) <= 0) {
      break; // a stream stays open (a pty with no reader left): stop waiting
    }
    if (exited && pty_master >= 0 && streams[0].fd >= 0) {
      // A pty master never reports EOF while the slave is closed: read what is
      // left without blocking, then stop.
      ::fcntl(pty_master, F_SETFL, O_NONBLOCK);
      while (pump(streams[0], log_fd)) {
        char probe;
        if (::read(pty_master, &probe, 0) < 0 && errno == EAGAIN)
          break;
      }
      ::close(streams[0].fd);
      streams[0].fd = -1;
    }
  }
  for (auto &s : streams)
    if (s.fd >= 0)
      ::close(s.fd);
  ::close(log_fd);

  // The veth goes last, after the exit status is out: deleting a link waits
  // in the kernel for RCU callbacks (see BridgeNetwork::detach_keep_veth).
  std::string veth;
  if (attached)
    if (auto bn = net::BridgeNetwork::open({.state_dir = p.paths.run_root + "/net"}))
      if (auto v = bn->detach_keep_veth(c.id))
        veth = *v;
  st.oom_killed = oom_killed(*cg);
  teardown(p, cg, false);
  st.status = "exited";
  st.pid = 0;
  st.exit_code = status;
  st.finished_at = detail::now_rfc3339();
  // An --rm container's final state would be written only to be deleted (and
  // replacing a file frees a block, milliseconds on some disks): it is
  // recorded only when the removal fails and something is left to show.
  if (!c.auto_remove || !detail::remove_files(p.paths, c, attached))
    (void)write_state(p.paths, c, st);
  write_all(p.exit_w, std::to_string(status));
  ::close(p.exit_w);
  (void)net::BridgeNetwork::delete_veth(veth);
  ::_exit(0);
}

} // namespace

Result<Started> start(const Paths &paths, const std::string &id, const StartOptions &opt) {
  auto lock = FileLock::acquire(paths.run_dir(id) + "/lock", LockMode::exclusive);
  if (!lock) {
    if (auto r = make_dirs(paths.run_dir(id), 0700); !r)
      return wrap(r, "cannot create the run directory of container " + id);
    lock = FileLock::acquire(paths.run_dir(id) + "/lock", LockMode::exclusive);
    if (!lock)
      return wrap(lock, "cannot lock container " + id);
  }
  auto rec = load_record(paths, id);
  if (!rec)
    return wrap(rec, "cannot start container " + id);
  Prepared p;
  p.cfg = rec->config;
  p.paths = paths;
  p.opt = opt;
  const ContainerConfig &c = p.cfg;
  const std::string what = "cannot start container " + c.name;
  if (rec->state.status == "running")
    return fail(Errc::busy, what + ": it is running");
  {
    // Is a monitor still finishing (teardown after the exit)? Wait for it.
    auto ml = FileLock::acquire(monitor_lock_path(paths, id), LockMode::shared);
  }

  auto store = image::Store::open(paths.root);
  if (!store)
    return wrap(store, what);
  auto img = store->resolve(c.image_manifest.empty() ? c.image_id : c.image_manifest);
  if (!img)
    return wrap(img, what);
  auto use = store->use(*img);
  if (!use)
    return wrap(use, what);
  p.use.emplace(std::move(*use));
  auto layers = store->unpack(*img, {});
  if (!layers)
    return wrap(layers, what);
  if (layers->layers.empty()) {
    // overlayfs needs a lower dir: an empty one of the container's own.
    p.lowerdir = paths.dir(id) + "/empty";
    (void)make_dirs(p.lowerdir, 0755);
  } else {
    p.lowerdir = layers->lowerdir();
  }
  security::SecurityOptions so = c.security;
  if (so.profile_dir.empty())
    so.profile_dir = opt.seccomp_profile_dir;
  // Compiling docker's profile costs 8-20 ms; a compiled filter is reused.
  if (so.cache_dir.empty())
    so.cache_dir = paths.run_root + "/seccomp";
  auto sec = security::prepare_security(so);
  if (!sec)
    return wrap(sec, what);
  p.security = std::move(*sec);
  auto h = cgroup::Hierarchy::detect({});
  if (!h)
    return wrap(h, what);
  p.hierarchy = std::move(*h);
  if (c.init && ::access(opt.init_path.c_str(), X_OK) != 0)
    return fail(Errc::not_found, what + ": --init needs " + opt.init_path +
                                     " (Debian package tini)");

  auto helper = ns::sealed_exec_helper(opt.exec_helper);
  if (!helper)
    return wrap(helper, what);
  p.exec_fd = helper->get();

  const std::string dir = paths.dir(id);
  for (auto [file, text] : {std::pair<const char *, std::string>{"hosts", hosts_file(c)},
                            {"hostname", c.hostname + "\n"},
                            {"resolv.conf", container_resolv_conf(c.network == "host")}}) {
    if (auto r = detail::write_replace(dir + "/" + file, text, 0644); !r)
      return wrap(r, what);
  }
  if (auto r = make_dirs(paths.run_dir(id) + "/rootfs", 0700); !r)
    return wrap(r, what);

  Started started;
  // ready: a socket, so the monitor can pass the pty master with its report.
  int ready[2], exitp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ready) != 0 ||
      ::pipe2(exitp, O_CLOEXEC) != 0)
    return fail_errno(what + ": cannot create pipes");
  UniqueFd ready_r(ready[0]), ready_w(ready[1]), exit_r(exitp[0]), exit_w(exitp[1]);
  // The size must be right before the command runs (`stty size`, curses
  // programs read it at start): the pty is opened with it.
  if (c.tty && p.opt.winsize_from >= 0)
    ::ioctl(p.opt.winsize_from, TIOCGWINSZ, &p.ws);
  p.ready_w = ready_w.get();
  p.exit_w = exit_w.get();

  pid_t m0 = ::fork();
  if (m0 < 0)
    return fail_errno(what + ": cannot fork the monitor");
  if (m0 == 0) {
    ::setsid();
    pid_t m = ::fork();
    if (m != 0)
      ::_exit(m < 0 ? 1 : 0);
    ready_r.reset();
    exit_r.reset();
    // A detached monitor must not keep the caller's stdout open: `$(ctk run -d)`
    // would wait for it.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd)
      if (fd != p.opt.stdout_fd && fd != p.opt.stderr_fd && fd != p.opt.stdin_fd)
        ::dup2(null, fd);
    // Nothing else of the caller's: above all not its lock on the container,
    // which would stay held for the monitor's whole life.
    close_fds_except({0, 1, 2, p.ready_w, p.exit_w, p.opt.stdin_fd,
                          p.opt.stdout_fd, p.opt.stderr_fd, p.use->fd(), p.exec_fd});
    monitor_main(p);
  }
  ready_w.reset();
  exit_w.reset();
  int ws = 0;
  ::waitpid(m0, &ws, 0);

  // The report, with the pty master attached for -t, then EOF.
  std::string msg;
  UniqueFd master;
  if (auto first = pty::recv_fds(ready_r.get(), &msg); first && !first->empty())
    master = std::move(first->front());
  char buf[4096];
  ssize_t n;
  while ((n = ::read(ready_r.get(), buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    msg.append(buf, static_cast<size_t>(n));
  }
  long long status = 125;
  auto sp = msg.find(' ');
  if (msg.empty() || !parse_int(std::string_view(msg).substr(0, sp), status))
    return fail(Errc::internal, what + ": the monitor died while starting it");
  std::string rest = sp == std::string::npos ? "" : msg.substr(sp + 1);
  if (status != 0) {
    if (opt.failed_status)
      *opt.failed_status = static_cast<int>(status);
    Errc code = status == 127 ? Errc::not_found
                : status == 126 ? Errc::permission_denied
                                : Errc::io;
    Error e(code, rest);
    e.sys_errno = 0;
    return tl::unexpected(e.wrap(what));
  }
  long long pid = 0, mon = 0;
  auto f = split(rest, ' ');
  if (f.size() >= 2) {
    parse_int(f[0], pid);
    parse_int(f[1], mon);
  }
  started.pid = static_cast<pid_t>(pid);
  started.monitor_pid = static_cast<pid_t>(mon);
  started.exit_fd = std::move(exit_r);
  started.pty_master = std::move(master);
  if (auto r2 = load_record(paths, id); r2)
    started.endpoint = r2->state.endpoint;
  return started;
}

} // namespace ctk::rt::container
