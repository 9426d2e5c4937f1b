// match_cgroup_path: which runtime's container a cgroup path names.
#include <gtest/gtest.h>

#include <vector>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt::discovery;

namespace {

const std::string kId = "541c0a1ddeba10f6eb238e871e040e97395184517d81b46cfd213a8cfede0665";
const std::string kUid = "7f3c1e2d_4b5a_6978_8a9b_0c1d2e3f4a5b";

void expect_match(const std::string &path, Runtime rt, const std::string &id = kId) {
  auto m = match_cgroup_path(path);
  ASSERT_TRUE(m.has_value()) << path;
  EXPECT_EQ(m->runtime, rt) << path;
  EXPECT_EQ(m->id, id) << path;
}

TEST(DiscoveryCgroupMatch, Docker) {
  expect_match("/docker/" + kId, Runtime::docker);
  expect_match("/system.slice/docker-" + kId + ".scope", Runtime::docker);
}

TEST(DiscoveryCgroupMatch, Podman) {
  expect_match("/machine.slice/libpod-" + kId + ".scope", Runtime::podman);
  expect_match("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope",
               Runtime::podman);
  expect_match("/libpod_parent/libpod-" + kId, Runtime::podman);
}

TEST(DiscoveryCgroupMatch, ConmonIsNotAContainer) {
  EXPECT_FALSE(match_cgroup_path("/machine.slice/libpod-conmon-" + kId + ".scope"));
  EXPECT_FALSE(match_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                                 kUid + ".slice/crio-conmon-" + kId + ".scope"));
}

TEST(DiscoveryCgroupMatch, Kubernetes) {
  const std::string slice =
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUid + ".slice";
  expect_match(slice + "/cri-containerd-" + kId + ".scope", Runtime::containerd);
  expect_match(slice + "/crio-" + kId + ".scope", Runtime::crio);
  expect_match("/kubepods/burstable/pod7f3c1e2d-4b5a-6978-8a9b-0c1d2e3f4a5b/" + kId,
               Runtime::containerd);
  expect_match("/kubepods/pod7f3c1e2d-4b5a-6978-8a9b-0c1d2e3f4a5b/crio-" + kId, Runtime::crio);
  EXPECT_FALSE(match_cgroup_path(slice));
}

TEST(DiscoveryCgroupMatch, Ctk) {
  expect_match("/ctk/" + kId, Runtime::ctk);
  expect_match("/system.slice/ctk-" + kId + ".scope", Runtime::ctk);
}

TEST(DiscoveryCgroupMatch, SubCgroupMapsToItsContainer) {
  expect_match("/docker/" + kId + "/init", Runtime::docker);
  expect_match("/system.slice/docker-" + kId + ".scope/init.scope", Runtime::docker);
}

TEST(DiscoveryCgroupMatch, CgroupnsRelativeRoot) {
  expect_match("/../docker-" + kId + ".scope", Runtime::docker);
  expect_match("/../../libpod-" + kId + ".scope/init.scope", Runtime::podman);
}

TEST(DiscoveryCgroupMatch, NestedContainerIsTheInnermost) {
  const std::string inner = "9c8d7e6f5a4b3c2d1e0f9c8d7e6f5a4b3c2d1e0f9c8d7e6f5a4b3c2d1e0f9c8d";
  expect_match("/docker/" + kId + "/docker/" + inner, Runtime::docker, inner);
}

TEST(DiscoveryCgroupMatch, ShortIdsAccepted) {
  expect_match("/docker/541c0a1ddeba", Runtime::docker, "541c0a1ddeba");
}

TEST(DiscoveryCgroupMatch, NotContainers) {
  for (const std::string &p : std::vector<std::string>{
           "/", "", "/init.scope", "/system.slice/docker.service",
           "/user.slice/user-0.slice/session-1.scope", "/docker", "/docker/notanid",
           "/docker/541c0a1ddeb" /* 11 hex: too short */, "/system.slice/docker-" + kId + "x.scope",
           "/libpod_parent/conmon", "/runc-plain",
           "/" + kId /* a bare ID says nothing about its owner */})
    EXPECT_FALSE(match_cgroup_path(p)) << p;
}

} // namespace
