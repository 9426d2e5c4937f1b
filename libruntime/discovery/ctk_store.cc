// ctk's own containers.
//
// The state file ctk's container runtime (issue 4) writes for each container,
// and the minimum discovery reads:
//
//   <run-root>/containers/<id>/state.json
//   {
//     "id":        "<64 hex>",                       full ID, also the directory name
//     "name":      "web",                            unique among ctk containers
//     "image":     "busybox:latest",                 as the user named it
//     "pid":       4242,                             host PID of init; 0 when not running
//     "pid_start": 123456,                           init's /proc/PID/stat start time
//                                                    (clock ticks); guards PID reuse
//     "status":    "running",                        created|running|paused|exited
//     "created":   "2026-11-27T18:09:57.34Z",        RFC 3339
//     "bundle":    "/run/ctk/containers/<id>",       optional
//     "cgroup":    "/ctk/<id>",                      optional, as in /proc/PID/cgroup
//     "labels":    {"k": "v"}                        optional
//   }
//
// It is written atomically (write_file_atomic) so readers never see half a file.
//
// The run root is a tmpfs on most hosts: after a reboot, and before a
// container's first start, only <root>/containers/<id>/config.json (id, name,
// image, created) is left, and such a container is still a valid target
// ("created", as docker shows it), so those are read too.
#include <set>

#include "internal.h"

namespace ctk::rt::discovery::detail {

void read_ctk_store(const HostPaths &paths, const std::string &root, const std::string &run_root,
                    Found &out) {
  std::set<std::string> seen;
  const std::string dir = run_root + "/containers";
  for (const auto &id : list_dir(paths.prefixed(dir), &out.warnings)) {
    const std::string file = paths.prefixed(dir + "/" + id + "/state.json");
    if (!path_exists(file))
      continue;
    auto st = read_json(file);
    if (!st) {
      out.warnings.push_back("skipping ctk container " + id + ": " + st.error().message());
      continue;
    }
    Container c;
    c.runtime = Runtime::ctk;
    c.id = json_str(*st, "id", id);
    c.name = json_str(*st, "name");
    c.image = json_str(*st, "image");
    c.status = json_str(*st, "status", "unknown");
    c.created = parse_rfc3339(json_str(*st, "created")).value_or(json_int(*st, "created"));
    c.bundle = json_str(*st, "bundle");
    c.cgroup_path = json_str(*st, "cgroup");
    c.labels = json_string_map(json_obj(*st, "labels"));
    c.source = "state:" + dir + "/" + id + "/state.json";
    pid_t pid = static_cast<pid_t>(json_int(*st, "pid"));
    auto start = static_cast<uint64_t>(json_int(*st, "pid_start"));
    if (c.status == "running" || c.status == "paused") {
      if (pid > 0 && process_matches(paths, pid, start))
        c.pid = pid;
      else
        c.status = "exited"; // its monitor died before recording the exit
    }
    seen.insert(c.id);
    out.containers.push_back(std::move(c));
  }
  const std::string cdir = root + "/containers";
  for (const auto &id : list_dir(paths.prefixed(cdir), &out.warnings)) {
    const std::string file = paths.prefixed(cdir + "/" + id + "/config.json");
    if (id.size() != 64 || seen.count(id) || !path_exists(file))
      continue;
    auto cfg = read_json(file);
    if (!cfg) {
      out.warnings.push_back("skipping ctk container " + id + ": " + cfg.error().message());
      continue;
    }
    Container c;
    c.runtime = Runtime::ctk;
    c.id = id;
    c.name = json_str(*cfg, "name");
    c.image = json_str(*cfg, "image");
    c.status = "created";
    c.created = parse_rfc3339(json_str(*cfg, "created")).value_or(json_int(*cfg, "created"));
    c.labels = json_string_map(json_obj(*cfg, "labels"));
    c.source = "config:" + cdir + "/" + id + "/config.json";
    out.containers.push_back(std::move(c));
  }
}

} // namespace ctk::rt::discovery::detail
