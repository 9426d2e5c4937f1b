// A container that no runtime's state names, known only from the cgroups of
// the processes the caller scanned: it still resolves, by ID prefix.
#include <gtest/gtest.h>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
using namespace ctk::rt::discovery;

namespace {

const std::string kOrphan = "7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e";

proc::Process process(pid_t pid, const std::string &cgroup) {
  proc::Process p;
  p.pid = pid;
  p.nspid = {pid};
  p.cgroups = proc::parse_cgroup_file("0::/\n4:pids:" + cgroup + "\n");
  return p;
}

Options empty_host(const std::vector<proc::Process> *procs) {
  Options o;
  o.paths.root = std::string(CTK_FIXTURES_DIR) + "/hosts/v1"; // no runtime state at all
  o.paths.proc = std::string(CTK_FIXTURES_DIR) + "/hosts/v1/proc";
  o.ask_daemons = false;
  o.apply_environment = false;
  o.detect_from_daemons = false;
  o.processes = procs;
  return o;
}

TEST(DiscoveryCgroupOnly, ContainerKnownOnlyFromItsCgroupResolvesByIdPrefix) {
  std::vector<proc::Process> procs = {process(100, "/"), process(4100, "/docker/" + kOrphan),
                                      process(4200, "/docker/" + kOrphan + "/sub")};
  auto r = Resolver::open(empty_host(&procs));
  ASSERT_TRUE(r) << r.error().message();
  auto c = r->resolve(kOrphan.substr(0, 12));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id, kOrphan);
  EXPECT_EQ(c->runtime, Runtime::docker);
  EXPECT_EQ(c->pid, 4100); // the oldest process of the cgroup
  EXPECT_EQ(c->source, "cgroup:/docker/" + kOrphan);
  auto scheme = r->resolve("docker://" + kOrphan.substr(0, 8));
  ASSERT_TRUE(scheme) << scheme.error().message();
  EXPECT_FALSE(r->resolve("podman://" + kOrphan.substr(0, 12)));
}

TEST(DiscoveryCgroupOnly, WithoutAProcessListNothingIsGuessed) {
  auto r = Resolver::open(empty_host(nullptr));
  ASSERT_TRUE(r) << r.error().message();
  auto c = r->resolve(kOrphan.substr(0, 12));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "no such container: " + kOrphan.substr(0, 12));
}

} // namespace
