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
#include "ctk/runtime/pty.h"

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
  // docker's --sig-proxy: the signals ctk gets go to the container's PID 1,
  // ^C typed at ctk's terminal too (the container is in a session of its
  // own). With -t, ^C arrives as a byte the container's pty turns into SIGINT.
  auto sigs = rt::pty::SignalQueue::install(false);
  if (!sigs)
    return call.fail(sigs.error(), 125);
  const int master = started.pty_master.get();
  auto set_winsize = [&] {
    winsize ws{};
    if (master >= 0 && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
      ::ioctl(master, TIOCSWINSZ, &ws);
  };
  if (tty)
    set_winsize();
  rt::pty::RawMode raw(0, tty && interactive);
  bool stdin_open = tty && interactive;
  std::string exit_text;
  while (true) {
    pollfd pf[3] = {{started.exit_fd.get(), POLLIN, 0}, {(*sigs)->fd(), POLLIN, 0},
                    {stdin_open ? 0 : -1, POLLIN, 0}};
    if (::poll(pf, 3, -1) < 0 && errno != EINTR)
      break;
    if (pf[1].revents & POLLIN)
      for (int sig : (*sigs)->take()) {
        if (sig == SIGWINCH)
          set_winsize();
        else if (started.pid > 0)
          ::kill(started.pid, sig);
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
  long long status = 0;
  if (exit_text.empty() || !rt::parse_int(exit_text, status))
    return call.fail("the container's monitor died before reporting its exit", 125);
  return static_cast<int>(status);
}

namespace {

std::vector<std::string> strings_of(const nlohmann::json &j) {
  std::vector<std::string> v;
  if (j.is_array())
    for (const auto &e : j)
      if (e.is_string())
        v.push_back(e.get<std::string>());
  return v;
}

} // namespace

rt::Result<void> apply_image(rt::image::Store &store, const rt::image::Image &img,
                             rt::container::ContainerConfig &c) {
  c.image_id = img.config.str();
  c.image_manifest = img.manifest.str();
  auto cfg = store.read_json(img.config);
  if (!cfg)
    return rt::wrap(cfg, "cannot read the config of image " + c.image);
  const nlohmann::json ic = cfg->value("config", nlohmann::json::object());
  c.env = strings_of(ic.value("Env", nlohmann::json()));
  c.entrypoint = strings_of(ic.value("Entrypoint", nlohmann::json()));
  c.cmd = strings_of(ic.value("Cmd", nlohmann::json()));
  c.working_dir = ic.value("WorkingDir", "");
  c.user = ic.value("User", "");
  return {};
}

} // namespace ctk::plugins::run
