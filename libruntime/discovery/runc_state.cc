// OCI runtime state, the lowest layer every runtime above shares:
//   runc: <root>/<id>/state.json   {"id", "init_process_pid", "init_process_start",
//                                   "created", "config": {"labels": ["bundle=<dir>"]}}
//   crun: <root>/<id>/status       {"pid", "process-start-time", "bundle", "created"}
// Roots in use: /run/runc and /run/crun (podman, plain runc), docker's
// <exec-root>/runtime-runc/moby, containerd's <state>/runc/<ns>.
//
// The recorded start time guards against PID reuse: the container runs only
// if a process with that PID exists and started at that clock tick.
#include "internal.h"

namespace ctk::rt::discovery::detail {
namespace {

// The runtime and namespace a bundle path belongs to, when it is another
// runtime's (the resolver merges by ID; this only matters when that
// runtime's own state is gone).
void classify_bundle(Container &c) {
  static const std::string kTask = "/io.containerd.runtime.v2.task/";
  auto pos = c.bundle.find(kTask);
  if (pos == std::string::npos)
    return;
  auto rest = c.bundle.substr(pos + kTask.size());
  auto ns = rest.substr(0, rest.find('/'));
  c.ns = ns;
  c.runtime = ns == "moby" ? Runtime::docker : Runtime::containerd;
}

} // namespace

void read_runc_root(const HostPaths &paths, const std::string &root, Found &out) {
  for (const auto &id : list_dir(paths.prefixed(root), &out.warnings)) {
    const std::string dir = paths.prefixed(root + "/" + id);
    bool is_crun = false;
    std::string file = dir + "/state.json";
    if (!path_exists(file)) {
      file = dir + "/status";
      is_crun = true;
      if (!path_exists(file))
        continue;
    }
    auto st = read_json(file);
    if (!st) {
      out.warnings.push_back("skipping " + std::string(is_crun ? "crun" : "runc") + " container " +
                             id + ": " + st.error().message());
      continue;
    }
    Container c;
    c.runtime = is_crun ? Runtime::crun : Runtime::runc;
    c.id = json_str(*st, "id", id);
    pid_t pid = 0;
    uint64_t start = 0;
    if (is_crun) {
      pid = static_cast<pid_t>(json_int(*st, "pid"));
      start = static_cast<uint64_t>(json_int(*st, "process-start-time"));
      c.bundle = json_str(*st, "bundle");
      c.cgroup_path = json_str(*st, "cgroup-path");
    } else {
      pid = static_cast<pid_t>(json_int(*st, "init_process_pid"));
      start = static_cast<uint64_t>(json_int(*st, "init_process_start"));
      const auto &config = json_obj(*st, "config");
      if (auto it = config.find("labels"); it != config.end() && it->is_array())
        for (const auto &l : *it)
          if (l.is_string() && l.get<std::string>().rfind("bundle=", 0) == 0)
            c.bundle = l.get<std::string>().substr(7);
      c.cgroup_path = json_str(json_obj(config, "cgroups"), "path");
    }
    c.created = parse_rfc3339(json_str(*st, "created")).value_or(0);
    if (pid > 0 && process_matches(paths, pid, start)) {
      c.pid = pid;
      c.status = "running";
    } else {
      c.status = "stopped";
      if (pid > 0 && start != 0 && process_start_ticks(paths, pid))
        out.reused_pids[c.id] = pid;
    }
    c.source = "state:" + root + "/" + id + (is_crun ? "/status" : "/state.json");
    classify_bundle(c);
    out.containers.push_back(std::move(c));
  }
}

} // namespace ctk::rt::discovery::detail
