// The pure parts of ctk exec / nsenter: users from passwd and group texts,
// environments, ID maps, spec checks.
#include <gtest/gtest.h>

#include "ctk/runtime/exec.h"

namespace ns = ctk::rt::ns;

namespace {

const std::string kPasswd = "root:x:0:0:root:/root:/bin/sh\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "web:x:1000:1000:Web:/home/web:/bin/sh\n"
                            "broken:x:abc:1:::\n"
                            "nohome:x:1001:1001:::/bin/sh\n";
const std::string kGroup = "root:x:0:\n"
                           "daemon:x:1:\n"
                           "web:x:1000:\n"
                           "audio:x:29:web,daemon\n"
                           "video:x:44:daemon\n"
                           "staff:x:50:other,web\n";

TEST(ExecUser, NameGivesUidGidHomeAndSupplementaryGroups) {
  auto c = ns::resolve_user("web", kPasswd, kGroup);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->uid, 1000u);
  EXPECT_EQ(c->gid, 1000u);
  EXPECT_EQ(c->home, "/home/web");
  EXPECT_EQ(c->groups, (std::vector<gid_t>{29, 50}));
}

TEST(ExecUser, EmptyIsRoot) {
  auto c = ns::resolve_user("", kPasswd, kGroup);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uid, 0u);
  EXPECT_EQ(c->home, "/root");
}

TEST(ExecUser, NumericUidFindsTheEntryOrStandsAlone) {
  auto c = ns::resolve_user("1", kPasswd, kGroup);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->gid, 1u);
  EXPECT_EQ(c->groups, (std::vector<gid_t>{29, 44}));
  auto lone = ns::resolve_user("4242", kPasswd, kGroup);
  ASSERT_TRUE(lone);
  EXPECT_EQ(lone->uid, 4242u);
  EXPECT_EQ(lone->gid, 4242u);
  EXPECT_TRUE(lone->groups.empty());
  EXPECT_EQ(lone->home, "/");
}

TEST(ExecUser, GroupByNameOrNumber) {
  auto c = ns::resolve_user("web:audio", kPasswd, kGroup);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->gid, 29u);
  auto n = ns::resolve_user("daemon:77", kPasswd, kGroup);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->uid, 1u);
  EXPECT_EQ(n->gid, 77u);
}

TEST(ExecUser, UnknownNamesAreDockersErrors) {
  auto u = ns::resolve_user("nosuch", kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, ctk::rt::Errc::not_found);
  EXPECT_EQ(u.error().message(), "unable to find user nosuch: no matching entries in passwd file");
  auto g = ns::resolve_user("web:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message(), "unable to find group nogroup: no matching entries in group file");
}

TEST(ExecUser, MissingFilesStillAllowRootAndNumbers) {
  EXPECT_TRUE(ns::resolve_user("root", std::nullopt, std::nullopt));
  auto c = ns::resolve_user("7:8", std::nullopt, std::nullopt);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uid, 7u);
  EXPECT_EQ(c->gid, 8u);
  EXPECT_FALSE(ns::resolve_user("web", std::nullopt, std::nullopt));
}

TEST(ExecUser, MalformedLinesAreSkipped) {
  EXPECT_FALSE(ns::resolve_user("broken", kPasswd, kGroup));
  auto c = ns::resolve_user("nohome", kPasswd, kGroup);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->home, "/");
}

TEST(ExecEnv, EnvironIsNulSeparated) {
  std::string text("PATH=/bin\0HOME=/root\0junk\0EMPTY=\0", 33);
  EXPECT_EQ(ns::parse_environ(text),
            (std::vector<std::string>{"PATH=/bin", "HOME=/root", "EMPTY="}));
}

TEST(ExecEnv, MergeOverridesInPlaceAddsAndTakesBareKeysFromTheCaller) {
  std::vector<std::string> base = {"PATH=/bin", "A=1", "B=2"};
  auto lookup = [](const std::string &k) -> std::optional<std::string> {
    if (k == "FROM_HOST")
      return "yes";
    return std::nullopt;
  };
  auto env = ns::merge_env(base, {"A=one", "C=3", "FROM_HOST", "B", "A=uno"}, lookup);
  // B has no value here: docker drops it.
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "A=uno", "C=3", "FROM_HOST=yes"}));
  EXPECT_EQ(ns::env_get(env, "A"), "uno");
  EXPECT_EQ(ns::env_get(env, "PAT"), std::nullopt);
}

TEST(ExecEnv, EnvFileSkipsCommentsAndBlankLinesAndRejectsSpacesInKeys) {
  auto e = ns::parse_env_file("# comment\n\n  X=1\nY\nZ=a b\r\n", "f.env");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, (std::vector<std::string>{"X=1", "Y", "Z=a b"}));
  auto bad = ns::parse_env_file("OK=1\nBAD KEY=2\n", "f.env");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "env file f.env: line 2: variable 'BAD KEY' contains whitespaces");
}

TEST(ExecIds, MapsHostIdsIntoTheNamespace) {
  const std::string identity = "         0          0 4294967295\n";
  EXPECT_EQ(ns::map_to_inside(identity, 1000), 1000u);
  const std::string rootless =
      "         0       1000          1\n         1     100000      65536\n";
  EXPECT_EQ(ns::map_to_inside(rootless, 1000), 0u);
  EXPECT_EQ(ns::map_to_inside(rootless, 100005), 6u);
  EXPECT_EQ(ns::map_to_inside(rootless, 0), std::nullopt);
}

TEST(ExecSpec, ValidateNamesWhatIsMissing) {
  ns::ExecSpec s;
  EXPECT_EQ(ns::validate(s).error().message(), "no command to run");
  s.argv = {"true"};
  EXPECT_TRUE(ns::validate(s));
  s.root = ns::PathMode::target;
  EXPECT_EQ(ns::validate(s).error().message(), "a target process is needed");
  s.enter.target_pid = 1;
  EXPECT_TRUE(ns::validate(s));
  s.keep_host_fs = true;
  EXPECT_FALSE(ns::validate(s));
  s.root = ns::PathMode::keep;
  s.cwd = ns::PathMode::ns_dir;
  EXPECT_EQ(ns::validate(s).error().message(), "no working directory given");
}

TEST(ExecSpec, AllTypesCoversEveryNamespace) {
  auto t = ns::all_types();
  EXPECT_EQ(t.size(), ctk::rt::proc::kNsCount);
}

} // namespace
