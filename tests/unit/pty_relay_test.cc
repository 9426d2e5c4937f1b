// pty::relay: both directions between the caller's fds and a pty master, the
// terminal's EOF on end of input, and the end when the process is gone.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "ctk/runtime/pty.h"

namespace pty = ctk::rt::pty;

namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

// A shell on the pty's slave that reads lines until EOF and answers each.
pid_t spawn_on(int slave) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!pty::make_controlling(slave))
      ::_exit(120);
    ::execl("/bin/sh", "sh", "-c", "while read x; do echo got:$x; done; echo eof", nullptr);
    ::_exit(127);
  }
  return pid;
}

TEST(PtyRelay, CopiesBothWaysSendsEofAndEndsWithTheProcess) {
  auto pair = pty::open_at("/dev"); // /dev/ptmx: usable without root
  if (!pair)
    GTEST_SKIP() << "no pty: " << pair.error().message();
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  pid_t pid = spawn_on(pair->slave.get());
  ASSERT_GT(pid, 0);
  pair->slave.reset();
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(::write(in[1], "abc\nxyz\n", 8), 8);
  ::close(in[1]);

  pty::RelayFds f;
  f.in = in[0];
  f.out = out[1];
  f.master = pair->master.get();
  f.done_fd = pidfd;
  ASSERT_TRUE(pty::relay(f));
  ::close(out[1]);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  std::string text = read_all(out[0]);
  // The terminal echoes the input too; the answers and the EOF must be there.
  EXPECT_NE(text.find("got:abc"), std::string::npos) << text;
  EXPECT_NE(text.find("got:xyz"), std::string::npos) << text;
  EXPECT_NE(text.find("eof"), std::string::npos) << text;
  ::close(in[0]);
  ::close(out[0]);
  ::close(pidfd);
}

} // namespace

// The session's signals are queued in order while the queue lives, and the
// previous dispositions come back after it.
TEST(PtySignalQueue, QueuesForwardedSignalsAndRestores) {
  struct sigaction before{};
  ::sigaction(SIGUSR1, nullptr, &before);
  {
    auto q = ctk::rt::pty::SignalQueue::install(false);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_FALSE(ctk::rt::pty::SignalQueue::install(false)); // one at a time
    ::raise(SIGUSR1);
    ::raise(SIGWINCH);
    EXPECT_EQ((*q)->take(), (std::vector<int>{SIGUSR1, SIGWINCH}));
    EXPECT_TRUE((*q)->take().empty());
  }
  struct sigaction after{};
  ::sigaction(SIGUSR1, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  EXPECT_TRUE(ctk::rt::pty::SignalQueue::install(true)); // free again
}
