// cgroup layout detection from mountinfo, and process -> cgroup directory.
#include "ctk/runtime/cgroup.h"

#include <algorithm>

namespace ctk::rt::cgroup {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

// v1 super options that are not controllers (Documentation/admin-guide/
// cgroup-v1/cgroups.rst and kernel/cgroup/cgroup-v1.c).
bool is_v1_option(std::string_view o) {
  static constexpr std::string_view kOpts[] = {"rw",          "ro",   "noprefix", "clone_children",
                                               "xattr",       "none", "all",      "cpuset_v2_mode",
                                               "favordynmods"};
  for (auto k : kOpts)
    if (o == k)
      return true;
  return o.rfind("release_agent=", 0) == 0;
}

bool has(const std::vector<std::string> &v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool named_only(const Mount &m) {
  return std::all_of(m.controllers.begin(), m.controllers.end(),
                     [](const std::string &c) { return c.rfind("name=", 0) == 0; });
}

} // namespace

const char *layout_name(Layout l) {
  switch (l) {
  case Layout::v1:
    return "v1";
  case Layout::v2:
    return "v2";
  case Layout::hybrid:
    return "hybrid";
  case Layout::none:
    return "none";
  }
  return "?";
}

Result<Hierarchy> Hierarchy::detect(const HostPaths &paths) {
  std::string path = paths.proc + "/self/mountinfo";
  auto text = read_file(path);
  if (!text)
    return wrap(text, "cannot detect the cgroup layout");
  return from_mountinfo(*text, paths);
}

Result<Hierarchy> Hierarchy::from_mountinfo(std::string_view mountinfo, const HostPaths &paths) {
  Hierarchy h;
  for (std::string_view line : split_lines(mountinfo)) {
    // id parent maj:min root mount-point options [optional...] - fstype source super-options
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos)
      continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 6 || right.size() < 3)
      continue;
    std::string_view fstype = right[0];
    if (fstype != "cgroup" && fstype != "cgroup2")
      continue;
    Mount m;
    m.root = unescape_octal(left[3]);
    m.mount_point = unescape_octal(left[4]);
    if (fstype == "cgroup") {
      m.version = 1;
      for (std::string_view o : split(right[2], ','))
        if (!o.empty() && !is_v1_option(o))
          m.controllers.emplace_back(o);
    } else {
      m.version = 2;
      // A v2 tree with no controllers file is unusual but not an error (an
      // unreadable fixture or a restricted container): it has none.
      auto ctl = read_file(paths.prefixed(m.mount_point) + "/cgroup.controllers");
      if (ctl)
        for (std::string_view c : split(trim(*ctl), ' '))
          if (!c.empty())
            m.controllers.emplace_back(c);
    }
    h.mounts.push_back(std::move(m));
  }
  bool v1_ctl = false, v1_any = false, v2 = false;
  for (const auto &m : h.mounts) {
    if (m.version == 2) {
      v2 = true;
    } else {
      v1_any = true;
      v1_ctl = v1_ctl || !named_only(m);
    }
  }
  // systemd's hybrid mode: v1 controllers plus a unified tree (usually with
  // no controllers). A v2 host that also mounts only a named v1 hierarchy
  // (name=systemd, for old tools) is still a v2 host.
  if (v1_ctl && v2)
    h.layout = Layout::hybrid;
  else if (v2)
    h.layout = Layout::v2;
  else if (v1_any)
    h.layout = Layout::v1;
  else
    h.layout = Layout::none;
  return h;
}

const Mount *Hierarchy::mount_for(std::string_view controller) const {
  if (!controller.empty())
    for (const auto &m : mounts)
      if (m.version == 1 && has(m.controllers, controller))
        return &m;
  for (const auto &m : mounts)
    if (m.version == 2 && (controller.empty() || has(m.controllers, controller)))
      return &m;
  return nullptr;
}

std::optional<std::string> Hierarchy::dir_for(const std::vector<proc::CgroupEntry> &entries,
                                              std::string_view controller) const {
  const Mount *m = mount_for(controller);
  if (!m)
    return std::nullopt;
  const proc::CgroupEntry *entry = nullptr;
  for (const auto &e : entries) {
    bool match = m->version == 2 ? (e.hierarchy == 0 && e.controllers.empty())
                                 : (e.hierarchy != 0 && has(e.controllers, controller));
    if (match) {
      entry = &e;
      break;
    }
  }
  if (!entry)
    return std::nullopt;
  std::string_view path = entry->path;
  // A cgroup outside our cgroup namespace shows as "/../x": not reachable.
  if (path == "/.." || path.rfind("/../", 0) == 0)
    return std::nullopt;
  // A mount of a subtree (mountinfo root not "/", e.g. a container without
  // cgroupns that bind-mounts its own cgroup) holds paths relative to it.
  std::string_view root = m->root;
  while (root.size() > 1 && root.back() == '/')
    root.remove_suffix(1);
  if (root != "/") {
    if (path.rfind(root, 0) != 0 || (path.size() > root.size() && path[root.size()] != '/'))
      return std::nullopt;
    path.remove_prefix(root.size());
  }
  std::string dir = m->mount_point;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  if (!path.empty() && path != "/")
    dir += path;
  return dir;
}

std::string primary_path(const std::vector<proc::CgroupEntry> &entries) {
  for (const auto &e : entries)
    if (e.hierarchy == 0 && e.controllers.empty() && e.path != "/")
      return e.path;
  // On v1 container runtimes place a container in every controller; prefer
  // the ones they always use, then systemd's tracking hierarchy.
  static constexpr std::string_view kPreferred[] = {"memory", "pids", "cpu", "cpuacct",
                                                    "name=systemd"};
  for (auto want : kPreferred)
    for (const auto &e : entries)
      if (e.hierarchy != 0 && e.path != "/" && has(e.controllers, want))
        return e.path;
  for (const auto &e : entries)
    if (e.path != "/")
      return e.path;
  return "/";
}

} // namespace ctk::rt::cgroup
