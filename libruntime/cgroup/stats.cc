// Reading a cgroup's metrics on v1 and v2 hosts, and docker's CPU percent.
#include "ctk/runtime/cgroup_stats.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace ctk::rt::cgroup {
namespace {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// One sample's file reads: a buffer reused for every file, and a tally that
// tells a vanished cgroup (every read ENOENT/ENODEV) from a missing file.
struct Files {
  char buf[16384];
  int ok = 0;
  int gone = 0;

  // One openat+read; nullopt when the file cannot be read (absent
  // controller, older kernel, cgroup removed).
  std::optional<std::string_view> read(int dirfd, const char *name) {
    if (dirfd < 0)
      return std::nullopt;
    int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENODEV)
        gone++;
      return std::nullopt;
    }
    size_t total = 0;
    bool failed = false;
    while (total < sizeof(buf)) {
      ssize_t n = ::read(fd, buf + total, sizeof(buf) - total);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        // A cgroup removed between open and read answers ENODEV.
        failed = true;
        if (errno == ENODEV || errno == ENOENT)
          gone++;
        break;
      }
      if (n == 0)
        break;
      total += static_cast<size_t>(n);
    }
    ::close(fd);
    if (failed)
      return std::nullopt;
    ok++;
    return std::string_view(buf, total);
  }

  std::optional<uint64_t> number(int dirfd, const char *name) {
    auto t = read(dirfd, name);
    unsigned long long v = 0;
    if (!t || !parse_uint(trim(*t), v))
      return std::nullopt;
    return v;
  }
  std::optional<int64_t> signed_number(int dirfd, const char *name) {
    auto t = read(dirfd, name);
    long long v = 0;
    if (!t || !parse_int(trim(*t), v))
      return std::nullopt;
    return v;
  }
};

void read_cpu_v2(Files &f, int dir, unsigned fields, CpuStats &c) {
  if (fields & kStatCpu)
    if (auto t = f.read(dir, "cpu.stat"))
      parse_cpu_stat_v2(*t, c);
  if (fields & kStatCpuLimit)
    if (auto t = f.read(dir, "cpu.max")) {
      // "max 100000" or "50000 100000"
      auto parts = split(trim(*t), ' ');
      unsigned long long q = 0, p = 0;
      if (parts.size() == 2 && parse_uint(parts[1], p))
        c.period_us = p;
      if (!parts.empty() && parts[0] != "max" && parse_uint(parts[0], q))
        c.quota_us = static_cast<int64_t>(q);
    }
}

void read_cpu_v1(Files &f, int cpu, int cpuacct, unsigned fields, CpuStats &c) {
  if (fields & kStatCpu) {
    c.usage_ns = f.number(cpuacct, "cpuacct.usage");
    c.user_ns = f.number(cpuacct, "cpuacct.usage_user");
    c.system_ns = f.number(cpuacct, "cpuacct.usage_sys");
    if (!c.user_ns && !c.system_ns)
      // Kernels before 4.6 have only cpuacct.stat, in USER_HZ ticks.
      if (auto t = f.read(cpuacct, "cpuacct.stat")) {
        const uint64_t tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
        for (std::string_view line : split_lines(*t)) {
          auto kv = split(line, ' ');
          unsigned long long v = 0;
          if (kv.size() == 2 && parse_uint(kv[1], v))
            (kv[0] == "user" ? c.user_ns : c.system_ns) = v * tick;
        }
      }
    if (auto t = f.read(cpu, "cpu.stat"))
      parse_cpu_stat_v2(*t, c);
  }
  if (fields & kStatCpuLimit) {
    c.period_us = f.number(cpu, "cpu.cfs_period_us");
    auto q = f.signed_number(cpu, "cpu.cfs_quota_us");
    if (q && *q > 0)
      c.quota_us = *q;
  }
}

void finish_cpu(CpuStats &c) {
  if (c.quota_us && c.period_us && *c.period_us > 0)
    c.limit_cores = static_cast<double>(*c.quota_us) / static_cast<double>(*c.period_us);
}

void read_memory_v2(Files &f, int dir, unsigned fields, MemoryStats &m) {
  if (fields & kStatMemory) {
    m.usage = f.number(dir, "memory.current");
    if (auto t = f.read(dir, "memory.max"))
      m.limit = parse_limit(*t);
    if (auto t = f.read(dir, "memory.stat"))
      parse_memory_stat(*t, 2, m);
  }
  if (fields & kStatMemoryDetail) {
    m.swap = f.number(dir, "memory.swap.current");
    if (auto t = f.read(dir, "memory.swap.max"))
      m.swap_limit = parse_limit(*t);
  }
  if (fields & kStatMemoryEvents)
    if (auto t = f.read(dir, "memory.events"))
      parse_memory_events(*t, m);
}

void read_memory_v1(Files &f, int dir, unsigned fields, MemoryStats &m) {
  if (fields & kStatMemory) {
    m.usage = f.number(dir, "memory.usage_in_bytes");
    if (auto t = f.read(dir, "memory.limit_in_bytes"))
      m.limit = parse_limit(*t);
    if (auto t = f.read(dir, "memory.stat"))
      parse_memory_stat(*t, 1, m);
  }
  if (fields & kStatMemoryDetail) {
    m.kernel = f.number(dir, "memory.kmem.usage_in_bytes");
    m.sock = f.number(dir, "memory.kmem.tcp.usage_in_bytes");
    // memsw counts memory + swap: the swap allowance is the difference.
    if (auto t = f.read(dir, "memory.memsw.limit_in_bytes")) {
      auto memsw = parse_limit(*t);
      if (memsw && m.limit && *memsw >= *m.limit)
        m.swap_limit = *memsw - *m.limit;
    }
  }
  if (fields & kStatMemoryEvents) {
    if (auto t = f.read(dir, "memory.oom_control"))
      parse_oom_control(*t, m);
    // With a memsw limit the kernel charges memory+swap first, and a charge
    // that fails there counts in memsw.failcnt only: the two are disjoint.
    m.limit_hits = f.number(dir, "memory.failcnt");
    if (m.limit_hits)
      if (auto sw = f.number(dir, "memory.memsw.failcnt"))
        *m.limit_hits += *sw;
  }
}

void finish_memory(MemoryStats &m) {
  // docker: usage minus inactive file cache, which the kernel reclaims first
  // (total_inactive_file on v1, inactive_file on v2); never below zero.
  if (m.usage)
    m.working_set =
        m.inactive_file && *m.inactive_file < *m.usage ? *m.usage - *m.inactive_file : *m.usage;
}

void read_pids(Files &f, int dir, PidsStats &p) {
  p.current = f.number(dir, "pids.current");
  if (auto t = f.read(dir, "pids.max"))
    p.limit = parse_limit(*t);
}

// runc's order, which docker shows: the bfq scheduler's counters when they
// name a device, else the throttle layer's (which sees every bio). The
// first file of a group decides, as in runc.
void read_io_v1(Files &f, int dir, IoStats &io) {
  static constexpr const char *kGroups[][2] = {
      {"blkio.bfq.io_serviced_recursive", "blkio.bfq.io_service_bytes_recursive"},
      {"blkio.throttle.io_serviced_recursive", "blkio.throttle.io_service_bytes_recursive"},
  };
  for (const auto &g : kGroups) {
    auto ops = f.read(dir, g[0]);
    if (!ops || !parse_blkio_v1(*ops, io.read_ops, io.write_ops))
      continue;
    if (auto bytes = f.read(dir, g[1]))
      if (!parse_blkio_v1(*bytes, io.read_bytes, io.write_bytes))
        io.read_bytes = io.write_bytes = 0;
    return;
  }
  // No group names a device: the cgroup did no IO yet (if blkio is there).
  if (dir >= 0 && f.ok > 0)
    io.read_bytes = io.write_bytes = io.read_ops = io.write_ops = 0;
}

UniqueFd open_dir(const HostPaths &paths, const std::string &dir) {
  if (dir.empty())
    return UniqueFd();
  auto fd = open_fd(paths.prefixed(dir), O_PATH | O_DIRECTORY);
  return fd ? std::move(*fd) : UniqueFd();
}

} // namespace

StatDirs stat_dirs(const Hierarchy &h, const std::vector<proc::CgroupEntry> &entries) {
  StatDirs d;
  d.unified = h.dir_for(entries, "").value_or("");
  if (h.layout == Layout::v2) {
    d.version = 2;
    d.cpu = d.cpuacct = d.memory = d.pids = d.blkio = d.unified;
    return d;
  }
  d.version = 1;
  d.cpu = h.dir_for(entries, "cpu").value_or("");
  d.cpuacct = h.dir_for(entries, "cpuacct").value_or("");
  d.memory = h.dir_for(entries, "memory").value_or("");
  d.pids = h.dir_for(entries, "pids").value_or("");
  d.blkio = h.dir_for(entries, "blkio").value_or("");
  return d;
}

StatDirs stat_dirs_for_path(const Hierarchy &h, std::string_view cgroup_path) {
  std::vector<proc::CgroupEntry> entries;
  int id = 1;
  for (const auto &m : h.mounts) {
    proc::CgroupEntry e;
    e.path = std::string(cgroup_path);
    if (m.version == 1) {
      e.hierarchy = id++;
      e.controllers = m.controllers;
    }
    entries.push_back(std::move(e));
  }
  return stat_dirs(h, entries);
}

Result<StatReader> StatReader::open(const StatDirs &dirs, pid_t net_pid, const HostPaths &paths) {
  StatReader r;
  r.dirs_ = dirs;
  r.net_pid_ = net_pid;
  r.unified_ = open_dir(paths, dirs.unified);
  // Co-mounted controllers (cpu,cpuacct) and v2 share one directory: open
  // it once; read() falls back to the first fd that has it.
  auto same_or_open = [&](const std::string &dir, const std::string &as, const UniqueFd &fd) {
    return !dir.empty() && dir == as && fd ? UniqueFd() : open_dir(paths, dir);
  };
  r.cpu_ = same_or_open(dirs.cpu, dirs.unified, r.unified_);
  r.cpuacct_ = same_or_open(dirs.cpuacct, dirs.cpu, r.cpu_.valid() ? r.cpu_ : r.unified_);
  r.memory_ = same_or_open(dirs.memory, dirs.unified, r.unified_);
  r.pids_ = same_or_open(dirs.pids, dirs.unified, r.unified_);
  r.blkio_ = same_or_open(dirs.blkio, dirs.unified, r.unified_);
  if (net_pid > 0) {
    auto fd = open_fd(paths.proc + "/" + std::to_string(net_pid), O_PATH | O_DIRECTORY);
    if (fd)
      r.proc_ = std::move(*fd);
  }
  if (!r.unified_ && !r.cpu_ && !r.cpuacct_ && !r.memory_ && !r.pids_ && !r.blkio_) {
    std::string which = !dirs.memory.empty() ? dirs.memory : dirs.unified;
    return fail(Errc::not_found, "cannot open cgroup " + (which.empty() ? "(none)" : which) +
                                     ": no readable cgroup directory");
  }
  return r;
}

Sample StatReader::read(unsigned fields) const {
  Sample s;
  s.monotonic_ns = now_ns();
  s.fields = fields;
  Files f;
  auto fd_or = [&](const UniqueFd &own, const std::string &dir) {
    if (own)
      return own.get();
    if (dir.empty())
      return -1;
    if (dir == dirs_.unified && unified_)
      return unified_.get();
    if (dir == dirs_.cpu && cpu_)
      return cpu_.get();
    return -1;
  };
  const int cpu = fd_or(cpu_, dirs_.cpu), cpuacct = fd_or(cpuacct_, dirs_.cpuacct);
  const int memory = fd_or(memory_, dirs_.memory), pids = fd_or(pids_, dirs_.pids);
  const int blkio = fd_or(blkio_, dirs_.blkio);
  const bool v2 = dirs_.version == 2;

  if (fields & (kStatCpu | kStatCpuLimit)) {
    if (v2)
      read_cpu_v2(f, cpu, fields, s.cpu);
    else
      read_cpu_v1(f, cpu, cpuacct, fields, s.cpu);
    finish_cpu(s.cpu);
  }
  if (fields & (kStatMemory | kStatMemoryDetail | kStatMemoryEvents)) {
    if (v2)
      read_memory_v2(f, memory, fields, s.memory);
    else
      read_memory_v1(f, memory, fields, s.memory);
    finish_memory(s.memory);
  }
  if (fields & kStatPids)
    read_pids(f, pids, s.pids);
  if (fields & kStatIo) {
    if (v2) {
      if (auto t = f.read(blkio, "io.stat"))
        parse_io_stat_v2(*t, s.io);
    } else {
      read_io_v1(f, blkio, s.io);
    }
  }
  // PSI lives in the unified tree, also on hybrid hosts where it is the
  // only thing there (CONFIG_PSI; "psi=0" on the kernel line removes it).
  if (fields & kStatPressure) {
    const int u = unified_.get();
    if (auto t = f.read(u, "cpu.pressure"))
      s.cpu_pressure = parse_pressure(*t);
    if (auto t = f.read(u, "memory.pressure"))
      s.memory_pressure = parse_pressure(*t);
    if (auto t = f.read(u, "io.pressure"))
      s.io_pressure = parse_pressure(*t);
  }
  const int cgroup_ok = f.ok, cgroup_gone = f.gone;
  if ((fields & kStatNetwork) && proc_)
    if (auto t = f.read(proc_.get(), "net/dev"))
      s.net = parse_net_dev(*t);
  s.vanished = cgroup_ok == 0 && cgroup_gone > 0;
  return s;
}

Result<HostCpu> read_host_cpu(const HostPaths &paths) {
  HostCpu h;
  h.monotonic_ns = now_ns();
  auto text = read_file(paths.proc + "/stat");
  if (!text)
    return wrap(text, "cannot read the host's CPU time");
  const uint64_t tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  bool have_total = false;
  for (std::string_view line : split_lines(*text)) {
    if (line.rfind("cpu", 0) != 0)
      break;
    if (line.size() > 3 && line[3] == ' ') {
      // docker sums user nice system idle iowait irq softirq steal (guest
      // time is already inside user).
      auto f = split(line.substr(4), ' ');
      size_t n = 0;
      for (std::string_view v : f) {
        unsigned long long x = 0;
        if (v.empty() || !parse_uint(v, x))
          continue;
        if (n++ < 8)
          h.total_ns += x * tick;
      }
      have_total = n >= 4;
    } else {
      h.online_cpus++;
    }
  }
  if (!have_total)
    return fail(Errc::parse,
                "cannot read the host's CPU time: no cpu line in " + paths.proc + "/stat");
  if (h.online_cpus == 0)
    h.online_cpus = 1;
  return h;
}

Result<uint64_t> read_host_memory(const HostPaths &paths) {
  auto text = read_file(paths.proc + "/meminfo");
  if (!text)
    return wrap(text, "cannot read the host's memory size");
  for (std::string_view line : split_lines(*text)) {
    if (line.rfind("MemTotal:", 0) != 0)
      continue;
    auto v = trim(line.substr(9));
    if (v.size() > 3 && v.substr(v.size() - 3) == " kB")
      v = trim(v.substr(0, v.size() - 3));
    unsigned long long kb = 0;
    if (parse_uint(v, kb))
      return static_cast<uint64_t>(kb) * 1024;
  }
  return fail(Errc::parse,
              "cannot read the host's memory size: no MemTotal in " + paths.proc + "/meminfo");
}

std::optional<double> cpu_percent(const Sample &prev, const Sample &cur, const HostCpu &host_prev,
                                  const HostCpu &host_cur) {
  if (!prev.cpu.usage_ns || !cur.cpu.usage_ns || *cur.cpu.usage_ns < *prev.cpu.usage_ns)
    return std::nullopt;
  if (host_cur.total_ns <= host_prev.total_ns)
    return std::nullopt;
  const double cpu_delta = static_cast<double>(*cur.cpu.usage_ns - *prev.cpu.usage_ns);
  const double sys_delta = static_cast<double>(host_cur.total_ns - host_prev.total_ns);
  return cpu_delta / sys_delta * static_cast<double>(host_cur.online_cpus) * 100.0;
}

} // namespace ctk::rt::cgroup
