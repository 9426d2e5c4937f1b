// ctk's own containers: the record of a container on disk, and the runtime
// that creates, starts, signals and removes them. (Issue 4.)
//
// On disk (every command works on containers an earlier ctk process made):
//   <root>/containers/<id>/config.json    ContainerConfig (what `run` asked for), written once
//   <root>/containers/<id>/upper, work    overlayfs upper and work dirs: survive stop
//                                         (commit and diff read `upper`)
//   <root>/containers/<id>/<id>-json.log  the log, docker's json-file format, one JSON per line:
//                                         {"log":"hello\n","stream":"stdout","time":"RFC3339Nano"}
//   <root>/containers/<id>/hosts, hostname, resolv.conf   bind-mounted into the container
//   <run-root>/containers/<id>/state.json State, written atomically (format documented in
//                                         libruntime/discovery/ctk_store.cc; discovery reads it)
//   <run-root>/containers/<id>/lock       flock: exclusive while a command changes the container
//   <run-root>/containers/<id>/rootfs     the overlay mount point while running
// Names are unique: <root>/containers/names.json maps name -> id, under a lock.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/cgroup_manage.h"
#include "ctk/runtime/core.h"
#include "ctk/runtime/netsetup.h"
#include "ctk/runtime/security.h"

namespace ctk::rt::container {

struct Mount {
  std::string type = "bind";  // "bind" | "tmpfs"
  std::string source;         // host path (bind)
  std::string destination;    // path in the container
  bool read_only = false;
  std::string options;        // tmpfs options ("size=64m,mode=1777")
};

// ctk debug: the root filesystem mounted at /target in a debug container
// (container/target_mount.cc). Either a running process's root, taken from
// its mount namespace, or an image's unpacked layers under an upper dir of
// the debug container's own.
struct DebugTarget {
  std::string target;           // as the user named it
  pid_t pid = 0;                // process whose root is mounted (a container's init)
  uint64_t pid_start = 0;       // its /proc/PID/stat starttime: a reused PID is refused
  std::string image_id;         // or: an image (config digest)...
  std::string lowerdir;         // ...and its layers as an overlayfs lowerdir (top first)
  bool read_only = false;
};

// What `run` asked for; config.json is this as JSON (to_json/from_json).
struct ContainerConfig {
  std::string id, name;
  std::string image;                 // as the user named it
  std::string image_id;              // config digest "sha256:..."
  std::string image_manifest;        // manifest digest, for Store::use / unpack
  std::vector<std::string> entrypoint, cmd; // after image defaults and overrides
  std::vector<std::string> env;      // K=V, image env then -e/--env-file
  std::string working_dir, user, hostname;
  bool tty = false, interactive = false, detach = false, auto_remove = false;
  bool read_only = false, init = false;
  // --allow-docker-forward: ctk's ACCEPT rules in docker's DOCKER-USER chain
  // while the container is on the bridge (net::BridgeNetwork::allow_in_docker_user).
  bool allow_docker_forward = false;
  std::vector<Mount> mounts;
  std::string network = "bridge";    // "bridge" | "host" | "none" | "container:<id>"
  std::string pid_mode, ipc_mode, uts_mode; // "" | "host" | "container:<id>"
  std::vector<net::PortMap> ports;
  security::SecurityOptions security;
  cgroup::Limits limits;
  std::map<std::string, std::string> labels;
  std::string created;               // RFC 3339
  std::optional<DebugTarget> debug_target; // ctk debug: what to mount at /target
};
void to_json(nlohmann::json &j, const ContainerConfig &c);
void from_json(const nlohmann::json &j, ContainerConfig &c);

// The live part (state.json).
struct State {
  std::string status = "created";    // created | running | exited
  pid_t pid = 0;                     // host PID of the container's PID 1
  uint64_t pid_start = 0;            // /proc/PID/stat starttime, guards PID reuse
  pid_t monitor_pid = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string started_at, finished_at; // RFC 3339
  std::optional<net::Endpoint> endpoint;
  std::string cgroup;                // "/ctk/<id>"
};

struct Paths {
  std::string root = "/var/lib/ctk", run_root = "/run/ctk";
  std::string dir(const std::string &id) const { return root + "/containers/" + id; }
  std::string run_dir(const std::string &id) const { return run_root + "/containers/" + id; }
};

// state.json as written by the monitor: State's members plus the keys
// discovery reads (id, name, image, created, bundle, labels).
nlohmann::json state_to_json(const ContainerConfig &c, const State &s);
Result<void> write_state(const Paths &paths, const ContainerConfig &c, const State &s);

// A new random 64-hex ID, and docker-style "adjective_name" names.
std::string new_id();
std::string random_name();

// Registers `cfg` (ID, name unique in names.json, directories, config.json).
// Fills id, name and created when empty. exists when the name is taken.
Result<void> create_container(const Paths &paths, ContainerConfig &cfg);

// How a start is wired to the caller.
struct StartOptions {
  // Foreground: the monitor copies the container's output to these fds (the
  // user's terminal) besides the log; -1 = log only (detached).
  int stdout_fd = -1, stderr_fd = -1;
  // -i: the container's stdin (passed as is without -t; copied to the pty with -t
  // by the caller, see Started::pty_master). -1 = /dev/null.
  int stdin_fd = -1;
  // -t: a terminal whose window size the container's pty starts with (the
  // user's stdin), so the size is right before the command runs. -1 = none.
  int winsize_from = -1;
  // Namespaces to join instead of new ones: "net", "pid", "ipc", "uts" ->
  // /proc/<pid>/ns/<kind> of the target (resolved by the caller, any runtime).
  std::map<std::string, std::string> join_ns;
  // --ipc container:TARGET: the host PID of TARGET, whose /dev/shm the
  // container mounts as its own (docker shares it with the IPC namespace).
  pid_t shm_from = 0;
  std::string init_path = "/usr/bin/tini-static"; // --init, bind-mounted at /dev/init
  // The static helper the container's first process execs from a sealed
  // memfd, so /proc/self/exe never leads to ctk's binary ("" = beside ctk:
  // <bin>/../libexec/ctk/ctk-exec).
  std::string exec_helper;
  std::string seccomp_profile_dir;                // SecurityOptions::profile_dir when empty there
  // Set when the start fails: docker's status for it (125 setup, 126 the
  // command cannot be executed, 127 not found).
  int *failed_status = nullptr;
};

// A started container. The monitor (a detached process, child of init after
// a double fork) is the parent of the container's PID 1: it reaps it,
// records the exit in state.json, keeps the log and tears down; it survives
// the caller being killed.
struct Started {
  pid_t pid = 0, monitor_pid = 0;
  // Readable once the container exited, its output was drained and the state
  // written: the exit status as decimal text (foreground runs wait on it).
  UniqueFd exit_fd;
  // -t: the pty master. The pty comes from the container's own devpts, so
  // `tty` inside names its /dev/pts/N; its slave is the container's
  // stdin/out/err. The monitor reads it, the caller writes input and sets
  // the window size.
  UniqueFd pty_master;
  std::optional<net::Endpoint> endpoint;
};

// Starts a created or exited container (same upper dir). Errors (bad image,
// mount source, user, command not found) undo what was done; a command that
// cannot be executed is Errc::not_found (exit 127) or permission_denied (126).
Result<Started> start(const Paths &paths, const std::string &id, const StartOptions &opt);

// Sends `sig` to the container's PID 1. not_found when it is not running.
Result<void> kill(const Paths &paths, const std::string &id, int sig);
// SIGTERM, then SIGKILL after `timeout`; returns once the monitor recorded the exit.
Result<void> stop(const Paths &paths, const std::string &id, std::chrono::seconds timeout);
// Blocks until the container's monitor is gone; the recorded exit code.
Result<int> wait(const Paths &paths, const std::string &id);
// Removes a stopped container (force: kills it first): directories, name,
// and what a dead monitor left (cgroup, network endpoint). Idempotent.
Result<void> remove(const Paths &paths, const std::string &id, bool force);

// Where the monitor holds its lock (exclusive for its whole life): wait()
// takes it shared.
inline std::string monitor_lock_path(const Paths &p, const std::string &id) {
  return p.run_dir(id) + "/monitor.lock";
}

} // namespace ctk::rt::container
