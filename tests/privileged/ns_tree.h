// A tree of real processes in new namespaces, for the privileged ns_* and
// proc_* tests. Everything it starts is SIGKILLed and reaped in the
// destructor, and every child has PDEATHSIG set, so nothing outlives a
// failing or crashing test.
//
//   test ── M (host pid ns; unshares pid [+ uts, net, user])
//            └─ A1  pid 1 in ns A; hostname "ctk-ns-a"
//                └─ B1  pid 2 in A, pid 1 in ns B (nested)
//                    └─ B2  pid 3 in A, pid 2 in B
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "ctk/runtime/proc.h"

namespace ctk::test {

inline constexpr const char *kTreeHostname = "ctk-ns-a";

class NsTree {
public:
  // extra_flags: more namespaces for A1 (CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWUSER).
  explicit NsTree(int extra_flags = CLONE_NEWUTS | CLONE_NEWNET) { start(extra_flags); }
  ~NsTree() { stop(); }
  NsTree(const NsTree &) = delete;
  NsTree &operator=(const NsTree &) = delete;

  bool ok() const { return a1_ > 0 && b1_ > 0 && b2_ > 0; }
  const std::string &error() const { return error_; }
  pid_t middle() const { return middle_; }
  pid_t a1() const { return a1_; } // host pids
  pid_t b1() const { return b1_; }
  pid_t b2() const { return b2_; }

  void stop() {
    // Killing pid 1 of ns A kills all of A and B; the middle reaps A1 and
    // exits, so no zombie is left to the host's init.
    if (a1_ > 0)
      ::kill(a1_, SIGKILL);
    if (middle_ > 0) {
      int st;
      bool reaped = false;
      for (int i = 0; i < 500 && !reaped; ++i) {
        reaped = ::waitpid(middle_, &st, WNOHANG) == middle_;
        if (!reaped)
          ::usleep(10000);
      }
      if (!reaped) {
        ::kill(middle_, SIGKILL);
        while (::waitpid(middle_, &st, 0) < 0 && errno == EINTR) {
        }
      }
    }
    middle_ = a1_ = b1_ = b2_ = 0;
  }

private:
  [[noreturn]] static void child_exit(int code) { ::_exit(code); }

  static void die_with_parent() { ::prctl(PR_SET_PDEATHSIG, SIGKILL); }

  // Reads exactly n bytes within 10 s; false on EOF (a child failed) or timeout.
  static bool read_within(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      struct pollfd pfd {
        fd, POLLIN, 0
      };
      if (::poll(&pfd, 1, 10000) <= 0)
        return false;
      ssize_t r = ::read(fd, static_cast<char *>(buf) + got, n - got);
      if (r <= 0)
        return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }

  static void signal_ready(int fd) {
    char c = 'r';
    if (::write(fd, &c, 1) != 1)
      child_exit(7);
    ::close(fd);
  }

  void start(int extra_flags) {
    // pidp carries A1's host pid from the middle; ready gets one byte when
    // the deepest process runs. Each process closes the write ends it does
    // not need, so a failure anywhere shows as EOF instead of a hang.
    int pidp[2], ready[2];
    if (::pipe2(pidp, O_CLOEXEC) != 0 || ::pipe2(ready, O_CLOEXEC) != 0) {
      error_ = std::string("pipe: ") + std::strerror(errno);
      return;
    }
    const bool user = extra_flags & CLONE_NEWUSER;
    pid_t parent = ::getpid();
    middle_ = ::fork();
    if (middle_ < 0) {
      error_ = std::string("fork: ") + std::strerror(errno);
      return;
    }
    if (middle_ == 0) {
      die_with_parent();
      if (::getppid() != parent)
        child_exit(1);
      ::close(pidp[0]);
      ::close(ready[0]);
      if (::unshare(CLONE_NEWPID | (extra_flags & ~CLONE_NEWUSER)) != 0)
        child_exit(2);
      if ((extra_flags & CLONE_NEWUTS) &&
          ::sethostname(kTreeHostname, std::strlen(kTreeHostname)) != 0)
        child_exit(3);
      pid_t a1 = ::fork();
      if (a1 < 0)
        child_exit(4);
      if (a1 == 0) {
        die_with_parent();
        ::close(pidp[1]);
        if (user) {
          // A user namespace below the others, which stay owned by the
          // host's: entering it deprivileges (nsenter's "user last" case).
          if (::unshare(CLONE_NEWUSER) != 0)
            child_exit(5);
          signal_ready(ready[1]);
        } else {
          if (::unshare(CLONE_NEWPID) != 0)
            child_exit(6);
          pid_t b1 = ::fork();
          if (b1 < 0)
            child_exit(9);
          if (b1 == 0) {
            die_with_parent();
            pid_t b2 = ::fork();
            if (b2 < 0)
              child_exit(10);
            if (b2 == 0) {
              die_with_parent();
              signal_ready(ready[1]);
              for (;;)
                ::pause();
            }
            ::close(ready[1]);
            for (;;)
              ::pause();
          }
          ::close(ready[1]);
        }
        for (;;)
          ::pause();
      }
      ::close(ready[1]);
      if (::write(pidp[1], &a1, sizeof a1) != sizeof a1)
        child_exit(8);
      ::close(pidp[1]);
      int st;
      while (::waitpid(a1, &st, 0) < 0 && errno == EINTR) {
      }
      child_exit(0);
    }
    ::close(pidp[1]);
    ::close(ready[1]);
    pid_t a1 = 0;
    char c = 0;
    bool got = read_within(pidp[0], &a1, sizeof a1) && read_within(ready[0], &c, 1);
    ::close(pidp[0]);
    ::close(ready[0]);
    if (!got) {
      int st = 0;
      ::waitpid(middle_, &st, WNOHANG);
      error_ = "the namespace tree did not start (middle status " + std::to_string(st) + ")";
      if (a1 > 0)
        a1_ = a1; // so stop() kills it
      return;
    }
    a1_ = a1;
    if (user) {
      b1_ = b2_ = a1; // no nested pid namespace in this variant
      return;
    }
    // B1 and B2 host pids: the children of A1 and B1.
    ctk::rt::proc::ScanOptions o;
    o.fields = ctk::rt::proc::kStatus;
    auto all = ctk::rt::proc::scan(o);
    if (!all) {
      error_ = all.error().message();
      return;
    }
    for (const auto &p : *all)
      if (p.ppid == a1_)
        b1_ = p.pid;
    for (const auto &p : *all)
      if (b1_ && p.ppid == b1_)
        b2_ = p.pid;
    if (!b1_ || !b2_)
      error_ = "cannot find the nested processes below pid " + std::to_string(a1_);
  }

  pid_t middle_ = 0, a1_ = 0, b1_ = 0, b2_ = 0;
  std::string error_;
};

} // namespace ctk::test
