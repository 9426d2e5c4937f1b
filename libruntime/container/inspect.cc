// Reading a ctk container's record (config.json + state.json) and shaping it
// as docker's inspect document.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/discovery.h"

namespace ctk::rt::container {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

template <class T> T get_or(const json &j, const char *key, T def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return def;
  return it->get<T>();
}

bool is_dir(const std::string &p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// /proc/PID/stat: field 3 (state) and field 22 (starttime); false when unreadable.
bool stat_of(pid_t pid, char &state, uint64_t &start) {
  auto text = read_file(fmt::format("/proc/{}/stat", pid));
  if (!text)
    return false;
  // comm may contain spaces and parentheses: fields start after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size())
    return false;
  auto fields = split(std::string_view(*text).substr(close + 2), ' ');
  unsigned long long v = 0;
  // After ')' comes field 3 (state): starttime (22) is index 19.
  if (fields.size() <= 19 || fields[0].empty() || !parse_uint(fields[19], v))
    return false;
  state = fields[0][0];
  start = v;
  return true;
}

} // namespace

// A zombie is not alive: once its monitor died, nobody may reap the
// container's PID 1 (an init that does not reap, a test's subreaper), and
// kill(pid, 0) still succeeds on it.
bool process_alive(pid_t pid, uint64_t start) {
  if (pid <= 0)
    return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH)
    return false;
  char state = 0;
  uint64_t actual = 0;
  if (!stat_of(pid, state, actual))
    return start == 0;
  if (state == 'Z' || state == 'X')
    return false;
  return start == 0 || actual == start;
}

Result<State> state_from_json(const json &j) {
  if (!j.is_object())
    return fail(Errc::parse, "state is not a JSON object");
  try {
    State s;
    s.status = get_or<std::string>(j, "status", s.status);
    s.pid = get_or<pid_t>(j, "pid", 0);
    s.pid_start = get_or<uint64_t>(j, "pid_start", 0);
    s.monitor_pid = get_or<pid_t>(j, "monitor_pid", 0);
    s.exit_code = get_or<int>(j, "exit_code", 0);
    s.oom_killed = get_or<bool>(j, "oom_killed", false);
    s.started_at = get_or<std::string>(j, "started_at", "");
    s.finished_at = get_or<std::string>(j, "finished_at", "");
    s.cgroup = get_or<std::string>(j, "cgroup", "");
    if (auto it = j.find("endpoint"); it != j.end() && it->is_object()) {
      net::Endpoint ep;
      ep.ip = get_or<std::string>(*it, "ip", "");
      ep.gateway = get_or<std::string>(*it, "gateway", "");
      ep.mac = get_or<std::string>(*it, "mac", "");
      ep.host_veth = get_or<std::string>(*it, "host_veth", "");
      ep.prefix = get_or<int>(*it, "prefix", 16);
      for (const json &p : it->value("ports", json::array())) {
        net::PortMap pm;
        pm.host_ip = get_or<std::string>(p, "host_ip", "");
        pm.host_port = get_or<uint16_t>(p, "host_port", 0);
        pm.container_port = get_or<uint16_t>(p, "container_port", 0);
        pm.proto = get_or<std::string>(p, "proto", "tcp");
        ep.ports.push_back(std::move(pm));
      }
      for (const json &w : it->value("warnings", json::array()))
        if (w.is_string())
          ep.warnings.push_back(w.get<std::string>());
      s.endpoint = std::move(ep);
    }
    return s;
  } catch (const json::exception &e) {
    return fail(Errc::parse, std::string("malformed state: ") + e.what());
  }
}

Result<Record> load_record(const Paths &paths, const std::string &id) {
  const std::string what = "cannot read container " + id;
  auto text = read_file(paths.dir(id) + "/config.json");
  if (!text)
    return wrap(text, what);
  Record rec;
  try {
    rec.config = json::parse(*text).get<ContainerConfig>();
  } catch (const json::exception &e) {
    return fail(Errc::parse, what + ": malformed config.json: " + e.what());
  }
  if (rec.config.id.empty())
    rec.config.id = id;
  auto st_text = read_file(paths.run_dir(id) + "/state.json");
  if (!st_text) {
    if (st_text.error().code != Errc::not_found)
      return wrap(st_text, what);
    return rec; // created, or the run root was wiped (reboot): nothing runs
  }
  json sj = json::parse(*st_text, nullptr, /*allow_exceptions=*/false);
  if (sj.is_discarded())
    return fail(Errc::parse, what + ": malformed state.json");
  auto st = state_from_json(sj);
  if (!st)
    return wrap(st, what);
  rec.state = std::move(*st);
  if (rec.state.status == "running" && !process_alive(rec.state.pid, rec.state.pid_start)) {
    rec.state.status = "exited"; // the monitor died before recording the exit
    rec.state.pid = 0;
  }
  if (rec.state.status != "running")
    rec.state.pid = 0;
  return rec;
}

std::vector<std::string> list_container_ids(const Paths &paths) {
  std::vector<std::string> ids;
  const std::string dir = paths.root + "/containers";
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return ids;
  while (auto *e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() == 64 && is_hex(n) && is_dir(dir + "/" + n))
      ids.push_back(n);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::string> find_container(const Paths &paths, std::string_view ref) {
  // One resolver for every target (discovery), restricted to ctk's stores.
  auto c = discovery::resolve_ctk(paths.root, paths.run_root, ref);
  if (!c)
    return tl::unexpected(c.error());
  return c->id;
}

namespace {

ordered_json strings(const std::vector<std::string> &v) {
  ordered_json a = ordered_json::array();
  for (const auto &s : v)
    a.push_back(s);
  return a;
}
// docker writes null, not [], for an unset Cmd/Entrypoint.
ordered_json strings_or_null(const std::vector<std::string> &v) {
  return v.empty() ? ordered_json(nullptr) : strings(v);
}

std::string port_key(const net::PortMap &p) {
  return fmt::format("{}/{}", p.container_port, p.proto.empty() ? "tcp" : p.proto);
}

ordered_json port_bindings(const std::vector<net::PortMap> &ports) {
  ordered_json o = ordered_json::object();
  for (const auto &p : ports) {
    auto &arr = o[port_key(p)];
    if (arr.is_null())
      arr = ordered_json::array();
    arr.push_back({{"HostIp", p.host_ip},
                   {"HostPort", p.host_port ? std::to_string(p.host_port) : std::string()}});
  }
  return o;
}

std::string network_mode(const std::string &n) {
  return n.empty() ? "bridge" : n;
}

} // namespace

ordered_json inspect_document(const Record &rec, const Paths &paths, const InspectExtra &extra) {
  const ContainerConfig &c = rec.config;
  const State &s = rec.state;
  const bool running = s.status == "running" || s.status == "paused";
  // docker: Path is the first word of entrypoint+cmd, Args the rest.
  std::vector<std::string> argv = c.entrypoint;
  argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());

  ordered_json state = {
      {"Status", s.status},
      {"Running", running},
      {"Paused", s.status == "paused"},
      {"Restarting", false},
      {"OOMKilled", s.oom_killed},
      {"Dead", false},
      {"Pid", running ? s.pid : 0},
      {"ExitCode", s.exit_code},
      {"Error", ""},
      {"StartedAt", s.started_at.empty() ? "0001-01-01T00:00:00Z" : s.started_at},
      {"FinishedAt", s.finished_at.empty() ? "0001-01-01T00:00:00Z" : s.finished_at}};

  ordered_json host = {
      {"NetworkMode", network_mode(c.network)},
      {"PortBindings", port_bindings(c.ports)},
      {"AutoRemove", c.auto_remove},
      {"CapAdd", strings_or_null(c.security.cap_add)},
      {"CapDrop", strings_or_null(c.security.cap_drop)},
      {"PidMode", c.pid_mode},
      {"IpcMode", c.ipc_mode},
      {"UTSMode", c.uts_mode},
      {"Privileged", c.security.privileged},
      {"ReadonlyRootfs", c.read_only},
      {"Init", c.init},
      {"Memory", c.limits.memory.value_or(0)},
      {"NanoCpus", c.limits.cpus ? static_cast<int64_t>(std::llround(*c.limits.cpus * 1e9)) : 0},
      {"PidsLimit", c.limits.pids ? ordered_json(*c.limits.pids) : ordered_json(nullptr)},
      {"Binds", nullptr},
      {"Tmpfs", nullptr}};
  ordered_json binds = ordered_json::array(), tmpfs = ordered_json::object();
  ordered_json mounts = ordered_json::array();
  for (const auto &m : c.mounts) {
    if (m.type == "tmpfs") {
      tmpfs[m.destination] = m.options;
    } else {
      binds.push_back(m.source + ":" + m.destination + (m.read_only ? ":ro" : ""));
    }
    mounts.push_back({{"Type", m.type},
                      {"Source", m.source},
                      {"Destination", m.destination},
                      {"Mode", m.read_only ? "ro" : ""},
                      {"RW", !m.read_only},
                      {"Propagation", m.type == "bind" ? "rprivate" : ""}});
  }
  if (!binds.empty())
    host["Binds"] = binds;
  if (!tmpfs.empty())
    host["Tmpfs"] = tmpfs;

  ordered_json labels = ordered_json::object();
  for (const auto &[k, v] : c.labels)
    labels[k] = v;
  ordered_json exposed = ordered_json::object();
  for (const auto &p : c.ports)
    exposed[port_key(p)] = ordered_json::object();
  ordered_json config = {{"Hostname", c.hostname},
                         {"Domainname", ""},
                         {"User", c.user},
                         {"AttachStdin", c.interactive && !c.detach},
                         {"AttachStdout", !c.detach},
                         {"AttachStderr", !c.detach},
                         {"ExposedPorts", exposed.empty() ? ordered_json(nullptr) : exposed},
                         {"Tty", c.tty},
                         {"OpenStdin", c.interactive},
                         {"StdinOnce", c.interactive && !c.detach},
                         {"Env", strings(c.env)},
                         {"Cmd", strings_or_null(c.cmd)},
                         {"Image", c.image},
                         {"Volumes", nullptr},
                         {"WorkingDir", c.working_dir},
                         {"Entrypoint", strings_or_null(c.entrypoint)},
                         {"Labels", labels}};

  // The endpoint exists only while the container runs on the bridge.
  const net::Endpoint *ep = (running && s.endpoint) ? &*s.endpoint : nullptr;
  ordered_json ports = ordered_json::object();
  for (const auto &p : c.ports)
    ports[port_key(p)] = nullptr; // declared, not published (yet)
  if (ep)
    for (const auto &p : ep->ports) {
      auto &arr = ports[port_key(p)];
      if (!arr.is_array())
        arr = ordered_json::array();
      arr.push_back({{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
                     {"HostPort", std::to_string(p.host_port)}});
    }
  const std::string ip = ep ? ep->ip : "", gw = ep ? ep->gateway : "", mac = ep ? ep->mac : "";
  const int prefix = ep ? ep->prefix : 0;
  ordered_json networks = ordered_json::object();
  const std::string mode = network_mode(c.network);
  if (mode == "bridge" || mode == "host" || mode == "none")
    networks[mode] = {{"NetworkID", mode},
                      {"EndpointID", ep ? c.id : ""},
                      {"Gateway", gw},
                      {"IPAddress", ip},
                      {"IPPrefixLen", prefix},
                      {"MacAddress", mac},
                      {"Aliases", c.name.empty() ? ordered_json(nullptr) : strings({c.name})}};
  ordered_json netset = {{"SandboxKey", running && s.pid > 0 && mode != "host"
                                            ? fmt::format("/proc/{}/ns/net", s.pid)
                                            : std::string()},
                         {"Ports", ports},
                         {"Gateway", gw},
                         {"IPAddress", ip},
                         {"IPPrefixLen", prefix},
                         {"MacAddress", mac},
                         {"Networks", networks}};

  const std::string dir = paths.dir(c.id);
  ordered_json graph = {{"Name", "overlay"},
                        {"Data",
                         {{"LowerDir", extra.lowerdir},
                          {"MergedDir", paths.run_dir(c.id) + "/rootfs"},
                          {"UpperDir", dir + "/upper"},
                          {"WorkDir", dir + "/work"}}}};

  ordered_json doc = {
      {"Id", c.id},
      {"Created", c.created},
      {"Path", argv.empty() ? std::string() : argv[0]},
      {"Args",
       strings(argv.empty() ? argv : std::vector<std::string>(argv.begin() + 1, argv.end()))},
      {"State", state},
      {"Image", c.image_id},
      {"ResolvConfPath", dir + "/resolv.conf"},
      {"HostnamePath", dir + "/hostname"},
      {"HostsPath", dir + "/hosts"},
      {"LogPath", dir + "/" + c.id + "-json.log"},
      {"Name", "/" + c.name},
      {"RestartCount", 0},
      {"Driver", "overlay"},
      {"Platform", "linux"},
      {"HostConfig", host},
      {"GraphDriver", graph},
      {"Mounts", mounts},
      {"Config", config},
      {"NetworkSettings", netset}};
  return doc;
}

} // namespace ctk::rt::container
