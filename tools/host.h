// The host side of a running command: the ctk_host_v1 callbacks a plugin
// calls, wired to the renderer, the progress bar, stderr and the interrupt
// flag.
//
//   Host host(cfg, renderer.get(), out_buf, out);   // renderer may be null
//   ctk_call_v1 call{..., host.table(), &host, ...};
//   int status = cmd.run(&call);
//   host.finish();                                  // renderer finish, flush stdout
#pragma once

#include <ostream>
#include <string>

#include "ctk/runtime/plugin_abi.h"
#include "output.h"
#include "progress.h"
#include "record_builder.h"
#include "render/render.h"

namespace ctk::tools {

struct HostConfig {
  std::string command; // for messages
  int log_level = CTK_LOG_WARN;
  bool stderr_tty = false;
};

class Host {
public:
  Host(HostConfig cfg, Renderer *renderer, StdoutBuf &buf, std::ostream &out);
  Host(const Host &) = delete;
  Host &operator=(const Host &) = delete;

  const ctk_host_v1 *table() const { return &table_; }
  // Ends the output: the renderer's finish, the bar, stdout's buffer.
  // Ends the output. A command that failed before emitting anything prints
  // nothing on stdout (no empty table header, no "[]"): only its error.
  void finish(bool command_failed = false);
  // The renderer failed on some record (a template naming a missing field).
  bool render_failed() const { return render_failed_; }

  // The callbacks, reachable for tests and for built-in commands.
  void begin_record() { builder_.begin_record(); }
  void end_record();
  RecordBuilder &builder() { return builder_; }
  void flush();
  void progress(const char *label, uint64_t done, uint64_t total);
  void error(const char *msg);
  void warn(const char *msg);
  void log(int level, const char *msg);
  bool interrupted();
  int interrupt_fd();
  void write_raw(const char *data, size_t n);
  void write_raw_stderr(const char *data, size_t n);
  double interval(double requested);
  int wake_fd();

private:
  void say(int level, const std::string &line); // stderr, or the live view's status line
  void check_output();
  template <class F> void guard_render(F &&f);

  HostConfig cfg_;
  Renderer *renderer_;
  StdoutBuf &buf_;
  std::ostream &out_;
  Progress progress_;
  RecordBuilder builder_;
  ctk_host_v1 table_{};
  bool render_failed_ = false;
  size_t records_ = 0;
};

} // namespace ctk::tools
