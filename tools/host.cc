#include "host.h"

#include <cstdio>
#include <exception>
#include <string_view>

#include <fmt/format.h>

#include "signals.h"

namespace ctk::tools {

namespace {

Host &self(void *ctx) {
  return *static_cast<Host *>(ctx);
}

// The C table: each entry forwards to the Host behind ctx. Nothing may throw
// back into the plugin, so each forwarder swallows what escapes.
template <class F> void shielded(F &&f) noexcept {
  try {
    f();
  } catch (...) {
  }
}

ctk_host_v1 make_table() {
  ctk_host_v1 t{};
  t.size = sizeof(ctk_host_v1);
  t.begin_record = [](void *c) { shielded([&] { self(c).begin_record(); }); };
  t.end_record = [](void *c) { shielded([&] { self(c).end_record(); }); };
  t.key = [](void *c, const char *k, size_t n) {
    shielded([&] { self(c).builder().key(std::string(k ? k : "", k ? n : 0)); });
  };
  t.value_string = [](void *c, const char *s, size_t n) {
    shielded([&] { self(c).builder().value(std::string(s ? s : "", s ? n : 0)); });
  };
  t.value_int = [](void *c, int64_t v) { shielded([&] { self(c).builder().value(v); }); };
  t.value_uint = [](void *c, uint64_t v) { shielded([&] { self(c).builder().value(v); }); };
  t.value_double = [](void *c, double v) { shielded([&] { self(c).builder().value(v); }); };
  t.value_bool = [](void *c, int v) { shielded([&] { self(c).builder().value(v != 0); }); };
  t.value_null = [](void *c) { shielded([&] { self(c).builder().value(nullptr); }); };
  t.begin_object = [](void *c) { shielded([&] { self(c).builder().begin_object(); }); };
  t.end_object = [](void *c) { shielded([&] { self(c).builder().end_object(); }); };
  t.begin_array = [](void *c) { shielded([&] { self(c).builder().begin_array(); }); };
  t.end_array = [](void *c) { shielded([&] { self(c).builder().end_array(); }); };
  t.flush = [](void *c) { shielded([&] { self(c).flush(); }); };
  t.progress = [](void *c, const char *l, uint64_t d, uint64_t n) {
    shielded([&] { self(c).progress(l, d, n); });
  };
  t.error = [](void *c, const char *m) { shielded([&] { self(c).error(m); }); };
  t.warn = [](void *c, const char *m) { shielded([&] { self(c).warn(m); }); };
  t.log = [](void *c, int level, const char *m) { shielded([&] { self(c).log(level, m); }); };
  t.interrupted = [](void *c) -> int {
    int r = 1;
    shielded([&] { r = self(c).interrupted() ? 1 : 0; });
    return r;
  };
  t.interrupt_fd = [](void *c) -> int {
    int r = -1;
    shielded([&] { r = self(c).interrupt_fd(); });
    return r;
  };
  t.write_raw = [](void *c, const char *d, size_t n) {
    shielded([&] { self(c).write_raw(d, n); });
  };
  t.interval = [](void *c, double requested) -> double {
    double r = requested;
    shielded([&] { r = self(c).interval(requested); });
    return r;
  };
  t.write_raw_stderr = [](void *c, const char *d, size_t n) {
    shielded([&] { self(c).write_raw_stderr(d, n); });
  };
  t.wake_fd = [](void *c) -> int {
    int r = -1;
    shielded([&] { r = self(c).wake_fd(); });
    return r;
  };
  return t;
}

void print_stderr(const std::string &line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

const char *level_name(int level) {
  switch (level) {
  case CTK_LOG_ERROR:
    return "error";
  case CTK_LOG_WARN:
    return "warning";
  case CTK_LOG_INFO:
    return "info";
  default:
    return "debug";
  }
}

} // namespace

Host::Host(HostConfig cfg, Renderer *renderer, StdoutBuf &buf, std::ostream &out)
    : cfg_(std::move(cfg)), renderer_(renderer), buf_(buf), out_(out), progress_(cfg_.stderr_tty),
      table_(make_table()) {}

template <class F> void Host::guard_render(F &&f) {
  if (!renderer_ || render_failed_)
    return;
  try {
    f();
  } catch (const std::exception &e) {
    // Reported once: a template that fails on one record fails on all.
    render_failed_ = true;
    error(fmt::format("{}: {}", cfg_.command, e.what()).c_str());
  }
  check_output();
}

void Host::end_record() {
  auto rec = builder_.end_record();
  if (!rec) {
    log(CTK_LOG_WARN,
        fmt::format("{}: dropped a malformed record: {}", cfg_.command, builder_.error()).c_str());
    return;
  }
  records_++;
  // A record emitted by an INTERACTIVE/NO_OUTPUT command has nowhere to go.
  guard_render([&] { renderer_->record(std::move(*rec)); });
}

void Host::flush() {
  guard_render([&] { renderer_->flush(); });
  out_.flush();
  check_output();
}

void Host::progress(const char *label, uint64_t done, uint64_t total) {
  if (renderer_ && renderer_->owns_terminal())
    return;
  progress_.update(label ? label : "", done, total);
}

void Host::say(int level, const std::string &line) {
  // A line written over the live view would scramble it: the view shows it
  // and repeats it on stderr once the terminal is back.
  if (renderer_ && renderer_->owns_terminal()) {
    renderer_->diagnostic(level, line);
    return;
  }
  progress_.finish();
  print_stderr(line);
}

void Host::error(const char *msg) {
  say(CTK_LOG_ERROR, fmt::format("ctk: {}\n", msg ? msg : ""));
}

void Host::warn(const char *msg) {
  say(CTK_LOG_WARN, fmt::format("ctk: warning: {}\n", msg ? msg : ""));
}

void Host::log(int level, const char *msg) {
  if (level > cfg_.log_level)
    return;
  say(level, fmt::format("ctk: {}: {}\n", level_name(level), msg ? msg : ""));
}

bool Host::interrupted() {
  return interrupts::raised();
}

int Host::interrupt_fd() {
  return interrupts::fd();
}

void Host::write_raw(const char *data, size_t n) {
  if (data && n)
    out_.write(data, static_cast<std::streamsize>(n));
  check_output();
}

void Host::write_raw_stderr(const char *data, size_t n) {
  out_.flush();
  check_output();
  if (data && n)
    print_stderr(std::string(data, n));
}

double Host::interval(double requested) {
  return renderer_ ? renderer_->interval(requested) : requested;
}

int Host::wake_fd() {
  return renderer_ ? renderer_->wake_fd() : -1;
}

void Host::check_output() {
  // The reader of our stdout went away: tell the command to stop, as if the
  // user had pressed ^C, but without a word on stderr.
  if (buf_.broken())
    interrupts::raise_quietly();
}

void Host::finish(bool command_failed) {
  if (!command_failed || records_ > 0)
    guard_render([&] { renderer_->finish(); });
  progress_.finish();
  out_.flush();
  check_output();
}

} // namespace ctk::tools
