// cgroup layout detection and process -> directory mapping on fixture hosts
// (tests/fixtures/hosts) and on mountinfo texts of harder cases.
#include <gtest/gtest.h>

#include "ctk/runtime/cgroup.h"

namespace {

using namespace ctk::rt;
using cgroup::Hierarchy;
using cgroup::Layout;

HostPaths fixture(const std::string &name) {
  std::string dir = std::string(CTK_FIXTURES_DIR) + "/hosts/" + name;
  HostPaths p;
  p.proc = dir + "/proc";
  p.sys = dir + "/sys";
  p.root = dir;
  return p;
}

Hierarchy detect(const std::string &name) {
  auto h = Hierarchy::detect(fixture(name));
  EXPECT_TRUE(h) << (h ? "" : h.error().message());
  return h ? *h : Hierarchy{};
}

std::vector<proc::CgroupEntry> cgroups_of(const std::string &host, pid_t pid) {
  proc::ScanOptions o;
  o.paths = fixture(host);
  o.fields = proc::kCgroups;
  auto p = proc::read_process(pid, o);
  EXPECT_TRUE(p) << (p ? "" : p.error().message());
  return p ? p->cgroups : std::vector<proc::CgroupEntry>{};
}

const std::string kDocker = "3f4e8c1b2a9d" + std::string(52, '7');

TEST(CgroupDetect, PureV2) {
  auto h = detect("v2");
  EXPECT_EQ(h.layout, Layout::v2);
  EXPECT_STREQ(cgroup::layout_name(h.layout), "v2");
  ASSERT_EQ(h.mounts.size(), 1u);
  EXPECT_EQ(h.mounts[0].version, 2);
  EXPECT_EQ(h.mounts[0].mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(h.mounts[0].controllers, (std::vector<std::string>{"cpuset", "cpu", "io", "memory",
                                                               "hugetlb", "pids", "rdma", "misc"}));
  // Controllers live in the unified tree on a v2 host.
  ASSERT_NE(h.mount_for("memory"), nullptr);
  EXPECT_EQ(h.mount_for("memory")->version, 2);
  EXPECT_EQ(h.mount_for("net_cls"), nullptr);
}

TEST(CgroupDetect, V1) {
  auto h = detect("v1");
  EXPECT_EQ(h.layout, Layout::v1);
  EXPECT_EQ(h.mounts.size(), 9u);
  EXPECT_EQ(h.mount_for(""), nullptr);
  const auto *cpu = h.mount_for("cpuacct");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cpu->controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  // Super options that are not controllers are not listed as such.
  const auto *sd = h.mount_for("name=systemd");
  ASSERT_NE(sd, nullptr);
  EXPECT_EQ(sd->controllers, (std::vector<std::string>{"name=systemd"}));
  const auto *cpuset = h.mount_for("cpuset");
  ASSERT_NE(cpuset, nullptr);
  EXPECT_EQ(cpuset->controllers, (std::vector<std::string>{"cpuset"}));
  EXPECT_EQ(h.mount_for("xattr"), nullptr);
}

TEST(CgroupDetect, HybridLikeCi) {
  auto h = detect("hybrid");
  EXPECT_EQ(h.layout, Layout::hybrid);
  const auto *u = h.mount_for("");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_TRUE(u->controllers.empty());
  ASSERT_NE(h.mount_for("memory"), nullptr);
  EXPECT_EQ(h.mount_for("memory")->version, 1);
}

TEST(CgroupDetect, ThisMachine) {
  auto h = Hierarchy::detect({});
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_NE(h->layout, Layout::none);
}

TEST(CgroupDetect, NoCgroupMounts) {
  auto h = Hierarchy::from_mountinfo("22 28 0:21 / /sys rw - sysfs sysfs rw\n", {});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->layout, Layout::none);
  EXPECT_EQ(h->mount_for(""), nullptr);
  EXPECT_FALSE(h->dir_for({{0, {}, "/x"}}, ""));
}

TEST(CgroupDetect, NamedV1OnlyBesideV2IsV2) {
  auto h = Hierarchy::from_mountinfo(
      "25 22 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "40 25 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n",
      fixture("v2"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->layout, Layout::v2);
}

TEST(CgroupDetect, MissingMountinfoNamesTheFile) {
  HostPaths p;
  p.proc = "/nonexistent";
  auto h = Hierarchy::detect(p);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message().find("/nonexistent/self/mountinfo"), std::string::npos);
}

TEST(CgroupDirFor, V2DockerScope) {
  auto h = detect("v2");
  auto cg = cgroups_of("v2", 1234);
  auto dir = h.dir_for(cg, "");
  ASSERT_TRUE(dir);
  EXPECT_EQ(*dir, "/sys/fs/cgroup/system.slice/docker-" + kDocker + ".scope");
  EXPECT_EQ(h.dir_for(cg, "memory"), dir);
  EXPECT_FALSE(h.dir_for(cg, "net_cls"));
  EXPECT_EQ(*h.dir_for(cgroups_of("v2", 1), ""), "/sys/fs/cgroup/init.scope");
}

TEST(CgroupDirFor, V1PerController) {
  auto h = detect("v1");
  auto cg = cgroups_of("v1", 2345);
  EXPECT_EQ(*h.dir_for(cg, "memory"), "/sys/fs/cgroup/memory/docker/" + kDocker);
  EXPECT_EQ(*h.dir_for(cg, "cpu"), "/sys/fs/cgroup/cpu,cpuacct/docker/" + kDocker);
  EXPECT_EQ(*h.dir_for(cg, "net_prio"), "/sys/fs/cgroup/net_cls,net_prio/docker/" + kDocker);
  EXPECT_EQ(*h.dir_for(cg, "name=systemd"), "/sys/fs/cgroup/systemd/docker/" + kDocker);
  EXPECT_FALSE(h.dir_for(cg, "")); // no unified hierarchy on a v1 host
  // The root cgroup maps to the mount point itself.
  EXPECT_EQ(*h.dir_for(cgroups_of("v1", 1), "memory"), "/sys/fs/cgroup/memory");
}

TEST(CgroupDirFor, HybridUnifiedAndV1) {
  auto h = detect("hybrid");
  auto cg = cgroups_of("hybrid", 3100);
  std::string scope = "/system.slice/docker-" + kDocker + ".scope";
  EXPECT_EQ(*h.dir_for(cg, ""), "/sys/fs/cgroup/unified" + scope);
  EXPECT_EQ(*h.dir_for(cg, "memory"), "/sys/fs/cgroup/memory" + scope);
  auto w = cgroups_of("hybrid", 3200);
  EXPECT_EQ(*h.dir_for(w, "memory"), "/sys/fs/cgroup/memory/process_api/a772922d");
  EXPECT_EQ(*h.dir_for(w, "pids"), "/sys/fs/cgroup/pids");
}

TEST(CgroupDirFor, KubernetesPods) {
  auto h = detect("k8s");
  auto dir = h.dir_for(cgroups_of("k8s", 5100), "memory");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->rfind("/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/", 0), 0u) << *dir;
  EXPECT_NE(dir->find("/crio-dec0de"), std::string::npos);
}

// Inside a container without a cgroup namespace, its own cgroup is
// bind-mounted: mountinfo's root is the container's path, which the
// process's /proc/PID/cgroup path starts with.
TEST(CgroupDirFor, MountRootIsStripped) {
  std::string root = "/docker/" + kDocker;
  auto h = Hierarchy::from_mountinfo(
      "700 690 0:32 " + root + " /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n" +
          "701 690 0:40 " + root + "/ /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n",
      {});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->mounts[0].root, root);
  std::vector<proc::CgroupEntry> in{{5, {"memory"}, root}, {6, {"pids"}, root + "/sub"}};
  EXPECT_EQ(*h->dir_for(in, "memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(*h->dir_for(in, "pids"), "/sys/fs/cgroup/pids/sub");
  // A cgroup outside the mounted subtree is not reachable through it, and a
  // sibling whose name merely starts with the root is not inside it.
  EXPECT_FALSE(h->dir_for({{5, {"memory"}, "/docker/other"}}, "memory"));
  EXPECT_FALSE(h->dir_for({{5, {"memory"}, root + "x"}}, "memory"));
  // Outside our cgroup namespace.
  EXPECT_FALSE(h->dir_for({{5, {"memory"}, "/../../x"}}, "memory"));
}

TEST(CgroupDetect, EscapedMountPoint) {
  auto h = Hierarchy::from_mountinfo(
      "25 22 0:23 / /tmp/my\\040cgroups rw - cgroup cgroup rw,pids\n", {});
  ASSERT_TRUE(h);
  ASSERT_EQ(h->mounts.size(), 1u);
  EXPECT_EQ(h->mounts[0].mount_point, "/tmp/my cgroups");
}

TEST(CgroupPrimaryPath, PrefersUnifiedThenMemory) {
  EXPECT_EQ(cgroup::primary_path(cgroups_of("v2", 1234)),
            "/system.slice/docker-" + kDocker + ".scope");
  EXPECT_EQ(cgroup::primary_path(cgroups_of("v1", 2345)), "/docker/" + kDocker);
  EXPECT_EQ(cgroup::primary_path(cgroups_of("hybrid", 3200)), "/process_api/a772922d");
  EXPECT_EQ(cgroup::primary_path(cgroups_of("v1", 1)), "/init.scope"); // name=systemd
  EXPECT_EQ(cgroup::primary_path({{0, {}, "/"}}), "/");
  EXPECT_EQ(cgroup::primary_path({}), "/");
}

} // namespace
