// ctk pidmap's record assembly: what a user reads in each column.
#include <gtest/gtest.h>

#include "../../plugins/pidmap/model.h"

using namespace ctk::plugins::pidmap;
namespace proc = ctk::rt::proc;
namespace discovery = ctk::rt::discovery;

namespace {

proc::Process make_proc(pid_t pid, std::vector<pid_t> chain, uint64_t pidns,
                        std::vector<std::string> argv = {"sleep", "100"}) {
  proc::Process p;
  p.pid = pid;
  p.comm = "sleep";
  p.nspid = std::move(chain);
  p.ns[proc::ns_index(proc::NsType::pid)] = pidns;
  p.cmdline = std::move(argv);
  return p;
}

discovery::Container docker_container(std::string id, std::string name, pid_t init) {
  discovery::Container c;
  c.runtime = discovery::Runtime::docker;
  c.id = std::move(id);
  c.name = std::move(name);
  c.pid = init;
  return c;
}

} // namespace

TEST(PidmapModel, NestedChainGivesInnermostPid) {
  auto p = make_proc(4242, {4242, 17, 1}, 4026532999);
  Row r = make_row(p, std::nullopt);
  EXPECT_EQ(r.pid, 4242);
  EXPECT_EQ(r.ns_pid, 1);
  EXPECT_EQ(r.chain, (std::vector<pid_t>{4242, 17, 1}));
  EXPECT_EQ(r.pid_ns, 4026532999u);
  EXPECT_EQ(r.runtime, "-");
  EXPECT_EQ(r.container, "");
  EXPECT_EQ(r.command, "sleep 100");
  EXPECT_EQ(format_chain(r.chain), "4242/17/1");
}

TEST(PidmapModel, ContainerFieldsComeFromTheRuntime) {
  auto c = docker_container(std::string(64, 'a'), "web", 900);
  Row r = make_row(make_proc(901, {901, 2}, 1), c);
  EXPECT_EQ(r.container, "web");
  EXPECT_EQ(r.id, std::string(64, 'a'));
  EXPECT_EQ(r.runtime, "docker");
}

TEST(PidmapModel, KernelThreadsAndZombiesShowCommInBrackets) {
  auto p = make_proc(2, {2}, 1, {});
  p.comm = "kthreadd";
  EXPECT_EQ(command_line(p), "[kthreadd]");
  p.cmdline = {""};
  EXPECT_EQ(command_line(p), "[kthreadd]");
}

TEST(PidmapModel, HostProcessWithoutRuntimeIsNotListed) {
  EXPECT_FALSE(is_containerised(make_proc(100, {100}, 1), std::nullopt));
  EXPECT_TRUE(is_containerised(make_proc(100, {100, 1}, 2), std::nullopt));
  // A --pid host container: host PID namespace, but claimed by its runtime.
  EXPECT_TRUE(is_containerised(make_proc(100, {100}, 1), docker_container("b", "h", 100)));
}

TEST(PidmapModel, MissingChainFallsBackToHostPid) {
  auto p = make_proc(77, {}, 0);
  Row r = make_row(p, std::nullopt);
  EXPECT_EQ(r.chain, (std::vector<pid_t>{77}));
  EXPECT_EQ(r.ns_pid, 77);
}

TEST(PidmapModel, PidAtLevelMapsContainerPids) {
  auto p = make_proc(5000, {5000, 40, 3}, 9);
  EXPECT_EQ(pid_at_level(p, 0), 5000);
  EXPECT_EQ(pid_at_level(p, 1), 40);
  EXPECT_EQ(pid_at_level(p, 2), 3);
  EXPECT_EQ(pid_at_level(p, 3), 0);
}

TEST(PidmapModel, BelongsByCgroupClaimOrSharedPidNamespace) {
  auto target = docker_container("abc", "web", 900);
  auto init = make_proc(900, {900, 1}, 55);
  auto sibling = make_proc(901, {901, 2}, 55);
  auto stranger = make_proc(902, {902, 1}, 66);
  auto host = make_proc(903, {903}, 1);
  EXPECT_TRUE(belongs_to(sibling, std::nullopt, target, &init));
  EXPECT_FALSE(belongs_to(stranger, std::nullopt, target, &init));
  EXPECT_TRUE(belongs_to(stranger, target, target, &init));
  // Another container with the same ID prefix of another runtime is not it.
  auto other = target;
  other.runtime = discovery::Runtime::podman;
  EXPECT_FALSE(belongs_to(stranger, other, target, &init));
  // --pid host: sharing the host PID namespace does not make a process a member.
  auto host_init = make_proc(904, {904}, 1);
  EXPECT_FALSE(belongs_to(host, std::nullopt, target, &host_init));
}

TEST(PidmapModel, InitOfACgroupOnlyContainerIsItsShallowestPidOne) {
  auto c = docker_container("abc", "", 0); // found by cgroup: init PID unknown
  std::vector<proc::Process> procs = {make_proc(10, {10}, 1), make_proc(20, {20, 2}, 5),
                                      make_proc(21, {21, 1}, 5), make_proc(22, {22, 3, 1}, 6)};
  std::vector<std::optional<discovery::Container>> owners = {std::nullopt, c, c, c};
  const proc::Process *init = find_init(procs, owners, c);
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->pid, 21);
  // A known init PID wins, and an absent one means not running.
  c.pid = 20;
  EXPECT_EQ(find_init(procs, owners, c)->pid, 20);
  c.pid = 999;
  EXPECT_EQ(find_init(procs, owners, c), nullptr);
}
