// What the run commands share: paths, target resolution, the foreground attach.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "commands.h"
#include "ctk/runtime/container_ops.h"

namespace ctk::plugins::run {

rt::container::Paths container_paths(const Call &call) {
  rt::container::Paths p;
  p.root = call.root();
  p.run_root = call.run_root();
  return p;
}

rt::Result<std::string> find_ctk(const Call &call, std::string_view target) {
  return rt::container::find_container(container_paths(call), target);
}

namespace {

int g_sig_pipe = -1;
void on_signal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_sig_pipe, &b, 1);
  errno = saved;
}

void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

} // namespace

int attach_foreground(Call &call, rt::container::Started &started, bool tty, bool interactive) {
  int sp[2];
  if (::pipe2(sp, O_CLOEXEC | O_NONBLOCK) != 0)
    return call.fail("cannot create a signal pipe", 125);
  rt::UniqueFd sig_r(sp[0]), sig_w(sp[1]);
  g_sig_pipe = sig_w.get();
  // docker's --sig-proxy: the signals ctk gets go to the container's PID 1.
  // With -t, ^C arrives as a byte the container's pty turns into SIGINT.
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction old[std::size(sigs)];
  for (size_t i = 0; i < std::size(sigs); ++i) {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(sigs[i], &sa, &old[i]);
  }
  const int master = started.pty_master.get();
  termios saved{};
  bool raw = false;
  auto set_winsize = [&] {
    winsize ws{};
    if (master >= 0 && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
      ::ioctl(master, TIOCSWINSZ, &ws);
  };
  if (tty) {
    set_winsize();
    if (interactive && ::isatty(0) && ::tcgetattr(0, &saved) == 0) {
      termios t = saved;
      ::cfmakeraw(&t);
      raw = ::tcsetattr(0, TCSANOW, &t) == 0;
    }
  }
  bool stdin_open = tty && interactive;
  std::string exit_text;
  while (true) {
    pollfd pf[3] = {{started.exit_fd.get(), POLLIN, 0}, {sig_r.get(), POLLIN, 0},
                    {stdin_open ? 0 : -1, POLLIN, 0}};
    if (::poll(pf, 3, -1) < 0 && errno != EINTR)
      break;
    if (pf[1].revents & POLLIN) {
      unsigned char s;
      while (::read(sig_r.get(), &s, 1) == 1) {
        if (s == SIGWINCH)
          set_winsize();
        else if (started.pid > 0)
          ::kill(started.pid, s);
      }
    }
    if (pf[2].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0)
        write_all(master, buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) {
        stdin_open = false;
        char eot = 4; // EOF at the container's terminal, as docker does on a closed stdin
        write_all(master, &eot, 1);
      }
    }
    if (pf[0].revents & (POLLIN | POLLHUP)) {
      char buf[64];
      ssize_t n;
      while ((n = ::read(started.exit_fd.get(), buf, sizeof buf)) > 0)
        exit_text.append(buf, static_cast<size_t>(n));
      break;
    }
  }
  if (raw)
    ::tcsetattr(0, TCSANOW, &saved);
  for (size_t i = 0; i < std::size(sigs); ++i)
    ::sigaction(sigs[i], &old[i], nullptr);
  g_sig_pipe = -1;
  long long status = 0;
  if (exit_text.empty() || !rt::parse_int(exit_text, status))
    return call.fail("the container's monitor died before reporting its exit", 125);
  return static_cast<int>(status);
}

} // namespace ctk::plugins::run
