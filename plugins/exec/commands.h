// ctk exec (docker exec's options) and ctk nsenter (util-linux nsenter's):
// both map their options to an ns::ExecSpec; libruntime does the entering.
#pragma once

#include <string>

#include "ctk/runtime/exec.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::exec {

using rt::plugin::Call;

int run_exec(Call &call);
int run_nsenter(Call &call);

// A TARGET's host PID: a number or pid://N is the process itself (no
// resolver: the fast path), anything else a container of any runtime
// through the one resolver, which must be running.
rt::Result<pid_t> target_pid(const Call &call, const std::string &target);

struct Session {
  bool tty = false;         // -t: a pty from the target's devpts (or the host's)
  bool interactive = false; // -i: stdin is copied
  bool detach = false;      // -d
  bool host_pty = false;    // --keep-host-fs: the pty comes from the host's /dev/pts
};
// Spawns `spec`, runs the terminal session (relay, raw mode, window size,
// signals forwarded to the command) and returns the command's exit status.
// Errors are reported through `call`. A command that could not be executed
// (126, 127) is reported as "<exec_prefix>: <cause>"; a failure to enter
// (125) as "<enter_prefix>: <cause>" with status `enter_status`.
struct Reporting {
  std::string exec_prefix;
  std::string enter_prefix;
  int enter_status = 125;
};
int run_session(Call &call, rt::ns::ExecSpec &spec, const Session &s, const Reporting &rep);

} // namespace ctk::plugins::exec
