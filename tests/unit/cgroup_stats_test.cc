// cgroup metrics over fixture hosts (tests/fixtures/hosts, written by
// make-fixtures.py): a pure v2 host, a hybrid host like the CI machine, and a
// Kubernetes node with burstable and besteffort pods. Expected numbers are
// the ones in the fixture files; derived ones are computed from them here.
#include <gtest/gtest.h>

#include "ctk/runtime/cgroup_stats.h"

namespace {

using namespace ctk::rt;
namespace cg = ctk::rt::cgroup;

HostPaths fixture(const std::string &name) {
  std::string dir = std::string(CTK_FIXTURES_DIR) + "/hosts/" + name;
  HostPaths p;
  p.proc = dir + "/proc";
  p.sys = dir + "/sys";
  p.root = dir;
  return p;
}

const std::string kDocker = "3f4e8c1b2a9d" + std::string(52, '7');
const std::string kContainerd = "c0ffee0123ab" + std::string(52, '9');
const std::string kCrio = "dec0de4567cd" + std::string(52, 'a');
const std::string kBurst = "/kubepods.slice/kubepods-burstable.slice/"
                           "kubepods-burstable-pod5e3a9f0b_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice";
const std::string kBest = "/kubepods.slice/kubepods-besteffort.slice/"
                          "kubepods-besteffort-pod7a8b9c0d_1e2f_4a3b_9c8d_7e6f5a4b3c2d.slice";

struct Read {
  cg::StatDirs dirs;
  cg::Sample s;
};

Read read_pid(const std::string &host, pid_t pid, unsigned fields = cg::kStatsAll) {
  auto paths = fixture(host);
  auto h = cg::Hierarchy::detect(paths);
  EXPECT_TRUE(h) << (h ? "" : h.error().message());
  proc::ScanOptions o;
  o.paths = paths;
  o.fields = proc::kCgroups;
  auto p = proc::read_process(pid, o);
  EXPECT_TRUE(p) << (p ? "" : p.error().message());
  Read r;
  if (!h || !p)
    return r;
  r.dirs = cg::stat_dirs(*h, p->cgroups);
  auto g = cg::StatReader::open(r.dirs, pid, paths);
  EXPECT_TRUE(g) << (g ? "" : g.error().message());
  if (g)
    r.s = g->read(fields);
  return r;
}

TEST(CgroupStats, PureV2Docker) {
  auto [dirs, s] = read_pid("v2", 1234);
  const std::string dir = "/sys/fs/cgroup/system.slice/docker-" + kDocker + ".scope";
  EXPECT_EQ(dirs.version, 2);
  EXPECT_EQ(dirs.unified, dir);
  EXPECT_EQ(dirs.memory, dir);
  EXPECT_FALSE(s.vanished);
  EXPECT_EQ(s.cpu.usage_ns, 7000123000ULL);
  EXPECT_EQ(s.cpu.user_ns, 5000100000ULL);
  EXPECT_EQ(s.cpu.system_ns, 2000023000ULL);
  EXPECT_EQ(s.cpu.nr_periods, 4000u);
  EXPECT_EQ(s.cpu.nr_throttled, 250u);
  EXPECT_EQ(s.cpu.throttled_ns, 1250000000ULL);
  EXPECT_EQ(s.cpu.quota_us, 50000);
  EXPECT_EQ(s.cpu.period_us, 100000u);
  ASSERT_TRUE(s.cpu.limit_cores);
  EXPECT_DOUBLE_EQ(*s.cpu.limit_cores, 0.5);
  EXPECT_EQ(s.memory.usage, 104857600u);
  EXPECT_EQ(s.memory.limit, 536870912u);
  EXPECT_EQ(s.memory.inactive_file, 20971520u);
  // docker's v2 working set: memory.current - inactive_file.
  EXPECT_EQ(s.memory.working_set, 104857600u - 20971520u);
  EXPECT_EQ(s.memory.anon, 62914560u);
  EXPECT_EQ(s.memory.file, 31457280u);
  EXPECT_EQ(s.memory.kernel, 8388608u); // "kernel", not slab + kernel_stack
  EXPECT_EQ(s.memory.sock, 4096u);
  EXPECT_EQ(s.memory.shmem, 1048576u);
  EXPECT_EQ(s.memory.swap, 8192u);
  EXPECT_FALSE(s.memory.swap_limit); // "max"
  EXPECT_EQ(s.memory.oom, 4u);
  EXPECT_EQ(s.memory.oom_kill, 2u);
  EXPECT_EQ(s.memory.limit_hits, 17u);
  EXPECT_EQ(s.memory.high_hits, 3u);
  EXPECT_EQ(s.pids.current, 42u);
  EXPECT_EQ(s.pids.limit, 100u);
  EXPECT_EQ(s.io.read_bytes, 1048576u + 4096u);
  EXPECT_EQ(s.io.write_bytes, 2097152u);
  EXPECT_EQ(s.io.read_ops, 101u);
  EXPECT_EQ(s.io.write_ops, 200u);
  ASSERT_TRUE(s.cpu_pressure.some);
  EXPECT_DOUBLE_EQ(s.cpu_pressure.some->avg10, 12.5);
  EXPECT_DOUBLE_EQ(s.cpu_pressure.some->avg60, 6.25);
  EXPECT_EQ(s.cpu_pressure.some->total_us, 987654u);
  ASSERT_TRUE(s.memory_pressure.full);
  EXPECT_DOUBLE_EQ(s.memory_pressure.full->avg10, 1.5);
  ASSERT_TRUE(s.io_pressure.full);
  EXPECT_EQ(s.io_pressure.full->total_us, 333u);
  // lo is skipped; eth0 and eth1 are summed, as docker does.
  EXPECT_EQ(s.net.rx_bytes, 123456u + 1000u);
  EXPECT_EQ(s.net.rx_packets, 789u + 10u);
  EXPECT_EQ(s.net.tx_bytes, 65432u + 2000u);
  EXPECT_EQ(s.net.tx_packets, 321u + 20u);
}

TEST(CgroupStats, HybridDockerReadsV1ControllersAndV2Pressure) {
  auto [dirs, s] = read_pid("hybrid", 3100);
  const std::string scope = "/system.slice/docker-" + kDocker + ".scope";
  EXPECT_EQ(dirs.version, 1);
  EXPECT_EQ(dirs.memory, "/sys/fs/cgroup/memory" + scope);
  EXPECT_EQ(dirs.cpu, "/sys/fs/cgroup/cpu,cpuacct" + scope);
  EXPECT_EQ(dirs.cpuacct, dirs.cpu);
  EXPECT_EQ(dirs.unified, "/sys/fs/cgroup/unified" + scope);
  EXPECT_EQ(s.cpu.usage_ns, 9000000000ULL);
  EXPECT_EQ(s.cpu.user_ns, 6000000000ULL);
  EXPECT_EQ(s.cpu.system_ns, 3000000000ULL);
  EXPECT_EQ(s.cpu.nr_periods, 600u);
  EXPECT_EQ(s.cpu.nr_throttled, 60u);
  EXPECT_EQ(s.cpu.throttled_ns, 3000000000ULL); // v1 throttled_time is in ns
  ASSERT_TRUE(s.cpu.limit_cores);
  EXPECT_DOUBLE_EQ(*s.cpu.limit_cores, 1.5);
  EXPECT_EQ(s.memory.usage, 209715200u);
  EXPECT_EQ(s.memory.limit, 268435456u);
  // v1: total_ keys (descendants included), not the cgroup-local ones.
  EXPECT_EQ(s.memory.inactive_file, 52428800u);
  EXPECT_EQ(s.memory.working_set, 209715200u - 52428800u);
  EXPECT_EQ(s.memory.anon, 83886080u);
  EXPECT_EQ(s.memory.file, 104857600u);
  EXPECT_EQ(s.memory.shmem, 2097152u);
  EXPECT_EQ(s.memory.swap, 0u);
  EXPECT_EQ(s.memory.kernel, 6291456u);
  EXPECT_EQ(s.memory.sock, 0u);
  EXPECT_EQ(s.memory.swap_limit, 536870912u - 268435456u);
  EXPECT_EQ(s.memory.oom_kill, 5u);
  EXPECT_EQ(s.memory.under_oom, false);
  EXPECT_EQ(s.memory.limit_hits, 321u);
  EXPECT_FALSE(s.memory.oom); // v1 has no such counter
  EXPECT_EQ(s.pids.current, 7u);
  EXPECT_FALSE(s.pids.limit);
  // bfq names no device: the throttle files are used, every device summed.
  EXPECT_EQ(s.io.read_ops, 11u);
  EXPECT_EQ(s.io.write_ops, 22u);
  EXPECT_EQ(s.io.read_bytes, 40960u + 4096u);
  EXPECT_EQ(s.io.write_bytes, 81920u + 8192u);
  ASSERT_TRUE(s.cpu_pressure.some);
  EXPECT_DOUBLE_EQ(s.cpu_pressure.some->avg10, 12.5);
  EXPECT_EQ(s.net.rx_bytes, 124456u);
}

TEST(CgroupStats, HybridProcessWithoutControllerDirsLeavesBlanks) {
  // pid 3200's memory cgroup is /process_api/a772922d, which has no files in
  // the fixture; the other controllers are at the root (no pids.current).
  auto [dirs, s] = read_pid("hybrid", 3200);
  EXPECT_EQ(dirs.memory, "/sys/fs/cgroup/memory/process_api/a772922d");
  EXPECT_FALSE(s.memory.usage);
  EXPECT_FALSE(s.memory.working_set);
  EXPECT_FALSE(s.pids.current);
  EXPECT_FALSE(s.net.rx_bytes); // no net/dev for it
}

TEST(CgroupStats, K8sBurstableAndBestEffort) {
  auto paths = fixture("k8s");
  auto h = cg::Hierarchy::detect(paths);
  ASSERT_TRUE(h);
  auto burst = cg::stat_dirs_for_path(*h, kBurst + "/cri-containerd-" + kContainerd + ".scope");
  EXPECT_EQ(burst.memory, "/sys/fs/cgroup" + kBurst + "/cri-containerd-" + kContainerd + ".scope");
  auto g = cg::StatReader::open(burst, 4150, paths);
  ASSERT_TRUE(g) << g.error().message();
  auto s = g->read(cg::kStatsAll);
  EXPECT_EQ(s.memory.limit, 178257920u);
  EXPECT_FALSE(s.cpu.quota_us); // "max 100000"
  EXPECT_EQ(s.cpu.period_us, 100000u);
  EXPECT_FALSE(s.cpu.limit_cores);
  EXPECT_FALSE(s.pids.limit);
  EXPECT_EQ(s.memory.oom_kill, 0u);
  EXPECT_EQ(s.net.tx_packets, 341u);

  auto best = cg::stat_dirs_for_path(*h, kBest + "/crio-" + kCrio + ".scope");
  auto gb = cg::StatReader::open(best, 0, paths);
  ASSERT_TRUE(gb);
  auto b = gb->read(cg::kStatsAll);
  EXPECT_FALSE(b.memory.limit);
  EXPECT_EQ(b.memory.usage, 5242880u);
  // inactive_file larger than usage (stale stat vs current): never below 0.
  EXPECT_EQ(b.memory.working_set, 5242880u);
  EXPECT_FALSE(b.cpu_pressure.some); // no PSI files there
  EXPECT_FALSE(b.net.rx_bytes);      // no net_pid given
}

TEST(CgroupStats, ReadsOnlyWhatTheMaskAsks) {
  auto [dirs, s] = read_pid("v2", 1234, cg::kStatPids);
  EXPECT_EQ(s.pids.current, 42u);
  EXPECT_FALSE(s.memory.usage);
  EXPECT_FALSE(s.cpu.usage_ns);
  EXPECT_FALSE(s.net.rx_bytes);
  EXPECT_FALSE(s.cpu_pressure.some);
}

TEST(CgroupStats, VanishedCgroupIsBlankNotAFailure) {
  auto paths = fixture("v2");
  auto h = cg::Hierarchy::detect(paths);
  ASSERT_TRUE(h);
  auto dirs = cg::stat_dirs_for_path(*h, "/system.slice/docker-" + kDocker + ".scope");
  dirs.memory = dirs.pids = dirs.cpu = dirs.cpuacct = dirs.blkio = dirs.unified =
      "/sys/fs/cgroup/system.slice/gone.scope";
  EXPECT_FALSE(cg::StatReader::open(dirs, 0, paths)); // nothing to open at all
}

TEST(CgroupStats, HostCpuAndCpuPercent) {
  auto paths = fixture("v2");
  auto hc = cg::read_host_cpu(paths);
  ASSERT_TRUE(hc) << hc.error().message();
  EXPECT_EQ(hc->online_cpus, 2u);
  const uint64_t tick = 1000000000ULL / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_EQ(hc->total_ns, (1000u + 500 + 8000 + 100) * tick);
  auto mem = cg::read_host_memory(paths);
  ASSERT_TRUE(mem);
  EXPECT_EQ(*mem, 16318480ULL * 1024);

  // docker: (container delta / system delta) * online CPUs * 100.
  cg::Sample a, b;
  a.cpu.usage_ns = 1000000000;
  b.cpu.usage_ns = 1500000000;
  cg::HostCpu ha{0, 10000000000ULL, 2}, hb{0, 12000000000ULL, 2};
  auto pct = cg::cpu_percent(a, b, ha, hb);
  ASSERT_TRUE(pct);
  EXPECT_DOUBLE_EQ(*pct, 0.5 / 2.0 * 2 * 100);
  // A counter that went backwards (a new cgroup of the same name) is no value.
  EXPECT_FALSE(cg::cpu_percent(b, a, ha, hb));
  EXPECT_FALSE(cg::cpu_percent(a, b, hb, ha));
  cg::Sample blank;
  EXPECT_FALSE(cg::cpu_percent(blank, b, ha, hb));
}

TEST(CgroupStatsParse, Limits) {
  EXPECT_FALSE(cg::parse_limit("max\n"));
  EXPECT_EQ(cg::parse_limit("1048576\n"), 1048576u);
  EXPECT_FALSE(cg::parse_limit("9223372036854771712\n")); // v1 "unlimited"
  EXPECT_FALSE(cg::parse_limit("garbage"));
}

TEST(CgroupStatsParse, OlderKernelsAndMalformedLines) {
  // Before 5.18 memory.stat had no "kernel": slab + kernel_stack.
  cg::MemoryStats m;
  cg::parse_memory_stat("anon 10\nslab 100\nkernel_stack 20\nbogus\nfile x\n", 2, m);
  EXPECT_EQ(m.kernel, 120u);
  EXPECT_EQ(m.anon, 10u);
  EXPECT_FALSE(m.file);
  auto p = cg::parse_pressure("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n");
  ASSERT_TRUE(p.some);
  EXPECT_FALSE(p.full); // cpu.pressure before 5.13 has no full line
  EXPECT_FALSE(cg::parse_pressure("nonsense\n").some);
  std::optional<uint64_t> r, w;
  EXPECT_FALSE(cg::parse_blkio_v1("Total 0\n", r, w));
  EXPECT_FALSE(r);
  auto n = cg::parse_net_dev("Inter-|\n face |\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  EXPECT_EQ(n.rx_bytes, 0u); // only lo: zero, as docker shows --net none
}

} // namespace
