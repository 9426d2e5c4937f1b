// Running a command inside another process's context: its namespaces, root,
// working directory, cgroup, credentials and confinement. `ctk exec` and
// `ctk nsenter` build an ExecSpec and hand it to spawn(); everything that
// touches the target happens here, in forked children, never on the caller's
// thread.
//
//   ctk::rt::ns::ExecSpec spec;
//   spec.enter.target_pid = 4242;
//   spec.enter.types = ctk::rt::ns::all_types();
//   spec.root = spec.cwd = ctk::rt::ns::PathMode::target;
//   spec.argv = {"sh", "-c", "hostname"};
//   spec.env = ctk::rt::ns::target_environment(4242).value();
//   spec.copy_cgroup = spec.copy_confinement = true;
//   auto child = ctk::rt::ns::spawn(spec);         // forked, entered, exec'd
//   auto done = ctk::rt::ns::wait(*child);         // {status, error}
//
// Safety (CVE-2019-5736): the child is made non-dumpable before it joins
// anything, closes every descriptor it does not need, leaves the host's
// working directory when it joins the mount namespace, and runs the command
// through a sealed memfd copy of the ctk-exec helper, so /proc/PID/exe never
// names a host binary that a process inside could open for writing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/ns.h"

namespace ctk::rt::ns {

// Every namespace type, in no particular order (open_namespaces orders them).
std::vector<proc::NsType> all_types();

// ---- credentials ------------------------------------------------------------

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups
  std::string home = "/";    // from passwd, for HOME
};

// docker's -u USER[:GROUP] against the texts of a passwd and a group file
// (nullopt when the file is missing). A numeric UID or GID needs no entry; a
// name must have one: "unable to find user NAME: no matching entries in
// passwd file" (docker's words). Supplementary groups are those that list
// the user by name. An empty spec is root.
Result<Credentials> resolve_user(std::string_view spec, const std::optional<std::string> &passwd,
                                 const std::optional<std::string> &group);

// The same with /etc/passwd and /etc/group read below `root_fd` (a
// directory fd, e.g. /proc/PID/root), resolving every path inside it
// (openat2 RESOLVE_IN_ROOT): a symlink cannot lead out of the container.
Result<Credentials> resolve_user_in_root(int root_fd, std::string_view spec);

// The credentials `pid` runs with (real UID and GID, supplementary groups),
// as seen inside its user namespace (mapped back through its uid_map and
// gid_map): what `ctk exec` uses without -u.
Result<Credentials> target_credentials(pid_t pid, const HostPaths &paths = {});
// An ID as seen inside a user namespace, from the text of its uid_map or
// gid_map as read from ours; nullopt when unmapped.
std::optional<uint32_t> map_to_inside(std::string_view map, uint32_t host_id);

// ---- environment -----------------------------------------------------------

// NUL-separated KEY=VALUE entries (/proc/PID/environ); entries without "=" dropped.
std::vector<std::string> parse_environ(std::string_view text);
// The environment of `pid` (/proc/PID/environ).
Result<std::vector<std::string>> target_environment(pid_t pid, const HostPaths &paths = {});
// The value of KEY in an environment, or nullopt.
std::optional<std::string> env_get(const std::vector<std::string> &env, std::string_view key);
// docker's rule for -e and --env-file entries: "KEY=VALUE" sets, a bare "KEY"
// takes the value from `lookup` (the caller's environment) and is dropped
// when it has none. Later entries win; the order of first appearance stays.
std::vector<std::string>
merge_env(std::vector<std::string> base, const std::vector<std::string> &entries,
          const std::function<std::optional<std::string>(const std::string &)> &lookup);
// An --env-file: one entry per line, blank lines and lines starting with "#"
// skipped, leading whitespace trimmed. A line with whitespace in the key is
// invalid_argument naming `origin` and the line number.
Result<std::vector<std::string>> parse_env_file(std::string_view text, const std::string &origin);

// ---- the spec ----------------------------------------------------------------

// Where a root or working directory comes from.
enum class PathMode {
  keep,     // the caller's (after setns(mnt), the namespace's root)
  target,   // the target's /proc/PID/root or /proc/PID/cwd, opened before entering
  host_dir, // `path` opened before entering (nsenter -r DIR / -w DIR: a "tunnel")
  ns_dir,   // `path` resolved inside, after the root is set (docker -w, nsenter -W)
};

struct ExecSpec {
  EnterSpec enter; // target pid, namespace types, namespace files
  PathMode root = PathMode::keep;
  std::string root_path;
  PathMode cwd = PathMode::keep;
  std::string cwd_path;
  std::vector<std::string> argv; // argv[0] without "/" is looked up in the PATH of `env`
  std::optional<std::vector<std::string>> env; // nullopt: the caller's environment

  // Credentials: set when given (docker -u, nsenter -S/-G). When entering a
  // user namespace without preserve_credentials, nsenter's rule applies:
  // uid and gid default to 0 and supplementary groups are dropped.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<std::vector<gid_t>> groups;
  bool preserve_credentials = false;

  bool copy_cgroup = false; // join the target's cgroups (v1 hierarchies and v2)
  // Take the target's capability bounding set and inheritable/ambient sets,
  // no_new_privs, seccomp filters and LSM label (docker exec's confinement).
  bool copy_confinement = false;
  bool all_capabilities = false; // --privileged: full sets, no seccomp, no LSM label

  // Join every requested namespace but the mount namespace; run in a private
  // copy of the host's mount namespace with the target's pid namespace's
  // /proc, its network namespace's /sys and its root at /target.
  bool keep_host_fs = false;

  bool fork = true;    // nsenter -F clears it: no fork after joining a pid namespace
  bool detach = false; // docker -d: do not wait; wait() returns once it runs

  // Descriptors for the command's stdin/stdout/stderr (-1: inherit). With
  // `tty` set they are ignored: tty becomes the controlling terminal and all three.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  int tty = -1;

  // The sealed helper (path of ctk-exec; "" = beside the ctk binary). When
  // false the command is exec'd directly (nsenter without protection).
  bool sealed_exec = true;
  std::string exec_helper;
};

// The check of `spec` that needs no system call (tests use it).
Result<void> validate(const ExecSpec &spec);

struct Spawned {
  pid_t child = 0;   // our direct child; waited for by wait()
  pid_t command = 0; // host PID of the command's process (signals go here)
  UniqueFd status;   // the child's report pipe
  UniqueFd child_fd; // pidfd of `child`: readable once it exited (for poll loops)
};

// Forks, enters and execs. Errors before the fork (a namespace file that
// cannot be opened, an unreadable target) are returned here; errors of the
// child (a namespace it cannot join, a command that is not found) come from wait().
Result<Spawned> spawn(const ExecSpec &spec);

struct ExecResult {
  int status = 0;    // the command's exit status, 128+N if killed by signal N
  std::string error; // set when the command never ran: status 125, 126 or 127
};
// Waits for the child and reads its report.
Result<ExecResult> wait(Spawned &s);

// The memfd holding a sealed (read-only, unresizable) copy of the ctk-exec
// helper at `path` ("" = <dir of /proc/self/exe>/../libexec/ctk/ctk-exec).
Result<UniqueFd> sealed_exec_helper(const std::string &path);

} // namespace ctk::rt::ns
