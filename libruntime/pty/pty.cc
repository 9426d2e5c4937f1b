// Ptys from a devpts instance by TIOCGPTPEER, and fd passing.
#include "ctk/runtime/pty.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace ctk::rt::pty {

Result<Pair> open_at(const std::string &devpts_dir, const winsize *size) {
  const std::string ptmx = devpts_dir + "/ptmx";
  Pair p;
  p.master.reset(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master)
    return fail_errno("cannot open " + ptmx);
  int unlock = 0;
  if (::ioctl(p.master.get(), TIOCSPTLCK, &unlock) != 0)
    return fail_errno("cannot unlock a pty of " + ptmx);
  if (size && ::ioctl(p.master.get(), TIOCSWINSZ, size) != 0)
    return fail_errno("cannot set the window size of a pty of " + ptmx);
  p.slave.reset(::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave)
    return fail_errno("cannot open the slave of a pty of " + ptmx);
  return p;
}

Result<Pair> open_in_mount_ns(pid_t pid, const winsize *size) {
  const std::string what = "cannot open a pty in the mount namespace of PID " + std::to_string(pid);
  auto ns = open_fd("/proc/" + std::to_string(pid) + "/ns/mnt", O_RDONLY);
  if (!ns)
    return wrap(ns, what);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail_errno(what);
  UniqueFd mine(sv[0]), theirs(sv[1]);
  pid_t child = ::fork();
  if (child < 0)
    return fail_errno(what);
  if (child == 0) {
    mine.reset();
    // unshare(CLONE_FS) is implied in a single-threaded child; setns(mnt)
    // needs it when the parent had threads sharing fs state.
    if (::unshare(CLONE_FS) != 0 || ::setns(ns->get(), CLONE_NEWNS) != 0) {
      int e = errno;
      (void)!::write(theirs.get(), &e, sizeof e);
      ::_exit(1);
    }
    auto pair = open_at("/dev/pts", size);
    if (!pair) {
      int e = pair.error().sys_errno ? pair.error().sys_errno : EIO;
      (void)!::write(theirs.get(), &e, sizeof e);
      ::_exit(1);
    }
    const int fds[2] = {pair->master.get(), pair->slave.get()};
    ::_exit(send_fds(theirs.get(), fds) ? 0 : 1);
  }
  theirs.reset();
  std::string data;
  auto got = recv_fds(mine.get(), &data, 64);
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (!got)
    return wrap(got, what);
  if (got->size() != 2) {
    int e = EIO;
    if (data.size() == sizeof e)
      std::memcpy(&e, data.data(), sizeof e);
    return fail_errno(what, e);
  }
  Pair p;
  p.master = std::move((*got)[0]);
  p.slave = std::move((*got)[1]);
  return p;
}

Result<void> make_controlling(int slave) {
  if (::setsid() < 0 && errno != EPERM)
    return fail_errno("setsid");
  if (::ioctl(slave, TIOCSCTTY, 0) != 0)
    return fail_errno("cannot make the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave, fd) < 0)
      return fail_errno("cannot attach the pty");
  return {};
}

Result<void> send_fds(int sock, std::span<const int> fds, std::string_view data) {
  if (data.empty())
    data = "x";
  iovec iov{const_cast<char *>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR)
      return fail_errno("cannot pass file descriptors");
  }
  return {};
}

Result<std::vector<UniqueFd>> recv_fds(int sock, std::string *data, size_t max_data) {
  std::string buf(max_data ? max_data : 1, '\0');
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR)
      return fail_errno("cannot receive file descriptors");
  }
  std::vector<UniqueFd> out;
  for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out.emplace_back(fd);
    }
  }
  if (data)
    data->assign(buf.data(), static_cast<size_t>(n));
  return out;
}

} // namespace ctk::rt::pty
