// ContainerCgroup over fixture trees of a pure v2, a v1 and a hybrid host.
//
// A fixture cannot make interface files appear on mkdir as cgroupfs does,
// so a test that needs them lays out the container's directory first, the
// way the kernel would (`kernel_mkdir`); create() accepts an existing
// directory. Trees without them are the failure cases: the write names the
// missing file and create() removes what it made.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ctk/runtime/cgroup_manage.h"

namespace {

using namespace ctk::rt;
using cgroup::ContainerCgroup;
using cgroup::Hierarchy;
using cgroup::Limits;
namespace fs = std::filesystem;

const std::string kId = "ab12cd34ef56" + std::string(52, '0');

const std::string kV2Mountinfo =
    "25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n";

const std::string kV1Mountinfo =
    "25 1 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
    "29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "30 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "31 25 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "32 25 0:30 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
    "33 25 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children\n"
    "36 25 0:34 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n";

// Like the CI machine: separate cpu and cpuacct mounts, an empty unified tree.
const std::string kHybridMountinfo =
    "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void put(const std::string &path, const std::string &text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// A host's /sys/fs/cgroup in a temporary directory.
class FakeHost {
public:
  explicit FakeHost(const std::string &mountinfo) : mountinfo_(mountinfo) {
    char tmpl[] = "/tmp/ctk-cgm-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    paths.root = root_;
    paths.sys = root_ + "/sys";
    paths.proc = root_ + "/proc";
  }
  ~FakeHost() { fs::remove_all(root_); }

  std::string cg(const std::string &rel) const { return root_ + "/sys/fs/cgroup" + rel; }

  // Mount roots exist before detection reads the v2 controllers.
  void mount(const std::string &rel, const std::string &v2_controllers = "") {
    fs::create_directories(cg(rel));
    if (!v2_controllers.empty() || rel == "" || rel == "/unified")
      put(cg(rel) + "/cgroup.controllers", v2_controllers);
  }
  // What cgroupfs makes on mkdir: the interface files.
  void kernel_mkdir(const std::string &rel, std::initializer_list<const char *> files) {
    fs::create_directories(cg(rel));
    put(cg(rel) + "/cgroup.procs", "");
    for (const char *f : files)
      put(cg(rel) + "/" + f, "");
  }

  Hierarchy hierarchy() const {
    auto h = Hierarchy::from_mountinfo(mountinfo_, paths);
    EXPECT_TRUE(h) << h.error().message();
    return h ? *h : Hierarchy{};
  }

  HostPaths paths;

private:
  std::string mountinfo_, root_;
};

const Limits kLimits{.memory = 64 << 20, .cpus = 0.5, .pids = 100};

// ---------------------------------------------------------------- v2

void v2_host(FakeHost &host, const std::string &controllers) {
  host.mount("", controllers);
  put(host.cg("/cgroup.subtree_control"), "");
}

TEST(CgroupManageV2, CreateEnablesControllersAndWritesLimits) {
  FakeHost host(kV2Mountinfo);
  v2_host(host, "cpuset cpu io memory hugetlb pids rdma misc\n");
  host.kernel_mkdir("/ctk", {"cgroup.subtree_control"});
  host.kernel_mkdir("/ctk/" + kId, {"cpu.max", "memory.max", "memory.swap.max", "pids.max",
                                    "cgroup.kill", "cgroup.subtree_control"});
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, kLimits, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ(cg->path(), "/ctk/" + kId);
  EXPECT_EQ(cg->dirs(), std::vector<std::string>{host.cg("/ctk/" + kId)});
  // As runc: the controllers on in the root and in /ctk, nothing else.
  EXPECT_EQ(slurp(host.cg("/cgroup.subtree_control")), "+cpu +memory +pids");
  EXPECT_EQ(slurp(host.cg("/ctk/cgroup.subtree_control")), "+cpu +memory +pids");
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/cgroup.subtree_control")), "");
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/cpu.max")), "50000 100000");
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/memory.max")), "67108864");
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/memory.swap.max")), "67108864");
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/pids.max")), "100");

  ASSERT_TRUE(cg->add(4242));
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/cgroup.procs")), "4242");
  // SIGKILL goes through cgroup.kill: no pid is read or signalled.
  ASSERT_TRUE(cg->kill(SIGKILL));
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/cgroup.kill")), "1");
}

TEST(CgroupManageV2, AlreadyEnabledControllersAreNotRewritten) {
  FakeHost host(kV2Mountinfo);
  v2_host(host, "cpu memory pids\n");
  put(host.cg("/cgroup.subtree_control"), "cpu memory pids\n"); // as the kernel lists them
  host.kernel_mkdir("/ctk", {});
  put(host.cg("/ctk/cgroup.subtree_control"), "memory\n");
  host.kernel_mkdir("/ctk/" + kId, {"memory.max"});
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.memory = 8 << 20}, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ(slurp(host.cg("/cgroup.subtree_control")), "cpu memory pids\n");
  EXPECT_EQ(slurp(host.cg("/ctk/cgroup.subtree_control")), "+cpu +pids");
  // No swap accounting (no memory.swap.max): only memory.max.
  EXPECT_EQ(slurp(host.cg("/ctk/" + kId + "/memory.max")), "8388608");
  EXPECT_FALSE(fs::exists(host.cg("/ctk/" + kId + "/memory.swap.max")));
}

TEST(CgroupManageV2, MissingControllerIsRefusedBeforeAnythingIsMade) {
  FakeHost host(kV2Mountinfo);
  v2_host(host, "memory pids\n");
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.cpus = 1.5}, host.paths);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code, Errc::unsupported);
  EXPECT_EQ(cg.error().message(), "cannot set cpu limit: this host has no cpu cgroup controller");
  EXPECT_FALSE(fs::exists(host.cg("/ctk")));
  EXPECT_EQ(slurp(host.cg("/cgroup.subtree_control")), "");
}

// A controller that cannot be enabled is an error only when a limit needs it.
TEST(CgroupManageV2, EnableFailureMattersOnlyForLimits) {
  FakeHost host(kV2Mountinfo);
  v2_host(host, "cpu memory pids\n");
  // /ctk has no cgroup.subtree_control: enabling there fails with ENOENT.
  fs::create_directories(host.cg("/ctk"));
  auto plain = ContainerCgroup::create(host.hierarchy(), kId, {}, host.paths);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_TRUE(fs::is_directory(host.cg("/ctk/" + kId)));
  ASSERT_TRUE(plain->remove());
  EXPECT_FALSE(fs::exists(host.cg("/ctk/" + kId)));

  auto limited = ContainerCgroup::create(host.hierarchy(), kId, {.pids = 10}, host.paths);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().message(),
            "cannot enable the +cpu +memory +pids controllers of " + host.cg("/ctk") + ": " +
                host.cg("/ctk/cgroup.subtree_control") + ": No such file or directory");
  EXPECT_FALSE(fs::exists(host.cg("/ctk/" + kId)));
}

// ---------------------------------------------------------------- v1

void v1_host(FakeHost &host) {
  for (auto m :
       {"/systemd", "/cpu,cpuacct", "/memory", "/pids", "/net_cls,net_prio", "/cpuset", "/blkio"})
    host.mount(m);
}

TEST(CgroupManageV1, OneDirectoryPerHierarchyAndV1Files) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  const std::string d = "/ctk/" + kId;
  host.kernel_mkdir("/memory" + d, {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"});
  host.kernel_mkdir("/cpu,cpuacct" + d, {"cpu.cfs_period_us", "cpu.cfs_quota_us"});
  host.kernel_mkdir("/pids" + d, {"pids.max"});
  host.kernel_mkdir("/systemd" + d, {});
  host.kernel_mkdir("/blkio" + d, {});
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, kLimits, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ(cg->dirs(), (std::vector<std::string>{
                            host.cg("/systemd" + d), host.cg("/cpu,cpuacct" + d),
                            host.cg("/memory" + d), host.cg("/pids" + d), host.cg("/blkio" + d)}));
  // Not in hierarchies ctk has no use for (cpuset would need cpus and mems set).
  EXPECT_FALSE(fs::exists(host.cg("/cpuset/ctk")));
  EXPECT_FALSE(fs::exists(host.cg("/net_cls,net_prio/ctk")));
  EXPECT_EQ(slurp(host.cg("/memory" + d + "/memory.limit_in_bytes")), "67108864");
  EXPECT_EQ(slurp(host.cg("/memory" + d + "/memory.memsw.limit_in_bytes")), "134217728");
  EXPECT_EQ(slurp(host.cg("/cpu,cpuacct" + d + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(slurp(host.cg("/cpu,cpuacct" + d + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(slurp(host.cg("/pids" + d + "/pids.max")), "100");

  ASSERT_TRUE(cg->add(77));
  for (const auto &dir : cg->dirs())
    EXPECT_EQ(slurp(dir + "/cgroup.procs"), "77") << dir;

  auto all = cgroup::list_ctk_cgroups(host.hierarchy(), host.paths);
  ASSERT_TRUE(all) << all.error().message();
  auto want = cg->dirs();
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*all, want);
}

TEST(CgroupManageV1, NoSwapAccountingWritesOnlyTheLimit) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  host.kernel_mkdir("/memory/ctk/" + kId, {"memory.limit_in_bytes"});
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.memory = 100 << 20}, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ(slurp(host.cg("/memory/ctk/" + kId + "/memory.limit_in_bytes")), "104857600");
  EXPECT_FALSE(fs::exists(host.cg("/memory/ctk/" + kId + "/memory.memsw.limit_in_bytes")));
}

// Without cgroup.kill, SIGKILL goes to each listed pid: a real child here.
TEST(CgroupManageV1, KillSignalsEachListedPid) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {}, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  // The first hierarchy (systemd) is where pids() reads.
  put(cg->dirs()[0] + "/cgroup.procs", std::to_string(child) + "\n");
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{child});
  auto k = cg->kill(SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// ---------------------------------------------------------------- hybrid

void hybrid_host(FakeHost &host) {
  host.mount("/unified", "hugetlb\n");
  for (auto m : {"/cpu", "/cpuacct", "/memory", "/freezer", "/pids", "/systemd"})
    host.mount(m);
}

TEST(CgroupManageHybrid, AlsoInTheUnifiedTreeWithoutControllers) {
  FakeHost host(kHybridMountinfo);
  hybrid_host(host);
  const std::string d = "/ctk/" + kId;
  host.kernel_mkdir("/unified" + d, {"cgroup.kill"});
  host.kernel_mkdir("/cpu" + d, {"cpu.cfs_period_us", "cpu.cfs_quota_us"});
  host.kernel_mkdir("/memory" + d, {"memory.limit_in_bytes"});
  host.kernel_mkdir("/pids" + d, {"pids.max"});
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.cpus = 2, .pids = 1}, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ(cg->dirs(), (std::vector<std::string>{host.cg("/unified" + d), host.cg("/cpu" + d),
                                                  host.cg("/cpuacct" + d), host.cg("/memory" + d),
                                                  host.cg("/pids" + d), host.cg("/systemd" + d)}));
  // The unified tree's controllers (hugetlb here) are none ctk enables.
  EXPECT_FALSE(fs::exists(host.cg("/unified/cgroup.subtree_control")));
  EXPECT_EQ(slurp(host.cg("/cpu" + d + "/cpu.cfs_quota_us")), "200000");
  EXPECT_EQ(slurp(host.cg("/pids" + d + "/pids.max")), "1");
  EXPECT_EQ(slurp(host.cg("/memory" + d + "/memory.limit_in_bytes")), ""); // no memory limit
  ASSERT_TRUE(cg->kill(SIGKILL));
  EXPECT_EQ(slurp(host.cg("/unified" + d + "/cgroup.kill")), "1");

  // open() names the same directories for a later ctk process.
  auto again = ContainerCgroup::open(host.hierarchy(), kId, host.paths);
  EXPECT_EQ(again.dirs(), cg->dirs());
  EXPECT_EQ(again.path(), cg->path());
}

// A write that fails after the directories were made: the error names the
// file and the cause, and every directory create() made is gone.
TEST(CgroupManageHybrid, FailedLimitUndoesTheDirectories) {
  FakeHost host(kHybridMountinfo);
  hybrid_host(host);
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.memory = 64 << 20}, host.paths);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(), "cannot set memory limit: " + host.cg("/memory/ctk/" + kId) +
                                      "/memory.limit_in_bytes: No such file or directory");
  auto left = cgroup::list_ctk_cgroups(host.hierarchy(), host.paths);
  ASSERT_TRUE(left) << left.error().message();
  EXPECT_TRUE(left->empty()) << left->front();
}

TEST(CgroupManageHybrid, FailedMkdirUndoesTheEarlierOnes) {
  FakeHost host(kHybridMountinfo);
  hybrid_host(host);
  // The pids hierarchy's /ctk is a file: mkdir of the container's fails.
  put(host.cg("/pids/ctk"), "");
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {}, host.paths);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(),
            "cannot create cgroup " + host.cg("/pids/ctk/" + kId) + ": Not a directory");
  for (auto m : {"/unified", "/cpu", "/cpuacct", "/memory"})
    EXPECT_FALSE(fs::exists(host.cg(m) + "/ctk/" + kId)) << m;
}

// ---------------------------------------------------------------- common

TEST(CgroupManage, OomKillsFromTheMemoryHierarchy) {
  FakeHost v2(kV2Mountinfo);
  v2_host(v2, "cpu memory pids\n");
  put(v2.cg("/ctk/" + kId + "/memory.events"),
      "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
  auto n = ContainerCgroup::open(v2.hierarchy(), kId, v2.paths).oom_kills();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 1u);

  FakeHost v1(kHybridMountinfo);
  hybrid_host(v1);
  put(v1.cg("/memory/ctk/" + kId + "/memory.oom_control"),
      "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  n = ContainerCgroup::open(v1.hierarchy(), kId, v1.paths).oom_kills();
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 3u);
  // Gone (read after remove): the error names the file.
  n = ContainerCgroup::open(v1.hierarchy(), "gone", v1.paths).oom_kills();
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find(v1.cg("/memory/ctk/gone/memory.oom_control")),
            std::string::npos)
      << n.error().message();

  FakeHost nomem("25 1 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  nomem.mount("/pids");
  n = ContainerCgroup::open(nomem.hierarchy(), kId, nomem.paths).oom_kills();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, Errc::unsupported);
}

TEST(CgroupManage, RemoveTakesNestedCgroupsAndIsIdempotent) {
  FakeHost host(kHybridMountinfo);
  hybrid_host(host);
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {}, host.paths);
  ASSERT_TRUE(cg) << cg.error().message();
  // A container with its own cgroup namespace may make cgroups below its own.
  fs::create_directories(host.cg("/unified/ctk/" + kId + "/init.scope/inner"));
  ASSERT_TRUE(cg->remove());
  for (const auto &dir : cg->dirs())
    EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(fs::is_directory(host.cg("/memory/ctk"))); // shared parent stays
  ASSERT_TRUE(cg->remove());
  // Nothing there: no pids, and nothing to signal.
  auto pids = cg->pids();
  ASSERT_FALSE(pids);
  EXPECT_EQ(pids.error().code, Errc::not_found);
  EXPECT_TRUE(cg->kill(SIGTERM));
}

TEST(CgroupManage, RemoveFailureNamesTheDirectory) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  host.kernel_mkdir("/pids/ctk/" + kId, {}); // a regular file: rmdir says not empty
  auto cg = ContainerCgroup::open(host.hierarchy(), kId, host.paths);
  auto r = cg.remove(50);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "cannot remove cgroup " + host.cg("/pids/ctk/" + kId) + ": Directory not empty");
}

TEST(CgroupManage, ListIgnoresFilesAndMissingParents) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  fs::create_directories(host.cg("/memory/ctk/one"));
  fs::create_directories(host.cg("/pids/ctk/two"));
  put(host.cg("/pids/ctk/cgroup.procs"), "");
  fs::create_directories(host.cg("/cpuset/ctk/not-ours")); // a hierarchy ctk does not use
  auto all = cgroup::list_ctk_cgroups(host.hierarchy(), host.paths);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(*all, (std::vector<std::string>{host.cg("/memory/ctk/one"), host.cg("/pids/ctk/two")}));
}

TEST(CgroupManage, LimitsAreCheckedFirst) {
  EXPECT_TRUE(cgroup::check_limits(kLimits));
  EXPECT_TRUE(cgroup::check_limits({}));
  auto mem = cgroup::check_limits({.memory = 1 << 20});
  ASSERT_FALSE(mem);
  EXPECT_EQ(mem.error().code, Errc::invalid_argument);
  EXPECT_EQ(mem.error().message(), "memory limit 1048576 bytes is below the minimum of 6 MiB");
  EXPECT_FALSE(cgroup::check_limits({.cpus = 0.001}));
  EXPECT_FALSE(cgroup::check_limits({.cpus = -1}));
  EXPECT_FALSE(cgroup::check_limits({.cpus = std::nan("")}));
  EXPECT_TRUE(cgroup::check_limits({.cpus = 0.01}));
  auto pids = cgroup::check_limits({.pids = 0});
  ASSERT_FALSE(pids);
  EXPECT_EQ(pids.error().message(), "pids limit 0 is out of range (at least 1)");

  FakeHost host(kV1Mountinfo);
  v1_host(host);
  auto cg = ContainerCgroup::create(host.hierarchy(), kId, {.pids = -1}, host.paths);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(), "cannot create the cgroup of container " + kId +
                                      ": pids limit -1 is out of range (at least 1)");
  EXPECT_FALSE(fs::exists(host.cg("/pids/ctk")));
}

TEST(CgroupManage, HostileIdsAreRefused) {
  FakeHost host(kV1Mountinfo);
  v1_host(host);
  for (std::string id : {"", ".", "..", "../../escape", "a/b"}) {
    auto cg = ContainerCgroup::create(host.hierarchy(), id, {}, host.paths);
    ASSERT_FALSE(cg) << id;
    EXPECT_EQ(cg.error().code, Errc::invalid_argument) << id;
  }
  EXPECT_FALSE(fs::exists(host.cg("/memory/ctk")));
  EXPECT_FALSE(fs::exists(host.cg("/escape")));
}

TEST(CgroupManage, NoHierarchyMounted) {
  auto h = Hierarchy::from_mountinfo("22 28 0:21 / /sys rw - sysfs sysfs rw\n", {});
  ASSERT_TRUE(h);
  auto cg = ContainerCgroup::create(*h, kId, {});
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code, Errc::unsupported);
}

} // namespace
