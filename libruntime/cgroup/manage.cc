// A container's cgroup: /ctk/<id> in every hierarchy ctk uses, its limits,
// its processes and its removal, on v1, v2 and hybrid hosts.
#include "ctk/runtime/cgroup_manage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ctk::rt::cgroup {
namespace {

constexpr int64_t kCpuPeriod = 100000;          // us, the kernel's and docker's default
constexpr int64_t kMinCpuQuota = 1000;          // us, the kernel refuses less
constexpr int64_t kMinMemory = 6 * 1024 * 1024; // docker's minimum: less cannot start a shell

// Controllers whose hierarchies a container is placed in on v1. blkio has no
// limit here but `ctk stats` reads the container's I/O from it, as docker
// stats does; name=systemd is where runc also puts containers.
constexpr std::string_view kV1Controllers[] = {"memory", "cpu",   "cpuacct",
                                               "pids",   "blkio", "name=systemd"};
// Enabled in the parents' cgroup.subtree_control on v2 (those the tree has).
constexpr std::string_view kV2Controllers[] = {"cpu", "memory", "pids"};

bool has(const std::vector<std::string> &v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A mount point as seen through `paths`: /sys/... moves with paths.sys (the
// fixture's sys root), anything else with paths.root.
std::string host_dir(const HostPaths &paths, const std::string &mount_point) {
  std::string dir;
  if (mount_point == "/sys" || mount_point.rfind("/sys/", 0) == 0)
    dir = paths.sys + mount_point.substr(4);
  else
    dir = paths.prefixed(mount_point);
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  return dir;
}

// The hierarchies a container gets a directory in: every v2 tree and the v1
// ones carrying a controller of kV1Controllers, in mountinfo order, v2 first
// (so cgroup.kill and pids() use it when there is one).
std::vector<const Mount *> container_mounts(const Hierarchy &h) {
  std::vector<const Mount *> out;
  for (const auto &m : h.mounts)
    if (m.version == 2)
      out.push_back(&m);
  for (const auto &m : h.mounts) {
    if (m.version != 1)
      continue;
    bool wanted = std::any_of(std::begin(kV1Controllers), std::end(kV1Controllers),
                              [&](std::string_view c) { return has(m.controllers, c); });
    // Two mounts of one hierarchy (a bind mount) would give the same cgroup twice.
    bool dup = std::any_of(out.begin(), out.end(),
                           [&](const Mount *o) { return o->controllers == m.controllers; });
    if (wanted && !dup)
      out.push_back(&m);
  }
  return out;
}

bool has_view(const std::vector<std::string_view> &v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool exists(const std::string &path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// One write(2) of the whole value: cgroup files take a value per write.
Result<void> write_value(const std::string &path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail_errno(path);
  UniqueFd owner(fd);
  ssize_t n;
  do
    n = ::write(fd, value.data(), value.size());
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return fail_errno(path);
  if (static_cast<size_t>(n) != value.size())
    return fail(Errc::io, path + ": short write");
  return {};
}

Result<std::vector<pid_t>> read_procs(const std::string &dir) {
  auto text = read_file(dir + "/cgroup.procs");
  if (!text)
    return tl::unexpected(text.error());
  std::vector<pid_t> out;
  for (std::string_view line : split_lines(*text)) {
    long long v = 0;
    if (parse_int(trim(line), v) && v > 0)
      out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

// Enables `wanted` in dir's cgroup.subtree_control, skipping those already
// on (the file lists them without the "+").
Result<void> enable_controllers(const std::string &dir, const std::vector<std::string> &wanted) {
  std::vector<std::string> on;
  if (auto cur = read_file(dir + "/cgroup.subtree_control"))
    for (std::string_view c : split(trim(*cur), ' '))
      if (!c.empty())
        on.emplace_back(c);
  std::string add;
  for (const auto &c : wanted)
    if (!has(on, c))
      add += (add.empty() ? "+" : " +") + c;
  if (add.empty())
    return {};
  auto w = write_value(dir + "/cgroup.subtree_control", add);
  if (!w)
    return wrap(w, "cannot enable the " + add + " controllers of " + dir);
  return {};
}

// The directory of `controller`'s hierarchy for the container (`mounts` and
// `dirs` are parallel), or nullptr with the mount it is in.
const Mount *find(const Hierarchy &h, std::string_view controller,
                  const std::vector<const Mount *> &mounts, const std::vector<std::string> &dirs,
                  std::string &dir) {
  const Mount *m = h.mount_for(controller);
  for (size_t i = 0; m && i < mounts.size(); ++i)
    if (mounts[i] == m) {
      dir = dirs[i];
      return m;
    }
  return nullptr;
}

Result<void> write_limits(const Hierarchy &h, const Limits &l,
                          const std::vector<const Mount *> &mounts,
                          const std::vector<std::string> &dirs) {
  std::string dir;
  if (l.memory) {
    const Mount *m = find(h, "memory", mounts, dirs, dir);
    std::string bytes = std::to_string(*l.memory);
    Result<void> r;
    // docker's --memory without --memory-swap: as much swap again, where
    // the kernel accounts swap (the file exists).
    if (m->version == 2) {
      r = write_value(dir + "/memory.max", bytes);
      if (r && exists(dir + "/memory.swap.max"))
        r = write_value(dir + "/memory.swap.max", bytes);
    } else {
      // memsw must stay >= the limit, and it starts unlimited: limit first.
      r = write_value(dir + "/memory.limit_in_bytes", bytes);
      if (r && exists(dir + "/memory.memsw.limit_in_bytes"))
        r = write_value(dir + "/memory.memsw.limit_in_bytes", std::to_string(2 * *l.memory));
    }
    if (!r)
      return wrap(r, "cannot set memory limit");
  }
  if (l.cpus) {
    const Mount *m = find(h, "cpu", mounts, dirs, dir);
    auto quota = static_cast<int64_t>(std::llround(*l.cpus * kCpuPeriod));
    Result<void> r;
    if (m->version == 2) {
      r = write_value(dir + "/cpu.max", fmt::format("{} {}", quota, kCpuPeriod));
    } else {
      r = write_value(dir + "/cpu.cfs_period_us", std::to_string(kCpuPeriod));
      if (r)
        r = write_value(dir + "/cpu.cfs_quota_us", std::to_string(quota));
    }
    if (!r)
      return wrap(r, "cannot set cpu limit");
  }
  if (l.pids) {
    find(h, "pids", mounts, dirs, dir);
    auto r = write_value(dir + "/pids.max", std::to_string(*l.pids));
    if (!r)
      return wrap(r, "cannot set pids limit");
  }
  return {};
}

// rmdir of a cgroup and any cgroups the container made below it (a
// container with its own cgroup namespace may nest), deepest first.
// Interface files need no removal: rmdir of a cgroup takes them.
int remove_tree(const std::string &dir) {
  if (DIR *d = ::opendir(dir.c_str())) {
    std::vector<std::string> subs;
    while (dirent *e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..")
        subs.emplace_back(n);
    }
    ::closedir(d);
    for (const auto &s : subs)
      remove_tree(dir + "/" + s);
  }
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT)
    return 0;
  return errno;
}

bool valid_id(const std::string &id) {
  return !id.empty() && id != "." && id != ".." && id.find('/') == std::string::npos;
}

} // namespace

Result<void> check_limits(const Limits &l) {
  if (l.memory && *l.memory < kMinMemory)
    return fail(Errc::invalid_argument,
                fmt::format("memory limit {} bytes is below the minimum of 6 MiB", *l.memory));
  // NaN fails every comparison, so test for the valid range.
  if (l.cpus && !(*l.cpus * kCpuPeriod >= kMinCpuQuota && *l.cpus <= 1e6))
    return fail(Errc::invalid_argument,
                fmt::format("cpu limit {} is out of range (at least 0.01 cpus)", *l.cpus));
  if (l.pids && *l.pids < 1)
    return fail(Errc::invalid_argument,
                fmt::format("pids limit {} is out of range (at least 1)", *l.pids));
  return {};
}

ContainerCgroup ContainerCgroup::open(const Hierarchy &h, const std::string &id,
                                      const HostPaths &paths) {
  ContainerCgroup cg;
  cg.path_ = "/ctk/" + id;
  const Mount *memory = h.mount_for("memory");
  for (const Mount *m : container_mounts(h)) {
    cg.dirs_.push_back(host_dir(paths, m->mount_point) + cg.path_);
    cg.versions_.push_back(m->version);
    if (m == memory) {
      cg.memory_dir_ = cg.dirs_.back();
      cg.memory_version_ = m->version;
    }
  }
  return cg;
}

Result<ContainerCgroup> ContainerCgroup::create(const Hierarchy &h, const std::string &id,
                                                const Limits &limits, const HostPaths &paths) {
  if (!valid_id(id))
    return fail(Errc::invalid_argument,
                "cannot create a cgroup for container \"" + id + "\": not a valid container ID");
  if (auto ok = check_limits(limits); !ok)
    return wrap(ok, "cannot create the cgroup of container " + id);
  auto mounts = container_mounts(h);
  if (mounts.empty())
    return fail(Errc::unsupported,
                "cannot create the cgroup of container " + id + ": no cgroup hierarchy is mounted");
  // Controllers the limits need, and whether the host has them, before
  // anything is created.
  std::vector<std::string_view> needed;
  if (limits.memory)
    needed.push_back("memory");
  if (limits.cpus)
    needed.push_back("cpu");
  if (limits.pids)
    needed.push_back("pids");
  for (auto controller : needed) {
    const Mount *m = h.mount_for(controller);
    if (!m || std::find(mounts.begin(), mounts.end(), m) == mounts.end())
      return fail(
          Errc::unsupported,
          fmt::format("cannot set {0} limit: this host has no {0} cgroup controller", controller));
  }

  ContainerCgroup cg = open(h, id, paths);
  std::vector<std::string> made;
  auto undo = [&](Error e) {
    for (auto it = made.rbegin(); it != made.rend(); ++it)
      remove_tree(*it);
    return tl::unexpected<Error>(std::move(e));
  };
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount &m = *mounts[i];
    std::string base = host_dir(paths, m.mount_point);
    std::string parent = base + "/ctk";
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
      return undo(errno_error("cannot create cgroup " + parent, errno));
    if (m.version == 2) {
      std::vector<std::string> wanted;
      bool required = false;
      for (auto c : kV2Controllers)
        if (has(m.controllers, c)) {
          wanted.emplace_back(c);
          required = required || has_view(needed, c);
        }
      if (!wanted.empty()) {
        auto r = enable_controllers(base, wanted);
        if (r)
          r = enable_controllers(parent, wanted);
        // Without a limit that needs them the container still runs, only
        // its stats lack them (a delegated tree whose root has processes
        // refuses subtree_control with EBUSY).
        if (!r && required)
          return undo(r.error());
      }
    }
    const std::string &dir = cg.dirs_[i];
    if (::mkdir(dir.c_str(), 0755) == 0)
      made.push_back(dir);
    else if (errno != EEXIST)
      return undo(errno_error("cannot create cgroup " + dir, errno));
  }
  if (auto r = write_limits(h, limits, mounts, cg.dirs_); !r)
    return undo(r.error());
  return cg;
}

Result<ContainerCgroup::JoinFds> ContainerCgroup::open_for_join() const {
  JoinFds j;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (versions_[i] == 2) {
      auto fd = open_fd(dirs_[i], O_RDONLY | O_DIRECTORY);
      if (!fd)
        return wrap(fd, "cannot open cgroup " + path_);
      j.v2_dir = std::move(*fd);
    } else {
      auto fd = open_fd(dirs_[i] + "/tasks", O_WRONLY);
      if (!fd)
        return wrap(fd, "cannot open cgroup " + path_);
      j.v1_tasks.push_back(std::move(*fd));
      j.v1_dirs.push_back(dirs_[i]);
    }
  }
  return j;
}

Result<void> ContainerCgroup::join_self(const JoinFds &fds) {
  for (size_t i = 0; i < fds.v1_tasks.size(); ++i)
    if (::write(fds.v1_tasks[i].get(), "0", 1) != 1)
      return fail_errno("cannot join cgroup " + fds.v1_dirs[i]);
  return {};
}

Result<void> ContainerCgroup::freeze(bool frozen, int timeout_ms) const {
  const std::string *v2 = nullptr;
  for (size_t i = 0; i < dirs_.size(); ++i)
    if (versions_[i] == 2)
      v2 = &dirs_[i];
  const char *what = frozen ? "cannot freeze cgroup " : "cannot thaw cgroup ";
  if (!v2 || !exists(*v2 + "/cgroup.freeze"))
    return fail(Errc::unsupported, what + path_ + ": no cgroup v2 freezer here");
  if (auto r = write_value(*v2 + "/cgroup.freeze", frozen ? "1" : "0"); !r)
    return wrap(r, what + path_);
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto events = read_file(*v2 + "/cgroup.events");
    if (!events)
      return wrap(events, what + path_);
    for (auto line : split_lines(*events))
      if (line == want)
        return {};
    if (std::chrono::steady_clock::now() >= end)
      return fail(Errc::timeout, fmt::format("{}{}: not {} after {} ms", what, path_,
                                             frozen ? "frozen" : "thawed", timeout_ms));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<void> ContainerCgroup::add(pid_t pid) const {
  for (const auto &dir : dirs_)
    if (auto r = write_value(dir + "/cgroup.procs", std::to_string(pid)); !r)
      return wrap(r, fmt::format("cannot add pid {} to cgroup {}", pid, path_));
  return {};
}

Result<std::vector<pid_t>> ContainerCgroup::pids() const {
  for (const auto &dir : dirs_) {
    auto p = read_procs(dir);
    if (p || p.error().code != Errc::not_found)
      return p;
  }
  return fail(Errc::not_found, "cgroup " + path_ + " does not exist");
}

Result<void> ContainerCgroup::kill(int sig) const {
  if (sig == SIGKILL)
    for (const auto &dir : dirs_) {
      // v2 (5.14+): the kernel kills every process, racing forks included.
      std::string file = dir + "/cgroup.kill";
      if (!exists(file))
        continue;
      auto r = write_value(file, "1");
      if (!r)
        return wrap(r, "cannot kill the processes of cgroup " + path_);
      return {};
    }
  // Signal each pid; with SIGKILL repeat while new pids show up, since a
  // process may have forked between the read and its signal. A killed
  // process that lingers (a zombie, or in D state) is not signalled twice,
  // so this ends.
  std::set<pid_t> signalled;
  for (;;) {
    auto pids = this->pids();
    if (!pids) {
      if (pids.error().code == Errc::not_found)
        return {}; // nothing left to signal: teardown is idempotent
      return wrap(pids, "cannot signal the processes of cgroup " + path_);
    }
    bool fresh = false;
    for (pid_t p : *pids) {
      if (!signalled.insert(p).second)
        continue;
      fresh = true;
      if (::kill(p, sig) != 0 && errno != ESRCH)
        return fail_errno(fmt::format("cannot signal pid {} of cgroup {}", p, path_));
    }
    if (!fresh || sig != SIGKILL)
      return {};
  }
}

Result<void> ContainerCgroup::remove(int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Result<void> result;
  for (const auto &dir : dirs_) {
    // Processes that were just killed leave their cgroup a little after
    // the signal: EBUSY until then.
    auto pause = std::chrono::microseconds(200);
    for (;;) {
      int err = remove_tree(dir);
      if (err == 0)
        break;
      if (err == EBUSY && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
        continue;
      }
      if (result) {
        std::string what = "cannot remove cgroup " + dir;
        if (err == EBUSY)
          if (auto left = read_procs(dir); left && !left->empty())
            what += fmt::format(" (pids {} still in it)", fmt::join(*left, " "));
        result = tl::unexpected<Error>(errno_error(what, err));
      }
      break;
    }
  }
  return result;
}

Result<uint64_t> ContainerCgroup::oom_kills() const {
  if (memory_dir_.empty())
    return fail(Errc::unsupported, "cannot count OOM kills in cgroup " + path_ +
                                       ": this host has no memory cgroup controller");
  std::string file =
      memory_dir_ + (memory_version_ == 2 ? "/memory.events" : "/memory.oom_control");
  auto text = read_file(file);
  if (!text)
    return wrap(text, "cannot count OOM kills in cgroup " + path_);
  for (std::string_view line : split_lines(*text)) {
    unsigned long long n = 0;
    if (line.rfind("oom_kill ", 0) == 0 && parse_uint(trim(line.substr(9)), n))
      return static_cast<uint64_t>(n);
  }
  // Kernels before 4.13 have no v1 oom_kill line.
  return fail(Errc::unsupported,
              "cannot count OOM kills in cgroup " + path_ + ": " + file + " has no oom_kill line");
}

Result<std::vector<std::string>> list_ctk_cgroups(const Hierarchy &h, const HostPaths &paths) {
  std::vector<std::string> out;
  for (const Mount *m : container_mounts(h)) {
    std::string parent = host_dir(paths, m->mount_point) + "/ctk";
    DIR *d = ::opendir(parent.c_str());
    if (!d) {
      if (errno == ENOENT)
        continue;
      return fail_errno("cannot list cgroups in " + parent);
    }
    while (dirent *e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..")
        out.push_back(parent + "/" + std::string(n));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace ctk::rt::cgroup
