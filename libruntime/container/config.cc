// config.json and state.json of ctk's containers, IDs, names.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "ctk/runtime/container.h"
#include "internal.h"

namespace ctk::rt::container {

using nlohmann::json;

namespace {

template <class T> T value_or(const json &j, const char *k, T def) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null())
    return def;
  return it->get<T>();
}

json port_json(const net::PortMap &p) {
  return {{"host_ip", p.host_ip},
          {"host_port", p.host_port},
          {"container_port", p.container_port},
          {"proto", p.proto}};
}

net::PortMap port_from(const json &j) {
  net::PortMap p;
  p.host_ip = value_or<std::string>(j, "host_ip", "");
  p.host_port = value_or<uint16_t>(j, "host_port", 0);
  p.container_port = value_or<uint16_t>(j, "container_port", 0);
  p.proto = value_or<std::string>(j, "proto", "tcp");
  return p;
}

std::string rfc3339_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

} // namespace

void to_json(json &j, const ContainerConfig &c) {
  json mounts = json::array();
  for (const auto &m : c.mounts)
    mounts.push_back({{"type", m.type},
                      {"source", m.source},
                      {"destination", m.destination},
                      {"read_only", m.read_only},
                      {"options", m.options}});
  json ports = json::array();
  for (const auto &p : c.ports)
    ports.push_back(port_json(p));
  json limits = json::object();
  if (c.limits.memory)
    limits["memory"] = *c.limits.memory;
  if (c.limits.cpus)
    limits["cpus"] = *c.limits.cpus;
  if (c.limits.pids)
    limits["pids"] = *c.limits.pids;
  j = json{{"id", c.id},
           {"name", c.name},
           {"image", c.image},
           {"image_id", c.image_id},
           {"image_manifest", c.image_manifest},
           {"entrypoint", c.entrypoint},
           {"cmd", c.cmd},
           {"env", c.env},
           {"working_dir", c.working_dir},
           {"user", c.user},
           {"hostname", c.hostname},
           {"tty", c.tty},
           {"interactive", c.interactive},
           {"detach", c.detach},
           {"auto_remove", c.auto_remove},
           {"read_only", c.read_only},
           {"init", c.init},
           {"allow_docker_forward", c.allow_docker_forward},
           {"mounts", mounts},
           {"network", c.network},
           {"pid_mode", c.pid_mode},
           {"ipc_mode", c.ipc_mode},
           {"uts_mode", c.uts_mode},
           {"ports", ports},
           {"security",
            {{"privileged", c.security.privileged},
             {"cap_add", c.security.cap_add},
             {"cap_drop", c.security.cap_drop},
             {"seccomp", c.security.seccomp},
             {"no_new_privileges", c.security.no_new_privileges}}},
           {"limits", limits},
           {"labels", c.labels},
           {"created", c.created}};
  if (const auto &t = c.debug_target)
    j["debug_target"] = {{"target", t->target},       {"pid", t->pid},
                         {"pid_start", t->pid_start}, {"image_id", t->image_id},
                         {"lowerdir", t->lowerdir},   {"read_only", t->read_only}};
}

void from_json(const json &j, ContainerConfig &c) {
  c.id = value_or<std::string>(j, "id", "");
  c.name = value_or<std::string>(j, "name", "");
  c.image = value_or<std::string>(j, "image", "");
  c.image_id = value_or<std::string>(j, "image_id", "");
  c.image_manifest = value_or<std::string>(j, "image_manifest", "");
  c.entrypoint = value_or<std::vector<std::string>>(j, "entrypoint", {});
  c.cmd = value_or<std::vector<std::string>>(j, "cmd", {});
  c.env = value_or<std::vector<std::string>>(j, "env", {});
  c.working_dir = value_or<std::string>(j, "working_dir", "");
  c.user = value_or<std::string>(j, "user", "");
  c.hostname = value_or<std::string>(j, "hostname", "");
  c.tty = value_or<bool>(j, "tty", false);
  c.interactive = value_or<bool>(j, "interactive", false);
  c.detach = value_or<bool>(j, "detach", false);
  c.auto_remove = value_or<bool>(j, "auto_remove", false);
  c.read_only = value_or<bool>(j, "read_only", false);
  c.init = value_or<bool>(j, "init", false);
  c.allow_docker_forward = value_or<bool>(j, "allow_docker_forward", false);
  c.mounts.clear();
  for (const json &m : j.value("mounts", json::array())) {
    Mount mm;
    mm.type = value_or<std::string>(m, "type", "bind");
    mm.source = value_or<std::string>(m, "source", "");
    mm.destination = value_or<std::string>(m, "destination", "");
    mm.read_only = value_or<bool>(m, "read_only", false);
    mm.options = value_or<std::string>(m, "options", "");
    c.mounts.push_back(std::move(mm));
  }
  c.network = value_or<std::string>(j, "network", "bridge");
  c.pid_mode = value_or<std::string>(j, "pid_mode", "");
  c.ipc_mode = value_or<std::string>(j, "ipc_mode", "");
  c.uts_mode = value_or<std::string>(j, "uts_mode", "");
  c.ports.clear();
  for (const json &p : j.value("ports", json::array()))
    c.ports.push_back(port_from(p));
  const json sec = j.value("security", json::object());
  c.security.privileged = value_or<bool>(sec, "privileged", false);
  c.security.cap_add = value_or<std::vector<std::string>>(sec, "cap_add", {});
  c.security.cap_drop = value_or<std::vector<std::string>>(sec, "cap_drop", {});
  c.security.seccomp = value_or<std::string>(sec, "seccomp", "");
  c.security.no_new_privileges = value_or<bool>(sec, "no_new_privileges", true);
  const json lim = j.value("limits", json::object());
  if (lim.contains("memory"))
    c.limits.memory = lim["memory"].get<int64_t>();
  if (lim.contains("cpus"))
    c.limits.cpus = lim["cpus"].get<double>();
  if (lim.contains("pids"))
    c.limits.pids = lim["pids"].get<int64_t>();
  c.labels = value_or<std::map<std::string, std::string>>(j, "labels", {});
  c.created = value_or<std::string>(j, "created", "");
  c.debug_target.reset();
  if (auto it = j.find("debug_target"); it != j.end() && it->is_object()) {
    DebugTarget t;
    t.target = value_or<std::string>(*it, "target", "");
    t.pid = value_or<pid_t>(*it, "pid", 0);
    t.pid_start = value_or<uint64_t>(*it, "pid_start", 0);
    t.image_id = value_or<std::string>(*it, "image_id", "");
    t.lowerdir = value_or<std::string>(*it, "lowerdir", "");
    t.read_only = value_or<bool>(*it, "read_only", false);
    c.debug_target = std::move(t);
  }
}

json state_to_json(const ContainerConfig &c, const State &s) {
  json j{{"id", c.id},
         {"name", c.name},
         {"image", c.image},
         {"created", c.created},
         {"labels", c.labels},
         {"status", s.status},
         {"pid", s.pid},
         {"pid_start", s.pid_start},
         {"monitor_pid", s.monitor_pid},
         {"exit_code", s.exit_code},
         {"oom_killed", s.oom_killed},
         {"started_at", s.started_at},
         {"finished_at", s.finished_at},
         {"cgroup", s.cgroup}};
  if (s.endpoint) {
    json ports = json::array();
    for (const auto &p : s.endpoint->ports)
      ports.push_back(port_json(p));
    j["endpoint"] = {{"ip", s.endpoint->ip},
                     {"gateway", s.endpoint->gateway},
                     {"mac", s.endpoint->mac},
                     {"host_veth", s.endpoint->host_veth},
                     {"prefix", s.endpoint->prefix},
                     {"ports", ports},
                     {"warnings", s.endpoint->warnings}};
  }
  return j;
}

Result<void> detail::write_replace(const std::string &path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd)
    return fail_errno("cannot create " + tmp);
  ::fchmod(fd.get(), mode);
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return fail_errno("cannot write " + tmp, e);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail_errno("cannot rename " + tmp, e);
  }
  return {};
}

Result<void> write_state(const Paths &paths, const ContainerConfig &c, const State &s) {
  // Atomic for readers, not durable: the run root does not outlive a reboot
  // (it is a tmpfs on most hosts), and an fsync per state change cost tens of
  // milliseconds of every run.
  auto r = detail::write_replace(paths.run_dir(c.id) + "/state.json", state_to_json(c, s).dump());
  if (!r)
    return wrap(r, "cannot write the state of container " + c.name);
  return {};
}

std::string new_id() {
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0)
      got += static_cast<size_t>(n);
  }
  std::string id;
  for (unsigned char c : b)
    id += fmt::format("{:02x}", c);
  return id;
}

std::string random_name() {
  // docker's shape (adjective_surname), from a short list of our own.
  static const char *const kLeft[] = {"brave",  "calm",   "eager",  "fervent", "gentle",
                                      "happy",  "jolly",  "keen",   "lucid",   "nifty",
                                      "quirky", "serene", "sleepy", "tender",  "vibrant"};
  static const char *const kRight[] = {"babbage", "curie",  "darwin", "euler",   "fermi",
                                       "galois",  "hopper", "kepler", "lovelace", "noether",
                                       "pascal",  "ritchie", "shannon", "turing", "wozniak"};
  unsigned v = 0;
  while (::getrandom(&v, sizeof v, 0) != sizeof v) {
  }
  return fmt::format("{}_{}", kLeft[v % std::size(kLeft)], kRight[(v / 16) % std::size(kRight)]);
}

Result<void> create_container(const Paths &paths, ContainerConfig &cfg) {
  const std::string cdir = paths.root + "/containers";
  if (auto r = make_dirs(cdir, 0700); !r)
    return wrap(r, "cannot create " + cdir);
  if (cfg.id.empty())
    cfg.id = new_id();
  if (cfg.created.empty())
    cfg.created = rfc3339_now();
  const bool chosen = !cfg.name.empty();
  auto lock = FileLock::acquire(cdir + "/names.lock", LockMode::exclusive);
  if (!lock)
    return wrap(lock, "cannot lock the container names");
  json names = json::object();
  if (auto text = read_file(cdir + "/names.json")) {
    names = json::parse(*text, nullptr, false);
    if (!names.is_object())
      names = json::object();
  }
  // A name whose container directory is gone (removed by hand, or a crash
  // between the two steps of rm) is free again.
  auto taken = [&](const std::string &n) {
    auto it = names.find(n);
    return it != names.end() && it->is_string() &&
           ::access((cdir + "/" + it->get<std::string>()).c_str(), F_OK) == 0;
  };
  if (chosen && taken(cfg.name))
    return fail(Errc::exists, fmt::format("the container name \"{}\" is already in use by "
                                          "container {}",
                                          cfg.name, names[cfg.name].get<std::string>()));
  for (int i = 0; !chosen && (cfg.name.empty() || taken(cfg.name)); ++i)
    cfg.name = i < 10 ? random_name() : random_name() + std::to_string(i);
  const std::string dir = paths.dir(cfg.id);
  // The upper dir's mode is the container root's: 0755 as in any image.
  for (auto [sub, mode] : {std::pair<const char *, mode_t>{"", 0700}, {"/upper", 0755},
                           {"/work", 0700}})
    if (auto r = make_dirs(dir + sub, mode); !r)
      return wrap(r, "cannot create the directory of container " + cfg.name);
  // A --rm container's record need not survive a power loss: it is gone
  // with the container anyway, and the two fsyncs are a visible part of a run.
  auto write = cfg.auto_remove ? detail::write_replace : write_file_atomic;
  if (auto r = write(dir + "/config.json", json(cfg).dump(2), 0600); !r)
    return wrap(r, "cannot write the config of container " + cfg.name);
  names[cfg.name] = cfg.id;
  if (auto r = write(cdir + "/names.json", names.dump(), 0600); !r)
    return wrap(r, "cannot register the name of container " + cfg.name);
  return {};
}

// Drops `name` from names.json when it still points at `id`.
Result<void> detail::unregister_name(const Paths &paths, const std::string &name, const std::string &id) {
  const std::string cdir = paths.root + "/containers";
  auto lock = FileLock::acquire(cdir + "/names.lock", LockMode::exclusive);
  if (!lock)
    return wrap(lock, "cannot lock the container names");
  auto text = read_file(cdir + "/names.json");
  if (!text)
    return {};
  json names = json::parse(*text, nullptr, false);
  if (!names.is_object())
    return {};
  auto it = names.find(name);
  if (it == names.end() || !it->is_string() || it->get<std::string>() != id)
    return {};
  names.erase(it);
  // Not fsynced: a name whose directory is gone counts as free anyway.
  return write_replace(cdir + "/names.json", names.dump(), 0600);
}

std::string detail::now_rfc3339() { return rfc3339_now(); }

} // namespace ctk::rt::container
