// The /proc scanner on fixture hosts (tests/fixtures/hosts, written by
// make-fixtures.py) and on this machine's /proc.
#include <errno.h> // program_invocation_name
#include <unistd.h>

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "ctk/runtime/proc.h"

namespace {

using namespace ctk::rt;
using proc::NsType;
using proc::Process;

std::string host_dir(const std::string &name) {
  return std::string(CTK_FIXTURES_DIR) + "/hosts/" + name;
}

proc::ScanOptions fixture(const std::string &name, unsigned fields = proc::kAll) {
  proc::ScanOptions o;
  o.paths.proc = host_dir(name) + "/proc";
  o.paths.sys = host_dir(name) + "/sys";
  o.paths.root = host_dir(name);
  o.fields = fields;
  return o;
}

std::map<pid_t, Process> by_pid(const std::vector<Process> &v) {
  std::map<pid_t, Process> m;
  for (const auto &p : v)
    m[p.pid] = p;
  return m;
}

std::map<pid_t, Process> scan_map(const proc::ScanOptions &o) {
  auto r = proc::scan(o);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? by_pid(*r) : std::map<pid_t, Process>{};
}

TEST(ProcScan, V2HostContainersAndFields) {
  auto m = scan_map(fixture("v2"));
  ASSERT_TRUE(m.count(1234));
  const Process &nginx = m[1234];
  EXPECT_EQ(nginx.comm, "nginx");
  EXPECT_EQ(nginx.ppid, 1200);
  EXPECT_EQ(nginx.state, 'S');
  EXPECT_EQ(nginx.nspid, (std::vector<pid_t>{1234, 1}));
  EXPECT_EQ(nginx.ns[proc::ns_index(NsType::pid)], 4026532301u);
  EXPECT_EQ(nginx.ns[proc::ns_index(NsType::user)], 4026531837u); // the host's
  EXPECT_EQ(nginx.start_time, 51234u);
  ASSERT_EQ(nginx.cmdline.size(), 2u); // an empty argument survives the NUL split
  EXPECT_EQ(nginx.cmdline[0], "nginx: master process nginx");
  EXPECT_EQ(nginx.cmdline[1], "");
  ASSERT_EQ(nginx.cgroups.size(), 1u);
  EXPECT_EQ(nginx.cgroups[0].path,
            "/system.slice/"
            "docker-3f4e8c1b2a9d7777777777777777777777777777777777777777777777777777.scope");
  EXPECT_FALSE(nginx.partial);
  EXPECT_FALSE(nginx.kernel_thread);

  const Process &worker = m[1240];
  EXPECT_EQ(worker.uid, 101u);
  EXPECT_EQ(worker.gid, 101u);
  EXPECT_EQ(worker.nspid.back(), 29);

  // Podman rootless-style: user namespace of its own.
  EXPECT_EQ(m[1301].ns[proc::ns_index(NsType::user)], 4026532398u);
  EXPECT_EQ(m[1301].nspid, (std::vector<pid_t>{1301, 7}));
  EXPECT_EQ(m[1].nspid, (std::vector<pid_t>{1}));
}

TEST(ProcScan, KernelThreadsExcludedUnlessAsked) {
  auto m = scan_map(fixture("v2"));
  EXPECT_FALSE(m.count(2));
  EXPECT_FALSE(m.count(15));
  auto o = fixture("v2");
  o.include_kernel_threads = true;
  auto all = scan_map(o);
  ASSERT_TRUE(all.count(2));
  EXPECT_TRUE(all[2].kernel_thread);
  EXPECT_TRUE(all[2].cmdline.empty());
  EXPECT_FALSE(all[1].kernel_thread);
}

TEST(ProcScan, KernelThreadsWithoutKthreadLine) {
  // The v1 fixture's status files predate "Kthread:": the scanner falls back
  // to PF_KTHREAD from stat, or to "no VmSize" when stat is not read.
  for (unsigned fields : {unsigned(proc::kAll), unsigned(proc::kStatus)}) {
    auto o = fixture("v1", fields);
    auto m = scan_map(o);
    EXPECT_FALSE(m.count(2)) << fields;
    EXPECT_FALSE(m.count(7)) << fields;
    EXPECT_TRUE(m.count(2345)) << fields;
    o.include_kernel_threads = true;
    auto all = scan_map(o);
    ASSERT_TRUE(all.count(7));
    EXPECT_TRUE(all[7].kernel_thread) << fields;
    EXPECT_FALSE(all[900].kernel_thread) << fields;
  }
}

TEST(ProcScan, ZombieIsNotAKernelThread) {
  auto m = scan_map(fixture("v2", proc::kStatus));
  ASSERT_TRUE(m.count(1401));
  EXPECT_EQ(m[1401].state, 'Z');
  EXPECT_FALSE(m[1401].kernel_thread);
}

TEST(ProcScan, VanishedPidAndNonPidEntriesDropped) {
  auto r = proc::scan(fixture("v2"));
  ASSERT_TRUE(r) << r.error().message();
  auto m = by_pid(*r);
  EXPECT_FALSE(m.count(4242)); // directory listed, files gone
  // Exactly the user processes of the fixture: no "self", "sys", "uptime".
  std::vector<pid_t> pids;
  for (const auto &p : *r)
    pids.push_back(p.pid);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{1, 850, 1234, 1240, 1300, 1301, 1400, 1401, 1500}));
}

TEST(ProcScan, CommWithParenthesesInStat) {
  auto m = scan_map(fixture("v2", proc::kStartTime));
  ASSERT_TRUE(m.count(1400));
  // Fields after the comm are counted from the last ')'.
  EXPECT_EQ(m[1400].start_time, 71400u);
  EXPECT_EQ(m[1400].state, 'S');
  EXPECT_EQ(m[1400].ppid, 1);
}

TEST(ProcScan, LongCmdlineBeyondStackBuffer) {
  auto m = scan_map(fixture("v2", proc::kCmdline));
  ASSERT_TRUE(m.count(1500));
  ASSERT_EQ(m[1500].cmdline.size(), 201u);
  EXPECT_EQ(m[1500].cmdline[0], "java");
  EXPECT_EQ(m[1500].cmdline[200], "-Dprop199=" + std::string(40, 'v'));
}

TEST(ProcScan, OnlyRequestedFieldsAreRead) {
  auto m = scan_map(fixture("v2", proc::kCgroups));
  ASSERT_TRUE(m.count(1234));
  EXPECT_TRUE(m[1234].cmdline.empty());
  EXPECT_EQ(m[1234].ns[proc::ns_index(NsType::pid)], 0u);
  EXPECT_EQ(m[1234].start_time, 0u);
  EXPECT_EQ(m[1234].cgroups.size(), 1u);
}

TEST(ProcScan, NestedPidNamespacesThreeLevels) {
  auto m = scan_map(fixture("nested"));
  ASSERT_TRUE(m.count(6011));
  EXPECT_EQ(m[6011].nspid, (std::vector<pid_t>{6011, 10, 1}));
  EXPECT_EQ(m[6012].nspid, (std::vector<pid_t>{6012, 11, 2}));
  EXPECT_EQ(m[6010].nspid, (std::vector<pid_t>{6010, 9}));
  EXPECT_EQ(m[6011].ns[proc::ns_index(NsType::pid)], 4026532902u);
  EXPECT_EQ(m[6010].ns[proc::ns_index(NsType::pid)], 4026532901u);
  EXPECT_EQ(m[6000].nspid.size(), 1u);
}

TEST(ProcScan, KubernetesNodeCgroupPaths) {
  auto m = scan_map(fixture("k8s"));
  ASSERT_TRUE(m.count(4150));
  ASSERT_EQ(m[4150].cgroups.size(), 1u);
  const std::string &p = m[4150].cgroups[0].path;
  EXPECT_NE(
      p.find("kubepods-burstable-pod5e3a9f0b_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-"),
      std::string::npos)
      << p;
  EXPECT_NE(m[5100].cgroups[0].path.find("kubepods-besteffort.slice"), std::string::npos);
  EXPECT_NE(m[5100].cgroups[0].path.find("/crio-dec0de"), std::string::npos);
}

TEST(ProcScan, V1CgroupEntriesPerController) {
  auto m = scan_map(fixture("v1", proc::kCgroups));
  ASSERT_TRUE(m.count(2345));
  EXPECT_EQ(m[2345].cgroups.size(), 9u);
  EXPECT_EQ(m[2345].cgroups[0].controllers, (std::vector<std::string>{"blkio"}));
}

TEST(ProcReadProcess, OneAndMissing) {
  auto p = proc::read_process(1301, fixture("v2"));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->comm, "sleep");
  EXPECT_EQ(p->nspid.back(), 7);
  auto gone = proc::read_process(4242, fixture("v2"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  auto none = proc::read_process(999999, fixture("v2"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_NE(none.error().message().find("999999"), std::string::npos);
  // A kernel thread asked for by pid is returned, marked.
  auto kt = proc::read_process(2, fixture("v2"));
  ASSERT_TRUE(kt);
  EXPECT_TRUE(kt->kernel_thread);
}

TEST(ProcNsInode, FixtureAndMissing) {
  auto o = fixture("v2");
  auto ino = proc::ns_inode(o.paths, 1234, NsType::net);
  ASSERT_TRUE(ino) << ino.error().message();
  EXPECT_EQ(*ino, 4026532303u);
  auto missing = proc::ns_inode(o.paths, 999999, NsType::net);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(ProcScan, MissingProcDirIsAnError) {
  proc::ScanOptions o;
  o.paths.proc = "/nonexistent/proc";
  auto r = proc::scan(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/nonexistent/proc"), std::string::npos);
}

// The real /proc: we are in it, with our own pid, cmdline and namespaces.
TEST(ProcScan, LiveSelfIsFound) {
  proc::ScanOptions o;
  auto r = proc::scan(o);
  ASSERT_TRUE(r) << r.error().message();
  auto m = by_pid(*r);
  ASSERT_TRUE(m.count(::getpid()));
  const Process &self = m[::getpid()];
  EXPECT_EQ(self.ppid, ::getppid());
  EXPECT_EQ(self.uid, ::getuid());
  ASSERT_FALSE(self.cmdline.empty());
  EXPECT_EQ(self.cmdline[0], program_invocation_name); // argv[0]
  EXPECT_EQ(self.nspid.back(), ::getpid());
  auto ino = proc::ns_inode({}, ::getpid(), NsType::pid);
  ASSERT_TRUE(ino);
  EXPECT_EQ(self.ns[proc::ns_index(NsType::pid)], *ino);
  EXPECT_NE(*ino, 0u);
  EXPECT_FALSE(self.cgroups.empty());
  EXPECT_FALSE(self.partial); // root reads everything of its own process
  for (const auto &p : *r)
    EXPECT_FALSE(p.kernel_thread) << p.pid;
}

} // namespace
