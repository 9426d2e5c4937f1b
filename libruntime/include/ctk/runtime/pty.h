// Pseudo-terminals from a container's own devpts instance, and passing file
// descriptors between processes.
//
// A container mounts its own devpts (newinstance), so its /dev/pts/N names
// mean nothing on the host and a host pty's name means nothing inside (`tty`
// would print "not a tty"). The pty is therefore opened through the
// container's ptmx, in its mount namespace, and the slave is reached with
// TIOCGPTPEER rather than by a path, which works across mount namespaces.
//
//   auto pair = ctk::rt::pty::open_in_mount_ns(target_pid);  // ctk exec -t
//   auto pair = ctk::rt::pty::open_at("/dev/pts");           // inside the container
//   ctk::rt::pty::relay({.in = 0, .out = 1, .master = pair->master.get(), .done_fd = pidfd});
#pragma once

#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"

namespace ctk::rt::pty {

struct Pair {
  UniqueFd master; // O_CLOEXEC, O_NOCTTY
  UniqueFd slave;  // O_CLOEXEC, O_NOCTTY; not yet the controlling terminal
};

// Opens a new pty from the devpts instance mounted at `devpts_dir`
// (`<devpts_dir>/ptmx`), the slave by TIOCGPTPEER. Sets the window size when
// `size` is given.
Result<Pair> open_at(const std::string &devpts_dir, const winsize *size = nullptr);

// The same inside the mount namespace of `pid` (its /dev/pts, resolved in
// that namespace): a forked child joins the namespace, opens the pair and
// passes both fds back. The caller's thread never changes namespace.
Result<Pair> open_in_mount_ns(pid_t pid, const winsize *size = nullptr);

// Makes `slave` the controlling terminal and stdin/stdout/stderr of the
// calling process (after setsid). For a child just before exec.
Result<void> make_controlling(int slave);

// Copies both ways between the caller's streams and a pty master: `in` to
// the master, the master to `out`, until `done_fd` (a pidfd of the process
// on the other side) becomes readable; then what the master still holds is
// drained and relay returns. EOF on `in` sends the terminal's EOF character
// once and stops reading it. When `event_fd` is readable, `on_event` runs
// (the caller's signal pipe: forward a signal, copy the window size). Any fd
// may be -1. The caller owns the terminal modes; relay never prints.
struct RelayFds {
  int in = -1;
  int out = -1;
  int master = -1;
  int done_fd = -1;
  int event_fd = -1;
};
Result<void> relay(const RelayFds &fds, const std::function<void()> &on_event = {});

// SCM_RIGHTS over a unix socket: one message with `data` (at least one byte is
// sent) and the fds. recv_fds returns the fds received (O_CLOEXEC) and fills
// `data` with the bytes of that one message (up to `max_data`).
Result<void> send_fds(int sock, std::span<const int> fds, std::string_view data = "x");
Result<std::vector<UniqueFd>> recv_fds(int sock, std::string *data = nullptr,
                                       size_t max_data = 4096);

} // namespace ctk::rt::pty

namespace ctk::rt::pty {

// A foreground session's signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
// SIGUSR2, SIGWINCH), caught while the object lives and queued on fd() for
// the session's poll loop: the caller forwards them to the container's
// process (docker's --sig-proxy) and answers SIGWINCH with the window size.
// The previous dispositions come back at destruction. One at a time per
// process. With `skip_terminal_keys`, ^C and ^\ typed at a terminal
// (si_code SI_KERNEL) are not queued: they reached the command already when
// it shares ctk's process group.
class SignalQueue {
public:
  static Result<std::unique_ptr<SignalQueue>> install(bool skip_terminal_keys);
  ~SignalQueue();
  SignalQueue(const SignalQueue &) = delete;
  SignalQueue &operator=(const SignalQueue &) = delete;
  int fd() const { return read_.get(); }
  // The signals queued since the last call, in order of arrival.
  std::vector<int> take();

private:
  static constexpr size_t kSignals = 7;
  SignalQueue() = default;
  UniqueFd read_, write_;
  struct sigaction old_[kSignals];
};

// The terminal `fd` in raw mode while the object lives (nothing when `fd`
// is not a terminal or `enable` is false), restored at destruction.
class RawMode {
public:
  RawMode(int fd, bool enable);
  ~RawMode();
  RawMode(const RawMode &) = delete;
  RawMode &operator=(const RawMode &) = delete;

private:
  int fd_ = -1;
  bool active_ = false;
  termios saved_{};
};

} // namespace ctk::rt::pty
