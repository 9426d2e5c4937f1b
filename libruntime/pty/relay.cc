// The two-way copy between a terminal master and the caller's streams.
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "ctk/runtime/pty.h"

namespace ctk::rt::pty {

namespace {

// False when the destination is gone (the reader closed it).
bool write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd pf{fd, POLLOUT, 0};
      ::poll(&pf, 1, 100);
      continue;
    }
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// One read from `from` copied to `to`: false at EOF or error (EIO on a pty
// master whose slave side is closed everywhere).
bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  if (to >= 0)
    write_all(to, buf, static_cast<size_t>(n));
  return true;
}

} // namespace

Result<void> relay(const RelayFds &f, const std::function<void()> &on_event) {
  int in = f.in;
  int master = f.master;
  while (true) {
    pollfd pf[4] = {
        {in, POLLIN, 0}, {master, POLLIN, 0}, {f.done_fd, POLLIN, 0}, {f.event_fd, POLLIN, 0}};
    if (::poll(pf, 4, -1) < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot wait for terminal input");
    }
    if (pf[3].revents & POLLIN) {
      if (on_event)
        on_event();
    }
    if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(master, f.out))
        master = -1; // every slave fd is closed: nothing more will come
    }
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = ::read(in, buf, sizeof buf);
      if (n > 0 && master >= 0) {
        write_all(master, buf, static_cast<size_t>(n));
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        in = -1;
        // The terminal's EOF character: a reading shell sees end of input,
        // as with docker exec -i on a closed stdin.
        termios t{};
        char eof = ::tcgetattr(f.master, &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04';
        if (master >= 0)
          write_all(master, &eof, 1);
      }
    }
    if (master < 0 && f.done_fd < 0)
      return {};
    if (pf[2].revents & (POLLIN | POLLHUP)) {
      // The process is gone; background children may keep the slave open,
      // so drain what is buffered without waiting for EOF.
      if (master >= 0) {
        int fl = ::fcntl(master, F_GETFL);
        ::fcntl(master, F_SETFL, fl | O_NONBLOCK);
        char buf[16384];
        ssize_t n;
        while ((n = ::read(master, buf, sizeof buf)) > 0)
          if (f.out >= 0)
            write_all(f.out, buf, static_cast<size_t>(n));
        ::fcntl(master, F_SETFL, fl);
      }
      return {};
    }
  }
}

} // namespace ctk::rt::pty
