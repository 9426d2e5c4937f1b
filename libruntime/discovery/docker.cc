// docker's container state, read from files so it works with dockerd down:
//   <data-root>/containers/<id>/config.v2.json   name, state, image, labels
//   <data-root>/containers/<id>/hostconfig.json  cgroup parent (for the path)
#include "internal.h"

namespace ctk::rt::discovery::detail {
namespace {

// docker's State.String() without the human durations.
std::string docker_status(const nlohmann::json &state, int64_t started) {
  if (json_bool(state, "Running"))
    return json_bool(state, "Paused") ? "paused" : "running";
  if (json_bool(state, "Dead"))
    return "dead";
  if (json_bool(state, "RemovalInProgress"))
    return "removing";
  // A never-started container has Go's zero StartedAt.
  return started > 0 ? "exited" : "created";
}

// dockerd records no start time of the init process, only StartedAt. A live
// process under the recorded PID that started much later than the container
// is an unrelated process that reused the PID after a crash or reboot that
// dockerd did not see.
bool pid_is_containers(const HostPaths &paths, pid_t pid, int64_t started_at) {
  auto start = process_start_unix(paths, pid);
  if (!start)
    return false;
  constexpr int64_t kSlack = 10; // seconds between StartedAt and exec of the init
  return started_at <= 0 || *start <= started_at + kSlack;
}

} // namespace

void read_docker(const HostPaths &paths, const std::string &data_root, Found &out) {
  const std::string dir = paths.prefixed(data_root + "/containers");
  for (const auto &id : list_dir(dir, &out.warnings)) {
    const std::string cfg_path = dir + "/" + id + "/config.v2.json";
    if (!path_exists(cfg_path))
      continue; // a half-created or half-removed container directory
    auto cfg = read_json(cfg_path);
    if (!cfg) {
      out.warnings.push_back("skipping docker container " + id + ": " + cfg.error().message());
      continue;
    }
    Container c;
    c.runtime = Runtime::docker;
    c.id = json_str(*cfg, "ID", id);
    c.name = json_str(*cfg, "Name");
    if (!c.name.empty() && c.name[0] == '/')
      c.name.erase(0, 1);
    const auto &config = json_obj(*cfg, "Config");
    c.image = json_str(config, "Image", json_str(*cfg, "Image"));
    c.labels = json_string_map(json_obj(config, "Labels"));
    c.created = parse_rfc3339(json_str(*cfg, "Created")).value_or(0);
    if (c.created < 0)
      c.created = 0;
    const auto &state = json_obj(*cfg, "State");
    int64_t started = parse_rfc3339(json_str(state, "StartedAt")).value_or(0);
    c.status = docker_status(state, started);
    pid_t pid = static_cast<pid_t>(json_int(state, "Pid"));
    if ((c.status == "running" || c.status == "paused") && pid > 0) {
      if (pid_is_containers(paths, pid, started))
        c.pid = pid;
      else
        c.status = "exited"; // dockerd died with it; the state file is stale
    } else if (c.status == "running" || c.status == "paused") {
      c.status = "exited";
    }
    c.ns = "moby";
    c.source = "state:" + data_root + "/containers/" + id + "/config.v2.json";
    // The cgroup path only when the container runs: cgroupfs driver default.
    auto host = read_json(dir + "/" + id + "/hostconfig.json");
    if (host && c.pid > 0) {
      std::string parent = json_str(*host, "CgroupParent");
      if (parent.empty())
        c.cgroup_path = "/docker/" + c.id;
      else if (parent.size() > 6 && parent.substr(parent.size() - 6) == ".slice")
        c.cgroup_path = "/" + parent + "/docker-" + c.id + ".scope"; // systemd driver
      else
        c.cgroup_path = parent + "/" + c.id;
    }
    out.containers.push_back(std::move(c));
  }
}

} // namespace ctk::rt::discovery::detail
