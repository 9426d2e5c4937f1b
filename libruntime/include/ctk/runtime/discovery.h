// Container discovery: one resolver for every runtime on the host.
//
//   ctk::rt::discovery::Resolver r = *Resolver::open({});   // standard paths
//   auto web = r.resolve("docker://web");      // or "web", "podman://db", "containerd://k8s.io/<id>",
//                                              // "crio://<id>", "pid://4242", "4242", a ctk name/ID prefix
//   auto all = r.list(/*all=*/false);          // running containers of every runtime
//   auto who = r.container_of(process);        // by cgroup path, then by init pid
//
// Discovery reads each runtime's state directories and the cgroup paths of
// processes, so it works when the daemons are down. When a daemon API socket
// answers (docker's HTTP API over a unix socket) it may be asked too, but
// never needed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/proc.h"

namespace ctk::rt::discovery {

enum class Runtime { ctk, docker, podman, containerd, crio, runc, crun, unknown };
// "ctk", "docker", "podman", "containerd", "cri-o", "runc", "crun", "-"
const char *runtime_name(Runtime r);
// Accepts the names above and the target schemes ("crio").
std::optional<Runtime> parse_runtime(std::string_view s);

struct Container {
  Runtime runtime = Runtime::unknown;
  std::string id;    // full ID
  std::string name;  // docker/podman name without "/"; k8s container name; else empty
  std::string ns;    // containerd namespace ("moby", "k8s.io", "default"); empty otherwise
  std::string image; // image reference as the runtime records it
  std::string status; // "running", "exited", "created", "paused", "stopped", "unknown"
  pid_t pid = 0;      // host PID of the container's init process; 0 when not running
  int64_t created = 0; // unix seconds; 0 when unknown
  std::string cgroup_path; // as in /proc/PID/cgroup, when known
  std::string bundle;      // OCI bundle / state directory, when known
  std::map<std::string, std::string> labels;
  std::string source; // how it was found: "state:<path>", "api:<socket>", "cgroup:<path>"
};

// A runtime's container cgroup, recognised from its path alone:
// "/docker/<id>", "/system.slice/docker-<id>.scope", ".../libpod-<id>.scope",
// "/libpod_parent/libpod-<id>", ".../cri-containerd-<id>.scope",
// ".../crio-<id>.scope", "/kubepods/.../pod<uid>/<id>", "/ctk/<id>".
// Conmon and pod sandbox parents ("libpod-conmon-", "crio-conmon-") are not containers.
struct CgroupMatch {
  Runtime runtime = Runtime::unknown;
  std::string id;
};
std::optional<CgroupMatch> match_cgroup_path(std::string_view path);

// Where the runtimes keep their state. Defaults are the standard paths; the
// resolver overrides them from DOCKER_HOST and friends, and from a running
// daemon's own command line (--data-root, --exec-root, --root, --state).
struct RuntimeRoots {
  std::string ctk_root = "/var/lib/ctk";
  std::string ctk_run_root = "/run/ctk";
  std::vector<std::string> docker_data_roots = {"/var/lib/docker"};
  std::vector<std::string> docker_exec_roots = {"/run/docker"};
  std::vector<std::string> docker_sockets = {"/var/run/docker.sock"};
  std::vector<std::string> containerd_states = {"/run/containerd"};
  std::vector<std::string> containerd_roots = {"/var/lib/containerd"};
  std::vector<std::string> storage_roots = {"/var/lib/containers/storage"};    // podman, CRI-O
  std::vector<std::string> storage_run_roots = {"/run/containers/storage"};
  std::vector<std::string> runc_roots = {"/run/runc", "/run/crun"};
};

struct Options {
  HostPaths paths;
  RuntimeRoots roots;
  bool ask_daemons = true;        // query API sockets that answer
  bool detect_from_daemons = true; // read roots from running daemons' command lines
  bool apply_environment = true;  // DOCKER_HOST, CONTAINERD_ADDRESS, CONTAINERS_STORAGE_CONF...
  // When set, daemons are looked for in these processes (comm and cmdline
  // filled, e.g. by a proc::scan the caller did anyway) instead of reading
  // /proc/*/comm again: saves a /proc walk on hosts with many processes.
  // Only read during Resolver::open().
  const std::vector<proc::Process> *processes = nullptr;
};

// A parsed container target.
struct Target {
  std::optional<Runtime> runtime; // from the scheme; nullopt = search all
  std::string ns;                 // containerd namespace
  std::string name;               // name or ID (prefix)
  pid_t pid = 0;                  // for pid://N or a bare number
};
// invalid_argument for a malformed target ("docker://", "pid://abc", "containerd://x").
Result<Target> parse_target(std::string_view text);

// An image reference with its transport (containers-transports(5) names).
struct ImageRef {
  std::string transport; // "ctk" for a store name, "docker-archive", "oci-archive", "oci",
                         // "docker-daemon", "containers-storage"
  std::string reference; // path or name, with any ":TAG" / "@digest" kept
};
Result<ImageRef> parse_image_ref(std::string_view text);

class Resolver {
public:
  static Result<Resolver> open(Options opt);

  // Every container the runtimes know; only running ones unless `all`.
  // A runtime whose state cannot be read is skipped and noted in warnings().
  Result<std::vector<Container>> list(bool all = true);

  // One container. not_found names the target; ambiguous lists candidates as
  // "runtime://name (id)". A pid target resolves to the container that owns
  // the process (not_found if none); the returned Container then has pid set
  // to the container's init PID when known.
  Result<Container> resolve(std::string_view target);
  Result<Container> resolve(const Target &target);

  // The container a process belongs to: its cgroup path first, then being a
  // runtime's init pid (for --cgroupns/--cgroup-parent setups), else nullopt.
  std::optional<Container> container_of(const proc::Process &p);

  // Problems met while discovering (unreadable state, malformed JSON), as
  // one-line messages naming the file.
  const std::vector<std::string> &warnings() const { return warnings_; }
  const Options &options() const { return opt_; }

private:
  explicit Resolver(Options opt) : opt_(std::move(opt)) {}
  Result<void> load();
  Options opt_;
  bool loaded_ = false;
  std::vector<Container> containers_;
  std::map<std::string, size_t> by_id_; // full id -> index
  std::vector<std::string> warnings_;
};

// A target that must be one of ctk's own containers (stop, kill, rm, start,
// wait, logs, port, commit, diff): a name ("/web" too), an ID prefix,
// "ctk://NAME" or a pid target owned by a ctk container. Only ctk's stores
// under `root` and `run_root` are read (no daemon is asked). Another
// runtime's scheme ("docker://web") is invalid_argument saying that ctk acts
// only on its own containers; not_found and ambiguous as Resolver::resolve.
Result<Container> resolve_ctk(const std::string &root, const std::string &run_root,
                              std::string_view target, const HostPaths &paths = {});

// The state roots of every runtime as the resolver finds them: opt.roots,
// the environment, running daemons' command lines, and (dockerd down) the
// data roots that running docker containers reveal through their mounts.
// For readers of the runtimes' stores, such as image::open_image().
Result<RuntimeRoots> detect_roots(Options opt);

} // namespace ctk::rt::discovery
