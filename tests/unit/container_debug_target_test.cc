// config.json of a ctk debug container: the /target description survives the
// round trip, and records without it (every other container) read as none.
#include <gtest/gtest.h>

#include "ctk/runtime/container.h"

namespace ctk::rt::container {
namespace {

TEST(ContainerDebugTarget, RoundTripsThroughConfigJson) {
  ContainerConfig c;
  c.id = "abc";
  DebugTarget t;
  t.target = "docker://web";
  t.pid = 4242;
  t.pid_start = 987654321;
  t.read_only = true;
  c.debug_target = t;
  nlohmann::json j = c;
  ContainerConfig back = j.get<ContainerConfig>();
  ASSERT_TRUE(back.debug_target);
  EXPECT_EQ(back.debug_target->target, "docker://web");
  EXPECT_EQ(back.debug_target->pid, 4242);
  EXPECT_EQ(back.debug_target->pid_start, 987654321u);
  EXPECT_TRUE(back.debug_target->read_only);
  EXPECT_TRUE(back.debug_target->lowerdir.empty());

  c.debug_target = DebugTarget{.target = "app:v1",
                               .image_id = "sha256:" + std::string(64, 'a'),
                               .lowerdir = "/s/layers/b/diff:/s/layers/a/diff"};
  back = nlohmann::json(c).get<ContainerConfig>();
  ASSERT_TRUE(back.debug_target);
  EXPECT_EQ(back.debug_target->pid, 0);
  EXPECT_EQ(back.debug_target->lowerdir, "/s/layers/b/diff:/s/layers/a/diff");
  EXPECT_FALSE(back.debug_target->read_only);
}

TEST(ContainerDebugTarget, AbsentForOrdinaryContainers) {
  ContainerConfig c;
  c.id = "abc";
  nlohmann::json j = c;
  EXPECT_FALSE(j.contains("debug_target"));
  ContainerConfig back = j.get<ContainerConfig>();
  EXPECT_FALSE(back.debug_target);
  // A reused config object does not keep a target from an earlier read.
  back.debug_target = DebugTarget{.target = "x"};
  from_json(j, back);
  EXPECT_FALSE(back.debug_target);
}

} // namespace
} // namespace ctk::rt::container
