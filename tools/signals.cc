#include "signals.h"

#include <atomic>
#include <csignal>
#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

namespace ctk::tools::interrupts {

namespace {

std::atomic<int> g_count{0};
std::atomic<bool> g_quiet{false};
int g_fd = -1;
std::atomic<void (*)()> g_last_words{nullptr};

void notify() {
  if (g_fd >= 0) {
    uint64_t one = 1;
    // Async-signal-safe; a full counter (never in practice) just stays readable.
    ssize_t ignored = ::write(g_fd, &one, sizeof one);
    (void)ignored;
  }
}

void on_signal(int sig) {
  if (g_count.fetch_add(1) > 0) {
    if (auto hook = g_last_words.load())
      hook();
    _exit(128 + sig);
  }
  notify();
}

} // namespace

void install() {
  if (g_fd < 0)
    g_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool raised() {
  return g_count.load() > 0 || g_quiet.load();
}

int fd() {
  return g_fd;
}

void raise_quietly() {
  // Not counted as a signal: a later real SIGINT still gets its graceful turn.
  if (!g_quiet.exchange(true))
    notify();
}

void set_last_words(void (*hook)()) {
  g_last_words.store(hook);
}

} // namespace ctk::tools::interrupts
