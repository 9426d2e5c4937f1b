// netinspect: which network namespaces there are (host, containers,
// /run/netns) and what a target names (container, PID, address).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "inspect_internal.h"

namespace ctk::rt::netinspect {

namespace {

int group_of(const NetnsRef &n) {
  return n.host ? 0 : n.container ? 1 : 2;
}

// Named namespaces (`ip netns add`) are bind mounts under /run/netns.
void add_named(const HostPaths &paths, std::vector<NetnsRef> &out,
               std::map<uint64_t, size_t> &by_inode) {
  const std::string dir = paths.prefixed("/run/netns");
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return;
  std::vector<std::string> names;
  while (dirent *e = ::readdir(d))
    if (e->d_name[0] != '.')
      names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto &n : names) {
    const std::string path = dir + "/" + n;
    struct stat st {};
    // An entry whose mount is gone is a plain empty file on the tmpfs: its
    // inode is no namespace's (nsfs inodes live on the nsfs device).
    if (::stat(path.c_str(), &st) != 0 || st.st_size != 0 || by_inode.count(st.st_ino))
      continue;
    struct stat self {};
    if (::stat(fmt::format("{}/self/ns/net", paths.proc).c_str(), &self) == 0 &&
        self.st_dev != st.st_dev)
      continue;
    NetnsRef r;
    r.inode = st.st_ino;
    r.label = "netns " + n;
    r.path = path;
    by_inode[r.inode] = out.size();
    out.push_back(std::move(r));
  }
}

} // namespace

Result<std::vector<NetnsRef>> list_namespaces(discovery::Resolver &r, const HostPaths &paths) {
  std::vector<NetnsRef> out;
  std::map<uint64_t, size_t> by_inode;
  // pid 1's namespace; kthreadd (pid 2) is always in the initial one too,
  // and stays readable where pid 1 is not (a sandbox's init, hidepid).
  pid_t host_pid = 1;
  auto host = proc::ns_inode(paths, host_pid, proc::NsType::net);
  if (!host && host.error().code == Errc::permission_denied) {
    host_pid = 2;
    host = proc::ns_inode(paths, host_pid, proc::NsType::net);
  }
  if (!host)
    return wrap(host, "cannot read the host's network namespace");
  NetnsRef h;
  h.inode = *host;
  h.label = "host";
  h.pid = host_pid;
  h.path = fmt::format("{}/{}/ns/net", paths.proc, host_pid);
  h.host = true;
  by_inode[h.inode] = 0;
  out.push_back(std::move(h));

  auto cs = r.list(/*all=*/false);
  if (!cs)
    return wrap(cs, "cannot list containers");
  for (auto &c : *cs) {
    if (c.pid <= 0)
      continue;
    auto ino = proc::ns_inode(paths, c.pid, proc::NsType::net);
    if (!ino)
      continue; // exited since it was listed
    auto it = by_inode.find(*ino);
    if (it != by_inode.end()) {
      auto &n = out[it->second];
      n.containers.push_back(c);
      if (!n.host) // --net host containers keep the host's label
        n.label = containers_label(n.containers);
      if (!n.container)
        n.container = c;
      continue;
    }
    NetnsRef n;
    n.inode = *ino;
    n.pid = c.pid;
    n.path = fmt::format("{}/{}/ns/net", paths.proc, c.pid);
    n.containers.push_back(c);
    n.container = std::move(c);
    n.label = containers_label(n.containers);
    by_inode[n.inode] = out.size();
    out.push_back(std::move(n));
  }
  add_named(paths, out, by_inode);
  std::stable_sort(out.begin(), out.end(), [](const NetnsRef &a, const NetnsRef &b) {
    const int ga = group_of(a), gb = group_of(b);
    return ga != gb ? ga < gb : a.label < b.label;
  });
  return out;
}

namespace {

Endpoint endpoint_from(const NsLinks &nl, UniqueFd fd) {
  Endpoint e;
  e.label = nl.ns.label;
  e.container = nl.ns.container;
  e.pid = nl.ns.pid;
  e.netns = std::move(fd);
  e.netns_inode = nl.ns.inode;
  e.host_netns = nl.ns.host;
  e.netns_path = nl.ns.path;
  for (const auto &i : nl.ifaces)
    if (i.name != "lo")
      e.ifaces.push_back(i);
  return e;
}

Result<Endpoint> by_address(discovery::Resolver &r, std::string_view text, int family,
                            const HostPaths &paths) {
  const std::string want = canonical_ip(family, text);
  auto all = list_namespaces(r, paths);
  if (!all)
    return tl::unexpected(all.error());
  auto links = read_all_links(*all);
  if (!links)
    return tl::unexpected(links.error());
  // Containers before named namespaces before the host (list order is host
  // first): a container's address is what a user most likely means.
  const NsLinks *found = nullptr;
  IfAddr hit;
  int best = 99;
  for (const auto &nl : *links)
    for (const auto &i : nl.ifaces) {
      if (i.name == "lo")
        continue;
      for (const auto &a : i.addrs)
        if (a.family == family && a.address == want) {
          const int rank = nl.ns.container ? 0 : nl.ns.host ? 2 : 1;
          if (rank < best) {
            best = rank;
            found = &nl;
            hit = a;
          }
        }
    }
  Endpoint e;
  if (!found) {
    e.label = want;
    e.requested = IfAddr{family, want, family == AF_INET ? 32 : 128, "global"};
    return e;
  }
  auto fd = open_netns(found->ns);
  if (!fd)
    return tl::unexpected(fd.error());
  e = endpoint_from(*found, std::move(*fd));
  e.requested = hit;
  return e;
}

} // namespace

Result<Endpoint> resolve_endpoint(discovery::Resolver &r, std::string_view text,
                                  const HostPaths &paths) {
  if (auto fam = parse_ip(text))
    return by_address(r, text, *fam, paths);
  auto t = discovery::parse_target(text);
  if (!t)
    return tl::unexpected(t.error());
  std::optional<discovery::Container> c;
  pid_t pid = 0;
  if (t->pid > 0) {
    // A host PID need not be in a container (a test's namespace holder, a
    // daemon): its own namespace is the endpoint either way.
    pid = t->pid;
    if (auto owner = r.resolve(*t))
      c = std::move(*owner);
    else if (owner.error().code != Errc::not_found)
      return tl::unexpected(owner.error());
  } else {
    auto owner = r.resolve(*t);
    if (!owner)
      return tl::unexpected(owner.error());
    if (owner->pid <= 0)
      return fail(Errc::invalid_argument, fmt::format("container {} is not running", text));
    pid = owner->pid;
    c = std::move(*owner);
  }
  const std::string path = fmt::format("{}/{}/ns/net", paths.proc, pid);
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) {
    if (fd.error().code == Errc::not_found)
      return fail(Errc::not_found, fmt::format("no such process: {}", pid));
    return wrap(fd, fmt::format("cannot open the network namespace of {}", text));
  }
  auto ino = detail::fd_inode(fd->get());
  if (!ino)
    return tl::unexpected(ino.error());

  auto all = list_namespaces(r, paths);
  if (!all)
    return tl::unexpected(all.error());
  auto it = std::find_if(all->begin(), all->end(),
                         [&](const NetnsRef &n) { return n.inode == *ino; });
  if (it == all->end()) {
    NetnsRef n;
    n.inode = *ino;
    n.label = c ? containers_label({*c}) : fmt::format("pid {}", pid);
    n.pid = pid;
    n.path = path;
    n.container = c;
    all->push_back(std::move(n));
    it = all->end() - 1;
  }
  const uint64_t want = *ino;
  auto links = read_all_links(*all);
  if (!links)
    return tl::unexpected(links.error());
  for (const auto &nl : *links)
    if (nl.ns.inode == want) {
      Endpoint e = endpoint_from(nl, std::move(*fd));
      e.pid = pid;
      e.netns_path = path;
      if (c)
        e.container = c;
      return e;
    }
  return fail(Errc::not_found,
              fmt::format("cannot read the network namespace of {}: it went away", text));
}

} // namespace ctk::rt::netinspect
