// containerd's task state (runtime v2 shims), which lives as long as the
// shim does, with or without containerd:
//   <state>/io.containerd.runtime.v2.task/<ns>/<id>/init.pid     init's host PID
//   <state>/io.containerd.runtime.v2.task/<ns>/<id>/config.json  the OCI spec (the bundle)
// Names and images of plain containerd containers live in containerd's bolt
// database (meta.db), which is not read; Kubernetes' CRI plugin copies them
// into the spec's annotations, which is what a user of k8s.io needs.
// docker's containers run in the "moby" namespace; they are reported as
// docker containers (the resolver merges them with config.v2.json by ID).
#include "internal.h"

namespace ctk::rt::discovery::detail {

void read_containerd(const HostPaths &paths, const std::string &state_dir, Found &out) {
  const std::string tasks = state_dir + "/io.containerd.runtime.v2.task";
  for (const auto &ns : list_dir(paths.prefixed(tasks), &out.warnings)) {
    for (const auto &id : list_dir(paths.prefixed(tasks + "/" + ns))) {
      const std::string bundle = tasks + "/" + ns + "/" + id;
      const std::string dir = paths.prefixed(bundle);
      Container c;
      c.runtime = ns == "moby" ? Runtime::docker : Runtime::containerd;
      c.id = id;
      c.ns = ns;
      c.bundle = bundle;
      c.source = "state:" + bundle;
      c.status = "stopped";
      if (auto pid = read_pid_file(dir + "/init.pid")) {
        // No start time is recorded here; the runc state (merged later by ID)
        // carries it and applies the PID reuse guard.
        if (process_matches(paths, *pid)) {
          c.pid = *pid;
          c.status = "running";
        }
      } else if (!path_exists(dir + "/init.pid")) {
        c.status = "created";
      }
      if (path_exists(dir + "/config.json")) {
        auto spec = read_json(dir + "/config.json");
        if (!spec) {
          out.warnings.push_back("skipping containerd container " + ns + "/" + id + ": " +
                                 spec.error().message());
          continue;
        }
        auto ann = json_string_map(json_obj(*spec, "annotations"));
        auto get = [&](const char *k) {
          auto it = ann.find(k);
          return it == ann.end() ? std::string() : it->second;
        };
        // CRI: a sandbox (pause) container is named after its pod.
        c.name = get("io.kubernetes.cri.container-name");
        if (c.name.empty() && get("io.kubernetes.cri.container-type") == "sandbox")
          c.name = get("io.kubernetes.cri.sandbox-name");
        c.image = get("io.kubernetes.cri.image-name");
        c.labels = std::move(ann);
        auto linux_ = json_obj(*spec, "linux");
        c.cgroup_path = json_str(linux_, "cgroupsPath");
        // The systemd driver writes "slice:prefix:id"; that is not a path.
        if (c.cgroup_path.find(':') != std::string::npos)
          c.cgroup_path.clear();
      }
      out.containers.push_back(std::move(c));
    }
  }
}

} // namespace ctk::rt::discovery::detail
