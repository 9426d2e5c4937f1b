// containers/storage, shared by podman and CRI-O:
//   <graph root>/overlay-containers/containers.json   id, names, image, metadata
//   <graph root>/overlay-containers/<id>/userdata/config.json   the OCI spec
//   <run root>/overlay-containers/<id>/userdata/pidfile         init's host PID
//   <run root>/overlay-containers/<id>/userdata/conmon.pid      its monitor
// podman's own database (libpod/bolt_state.db) is not read: the storage files
// hold everything a user needs to find a container.
//
// Who created a container is told by the spec's annotations: CRI-O always
// writes io.kubernetes.cri-o.ContainerType; podman writes
// io.container.manager=libpod (and, confusingly, io.kubernetes.cri-o.Created,
// so that key proves nothing).
#include "internal.h"

namespace ctk::rt::discovery::detail {
namespace {

std::string get(const std::map<std::string, std::string> &m, const char *k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

} // namespace

void read_storage(const HostPaths &paths, const std::string &graph_root,
                  const std::vector<std::string> &run_roots, Found &out) {
  const std::string list_path = paths.prefixed(graph_root + "/overlay-containers/containers.json");
  if (!path_exists(list_path))
    return;
  auto list = read_json(list_path);
  if (!list) {
    out.warnings.push_back("skipping podman/CRI-O containers: " + list.error().message());
    return;
  }
  if (!list->is_array()) {
    out.warnings.push_back("skipping podman/CRI-O containers: " + list_path + " is not a list");
    return;
  }
  for (const auto &entry : *list) {
    std::string id = json_str(entry, "id");
    if (id.empty() || id.find('/') != std::string::npos || id == "..")
      continue;
    // metadata is a JSON document inside a string.
    nlohmann::json meta = nlohmann::json::object();
    try {
      meta = nlohmann::json::parse(json_str(entry, "metadata", "{}"));
    } catch (const nlohmann::json::exception &) {
      out.warnings.push_back("container " + id + " in " + list_path + ": malformed metadata");
    }
    Container c;
    c.runtime = Runtime::podman;
    c.id = id;
    if (entry.contains("names") && entry["names"].is_array() && !entry["names"].empty() &&
        entry["names"][0].is_string())
      c.name = entry["names"][0].get<std::string>();
    c.image = json_str(meta, "image-name", json_str(entry, "image"));
    c.created = parse_rfc3339(json_str(entry, "created")).value_or(json_int(meta, "created-at"));
    const std::string userdata = "/overlay-containers/" + id + "/userdata";
    c.bundle = graph_root + userdata;
    c.source = "state:" + graph_root + "/overlay-containers/containers.json";
    bool crio = meta.contains("pod-name") || meta.contains("pod-id");
    const std::string spec_path = paths.prefixed(c.bundle + "/config.json");
    if (path_exists(spec_path)) {
      if (auto spec = read_json(spec_path)) {
        auto ann = json_string_map(json_obj(*spec, "annotations"));
        if (ann.count("io.kubernetes.cri-o.ContainerType"))
          crio = true;
        if (get(ann, "io.container.manager") == "libpod")
          crio = false;
        if (crio) {
          // The Kubernetes container name (the storage name is k8s_<c>_<pod>_...).
          std::string n = get(ann, "io.kubernetes.container.name");
          if (n.empty() && get(ann, "io.kubernetes.cri-o.ContainerType") == "sandbox")
            n = get(ann, "io.kubernetes.pod.name");
          if (!n.empty())
            c.name = n;
          if (auto img = get(ann, "io.kubernetes.cri-o.ImageName"); !img.empty())
            c.image = img;
        }
        c.cgroup_path = json_str(json_obj(*spec, "linux"), "cgroupsPath");
        if (c.cgroup_path.find(':') != std::string::npos)
          c.cgroup_path.clear(); // systemd driver's "slice:prefix:id" form
        c.labels = std::move(ann);
      } else {
        out.warnings.push_back("container " + id + ": " + spec.error().message());
      }
    }
    if (crio) {
      c.runtime = Runtime::crio;
      if (c.name.empty())
        c.name = json_str(meta, "name");
    }
    std::optional<pid_t> pid;
    for (const auto &run_root : run_roots)
      if ((pid = read_pid_file(paths.prefixed(run_root + userdata + "/pidfile"))))
        break;
    if (pid) {
      c.status = "exited";
      if (process_matches(paths, *pid)) {
        c.pid = *pid;
        c.status = "running";
      }
    } else {
      c.status = "created";
    }
    out.containers.push_back(std::move(c));
  }
}

} // namespace ctk::rt::discovery::detail
