// Where the runtimes keep their state, beyond the standard paths.
//
// Sources, in the order the resolver applies them:
//  1. Options.roots (flags, defaults).
//  2. The environment: DOCKER_HOST=unix://PATH adds a docker socket;
//     CONTAINERD_ADDRESS=PATH adds its directory as a containerd state dir
//     (containerd keeps its socket in its state dir by default);
//     CONTAINERS_STORAGE_CONF (else /etc/containers/storage.conf) gives
//     graphroot/runroot of its [storage] table.
//  3. Running daemons' command lines: dockerd --data-root/--exec-root/-H/
//     --containerd; containerd --root/--state/--config (root/state from the
//     TOML)/--address; crio --root/--runroot; and the processes that outlive
//     their daemons: containerd-shim-runc-v2 (its cwd IS the task bundle
//     <state>/io.containerd.runtime.v2.task/<ns>/<id>) and conmon (-b bundle in
//     the graph root, -p pidfile in the run root).
//  4. When dockerd is gone (kill -9 dockerd containerd leaves shims and
//     containers running), a docker container found through its shim or its
//     runc state has an ID but no name. Its data root is then read from the
//     container itself: docker bind-mounts <data-root>/containers/<id>/hostname
//     onto /etc/hostname, and /proc/<init pid>/mountinfo shows that source as
//     the mount's root within its filesystem; the host's own mountinfo turns
//     that into a host path (same device, longest matching root). The name is
//     then in <data-root>/containers/<id>/config.v2.json. The bundle's
//     config.json (its mounts list has the same source) is the second way.
#include <unistd.h>

#include <climits>

#include "internal.h"

namespace ctk::rt::discovery::detail {
namespace {

// Values of a flag given as "--flag VALUE" or "--flag=VALUE" (any of `names`).
std::vector<std::string> flag_values(const std::vector<std::string> &args,
                                     std::initializer_list<std::string_view> names) {
  std::vector<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    for (auto n : names) {
      if (a == n && i + 1 < args.size())
        out.push_back(args[i + 1]);
      else if (a.size() > n.size() && a.substr(0, n.size()) == n && a[n.size()] == '=')
        out.emplace_back(a.substr(n.size() + 1));
    }
  }
  return out;
}

std::optional<std::string> unix_socket(std::string_view host) {
  if (host.substr(0, 7) == "unix://" && host.size() > 7)
    return std::string(host.substr(7));
  return std::nullopt;
}

// `key = "value"` lines of one TOML table ("" = the top level, before any
// [table]). Enough for the flat keys read here; not a TOML parser.
std::map<std::string, std::string> toml_table(std::string_view text, std::string_view table) {
  std::map<std::string, std::string> out;
  std::string current;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    if (line.empty() || line[0] == '#')
      continue;
    if (line[0] == '[') {
      auto end = line.find(']');
      current = std::string(trim(line.substr(1, end == std::string_view::npos ? 0 : end - 1)));
      continue;
    }
    if (current != table)
      continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto key = trim(line.substr(0, eq));
    auto val = trim(line.substr(eq + 1));
    if (val.size() >= 2 && (val[0] == '"' || val[0] == '\'')) {
      auto close = val.find(val[0], 1);
      if (close != std::string_view::npos)
        out[std::string(key)] = std::string(val.substr(1, close - 1));
    }
  }
  return out;
}

void apply_storage_conf(RuntimeRoots &roots, const HostPaths &paths, const std::string &conf) {
  auto text = read_file(paths.prefixed(conf));
  if (!text)
    return;
  auto storage = toml_table(*text, "storage");
  if (auto it = storage.find("graphroot"); it != storage.end())
    add_unique(roots.storage_roots, it->second);
  if (auto it = storage.find("runroot"); it != storage.end())
    add_unique(roots.storage_run_roots, it->second);
}

void apply_containerd_config(RuntimeRoots &roots, const HostPaths &paths, const std::string &conf) {
  auto text = read_file(paths.prefixed(conf));
  if (!text)
    return;
  auto top = toml_table(*text, "");
  if (auto it = top.find("root"); it != top.end())
    add_unique(roots.containerd_roots, it->second);
  if (auto it = top.find("state"); it != top.end())
    add_unique(roots.containerd_states, it->second);
}

// "<state>/io.containerd.runtime.v2.task/<ns>/<id>" -> "<state>".
std::optional<std::string> state_of_bundle(std::string_view bundle) {
  static constexpr std::string_view kTask = "/io.containerd.runtime.v2.task/";
  auto pos = bundle.find(kTask);
  if (pos == std::string_view::npos || pos == 0)
    return std::nullopt;
  return std::string(bundle.substr(0, pos));
}

// "<root>/overlay-containers/<id>/userdata[/file]" -> "<root>".
std::optional<std::string> storage_of_userdata(std::string_view path) {
  static constexpr std::string_view kDir = "/overlay-containers/";
  auto pos = path.find(kDir);
  if (pos == std::string_view::npos || pos == 0)
    return std::nullopt;
  return std::string(path.substr(0, pos));
}

std::string read_link(const std::string &path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void apply_dockerd(RuntimeRoots &roots, const std::vector<std::string> &args) {
  for (auto &v : flag_values(args, {"--data-root", "-g", "--graph"}))
    add_unique(roots.docker_data_roots, v);
  auto exec_roots = flag_values(args, {"--exec-root"});
  for (auto &v : exec_roots)
    add_unique(roots.docker_exec_roots, v);
  for (auto &v : flag_values(args, {"-H", "--host"}))
    if (auto s = unix_socket(v))
      add_unique(roots.docker_sockets, *s);
  for (auto &v : flag_values(args, {"--containerd"}))
    add_unique(roots.containerd_states, parent_dir(v));
  // Without --containerd, dockerd runs its own containerd with its state
  // under <exec-root>/containerd/daemon.
  if (exec_roots.empty())
    exec_roots.push_back("/run/docker");
  for (auto &e : exec_roots)
    add_unique(roots.containerd_states, e + "/containerd/daemon");
}

} // namespace

void apply_environment(RuntimeRoots &roots, const HostPaths &paths) {
  if (const char *h = ::getenv("DOCKER_HOST")) {
    if (auto s = unix_socket(h)) {
      // The daemon the user points at comes first.
      roots.docker_sockets.insert(roots.docker_sockets.begin(), *s);
    }
  }
  if (const char *a = ::getenv("CONTAINERD_ADDRESS"); a && *a)
    add_unique(roots.containerd_states, parent_dir(a));
  const char *conf = ::getenv("CONTAINERS_STORAGE_CONF");
  apply_storage_conf(roots, paths, conf && *conf ? conf : "/etc/containers/storage.conf");
}

static bool is_daemon(std::string_view comm) {
  // comm is cut at 15 characters: containerd-shim-runc-v2 is "containerd-shim".
  return comm == "dockerd" || comm == "containerd" || comm == "crio" || comm == "containerd-shim" ||
         comm == "conmon";
}

static void apply_daemon(RuntimeRoots &roots, const HostPaths &paths, pid_t pid,
                         std::string_view comm, const std::vector<std::string> &args) {
  if (comm == "dockerd") {
    apply_dockerd(roots, args);
  } else if (comm == "containerd") {
    for (auto &v : flag_values(args, {"--root"}))
      add_unique(roots.containerd_roots, v);
    for (auto &v : flag_values(args, {"--state"}))
      add_unique(roots.containerd_states, v);
    for (auto &v : flag_values(args, {"--config", "-c"}))
      apply_containerd_config(roots, paths, v);
    for (auto &v : flag_values(args, {"--address", "-a"}))
      add_unique(roots.containerd_states, parent_dir(v));
  } else if (comm == "crio") {
    for (auto &v : flag_values(args, {"--root", "-r"}))
      add_unique(roots.storage_roots, v);
    for (auto &v : flag_values(args, {"--runroot"}))
      add_unique(roots.storage_run_roots, v);
  } else if (comm == "containerd-shim") {
    // The v2 shim runs in its bundle directory.
    if (auto state = state_of_bundle(read_link(paths.proc + "/" + std::to_string(pid) + "/cwd")))
      add_unique(roots.containerd_states, *state);
    for (auto &v : flag_values(args, {"-address", "--address"}))
      add_unique(roots.containerd_states, parent_dir(v));
  } else if (comm == "conmon") {
    for (auto &v : flag_values(args, {"-b", "--bundle"}))
      if (auto r = storage_of_userdata(v))
        add_unique(roots.storage_roots, *r);
    for (auto &v : flag_values(args, {"-p", "--container-pidfile"}))
      if (auto r = storage_of_userdata(v))
        add_unique(roots.storage_run_roots, *r);
  }
}

void apply_daemon_cmdlines(RuntimeRoots &roots, const HostPaths &paths,
                           const std::vector<proc::Process> *processes) {
  if (processes) {
    for (const auto &p : *processes) {
      std::string comm = p.comm;
      if (comm.empty() && !p.cmdline.empty())
        comm = p.cmdline[0].substr(p.cmdline[0].rfind('/') + 1).substr(0, 15);
      if (is_daemon(comm) && !p.cmdline.empty())
        apply_daemon(roots, paths, p.pid, comm, p.cmdline);
    }
    return;
  }
  for (pid_t pid : list_pids(paths)) {
    // comm first: one small read per process, cmdline only for the few that matter.
    auto comm_text = read_file(paths.proc + "/" + std::to_string(pid) + "/comm");
    if (!comm_text)
      continue;
    auto comm = trim(*comm_text);
    if (!is_daemon(comm))
      continue;
    auto args = read_cmdline(paths, pid);
    if (!args.empty())
      apply_daemon(roots, paths, pid, comm, args);
  }
}

// Mountinfo fields escape space, tab, newline and backslash as \ooo.
static std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

namespace {
struct MountLine {
  std::string dev;   // "major:minor"
  std::string root;  // path within the filesystem
  std::string point; // mount point
};

std::vector<MountLine> parse_mountinfo(std::string_view text) {
  std::vector<MountLine> out;
  for (auto line : split_lines(text)) {
    auto f = split(line, ' ');
    if (f.size() < 5)
      continue;
    out.push_back({std::string(f[2]), unescape_mountinfo(f[3]), unescape_mountinfo(f[4])});
  }
  return out;
}

bool is_path_prefix(std::string_view prefix, std::string_view path) {
  if (prefix == "/")
    return true;
  return path.substr(0, prefix.size()) == prefix &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}
} // namespace

std::optional<std::string> docker_root_from_mountinfo(const HostPaths &paths, pid_t pid) {
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/mountinfo");
  if (!text)
    return std::nullopt;
  for (const auto &m : parse_mountinfo(*text)) {
    if (m.point != "/etc/hostname")
      continue;
    // root = ".../containers/<id>/hostname" within the source filesystem.
    static constexpr std::string_view kSuffix = "/hostname";
    std::string_view r = m.root;
    if (r.size() <= kSuffix.size() || r.substr(r.size() - kSuffix.size()) != kSuffix)
      continue;
    std::string id_dir = parent_dir(r);          // .../containers/<id>
    std::string containers = parent_dir(id_dir); // .../containers
    if (containers.size() < 11 || containers.substr(containers.size() - 11) != "/containers")
      continue;
    std::string fs_path = parent_dir(containers); // the data root within its filesystem
    // Translate to a host path through the host's mounts of the same device.
    std::string best_point, best_root;
    bool found = false;
    if (auto host = read_file(paths.proc + "/1/mountinfo")) {
      for (const auto &h : parse_mountinfo(*host)) {
        if (h.dev != m.dev || !is_path_prefix(h.root, fs_path))
          continue;
        if (!found || h.root.size() > best_root.size()) {
          best_root = h.root;
          best_point = h.point;
          found = true;
        }
      }
    }
    if (!found)
      return fs_path;
    std::string rest = best_root == "/" ? fs_path : fs_path.substr(best_root.size());
    if (best_point == "/")
      return rest.empty() ? "/" : rest;
    return best_point + rest;
  }
  return std::nullopt;
}

} // namespace ctk::rt::discovery::detail
