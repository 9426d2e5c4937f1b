// parse_cgroup_file on the lines real hosts print and on malformed ones.
#include <gtest/gtest.h>

#include "ctk/runtime/proc.h"

namespace {

using ctk::rt::proc::CgroupEntry;
using ctk::rt::proc::parse_cgroup_file;

TEST(ProcParseCgroup, UnifiedRootOnly) {
  auto e = parse_cgroup_file("0::/\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].hierarchy, 0);
  EXPECT_TRUE(e[0].controllers.empty());
  EXPECT_EQ(e[0].path, "/");
}

TEST(ProcParseCgroup, V1ControllersSplitAndNamedKept) {
  auto e = parse_cgroup_file("4:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n0::/x\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].hierarchy, 4);
  EXPECT_EQ(e[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(e[0].path, "/docker/abc");
  EXPECT_EQ(e[1].controllers, (std::vector<std::string>{"name=systemd"}));
  EXPECT_EQ(e[1].path, "/init.scope");
  EXPECT_EQ(e[2].path, "/x");
}

TEST(ProcParseCgroup, ColonsInPathBelongToThePath) {
  auto e = parse_cgroup_file("0::/system.slice/run-u1:2:3.scope\n5:memory:/a:b\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].path, "/system.slice/run-u1:2:3.scope");
  EXPECT_EQ(e[1].path, "/a:b");
}

TEST(ProcParseCgroup, MalformedLinesAreSkipped) {
  auto e = parse_cgroup_file("garbage\n"
                             "x:memory:/bad-id\n"
                             "-1::/negative\n"
                             "3:memory\n"        // no path field
                             "4:pids:relative\n" // paths are absolute
                             "\n"
                             "6:pids:/good\n"
                             "0::/no-newline-at-end");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].hierarchy, 6);
  EXPECT_EQ(e[0].path, "/good");
  EXPECT_EQ(e[1].path, "/no-newline-at-end");
}

TEST(ProcParseCgroup, EmptyInput) {
  EXPECT_TRUE(parse_cgroup_file("").empty());
}

TEST(ProcNsName, NamesMatchProcFiles) {
  using ctk::rt::proc::NsType;
  EXPECT_STREQ(ctk::rt::proc::ns_name(NsType::mnt), "mnt");
  EXPECT_STREQ(ctk::rt::proc::ns_name(NsType::pid), "pid");
  EXPECT_STREQ(ctk::rt::proc::ns_name(NsType::cgroup), "cgroup");
  EXPECT_EQ(ctk::rt::proc::ns_index(NsType::uts), 7u);
}

} // namespace
