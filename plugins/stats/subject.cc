// Resolving what `ctk cgroup` and `ctk stats` read, and small formatting.
#include <cmath>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::stats {

rt::Result<Subject> subject_of(const rt::discovery::Container &c, const cg::Hierarchy &h,
                               const std::vector<rt::proc::CgroupEntry> *init_cgroups,
                               const rt::HostPaths &paths) {
  Subject s;
  s.id = c.id;
  s.name = c.name.empty() ? c.id.substr(0, 12) : c.name;
  s.runtime = rt::discovery::runtime_name(c.runtime);
  s.pid = c.pid;
  // The init's /proc/PID/cgroup is the truth on hosts where controllers
  // differ (a v1 controller moved elsewhere); the recorded path is the
  // fallback for a container whose init we cannot read.
  std::vector<rt::proc::CgroupEntry> read;
  if (!init_cgroups && c.pid > 0) {
    rt::proc::ScanOptions so;
    so.paths = paths;
    so.fields = rt::proc::kCgroups;
    if (auto p = rt::proc::read_process(c.pid, so))
      read = std::move(p->cgroups);
    init_cgroups = &read;
  }
  if (init_cgroups && !init_cgroups->empty()) {
    s.cgroup = cg::primary_path(*init_cgroups);
    s.dirs = cg::stat_dirs(h, *init_cgroups);
  } else if (!c.cgroup_path.empty()) {
    s.cgroup = c.cgroup_path;
    s.dirs = cg::stat_dirs_for_path(h, c.cgroup_path);
  } else {
    return rt::fail(
        rt::Errc::not_found,
        fmt::format("container {}://{} is not running: it has no cgroup", s.runtime, s.name));
  }
  return s;
}

rt::Result<Subject> resolve_subject(rt::discovery::Resolver &r, const cg::Hierarchy &h,
                                    const std::string &target, const rt::HostPaths &paths) {
  auto t = rt::discovery::parse_target(target);
  if (!t)
    return tl::unexpected(t.error());
  auto c = r.resolve(*t);
  if (c)
    return subject_of(*c, h, nullptr, paths);
  if (t->pid <= 0 || c.error().code != rt::Errc::not_found)
    return tl::unexpected(c.error());
  // A host process in no container: its own cgroup, so limits set by hand
  // or by systemd (a service's MemoryMax) can be inspected the same way.
  rt::proc::ScanOptions so;
  so.paths = paths;
  so.fields = rt::proc::kStatus | rt::proc::kCgroups;
  auto p = rt::proc::read_process(t->pid, so);
  if (!p)
    return rt::fail(rt::Errc::not_found, fmt::format("no such process: {}", t->pid));
  Subject s;
  s.name = p->comm;
  s.runtime = "-";
  s.pid = p->pid;
  s.cgroup = cg::primary_path(p->cgroups);
  s.dirs = cg::stat_dirs(h, p->cgroups);
  return s;
}

pid_t net_pid_of(const Subject &s, const rt::HostPaths &paths) {
  if (s.pid <= 0)
    return 0;
  auto mine = rt::proc::ns_inode(paths, s.pid, rt::proc::NsType::net);
  // PID 1's namespace is the host's; where it is hidden from us (a
  // sandbox), ctk's own is the best guess.
  auto host = rt::proc::ns_inode(paths, 1, rt::proc::NsType::net);
  if (!host)
    host = rt::proc::ns_inode(paths, getpid(), rt::proc::NsType::net);
  if (mine && host && *mine == *host)
    return 0;
  return s.pid;
}

namespace {
std::string trim_number(double v, int significant) {
  std::string s = fmt::format("{:.{}g}", v, significant);
  // %g may choose an exponent for large values; the unit ladder keeps v < 1000.
  return s;
}
} // namespace

std::string binary_size(uint64_t v) {
  static constexpr const char *kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double d = static_cast<double>(v);
  size_t u = 0;
  while (d >= 1024 && u + 1 < std::size(kUnits)) {
    d /= 1024;
    u++;
  }
  return trim_number(d, 4) + kUnits[u];
}

std::string decimal_size(uint64_t v) {
  static constexpr const char *kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double d = static_cast<double>(v);
  size_t u = 0;
  while (d >= 1000 && u + 1 < std::size(kUnits)) {
    d /= 1000;
    u++;
  }
  return trim_number(d, 3) + kUnits[u];
}

std::string pair(const std::optional<uint64_t> &a, const std::optional<uint64_t> &b, bool binary) {
  auto one = [&](const std::optional<uint64_t> &v) {
    return v ? (binary ? binary_size(*v) : decimal_size(*v)) : std::string("--");
  };
  if (!a && !b)
    return "";
  return one(a) + " / " + one(b);
}

bool sleep_interruptible(const Call &call, int ms) {
  if (call.interrupted())
    return false;
  pollfd p{call.interrupt_fd(), POLLIN, 0};
  if (p.fd < 0) {
    ::poll(nullptr, 0, ms);
    return !call.interrupted();
  }
  int n = ::poll(&p, 1, ms);
  return !(n > 0 || call.interrupted());
}

rt::Result<Subject> target_subject(const Call &call, const std::string &target,
                                   const rt::HostPaths &paths) {
  auto h = cg::Hierarchy::detect(paths);
  if (!h)
    return tl::unexpected(h.error());
  rt::discovery::Options ro;
  ro.roots.ctk_root = call.root(); // --root/--run-root name ctk's own store
  ro.roots.ctk_run_root = call.run_root();
  auto resolver = rt::discovery::Resolver::open(std::move(ro));
  if (!resolver)
    return tl::unexpected(resolver.error());
  return resolve_subject(*resolver, *h, target, paths);
}

} // namespace ctk::plugins::stats
