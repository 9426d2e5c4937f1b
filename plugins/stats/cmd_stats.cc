// ctk stats: docker stats for every runtime's containers, read straight from
// their cgroups.
//
// Containers are resolved once (a /proc scan and the runtimes' state), then
// each sample is one openat+read per cgroup file on directory fds kept open
// across samples. Resolution is redone every kResolveEvery samples, and at
// once after a container's cgroup vanished, so new containers show up and
// gone ones leave without paying the /proc scan every second.
#include <algorithm>
#include <map>
#include <sys/resource.h>

#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::stats {
namespace {

constexpr int kResolveEvery = 10;

struct Entry {
  Subject s;
  std::optional<cg::StatReader> reader;
  std::optional<cg::Sample> prev;
  std::optional<cg::HostCpu> prev_host;
  std::vector<std::string> processes; // "HOSTPID:CONTAINERPID COMMAND"
};

struct Row {
  const Entry *e = nullptr;
  cg::Sample s;
  std::optional<double> cpu;
  std::optional<uint64_t> mem, mem_limit;
  std::optional<double> mem_pct;
  std::vector<std::string> warnings;
};

enum class SortKey { none, cpu, mem, name, pids, net, block };

std::optional<SortKey> parse_sort(std::string_view s) {
  static const std::pair<std::string_view, SortKey> kKeys[] = {
      {"cpu", SortKey::cpu},   {"mem", SortKey::mem}, {"name", SortKey::name},
      {"pids", SortKey::pids}, {"net", SortKey::net}, {"block", SortKey::block},
      {"none", SortKey::none}};
  for (const auto &[k, v] : kKeys)
    if (s == k)
      return v;
  return std::nullopt;
}

// Processes are a long hot loop on busy hosts; raising the fd limit lets a
// reader keep its directory fds open for hundreds of containers.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

class Sampler {
public:
  Sampler(const Call &call, std::vector<std::string> targets, bool all)
      : call_(call), targets_(std::move(targets)), all_(all) {}

  rt::Result<void> resolve() {
    if (!hier_) {
      auto h = cg::Hierarchy::detect(paths_);
      if (!h)
        return tl::unexpected(h.error());
      hier_ = std::move(*h);
    }
    rt::proc::ScanOptions so;
    so.paths = paths_;
    so.fields = rt::proc::kStatus | rt::proc::kCgroups;
    auto procs = rt::proc::scan(so);
    if (!procs)
      return tl::unexpected(procs.error());
    rt::discovery::Options ro;
    ro.paths = paths_;
    ro.processes = &*procs;
    ro.roots.ctk_root = call_.root(); // --root/--run-root name ctk's own store
    ro.roots.ctk_run_root = call_.run_root();
    auto r = rt::discovery::Resolver::open(std::move(ro));
    if (!r)
      return tl::unexpected(r.error());
    for (const auto &w : r->warnings())
      call_.log(CTK_LOG_DEBUG, w);

    auto find_proc = [&](pid_t pid) -> const rt::proc::Process * {
      auto it = std::lower_bound(procs->begin(), procs->end(), pid,
                                 [](const rt::proc::Process &p, pid_t v) { return p.pid < v; });
      return it != procs->end() && it->pid == pid ? &*it : nullptr;
    };
    std::vector<Subject> subjects;
    if (targets_.empty()) {
      auto list = r->list(all_);
      if (!list)
        return tl::unexpected(list.error());
      for (const auto &c : *list) {
        const auto *p = c.pid > 0 ? find_proc(c.pid) : nullptr;
        auto s = subject_of(c, *hier_, p ? &p->cgroups : nullptr, paths_);
        if (s) {
          subjects.push_back(std::move(*s));
        } else {
          // Stopped (with --all): a row of blanks, as docker shows it.
          Subject blank;
          blank.id = c.id;
          blank.name = c.name.empty() ? c.id.substr(0, 12) : c.name;
          blank.runtime = rt::discovery::runtime_name(c.runtime);
          subjects.push_back(std::move(blank));
        }
      }
    } else {
      for (const auto &t : targets_) {
        auto s = resolve_subject(*r, *hier_, t, paths_);
        if (!s) {
          // A named target that cannot be read is the user's error the
          // first time; later it just left.
          if (first_)
            return tl::unexpected(s.error());
          continue;
        }
        subjects.push_back(std::move(*s));
      }
    }

    // Processes of each container, for the detail view.
    std::map<std::string, std::vector<std::string>> by_id;
    for (const auto &p : *procs) {
      auto owner = r->container_of(p);
      if (!owner)
        continue;
      const pid_t ns_pid = p.nspid.empty() ? p.pid : p.nspid.back();
      by_id[owner->id].push_back(fmt::format("{}:{} {}", p.pid, ns_pid, p.comm));
    }

    // Keep the readers and previous samples of containers still there.
    std::map<std::string, Entry> old;
    for (auto &e : entries_)
      old.emplace(e.s.id.empty() ? std::to_string(e.s.pid) : e.s.id, std::move(e));
    entries_.clear();
    for (auto &s : subjects) {
      const std::string key = s.id.empty() ? std::to_string(s.pid) : s.id;
      Entry e;
      auto it = old.find(key);
      if (it != old.end() && it->second.s.dirs.memory == s.dirs.memory &&
          it->second.s.dirs.unified == s.dirs.unified && it->second.reader) {
        e = std::move(it->second);
      } else if (!s.dirs.memory.empty() || !s.dirs.unified.empty() || !s.dirs.cpu.empty()) {
        if (auto rd = cg::StatReader::open(s.dirs, net_pid_of(s, paths_), paths_))
          e.reader = std::move(*rd);
      }
      e.processes = s.id.empty() ? std::vector<std::string>{} : std::move(by_id[s.id]);
      e.s = std::move(s);
      entries_.push_back(std::move(e));
    }
    first_ = false;
    since_resolve_ = 0;
    return {};
  }

  // Reads every container without emitting: the first half of the first
  // CPU % (docker shows its first sample after such a pre-read too).
  void preread() {
    auto host = cg::read_host_cpu(paths_);
    for (auto &e : entries_)
      if (e.reader) {
        e.prev = e.reader->read(cg::kStatCpu);
        if (host)
          e.prev_host = *host;
      }
  }

  bool sample(SortKey sort) {
    auto host = cg::read_host_cpu(paths_);
    std::vector<Row> rows;
    rows.reserve(entries_.size());
    bool vanished = false;
    for (auto &e : entries_) {
      Row r;
      r.e = &e;
      if (e.reader) {
        r.s = e.reader->read(cg::kStatsAll);
        vanished = vanished || r.s.vanished;
        if (host && e.prev && e.prev_host)
          r.cpu = cg::cpu_percent(*e.prev, r.s, *e.prev_host, *host);
        e.prev = r.s;
        if (host)
          e.prev_host = *host;
      }
      finish(r);
      rows.push_back(std::move(r));
    }
    sort_rows(rows, sort);
    for (const auto &r : rows)
      emit(r);
    call_.flush();
    since_resolve_++;
    return vanished;
  }

  bool resolve_due() const { return since_resolve_ >= kResolveEvery; }

private:
  void finish(Row &r) {
    const auto &m = r.s.memory;
    r.mem = m.working_set;
    r.mem_limit = m.limit;
    if (!r.mem_limit && m.usage) {
      // Unlimited: docker shows the host's memory as the limit.
      if (!host_mem_)
        host_mem_ = cg::read_host_memory(paths_).value_or(0);
      if (*host_mem_ > 0)
        r.mem_limit = *host_mem_;
    }
    if (r.mem && r.mem_limit && *r.mem_limit > 0)
      r.mem_pct = 100.0 * static_cast<double>(*r.mem) / static_cast<double>(*r.mem_limit);
    if (m.limit && r.mem_pct && *r.mem_pct >= 90)
      r.warnings.push_back(fmt::format("memory at {:.0f}% of its limit", *r.mem_pct));
    if (m.oom_kill && *m.oom_kill > 0)
      r.warnings.push_back(fmt::format("{} OOM kill{}", *m.oom_kill, *m.oom_kill == 1 ? "" : "s"));
    const auto &c = r.s.cpu;
    if (c.nr_throttled && *c.nr_throttled > 0)
      r.warnings.push_back(fmt::format("CPU throttled in {} of {} periods", *c.nr_throttled,
                                       c.nr_periods.value_or(0)));
    const auto &p = r.s.pids;
    if (p.current && p.limit && *p.limit > 0 && *p.current * 10 >= *p.limit * 9)
      r.warnings.push_back(fmt::format("{} of {} pids", *p.current, *p.limit));
  }

  static uint64_t sum2(const std::optional<uint64_t> &a, const std::optional<uint64_t> &b) {
    return a.value_or(0) + b.value_or(0);
  }

  static void sort_rows(std::vector<Row> &rows, SortKey key) {
    auto desc = [&](auto f) {
      std::stable_sort(rows.begin(), rows.end(),
                       [&](const Row &a, const Row &b) { return f(a) > f(b); });
    };
    switch (key) {
    case SortKey::none:
      return;
    case SortKey::name:
      std::stable_sort(rows.begin(), rows.end(),
                       [](const Row &a, const Row &b) { return a.e->s.name < b.e->s.name; });
      return;
    case SortKey::cpu:
      return desc([](const Row &r) { return r.cpu.value_or(-1); });
    case SortKey::mem:
      return desc([](const Row &r) { return r.mem ? static_cast<double>(*r.mem) : -1.0; });
    case SortKey::pids:
      return desc([](const Row &r) {
        return r.s.pids.current ? static_cast<double>(*r.s.pids.current) : -1.0;
      });
    case SortKey::net:
      return desc([](const Row &r) {
        return static_cast<double>(sum2(r.s.net.rx_bytes, r.s.net.tx_bytes));
      });
    case SortKey::block:
      return desc([](const Row &r) {
        return static_cast<double>(sum2(r.s.io.read_bytes, r.s.io.write_bytes));
      });
    }
  }

  void emit(const Row &r) const {
    const auto &s = r.s;
    const auto &m = s.memory;
    auto rec = call_.record();
    rec.field("Name", r.e->s.name).field("ID", r.e->s.id).field("Runtime", r.e->s.runtime);
    rec.field("CPUPerc", r.cpu);
    rec.field("MemUsage", pair(r.mem, r.mem_limit, true));
    rec.field("MemPerc", r.mem_pct);
    rec.field("NetIO", pair(s.net.rx_bytes, s.net.tx_bytes, false));
    rec.field("BlockIO", pair(s.io.read_bytes, s.io.write_bytes, false));
    rec.field("PIDs", s.pids.current);
    // Detail: hidden columns (JSON, --format, the live view's detail pane).
    rec.field("PID", r.e->s.pid > 0 ? std::optional<long long>(r.e->s.pid) : std::nullopt);
    rec.field("Cgroup", r.e->s.cgroup);
    rec.field("CPUUsage",
              s.cpu.usage_ns ? std::optional<double>(*s.cpu.usage_ns / 1e9) : std::nullopt);
    rec.field("CPULimit", s.cpu.limit_cores);
    rec.field("CPUPeriods", s.cpu.nr_periods);
    rec.field("CPUThrottledPeriods", s.cpu.nr_throttled);
    rec.field("CPUThrottledTime",
              s.cpu.throttled_ns ? std::optional<double>(*s.cpu.throttled_ns / 1e9) : std::nullopt);
    rec.field("MemWorkingSet", m.working_set).field("MemLimit", m.limit);
    rec.field("MemCgroupUsage", m.usage).field("MemAnon", m.anon).field("MemFile", m.file);
    rec.field("MemInactiveFile", m.inactive_file).field("MemKernel", m.kernel);
    rec.field("MemSock", m.sock).field("MemShmem", m.shmem).field("MemSwap", m.swap);
    rec.field("OOMEvents", m.oom).field("OOMKills", m.oom_kill);
    rec.field("MemLimitHits", m.limit_hits).field("PIDsLimit", s.pids.limit);
    rec.field("NetRxBytes", s.net.rx_bytes).field("NetTxBytes", s.net.tx_bytes);
    rec.field("NetRxPackets", s.net.rx_packets).field("NetTxPackets", s.net.tx_packets);
    rec.field("BlockReadBytes", s.io.read_bytes).field("BlockWriteBytes", s.io.write_bytes);
    rec.field("BlockReadOps", s.io.read_ops).field("BlockWriteOps", s.io.write_ops);
    auto avg10 = [](const std::optional<cg::PressureLine> &l) {
      return l ? std::optional<double>(l->avg10) : std::nullopt;
    };
    rec.field("CPUPressure", avg10(s.cpu_pressure.some));
    rec.field("MemPressure", avg10(s.memory_pressure.some));
    rec.field("MemPressureFull", avg10(s.memory_pressure.full));
    rec.field("IOPressure", avg10(s.io_pressure.some));
    rec.field("IOPressureFull", avg10(s.io_pressure.full));
    rec.key("Processes").begin_array();
    for (const auto &p : r.e->processes)
      rec.str(p);
    rec.end_array();
    rec.key("Warnings").begin_array();
    for (const auto &w : r.warnings)
      rec.str(w);
    rec.end_array();
  }

  const Call &call_;
  rt::HostPaths paths_;
  std::vector<std::string> targets_;
  bool all_;
  bool first_ = true;
  int since_resolve_ = 0;
  std::optional<cg::Hierarchy> hier_;
  std::optional<uint64_t> host_mem_;
  std::vector<Entry> entries_;
};

} // namespace

int run_stats(Call &call) {
  auto sort = parse_sort(call.get("sort").value_or("name"));
  if (!sort)
    return call.fail(fmt::format("invalid --sort {}: expected cpu, mem, name, pids, net, block "
                                 "or none",
                                 call.get("sort").value_or("")));
  double interval = 1.0;
  if (auto v = call.get("interval")) {
    char *end = nullptr;
    interval = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !(interval >= 0.01) || interval > 86400)
      return call.fail(fmt::format("invalid --interval {}: expected seconds, at least 0.01", *v));
  }
  auto iterations = call.get_int("iterations");
  if (!iterations)
    return call.fail(iterations.error());
  if (*iterations && **iterations <= 0)
    return call.fail(
        fmt::format("invalid --iterations {}: expected a positive count", **iterations));
  long long count = call.flag("no-stream") ? 1 : iterations->value_or(0); // 0 = until interrupted
  raise_fd_limit();

  Sampler sampler(call, call.args(), call.flag("all"));
  if (auto r = sampler.resolve(); !r)
    return call.fail(r.error());
  // The live view may change the interval while we run: ask the host each
  // time (Call::interval / wait_interval), --interval is only the start.
  const int first_ms = static_cast<int>(std::min(call.interval(interval), 1.0) * 1000);
  // docker shows the first CPU % after a pre-read; a second at most.
  sampler.preread();
  if (!sleep_interruptible(call, std::max(first_ms, 10)))
    return 0;
  for (long long i = 0; count == 0 || i < count; i++) {
    bool vanished = sampler.sample(*sort);
    if (count != 0 && i + 1 >= count)
      break;
    if (!call.wait_interval(interval))
      break;
    if (vanished || sampler.resolve_due())
      if (auto r = sampler.resolve(); !r)
        call.warn(r.error().message());
  }
  return 0;
}

} // namespace ctk::plugins::stats
