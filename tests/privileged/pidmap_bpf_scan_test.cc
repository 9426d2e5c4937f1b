// The BPF task iterator and the /proc walk must tell the same story about
// every process on the live host: a user switching --backend sees the same
// PIDs, chains, namespaces, cgroups and commands.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/proc.h"
#include "ctk/runtime/proc_bpf.h"

namespace proc = ctk::rt::proc;

namespace {

std::string show(const std::vector<proc::CgroupEntry> &v) {
  std::string s;
  for (const auto &e : v) {
    s += std::to_string(e.hierarchy) + ":";
    for (size_t i = 0; i < e.controllers.size(); i++)
      s += (i ? "," : "") + e.controllers[i];
    s += ":" + e.path + "\n";
  }
  return s;
}

// The /proc entries the iterator reports: v2, and v1 hierarchies with a
// controller (named ones like name=systemd have no subsystem to reach).
std::vector<proc::CgroupEntry> comparable(const std::vector<proc::CgroupEntry> &v) {
  std::vector<proc::CgroupEntry> out;
  for (const auto &e : v) {
    bool named = !e.controllers.empty() && e.controllers[0].rfind("name=", 0) == 0;
    if (!named)
      out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](auto &a, auto &b) { return a.hierarchy > b.hierarchy; });
  return out;
}

} // namespace

TEST(PidmapBpfScan, AgreesWithProcScanOnLiveHost) {
  CTK_REQUIRE_ROOT();
  proc::ScanOptions opt;
  opt.fields = proc::kAll;
  opt.include_kernel_threads = true;
  // /proc before and after the BPF scan: a process whose cgroup or argv
  // changed meanwhile (a runtime moving a new child) is left out.
  auto walk = proc::scan(opt);
  ASSERT_TRUE(walk.has_value()) << walk.error().message();
  auto bpf = proc::scan_bpf(opt);
  CTK_REQUIRE(bpf.has_value(),
              "BPF task iterator unavailable: " + (bpf ? std::string() : bpf.error().message()));
  auto again = proc::scan(opt);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  ASSERT_GT(bpf->size(), 10u);

  std::map<pid_t, const proc::Process *> by_pid, after;
  for (const auto &p : *walk)
    by_pid[p.pid] = &p;
  for (const auto &p : *again)
    after[p.pid] = &p;

  size_t compared = 0;
  std::set<pid_t> seen;
  for (const auto &b : *bpf) {
    EXPECT_TRUE(seen.insert(b.pid).second) << "pid " << b.pid << " reported twice";
    auto it = by_pid.find(b.pid);
    // Came or went between the two scans, or reused the PID meanwhile.
    if (it == by_pid.end() || it->second->start_time != b.start_time)
      continue;
    const proc::Process &w = *it->second;
    if (w.state == 'Z' || w.partial || b.partial)
      continue; // exiting, or argv over the 4 KiB cap
    auto later = after.find(b.pid);
    if (later == after.end() || later->second->start_time != w.start_time ||
        show(later->second->cgroups) != show(w.cgroups) || later->second->cmdline != w.cmdline)
      continue; // changed while we looked
    compared++;
    SCOPED_TRACE("pid " + std::to_string(b.pid) + " (" + w.comm + ")");
    EXPECT_EQ(b.ppid, w.ppid);
    // /proc names kernel threads beyond the 16-byte comm ("kworker/1:3-events").
    if (w.kernel_thread) {
      EXPECT_EQ(w.comm.substr(0, b.comm.size()), b.comm);
    } else {
      EXPECT_EQ(b.comm, w.comm);
    }
    EXPECT_EQ(b.uid, w.uid);
    EXPECT_EQ(b.gid, w.gid);
    EXPECT_EQ(b.nspid, w.nspid);
    EXPECT_EQ(b.kernel_thread, w.kernel_thread);
    for (size_t i = 0; i < proc::kNsCount; i++) {
      if (w.ns[i] != 0) { // unreadable in /proc: nothing to compare
        EXPECT_EQ(b.ns[i], w.ns[i]) << proc::ns_name(static_cast<proc::NsType>(i));
      }
    }
    EXPECT_EQ(b.cmdline, w.cmdline);
    if (!w.cgroups.empty()) {
      EXPECT_EQ(show(b.cgroups), show(comparable(w.cgroups)));
    }
  }
  // Most of the host is stable across two scans a few ms apart.
  EXPECT_GT(compared, bpf->size() * 8 / 10) << "compared " << compared << " of " << bpf->size();
  // And nothing that lived through both scans is missing from the BPF one
  // (the kernel iterator skips PID 1; the loader must fill it in).
  EXPECT_TRUE(seen.count(1)) << "pid 1 missing from the BPF scan";
  std::map<pid_t, uint64_t> before;
  for (const auto &p : *walk)
    before[p.pid] = p.start_time;
  for (const auto &p : *again) {
    auto it = before.find(p.pid);
    if (it != before.end() && it->second == p.start_time && p.state != 'Z') {
      EXPECT_TRUE(seen.count(p.pid))
          << "pid " << p.pid << " (" << p.comm << ") missing from the BPF scan";
    }
  }
}

TEST(PidmapBpfScan, KernelThreadsOnlyWhenAsked) {
  CTK_REQUIRE_ROOT();
  proc::ScanOptions opt;
  opt.fields = proc::kStatus;
  auto without = proc::scan_bpf(opt);
  CTK_REQUIRE(without.has_value(), "BPF task iterator unavailable");
  for (const auto &p : *without)
    EXPECT_FALSE(p.kernel_thread) << p.pid << " " << p.comm;
  opt.include_kernel_threads = true;
  auto with = proc::scan_bpf(opt);
  ASSERT_TRUE(with.has_value()) << with.error().message();
  bool kthreadd = false;
  for (const auto &p : *with)
    if (p.pid == 2 && p.kernel_thread && p.comm == "kthreadd")
      kthreadd = true;
  EXPECT_TRUE(kthreadd) << "kthreadd (pid 2) missing from the scan with kernel threads";
}

TEST(PidmapBpfScan, OwnProcessIsExact) {
  CTK_REQUIRE_ROOT();
  auto bpf = proc::scan_bpf({});
  CTK_REQUIRE(bpf.has_value(), "BPF task iterator unavailable");
  const pid_t self = getpid();
  const proc::Process *me = nullptr;
  for (const auto &p : *bpf)
    if (p.pid == self)
      me = &p;
  ASSERT_NE(me, nullptr);
  EXPECT_EQ(me->ppid, getppid());
  EXPECT_EQ(me->uid, getuid());
  ASSERT_FALSE(me->cmdline.empty());
  EXPECT_NE(me->cmdline[0].find("ctk_privileged_tests"), std::string::npos) << me->cmdline[0];
  struct stat st;
  ASSERT_EQ(stat("/proc/self/ns/pid", &st), 0);
  EXPECT_EQ(me->ns[proc::ns_index(proc::NsType::pid)], st.st_ino);
  ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);
  EXPECT_EQ(me->ns[proc::ns_index(proc::NsType::net)], st.st_ino);
}
