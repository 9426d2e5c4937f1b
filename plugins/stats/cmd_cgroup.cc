// ctk cgroup TARGET: every limit beside its usage, the memory breakdown, PSI,
// events, and plain-words warnings. One record per metric, so the table reads
// as a report and the JSON keeps raw numbers (Raw, RawLimit, Unit).
#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::stats {
namespace {

using json = nlohmann::ordered_json;

struct Row {
  std::string resource, metric, value, limit;
  std::optional<double> percent;
  std::string note;
  json raw, raw_limit;
  std::string unit;
};

class Report {
public:
  explicit Report(const Call &call) : call_(call) {}

  void add(Row r) {
    if (!r.note.empty())
      warnings_.push_back(r.note);
    auto rec = call_.record();
    rec.field("Resource", r.resource).field("Metric", r.metric).field("Value", r.value);
    rec.field("Limit", r.limit).field("Percent", r.percent).field("Note", r.note);
    rec.field("Raw", r.raw).field("RawLimit", r.raw_limit).field("Unit", r.unit);
  }
  void bytes(std::string res, std::string metric, const std::optional<uint64_t> &v,
             const std::optional<uint64_t> &limit = std::nullopt, std::string note = {}) {
    if (!v && !limit)
      return;
    Row r{std::move(res), std::move(metric), v ? binary_size(*v) : "",
          limit ? binary_size(*limit) : ""};
    if (v && limit && *limit > 0)
      r.percent = 100.0 * static_cast<double>(*v) / static_cast<double>(*limit);
    r.note = std::move(note);
    r.raw = v ? json(*v) : json();
    r.raw_limit = limit ? json(*limit) : json();
    r.unit = "bytes";
    add(std::move(r));
  }
  void count(std::string res, std::string metric, const std::optional<uint64_t> &v,
             const std::optional<uint64_t> &limit = std::nullopt, std::string note = {}) {
    if (!v)
      return;
    Row r{std::move(res), std::move(metric), std::to_string(*v),
          limit ? std::to_string(*limit) : ""};
    if (limit && *limit > 0)
      r.percent = 100.0 * static_cast<double>(*v) / static_cast<double>(*limit);
    r.note = std::move(note);
    r.raw = *v;
    r.raw_limit = limit ? json(*limit) : json();
    r.unit = "count";
    add(std::move(r));
  }
  void nanos(std::string res, std::string metric, const std::optional<uint64_t> &v) {
    if (!v)
      return;
    Row r{std::move(res), std::move(metric), fmt::format("{:.3f}s", static_cast<double>(*v) / 1e9),
          ""};
    r.raw = *v;
    r.unit = "ns";
    add(std::move(r));
  }
  void text(std::string res, std::string metric, std::string value, std::string unit) {
    Row r{std::move(res), std::move(metric), value, ""};
    r.raw = std::move(value);
    r.unit = std::move(unit);
    add(std::move(r));
  }
  void pressure(const char *res, const cg::Pressure &p) {
    auto one = [&](const char *kind, const std::optional<cg::PressureLine> &l) {
      if (!l)
        return;
      Row r{"pressure", fmt::format("{} {}", res, kind),
            fmt::format("avg10={:.2f} avg60={:.2f} avg300={:.2f} total={:.3f}s", l->avg10, l->avg60,
                        l->avg300, static_cast<double>(l->total_us) / 1e6),
            ""};
      r.percent = l->avg10;
      if (l->avg10 >= 10)
        r.note = fmt::format("{:.0f}% of the last 10s {} tasks stalled waiting for {}", l->avg10,
                             std::string_view(kind) == "full" ? "all" : "some", res);
      r.raw = json{{"avg10", l->avg10},
                   {"avg60", l->avg60},
                   {"avg300", l->avg300},
                   {"total_us", l->total_us}};
      r.unit = "psi";
      add(std::move(r));
    };
    one("some", p.some);
    one("full", p.full);
  }
  const std::vector<std::string> &warnings() const { return warnings_; }

private:
  const Call &call_;
  std::vector<std::string> warnings_;
};

bool near(const std::optional<uint64_t> &v, const std::optional<uint64_t> &limit) {
  return v && limit && *limit > 0 && static_cast<double>(*v) >= 0.9 * static_cast<double>(*limit);
}

void cgroup_rows(Report &rep, const Subject &s) {
  const auto &d = s.dirs;
  if (d.version == 2) {
    rep.text("cgroup", "path", d.unified, "path");
    return;
  }
  // One row per distinct directory, named by the controllers that share it.
  std::vector<std::pair<std::string, std::string>> seen; // dir, names
  auto add = [&](const char *name, const std::string &dir) {
    if (dir.empty())
      return;
    for (auto &e : seen)
      if (e.first == dir) {
        e.second += std::string(",") + name;
        return;
      }
    seen.emplace_back(dir, name);
  };
  add("cpu", d.cpu);
  add("cpuacct", d.cpuacct);
  add("memory", d.memory);
  add("pids", d.pids);
  add("blkio", d.blkio);
  add("unified", d.unified);
  for (const auto &[dir, names] : seen)
    rep.text("cgroup", names, dir, "path");
}

} // namespace

int run_cgroup(Call &call) {
  const auto args = call.args();
  if (args.empty())
    return call.fail("ctk cgroup needs a TARGET: a container or a host PID");
  rt::HostPaths paths;
  auto s = target_subject(call, args[0], paths);
  if (!s)
    return call.fail(s.error());
  auto reader = cg::StatReader::open(s->dirs, net_pid_of(*s, paths), paths);
  if (!reader)
    return call.fail(reader.error().wrap(fmt::format("cannot read the cgroup of {}", s->name)));

  // Two samples a quarter second apart give the CPU rate beside the quota.
  auto h0 = cg::read_host_cpu(paths);
  auto a = reader->read(cg::kStatCpu);
  const int window_ms =
      static_cast<int>(call.get_int("window").value_or(std::nullopt).value_or(250));
  if (!sleep_interruptible(call, window_ms > 0 ? window_ms : 1))
    return 130;
  auto h1 = cg::read_host_cpu(paths);
  auto b = reader->read(cg::kStatsAll);
  if (b.vanished)
    return call.fail(fmt::format("the cgroup of {} disappeared (the container exited)", s->name));

  Report rep(call);
  rep.text("target", "name", s->name, "string");
  rep.text("target", "runtime", s->runtime, "string");
  if (!s->id.empty())
    rep.text("target", "id", s->id, "string");
  if (s->pid > 0)
    rep.add(Row{"target", "pid", std::to_string(s->pid), "", std::nullopt, "", json(s->pid), json(),
                "pid"});
  cgroup_rows(rep, *s);

  // CPU
  const auto &c = b.cpu;
  std::optional<double> pct;
  if (h0 && h1)
    pct = cg::cpu_percent(a, b, *h0, *h1);
  if (pct) {
    Row r{"cpu", "usage rate", fmt::format("{:.2f} cores", *pct / 100),
          c.limit_cores ? fmt::format("{:.2f} cores", *c.limit_cores) : ""};
    if (c.limit_cores && *c.limit_cores > 0) {
      r.percent = *pct / 100 / *c.limit_cores * 100;
      if (*r.percent >= 90)
        r.note = fmt::format("CPU use is at {:.0f}% of its quota", *r.percent);
    }
    r.raw = *pct / 100;
    r.raw_limit = c.limit_cores ? json(*c.limit_cores) : json();
    r.unit = "cores";
    rep.add(std::move(r));
  }
  rep.nanos("cpu", "usage", c.usage_ns);
  rep.nanos("cpu", "user", c.user_ns);
  rep.nanos("cpu", "system", c.system_ns);
  if (c.quota_us && c.period_us)
    rep.text("cpu", "quota", fmt::format("{}us per {}us", *c.quota_us, *c.period_us), "string");
  rep.count("cpu", "periods", c.nr_periods);
  {
    std::string note;
    if (c.nr_throttled && *c.nr_throttled > 0) {
      const uint64_t recent = a.cpu.nr_throttled && *c.nr_throttled >= *a.cpu.nr_throttled
                                  ? *c.nr_throttled - *a.cpu.nr_throttled
                                  : 0;
      note = recent > 0 ? fmt::format("being throttled now: the CPU quota ran out in {} "
                                      "periods of the last {} ms",
                                      recent, window_ms)
                        : fmt::format("was throttled in {} of {} periods", *c.nr_throttled,
                                      c.nr_periods.value_or(0));
    }
    rep.count("cpu", "throttled periods", c.nr_throttled, c.nr_periods, note);
  }
  rep.nanos("cpu", "throttled time", c.throttled_ns);

  // Memory: the limit beside usage and the working set docker shows.
  const auto &m = b.memory;
  rep.bytes("memory", "usage", m.usage, m.limit);
  rep.bytes(
      "memory", "working set", m.working_set, m.limit,
      near(m.working_set, m.limit)
          ? fmt::format("memory is at {:.0f}% of its limit ({} of {}): near an OOM kill",
                        100.0 * static_cast<double>(*m.working_set) / static_cast<double>(*m.limit),
                        binary_size(*m.working_set), binary_size(*m.limit))
          : "");
  rep.bytes("memory", "anon", m.anon);
  rep.bytes("memory", "file", m.file);
  rep.bytes("memory", "inactive file", m.inactive_file);
  rep.bytes("memory", "kernel", m.kernel);
  rep.bytes("memory", "sock", m.sock);
  rep.bytes("memory", "shmem", m.shmem);
  rep.bytes("memory", "swap", m.swap, m.swap_limit);
  rep.count("memory", "limit hits", m.limit_hits, std::nullopt,
            m.limit_hits && *m.limit_hits > 0
                ? fmt::format("usage reached the limit {} times", *m.limit_hits)
                : "");
  rep.count("memory", "high hits", m.high_hits);
  rep.count("memory", "oom events", m.oom);
  rep.count("memory", "oom kills", m.oom_kill, std::nullopt,
            m.oom_kill && *m.oom_kill > 0
                ? fmt::format("{} process{} OOM-killed in this cgroup", *m.oom_kill,
                              *m.oom_kill == 1 ? " was" : "es were")
                : "");
  if (m.under_oom && *m.under_oom)
    rep.add(Row{"memory", "under oom", "yes", "", std::nullopt,
                "the OOM killer is disabled and tasks are frozen at the limit", json(true), json(),
                "bool"});

  // pids
  rep.count("pids", "current", b.pids.current, b.pids.limit,
            near(b.pids.current, b.pids.limit)
                ? fmt::format("{} of {} processes: new forks will fail at the limit",
                              *b.pids.current, *b.pids.limit)
                : "");

  // Block IO and network
  rep.bytes("io", "read", b.io.read_bytes);
  rep.bytes("io", "written", b.io.write_bytes);
  rep.count("io", "read ops", b.io.read_ops);
  rep.count("io", "write ops", b.io.write_ops);
  rep.pressure("cpu", b.cpu_pressure);
  rep.pressure("memory", b.memory_pressure);
  rep.pressure("io", b.io_pressure);
  rep.bytes("network", "received", b.net.rx_bytes);
  rep.bytes("network", "sent", b.net.tx_bytes);
  rep.count("network", "packets received", b.net.rx_packets);
  rep.count("network", "packets sent", b.net.tx_packets);

  for (const auto &w : rep.warnings())
    call.warn(fmt::format("{}: {}", s->name, w));
  return 0;
}

} // namespace ctk::plugins::stats
