// A foreground session's signals queued on a pipe, and a terminal in raw mode.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "ctk/runtime/pty.h"

namespace ctk::rt::pty {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
int g_queue = -1;
bool g_skip_terminal_keys = false;

void on_signal(int sig, siginfo_t *info, void *) {
  if (g_skip_terminal_keys && info && info->si_code == SI_KERNEL &&
      (sig == SIGINT || sig == SIGQUIT))
    return;
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_queue, &b, 1);
  errno = saved;
}

} // namespace

Result<std::unique_ptr<SignalQueue>> SignalQueue::install(bool skip_terminal_keys) {
  static_assert(std::size(kForwarded) == kSignals);
  if (g_queue >= 0)
    return fail(Errc::busy, "a signal queue is already installed");
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail_errno("cannot create a signal pipe");
  std::unique_ptr<SignalQueue> q(new SignalQueue);
  q->read_.reset(p[0]);
  q->write_.reset(p[1]);
  g_queue = q->write_.get();
  g_skip_terminal_keys = skip_terminal_keys;
  for (size_t i = 0; i < std::size(kForwarded); ++i) {
    struct sigaction sa{};
    sa.sa_sigaction = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    ::sigaction(kForwarded[i], &sa, &q->old_[i]);
  }
  return q;
}

SignalQueue::~SignalQueue() {
  for (size_t i = 0; i < std::size(kForwarded); ++i)
    ::sigaction(kForwarded[i], &old_[i], nullptr);
  g_queue = -1;
}

std::vector<int> SignalQueue::take() {
  std::vector<int> out;
  unsigned char b;
  while (::read(read_.get(), &b, 1) == 1)
    out.push_back(b);
  return out;
}

RawMode::RawMode(int fd, bool enable) : fd_(fd) {
  if (!enable || !::isatty(fd) || ::tcgetattr(fd, &saved_) != 0)
    return;
  termios t = saved_;
  ::cfmakeraw(&t);
  active_ = ::tcsetattr(fd, TCSANOW, &t) == 0;
}

RawMode::~RawMode() {
  if (active_)
    ::tcsetattr(fd_, TCSANOW, &saved_);
}

} // namespace ctk::rt::pty
