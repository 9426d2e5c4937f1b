// The resolver: gathers every runtime's containers once (lazily, on first
// use), merges what several layers say about one container (docker over
// containerd over runc, all keyed by the full ID), and answers targets.
#include <algorithm>

#include "internal.h"

namespace ctk::rt::discovery {
namespace {

// How much a source knows about who owns a container: a runtime's own state
// beats containerd's task directory, which beats the bare OCI runtime state.
int specificity(Runtime r) {
  switch (r) {
  case Runtime::unknown:
    return 0;
  case Runtime::runc:
  case Runtime::crun:
    return 1;
  case Runtime::containerd:
    return 2;
  default:
    return 3;
  }
}

void merge_into(Container &have, Container &&more) {
  if (specificity(more.runtime) > specificity(have.runtime)) {
    have.runtime = more.runtime;
    if (!more.source.empty())
      have.source = more.source;
  }
  // The source that knows the name is the runtime's own state: cite that one.
  if (have.name.empty() && !more.name.empty() && !more.source.empty())
    have.source = more.source;
  auto fill = [](std::string &a, std::string &b) {
    if (a.empty())
      a = std::move(b);
  };
  fill(have.name, more.name);
  fill(have.ns, more.ns);
  fill(have.image, more.image);
  fill(have.cgroup_path, more.cgroup_path);
  fill(have.bundle, more.bundle);
  fill(have.source, more.source);
  if (have.created == 0)
    have.created = more.created;
  for (auto &[k, v] : more.labels)
    have.labels.emplace(k, std::move(v));
  if (have.pid == 0 && more.pid > 0) {
    have.pid = more.pid;
    have.status = more.status;
  }
  if (have.status.empty() || have.status == "unknown")
    have.status = more.status;
}

std::string scheme_of(Runtime r) {
  return r == Runtime::crio ? "crio" : runtime_name(r);
}

std::string short_id(const std::string &id) {
  return id.size() > 12 ? id.substr(0, 12) + "\u2026" : id;
}

// "docker://web (3f2a1b4c5d6e…)": a candidate as a user would type it.
std::string describe(const Container &c) {
  std::string who = c.name.empty() ? short_id(c.id) : c.name;
  if (c.runtime == Runtime::containerd)
    who = c.ns + "/" + (c.name.empty() ? c.id : c.name);
  return scheme_of(c.runtime) + "://" + who + " (" + short_id(c.id) + ")";
}

std::string describe(const Target &t) {
  if (!t.runtime)
    return t.name;
  if (*t.runtime == Runtime::containerd)
    return "containerd://" + t.ns + "/" + t.name;
  return scheme_of(*t.runtime) + "://" + t.name;
}

bool runtime_matches(const Target &t, const Container &c) {
  if (!t.runtime)
    return true;
  if (*t.runtime == Runtime::containerd)
    return c.ns == t.ns && (c.runtime == Runtime::containerd || c.runtime == Runtime::docker);
  return c.runtime == *t.runtime;
}

tl::unexpected<Error> ambiguous(const std::string &what, const std::vector<const Container *> &cs) {
  // Sorted, so the message does not depend on the order runtimes were read in.
  std::vector<std::string> names;
  names.reserve(cs.size());
  for (const auto *c : cs)
    names.push_back(describe(*c));
  std::sort(names.begin(), names.end());
  std::string msg = what + " is ambiguous: ";
  for (size_t i = 0; i < names.size(); ++i)
    msg += (i ? ", " : "") + names[i];
  return fail(Errc::ambiguous, msg);
}

// The docker data root named by a bundle's OCI spec: its /etc/hostname mount
// comes from <data-root>/containers/<id>/hostname.
std::optional<std::string> docker_root_from_spec(const HostPaths &paths,
                                                 const std::string &bundle) {
  if (bundle.empty())
    return std::nullopt;
  auto spec = detail::read_json(paths.prefixed(bundle + "/config.json"));
  if (!spec || !spec->contains("mounts") || !(*spec)["mounts"].is_array())
    return std::nullopt;
  for (const auto &m : (*spec)["mounts"]) {
    if (detail::json_str(m, "destination") != "/etc/hostname")
      continue;
    std::string containers = detail::parent_dir(detail::parent_dir(detail::json_str(m, "source")));
    if (containers.size() > 11 && containers.substr(containers.size() - 11) == "/containers")
      return detail::parent_dir(containers);
  }
  return std::nullopt;
}

} // namespace

Result<Resolver> Resolver::open(Options opt) {
  if (opt.apply_environment)
    detail::apply_environment(opt.roots, opt.paths);
  if (opt.detect_from_daemons)
    detail::apply_daemon_cmdlines(opt.roots, opt.paths, opt.processes);
  return Resolver(std::move(opt));
}

Result<void> Resolver::load() {
  if (loaded_)
    return {};
  const HostPaths &paths = opt_.paths;
  RuntimeRoots &roots = opt_.roots;
  detail::Found found;
  detail::read_ctk_store(paths, roots.ctk_root, roots.ctk_run_root, found);
  for (const auto &r : roots.docker_data_roots)
    detail::read_docker(paths, r, found);
  for (const auto &r : roots.storage_roots)
    detail::read_storage(paths, r, roots.storage_run_roots, found);
  for (const auto &s : roots.containerd_states)
    detail::read_containerd(paths, s, found);
  std::vector<std::string> runc_roots = roots.runc_roots;
  for (const auto &e : roots.docker_exec_roots)
    detail::add_unique(runc_roots, e + "/runtime-runc/moby");
  for (const auto &s : roots.containerd_states)
    for (const auto &ns : detail::list_dir(paths.prefixed(s + "/runc")))
      detail::add_unique(runc_roots, s + "/runc/" + ns);
  for (const auto &r : runc_roots)
    detail::read_runc_root(paths, r, found);

  containers_.clear();
  by_id_.clear();
  auto add = [this](Container &&c) {
    auto it = by_id_.find(c.id);
    if (it == by_id_.end()) {
      by_id_[c.id] = containers_.size();
      containers_.push_back(std::move(c));
    } else {
      merge_into(containers_[it->second], std::move(c));
    }
  };
  for (auto &c : found.containers)
    add(std::move(c));
  found.containers.clear();

  // Containers no runtime state names (state unreadable or in a root we do
  // not know) but whose cgroups say whose they are. Only from a process list
  // the caller already has: scanning /proc here would cost every command.
  if (opt_.processes) {
    for (const auto &p : *opt_.processes) {
      for (const auto &e : p.cgroups) {
        auto m = match_cgroup_path(e.path);
        if (!m || m->id.size() < 64)
          continue;
        auto it = by_id_.find(m->id);
        if (it != by_id_.end()) {
          break;
        }
        // The list is in PID order: the first process seen is the oldest
        // one, the container's init unless PIDs wrapped.
        Container c;
        c.runtime = m->runtime;
        c.id = m->id;
        c.status = "running";
        c.pid = p.pid;
        c.cgroup_path = e.path;
        c.source = "cgroup:" + e.path;
        add(std::move(c));
        break;
      }
    }
  }

  // dockerd down: running docker containers known only from containerd or
  // runc state have no name; find their data root from the container itself
  // (chain documented in daemon_roots.cc) and read it.
  for (size_t i = 0; i < containers_.size(); ++i) {
    const Container &c = containers_[i];
    if (c.runtime != Runtime::docker || !c.name.empty())
      continue;
    auto root = c.pid > 0 ? detail::docker_root_from_mountinfo(paths, c.pid) : std::nullopt;
    if (!root)
      root = docker_root_from_spec(paths, c.bundle);
    if (!root || std::find(roots.docker_data_roots.begin(), roots.docker_data_roots.end(), *root) !=
                     roots.docker_data_roots.end())
      continue;
    roots.docker_data_roots.push_back(*root);
    detail::read_docker(paths, *root, found);
    for (auto &d : found.containers)
      add(std::move(d));
    found.containers.clear();
  }

  // A daemon that answers fills in what the files could not.
  bool nameless_docker = std::any_of(containers_.begin(), containers_.end(), [](const auto &c) {
    return c.runtime == Runtime::docker && c.name.empty();
  });
  if (opt_.ask_daemons && nameless_docker) {
    for (const auto &sock : roots.docker_sockets) {
      if (!detail::path_exists(paths.prefixed(sock)))
        continue;
      auto api = detail::docker_api_list(paths.prefixed(sock), 200);
      if (!api)
        continue; // a daemon that is down or slow is simply not asked
      for (auto &c : *api)
        add(std::move(c));
    }
  }

  for (auto &c : containers_) {
    // runc's start-time check outranks sources that only saw the PID exist.
    auto reused = found.reused_pids.find(c.id);
    if (reused != found.reused_pids.end() && c.pid == reused->second) {
      c.pid = 0;
      c.status = c.runtime == Runtime::docker ? "exited" : "stopped";
    }
    // The real cgroup of a running container beats a path guessed from config.
    if (c.pid > 0)
      for (const auto &e : detail::read_process_cgroups(paths, c.pid))
        if (auto m = match_cgroup_path(e.path); m && m->id == c.id) {
          c.cgroup_path = e.path;
          break;
        }
  }
  warnings_ = std::move(found.warnings);
  loaded_ = true;
  return {};
}

Result<std::vector<Container>> Resolver::list(bool all) {
  if (auto r = load(); !r)
    return tl::unexpected(r.error());
  std::vector<Container> out;
  for (const auto &c : containers_)
    if (all || c.status == "running" || c.status == "paused")
      out.push_back(c);
  return out;
}

Result<Container> Resolver::resolve(std::string_view target) {
  auto t = parse_target(target);
  if (!t)
    return tl::unexpected(t.error());
  return resolve(*t);
}

Result<Container> resolve_ctk(const std::string &root, const std::string &run_root,
                              std::string_view target, const HostPaths &paths) {
  std::string_view text = target;
  if (!text.empty() && text[0] == '/')
    text.remove_prefix(1); // docker's "/web", as inspect prints names
  auto t = parse_target(text);
  if (!t)
    return tl::unexpected(t.error());
  if (t->runtime && *t->runtime != Runtime::ctk)
    return fail(Errc::invalid_argument, std::string(target) + " is a " + runtime_name(*t->runtime) +
                                            " container: ctk acts only on its own containers here");
  Options opt;
  opt.paths = paths;
  opt.roots = RuntimeRoots{.ctk_root = root,
                           .ctk_run_root = run_root,
                           .docker_data_roots = {},
                           .docker_exec_roots = {},
                           .docker_sockets = {},
                           .containerd_states = {},
                           .containerd_roots = {},
                           .storage_roots = {},
                           .storage_run_roots = {},
                           .runc_roots = {}};
  opt.ask_daemons = false;
  opt.detect_from_daemons = false;
  opt.apply_environment = false;
  auto r = Resolver::open(std::move(opt));
  if (!r)
    return tl::unexpected(r.error());
  auto c = r->resolve(*t);
  if (!c && c.error().code == Errc::not_found && t->pid == 0)
    return fail(Errc::not_found, "no such ctk container: " + t->name);
  if (!c)
    return c;
  // A pid target is matched by cgroup path, which names any runtime's container.
  if (c->runtime != Runtime::ctk)
    return fail(Errc::invalid_argument, std::string(target) + " is in a " +
                                            runtime_name(c->runtime) +
                                            " container: ctk acts only on its own containers here");
  return c;
}

Result<Container> Resolver::resolve(const Target &t) {
  if (t.pid > 0) {
    const std::string dir = opt_.paths.proc + "/" + std::to_string(t.pid);
    if (!detail::path_exists(dir))
      return fail(Errc::not_found, "no such process: " + std::to_string(t.pid));
    proc::Process p;
    p.pid = t.pid;
    p.cgroups = detail::read_process_cgroups(opt_.paths, t.pid);
    if (auto c = container_of(p))
      return *c;
    return fail(Errc::not_found, "process " + std::to_string(t.pid) + " is not in a container");
  }
  if (auto r = load(); !r)
    return tl::unexpected(r.error());
  std::vector<const Container *> named, prefixed;
  for (const auto &c : containers_) {
    if (!runtime_matches(t, c))
      continue;
    if (c.id == t.name)
      return c; // a full ID is unique whatever the names say
    if (!c.name.empty() && c.name == t.name)
      named.push_back(&c);
    else if (c.id.compare(0, t.name.size(), t.name) == 0)
      prefixed.push_back(&c);
  }
  // An exact name beats an ID prefix: "web" never means a container whose ID
  // happens to start with those letters (not hex anyway) or "abc" a prefix
  // when a container is named "abc".
  if (named.size() == 1)
    return *named[0];
  if (named.size() > 1)
    return ambiguous("container name " + describe(t), named);
  if (prefixed.size() == 1)
    return *prefixed[0];
  if (prefixed.size() > 1)
    return ambiguous("container ID prefix " + describe(t), prefixed);
  return fail(Errc::not_found, "no such container: " + describe(t));
}

namespace {

// The container that cgroup entry `e` names, if any: a known one (by full ID
// or an ID prefix) or one known only from the path.
std::optional<Container> claim(const std::vector<Container> &containers,
                               const std::map<std::string, size_t> &by_id,
                               const proc::CgroupEntry &e) {
  auto m = match_cgroup_path(e.path);
  if (!m)
    return std::nullopt;
  auto it = by_id.find(m->id);
  if (it == by_id.end() && m->id.size() < 64)
    for (auto i = by_id.begin(); i != by_id.end(); ++i)
      if (i->first.compare(0, m->id.size(), m->id) == 0) {
        it = i;
        break;
      }
  if (it != by_id.end()) {
    Container c = containers[it->second];
    if (c.cgroup_path.empty())
      c.cgroup_path = e.path;
    return c;
  }
  // A container whose runtime state is unreadable is still a container.
  Container c;
  c.runtime = m->runtime;
  c.id = m->id;
  c.status = "running";
  c.cgroup_path = e.path;
  c.source = "cgroup:" + e.path;
  return c;
}

} // namespace

std::optional<Container> Resolver::container_of(const proc::Process &p) {
  (void)load();
  std::vector<proc::CgroupEntry> read;
  if (p.cgroups.empty())
    read = detail::read_process_cgroups(opt_.paths, p.pid);
  const auto &entries = p.cgroups.empty() ? read : p.cgroups;
  // The unified entry first (pure v2 hosts), then the v1 controllers: on v1
  // hosts the unified path is "/" and a controller's path names the container.
  // Two passes rather than a sorted copy: this runs for every process.
  for (const bool unified : {true, false})
    for (const auto &e : entries) {
      if ((e.hierarchy == 0) != unified)
        continue;
      if (auto c = claim(containers_, by_id_, e))
        return c;
    }
  // --cgroup-parent or cgroupns setups: the process may be a known init.
  for (const auto &c : containers_)
    if (c.pid > 0 && c.pid == p.pid)
      return c;
  return std::nullopt;
}

} // namespace ctk::rt::discovery
