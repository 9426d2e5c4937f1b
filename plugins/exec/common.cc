// What exec and nsenter share: finding the target's PID, and the session
// around a spawned command (terminal, signals, exit status).
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "commands.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/pty.h"

namespace ctk::plugins::exec {

namespace ds = rt::discovery;

rt::Result<pid_t> target_pid(const Call &call, const std::string &target) {
  std::string_view t = target;
  if (t.starts_with("pid://"))
    t.remove_prefix(6);
  long long n = 0;
  if (rt::parse_int(t, n)) {
    if (n <= 0)
      return rt::fail(rt::Errc::invalid_argument, "invalid PID \"" + target + "\"");
    struct stat st {};
    if (::stat(("/proc/" + std::to_string(n)).c_str(), &st) != 0)
      return rt::fail(rt::Errc::not_found, "no such process: " + std::to_string(n));
    return static_cast<pid_t>(n);
  }
  ds::Options o;
  o.roots.ctk_root = call.root();
  o.roots.ctk_run_root = call.run_root();
  // The runtimes' state files name every running container and its PID; a
  // round trip to a daemon's API would only add milliseconds to every exec.
  o.ask_daemons = false;
  auto r = ds::Resolver::open(std::move(o));
  if (!r)
    return rt::wrap(r, "cannot resolve " + target);
  auto c = r->resolve(target);
  if (!c)
    return tl::unexpected(c.error());
  if (c->pid <= 0)
    return rt::fail(rt::Errc::invalid_argument, "container " + target + " is not running");
  return c->pid;
}


int run_session(Call &call, rt::ns::ExecSpec &spec, const Session &s, const Reporting &rep) {
  const pid_t pid = spec.enter.target_pid;
  rt::UniqueFd devnull;
  rt::pty::Pair pair;
  const int size_from = ::isatty(0) ? 0 : 1;
  if (s.tty) {
    winsize ws{};
    bool have = ::ioctl(size_from, TIOCGWINSZ, &ws) == 0;
    auto p = s.host_pty ? rt::pty::open_at("/dev/pts", have ? &ws : nullptr)
                        : rt::pty::open_in_mount_ns(pid, have ? &ws : nullptr);
    if (!p)
      return call.fail(p.error(), rep.enter_status);
    pair = std::move(*p);
    spec.tty = pair.slave.get();
  }
  if (s.detach || (!s.interactive && !s.tty)) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull)
      return call.fail("cannot open /dev/null", rep.enter_status);
    spec.stdin_fd = devnull.get();
    if (s.detach)
      spec.stdout_fd = spec.stderr_fd = devnull.get();
  }
  spec.detach = s.detach;

  // Signals sent to ctk go to the command; ^C typed at the terminal reached
  // it already (it is in ctk's process group).
  std::unique_ptr<rt::pty::SignalQueue> sigs;
  if (!s.detach) {
    auto q = rt::pty::SignalQueue::install(true);
    if (!q)
      return call.fail(q.error(), rep.enter_status);
    sigs = std::move(*q);
  }
  auto restore_signals = [&] { sigs.reset(); };

  auto child = rt::ns::spawn(spec);
  pair.slave.reset(); // the master sees EIO once the command's side is closed
  if (!child) {
    restore_signals();
    return call.fail(rep.enter_prefix + ": " + child.error().message(), rep.enter_status);
  }
  auto forward = [&] {
    for (int sig : sigs->take()) {
      if (sig == SIGWINCH) {
        winsize ws{};
        if (pair.master && ::ioctl(size_from, TIOCGWINSZ, &ws) == 0)
          ::ioctl(pair.master.get(), TIOCSWINSZ, &ws);
      } else if (child->command > 0) {
        ::kill(child->command, sig);
      }
    }
  };
  if (!s.detach) {
    rt::pty::RawMode raw(0, s.tty && s.interactive);
    if (s.tty) {
      rt::pty::RelayFds f;
      f.in = s.interactive ? 0 : -1;
      f.out = 1;
      f.master = pair.master.get();
      f.done_fd = child->child_fd.get();
      f.event_fd = sigs->fd();
      (void)rt::pty::relay(f, forward);
    } else if (child->child_fd) {
      while (true) {
        pollfd pf[2] = {{child->child_fd.get(), POLLIN, 0}, {sigs->fd(), POLLIN, 0}};
        if (::poll(pf, 2, -1) < 0 && errno != EINTR)
          break;
        if (pf[1].revents & POLLIN)
          forward();
        if (pf[0].revents & (POLLIN | POLLHUP))
          break;
      }
    }
  }
  auto done = rt::ns::wait(*child);
  restore_signals();
  if (!done)
    return call.fail(done.error(), rep.enter_status);
  if (!done->error.empty()) {
    if (done->status == 126 || done->status == 127)
      return call.fail(rep.exec_prefix + ": " + done->error, done->status);
    return call.fail(rep.enter_prefix + ": " + done->error, rep.enter_status);
  }
  return done->status;
}

} // namespace ctk::plugins::exec
