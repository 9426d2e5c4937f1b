// ctk run: docker run's flags over libruntime's container module.
#include <unistd.h>

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/image_store.h"

namespace ctk::plugins::run {
namespace {

namespace ct = rt::container;
using rt::Errc;
using rt::fail;
using rt::Result;

// docker's byte units: "64m", "1g", "512k", "100b", "1024".
Result<int64_t> parse_bytes(std::string_view text, std::string_view what) {
  std::string s(text);
  int64_t mult = 1;
  if (!s.empty()) {
    char u = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    if (u == 'b' && s.size() > 1)
      s.pop_back(), u = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    switch (u) {
    case 'k': mult = 1LL << 10; break;
    case 'm': mult = 1LL << 20; break;
    case 'g': mult = 1LL << 30; break;
    case 't': mult = 1LL << 40; break;
    default: mult = 0;
    }
    if (mult)
      s.pop_back();
    else
      mult = 1;
  }
  long long v = 0;
  if (!rt::parse_int(s, v) || v <= 0)
    return fail(Errc::invalid_argument,
                fmt::format("invalid {} \"{}\": a size like 64m or 1g", what, text));
  return static_cast<int64_t>(v) * mult;
}

std::string trim_str(std::string_view s) { return std::string(rt::trim(s)); }

Result<void> add_env_file(std::vector<std::string> &env, const std::string &path) {
  auto text = rt::read_file(path);
  if (!text)
    return rt::wrap(text, "cannot read env file " + path);
  for (auto line : rt::split_lines(*text)) {
    std::string l = trim_str(line);
    if (l.empty() || l[0] == '#')
      continue;
    if (l.find('=') == std::string::npos) {
      // docker: a bare name takes the value from ctk's environment.
      if (const char *v = ::getenv(l.c_str()))
        env.push_back(l + "=" + v);
      continue;
    }
    env.push_back(l);
  }
  return {};
}

void set_env(std::vector<std::string> &env, const std::string &kv) {
  std::string key = kv.substr(0, kv.find('='));
  std::string entry = kv;
  if (kv.find('=') == std::string::npos) {
    const char *v = ::getenv(kv.c_str());
    if (!v)
      return; // docker drops -e NAME when NAME is unset
    entry = kv + "=" + v;
  }
  for (auto &e : env)
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = entry;
      return;
    }
  env.push_back(entry);
}

Result<ct::Mount> parse_volume(const std::string &v) {
  auto parts = rt::split(v, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[0][0] != '/')
    return fail(Errc::invalid_argument,
                "invalid volume \"" + v + "\": HOST_PATH:CONTAINER_PATH[:ro] (named volumes are "
                                          "not supported)");
  ct::Mount m;
  m.source = std::string(parts[0]);
  m.destination = std::string(parts[1]);
  if (m.destination.empty() || m.destination[0] != '/')
    return fail(Errc::invalid_argument,
                "invalid volume \"" + v + "\": the container path must be absolute");
  if (parts.size() == 3) {
    for (auto o : rt::split(parts[2], ',')) {
      if (o == "ro")
        m.read_only = true;
      else if (o != "rw" && o != "z" && o != "Z" && o != "rprivate" && o != "rslave")
        return fail(Errc::invalid_argument,
                    "invalid volume \"" + v + "\": unknown option " + std::string(o));
    }
  }
  if (::access(m.source.c_str(), F_OK) != 0)
    return fail(Errc::not_found, "invalid mount source " + m.source + ": no such file or directory");
  return m;
}

Result<ct::Mount> parse_tmpfs(const std::string &v) {
  ct::Mount m;
  m.type = "tmpfs";
  auto colon = v.find(':');
  m.destination = v.substr(0, colon);
  if (colon != std::string::npos)
    m.options = v.substr(colon + 1);
  if (m.destination.empty() || m.destination[0] != '/')
    return fail(Errc::invalid_argument, "invalid tmpfs \"" + v + "\": the path must be absolute");
  return m;
}

// The /proc/<pid>/ns/<kind> of a container:TARGET (ctk first, then every runtime).
// The host PID of a running container of any runtime (docker://web too).
Result<pid_t> pid_of_target(const Call &call, std::string_view target) {
  // Any runtime's container (docker://web too), through the one resolver.
  rt::discovery::Options o;
  o.roots.ctk_root = call.root();
  o.roots.ctk_run_root = call.run_root();
  auto r = rt::discovery::Resolver::open(std::move(o));
  if (!r)
    return rt::wrap(r, "cannot resolve " + std::string(target));
  auto c = r->resolve(target);
  if (!c)
    return rt::wrap(c, "cannot use container " + std::string(target));
  pid_t pid = c->pid;
  if (pid <= 0)
    return fail(Errc::invalid_argument,
                fmt::format("cannot join container {}: it is not running", target));
  return pid;
}

// Everything `run` asks for, image defaults applied (docker's rules: an
// --entrypoint drops the image's CMD; arguments replace CMD).
Result<ct::ContainerConfig> build_config(Call &call, ct::StartOptions &so) {
  auto args = call.args();
  if (args.empty())
    return fail(Errc::invalid_argument, "run needs an IMAGE");
  ct::ContainerConfig c;
  c.image = args[0];
  auto store = rt::image::Store::open(call.root());
  if (!store)
    return rt::wrap(store, "cannot open the image store");
  auto img = store->resolve(c.image);
  if (!img)
    return rt::wrap(img, "cannot run " + c.image);
  if (auto r = apply_image(*store, *img, c); !r)
    return tl::unexpected(r.error());
  if (auto e = call.get("entrypoint")) {
    c.entrypoint = e->empty() ? std::vector<std::string>{} : std::vector<std::string>{*e};
    c.cmd.clear();
  }
  if (args.size() > 1)
    c.cmd.assign(args.begin() + 1, args.end());
  if (c.entrypoint.empty() && c.cmd.empty())
    return fail(Errc::invalid_argument, "no command specified (the image has no CMD)");

  for (const auto &f : call.get_all("env-file"))
    if (auto r = add_env_file(c.env, f); !r)
      return tl::unexpected(r.error());
  for (const auto &e : call.get_all("env"))
    set_env(c.env, e);
  if (auto w = call.get("workdir")) {
    if (w->empty() || (*w)[0] != '/')
      return fail(Errc::invalid_argument, "the working directory \"" + *w + "\" is not absolute");
    c.working_dir = *w;
  }
  if (auto u = call.get("user"))
    c.user = *u;
  c.name = call.get("name").value_or("");
  if (!c.name.empty() && c.name.find_first_of("/: \t") != std::string::npos)
    return fail(Errc::invalid_argument, "invalid container name \"" + c.name + "\"");
  c.tty = call.flag("tty");
  c.interactive = call.flag("interactive");
  c.detach = call.flag("detach");
  c.auto_remove = call.flag("rm");
  c.read_only = call.flag("read-only");
  c.init = call.flag("init");
  c.allow_docker_forward = call.flag("allow-docker-forward");
  for (const auto &v : call.get_all("volume")) {
    auto m = parse_volume(v);
    if (!m)
      return tl::unexpected(m.error());
    c.mounts.push_back(*m);
  }
  for (const auto &v : call.get_all("tmpfs")) {
    auto m = parse_tmpfs(v);
    if (!m)
      return tl::unexpected(m.error());
    c.mounts.push_back(*m);
  }
  c.network = call.get("network").value_or(call.get("net").value_or("bridge"));
  if (c.network == "default")
    c.network = "bridge";
  c.pid_mode = call.get("pid").value_or("");
  c.ipc_mode = call.get("ipc").value_or("");
  c.uts_mode = call.get("uts").value_or("");
  for (auto [mode, kind] : {std::pair<std::string *, const char *>{&c.network, "net"},
                            {&c.pid_mode, "pid"},
                            {&c.ipc_mode, "ipc"}}) {
    if (mode->rfind("container:", 0) == 0) {
      auto pid = pid_of_target(call, mode->substr(10));
      if (!pid)
        return tl::unexpected(pid.error());
      so.join_ns[kind] = fmt::format("/proc/{}/ns/{}", *pid, kind);
      if (std::string(kind) == "ipc")
        so.shm_from = *pid;
      if (std::string(kind) == "net")
        so.join_ns["uts"] = fmt::format("/proc/{}/ns/uts", *pid); // docker shares the hostname
    } else if (!mode->empty() && *mode != "host" && *mode != "none" && *mode != "bridge" &&
               *mode != "private" && *mode != "shareable") {
      return fail(Errc::invalid_argument,
                  fmt::format("invalid --{} \"{}\": host, container:TARGET{}", kind, *mode,
                              std::string(kind) == "net" ? ", bridge or none" : ""));
    }
  }
  if (!c.uts_mode.empty() && c.uts_mode != "host")
    return fail(Errc::invalid_argument, "invalid --uts \"" + c.uts_mode + "\": only host");
  if (c.network == "host" && call.get("hostname"))
    return fail(Errc::invalid_argument, "conflicting options: --hostname and --net host");
  c.hostname = call.get("hostname").value_or("");
  for (const auto &p : call.get_all("publish")) {
    auto pm = rt::net::parse_port(p);
    if (!pm)
      return tl::unexpected(pm.error());
    c.ports.push_back(*pm);
  }
  if (!c.ports.empty() && c.network != "bridge")
    return fail(Errc::invalid_argument, "published ports need --net bridge");
  c.security.privileged = call.flag("privileged");
  c.security.cap_add = call.get_all("cap-add");
  c.security.cap_drop = call.get_all("cap-drop");
  c.security.no_new_privileges = !c.security.privileged;
  for (const auto &o : call.get_all("security-opt")) {
    if (o.rfind("seccomp=", 0) == 0 || o.rfind("seccomp:", 0) == 0)
      c.security.seccomp = o.substr(8);
    else if (o == "no-new-privileges" || o == "no-new-privileges=true" ||
             o == "no-new-privileges:true")
      c.security.no_new_privileges = true;
    else
      return fail(Errc::invalid_argument, "unsupported --security-opt \"" + o +
                                              "\" (seccomp=FILE|unconfined, no-new-privileges)");
  }
  if (auto m = call.get("memory")) {
    auto b = parse_bytes(*m, "--memory");
    if (!b)
      return tl::unexpected(b.error());
    if (*b < (6 << 20))
      return fail(Errc::invalid_argument, "minimum memory limit allowed is 6MB");
    c.limits.memory = *b;
  }
  if (auto cp = call.get("cpus")) {
    char *end = nullptr;
    double v = std::strtod(cp->c_str(), &end);
    if (!end || *end || !(v > 0) || !std::isfinite(v))
      return fail(Errc::invalid_argument, "invalid --cpus \"" + *cp + "\": a number like 0.5");
    c.limits.cpus = v;
  }
  auto pl = call.get_int("pids-limit");
  if (!pl)
    return tl::unexpected(pl.error());
  if (*pl && **pl > 0)
    c.limits.pids = **pl;
  for (const auto &l : call.get_all("label")) {
    auto eq = l.find('=');
    c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  if (c.hostname.empty() && c.network != "host" && !so.join_ns.count("uts"))
    c.hostname = "<id>"; // filled with the short ID once known
  return c;
}

} // namespace

int create_and_run(Call &call, ct::ContainerConfig &c, ct::StartOptions &so) {
  const bool default_hostname = c.hostname == "<id>";
  const auto paths = container_paths(call);
  c.id = ct::new_id();
  if (default_hostname)
    c.hostname = c.id.substr(0, 12);
  if (auto r = ct::create_container(paths, c); !r)
    return call.fail(r.error(), 125);

  int failed = 125;
  so.failed_status = &failed;
  if (!c.detach) {
    so.stdout_fd = 1;
    so.stderr_fd = 2;
    if (c.interactive && !c.tty)
      so.stdin_fd = 0;
    if (c.tty)
      so.winsize_from = 0;
  }
  auto started = ct::start(paths, c.id, so);
  if (!started) {
    // A run that fails half-way leaves nothing behind (docker keeps the
    // created container; a troubleshooting tool should not litter).
    (void)ct::remove(paths, c.id, true);
    return call.fail(started.error(), failed);
  }
  // What the attach found but did not stop it: docker's FORWARD drop above
  // all, which silently eats the container's traffic.
  if (started->endpoint)
    for (const auto &w : started->endpoint->warnings)
      call.warn(w.find("DOCKER-USER") != std::string::npos && !c.allow_docker_forward
                    ? w + "; --allow-docker-forward adds ctk's rules there"
                    : w);
  if (c.detach) {
    call.write_raw(c.id + "\n");
    return 0;
  }
  return attach_foreground(call, *started, c.tty, c.interactive);
}

int run_run(Call &call) {
  ct::StartOptions so;
  auto cfg = build_config(call, so);
  if (!cfg)
    return call.fail(cfg.error(), 125);
  return create_and_run(call, *cfg, so);
}

} // namespace ctk::plugins::run
