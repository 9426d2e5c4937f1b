// Internals shared by the discovery readers (one file per runtime) and the
// resolver. Not a public header: nothing outside libruntime/discovery/
// includes it.
//
// Every reader takes host paths (the runtime's own absolute paths, such as
// "/var/lib/docker") and reads them through HostPaths::prefixed(), so unit
// tests run the same code on fixture trees. Readers never fail: what they
// cannot read becomes a one-line warning naming the file, and discovery of
// the other runtimes goes on.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/discovery.h"

namespace ctk::rt::discovery::detail {

struct Found {
  std::vector<Container> containers;
  std::vector<std::string> warnings;
  // id -> PID that a source with a recorded start time (runc's state.json)
  // proved to belong to another process now. Other sources of the same
  // container that only check "PID exists" are corrected with it.
  std::map<std::string, pid_t> reused_pids;
};

// --- util.cc ---------------------------------------------------------------

// Parses a JSON state file; Errc::parse names the file and the parser's reason.
Result<nlohmann::json> read_json(const std::string &path);
// Typed field access that tolerates missing keys and wrong types (state files
// of other versions): returns the fallback instead of throwing.
std::string json_str(const nlohmann::json &j, const char *key, std::string fallback = {});
int64_t json_int(const nlohmann::json &j, const char *key, int64_t fallback = 0);
bool json_bool(const nlohmann::json &j, const char *key, bool fallback = false);
const nlohmann::json &json_obj(const nlohmann::json &j, const char *key);
std::map<std::string, std::string> json_string_map(const nlohmann::json &j);

// RFC 3339 ("2026-11-27T18:09:57.340105601Z", "...+02:00") to unix seconds;
// nullopt when malformed; Go's zero time "0001-01-01T00:00:00Z" gives a
// negative value that callers treat as unset.
std::optional<int64_t> parse_rfc3339(std::string_view s);

// Entry names of a directory (no "." and ".."), sorted; empty if it cannot be
// read. A directory that exists but cannot be read (EACCES: not root) adds a
// warning when `warnings` is given; a missing one is just an absent runtime.
std::vector<std::string> list_dir(const std::string &path,
                                  std::vector<std::string> *warnings = nullptr);
bool path_exists(const std::string &path);
// A file holding one decimal PID (pidfile, init.pid, conmon.pid).
std::optional<pid_t> read_pid_file(const std::string &path);
// Parent directory of an absolute path ("/a/b/c" -> "/a/b").
std::string parent_dir(std::string_view path);

// Start time of a live process in clock ticks after boot (stat field 22);
// nullopt when there is no such process (or it is a zombie: a dead container
// init waiting for its reaper is not running).
std::optional<uint64_t> process_start_ticks(const HostPaths &paths, pid_t pid);
// The same as unix seconds, using btime from /proc/stat.
std::optional<int64_t> process_start_unix(const HostPaths &paths, pid_t pid);
// True when `pid` exists and, if `start_ticks` is non-zero, started at that
// tick: the guard against a PID reused by an unrelated process.
bool process_matches(const HostPaths &paths, pid_t pid, uint64_t start_ticks = 0);
// /proc/PID/cgroup of one process; empty when unreadable.
std::vector<proc::CgroupEntry> read_process_cgroups(const HostPaths &paths, pid_t pid);
// NUL-separated /proc/PID/cmdline; empty for kernel threads or vanished processes.
std::vector<std::string> read_cmdline(const HostPaths &paths, pid_t pid);
// PIDs under paths.proc.
std::vector<pid_t> list_pids(const HostPaths &paths);

// --- per-runtime readers ---------------------------------------------------
void read_docker(const HostPaths &paths, const std::string &data_root, Found &out);
void read_containerd(const HostPaths &paths, const std::string &state_dir, Found &out);
// Each container's pidfile is looked for under every run root: graph and
// run roots come from separate sources and cannot be paired reliably.
void read_storage(const HostPaths &paths, const std::string &graph_root,
                  const std::vector<std::string> &run_roots, Found &out);
void read_runc_root(const HostPaths &paths, const std::string &root, Found &out);
// Containers with a state.json under <run_root>, then those with only a
// config.json under <root> (created, or the run root was wiped by a reboot).
void read_ctk_store(const HostPaths &paths, const std::string &root, const std::string &run_root,
                    Found &out);

// --- daemon_roots.cc -------------------------------------------------------
// DOCKER_HOST, CONTAINERD_ADDRESS, CONTAINERS_STORAGE_CONF.
void apply_environment(RuntimeRoots &roots, const HostPaths &paths);
// Command lines of dockerd, containerd, crio, containerd shims and conmon,
// from `processes` when given, else from a walk over /proc.
void apply_daemon_cmdlines(RuntimeRoots &roots, const HostPaths &paths,
                           const std::vector<proc::Process> *processes);
// The docker data root a container process reveals through the source of its
// /etc/hostname bind mount (see daemon_roots.cc for the chain).
std::optional<std::string> docker_root_from_mountinfo(const HostPaths &paths, pid_t pid);
// Adds `value` to `list` unless present; keeps discovery order stable.
void add_unique(std::vector<std::string> &list, const std::string &value);

// --- docker_api.cc ---------------------------------------------------------
// GET /containers/json?all=1 on a docker API unix socket; a short timeout so
// a hung daemon costs little.
Result<std::vector<Container>> docker_api_list(const std::string &socket_path, int timeout_ms);

} // namespace ctk::rt::discovery::detail
