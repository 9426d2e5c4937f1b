// tools/plugin_loader and plugin_index: the checks made before and after
// dlopen, and when the cached index may be trusted.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "ctk/runtime/version.h"
#include "plugin_index.h"
#include "plugin_loader.h"

namespace ctk::tools {
namespace {

FileStamp stamp(uint32_t mode, uint32_t uid) {
  FileStamp s;
  s.path = "/p/x.so";
  s.exists = true;
  s.mode = S_IFREG | mode;
  s.uid = uid;
  return s;
}

TEST(FrontendPlugins, UnsafeOwnersAndModesAreRefused) {
  EXPECT_FALSE(unsafe_reason(stamp(0755, 0), "plugin file", 0));
  EXPECT_EQ(*unsafe_reason(stamp(0775, 0), "plugin file", 0),
            "plugin file /p/x.so is group-writable");
  EXPECT_EQ(*unsafe_reason(stamp(0757, 0), "plugin file", 0),
            "plugin file /p/x.so is world-writable");
  EXPECT_EQ(*unsafe_reason(stamp(0755, 1000), "plugin file", 0),
            "plugin file /p/x.so is owned by uid 1000, not root");
  // Unprivileged, the invoking user's own plugins are fine, others' are not.
  EXPECT_FALSE(unsafe_reason(stamp(0755, 1000), "plugin file", 1000));
  EXPECT_TRUE(unsafe_reason(stamp(0755, 1001), "plugin file", 1000));
}

const ctk_option_v1 kDupOpts[] = {
    {"x", 0, CTK_OPT_FLAG, 0, nullptr, nullptr, ""},
    {"x", 0, CTK_OPT_FLAG, 0, nullptr, nullptr, ""},
};
const ctk_option_v1 kReserved[] = {{"format", 0, 0, 0, "F", nullptr, ""}};
const ctk_positional_v1 kBadPos[] = {
    {"REST", 0, CTK_POS_VARIADIC, ""},
    {"LAST", 0, 0, ""},
};
int run_nothing(const ctk_call_v1 *) {
  return 0;
}

ctk_plugin_v1 plugin_with(const ctk_command_v1 *cmds, size_t n) {
  return {CTK_PLUGIN_ABI_MAJOR, CTK_PLUGIN_ABI_MINOR, CTK_RUNTIME_VERSION, "t", "", cmds, n};
}

TEST(FrontendPlugins, DescriptorProblems) {
  ctk_command_v1 good = {"a",     "", nullptr, nullptr, nullptr, 0,
                         nullptr, 0,  nullptr, 0,       0,       run_nothing};
  auto p = plugin_with(&good, 1);
  EXPECT_FALSE(descriptor_problem(&p));

  p.abi_major = 2;
  p.abi_minor = 0;
  EXPECT_EQ(*descriptor_problem(&p), "plugin ABI 2.0 is not supported (ctk speaks ABI 1.x)");
  p = plugin_with(&good, 1);
  p.runtime_version = "9.9";
  EXPECT_EQ(*descriptor_problem(&p), "built against libruntime 9.9, ctk has " CTK_RUNTIME_VERSION);

  ctk_command_v1 dup = good;
  dup.options = kDupOpts;
  dup.n_options = 2;
  p = plugin_with(&dup, 1);
  EXPECT_EQ(*descriptor_problem(&p), "command \"a\" declares --x twice");

  ctk_command_v1 reserved = good;
  reserved.options = kReserved;
  reserved.n_options = 1;
  p = plugin_with(&reserved, 1);
  EXPECT_EQ(*descriptor_problem(&p), "command \"a\" declares --format, which the host provides");

  ctk_command_v1 pos = good;
  pos.positionals = kBadPos;
  pos.n_positionals = 2;
  p = plugin_with(&pos, 1);
  EXPECT_EQ(*descriptor_problem(&p), "command \"a\": variadic positional REST is not last");

  ctk_command_v1 unnamed = good;
  unnamed.name = nullptr;
  p = plugin_with(&unnamed, 1);
  EXPECT_TRUE(descriptor_problem(&p));

  ctk_command_v1 twice[] = {good, good};
  p = plugin_with(twice, 2);
  EXPECT_EQ(*descriptor_problem(&p), "command \"a\" is declared twice");
  EXPECT_TRUE(descriptor_problem(nullptr));
}

PluginDirScan scan_of(const std::string &file) {
  PluginDirScan s;
  FileStamp d;
  d.path = "/p";
  d.exists = true;
  d.mode = S_IFDIR | 0755;
  s.dirs.push_back(d);
  FileStamp f = stamp(0755, 0);
  f.path = file;
  f.size = 100;
  s.files.push_back(f);
  return s;
}

TEST(FrontendPlugins, IndexRoundTripsAndGoesStale) {
  PluginSet set;
  Plugin p;
  p.path = "/p/x.so";
  p.name = "x";
  p.loaded = true;
  p.commands = {{"net trace", "Trace"}};
  set.plugins.push_back(std::move(p));
  auto scan = scan_of("/p/x.so");
  PluginIndex idx = PluginIndex::from(set, scan, 0);

  char dir[] = "/tmp/ctk-index-test.XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string path = std::string(dir) + "/plugin-index.json";
  ASSERT_TRUE(idx.save(path));

  auto back = PluginIndex::load(path, scan, 0);
  ASSERT_TRUE(back);
  ASSERT_NE(back->find("net trace"), nullptr);
  EXPECT_EQ(back->find("net trace")->plugin, "/p/x.so");
  EXPECT_EQ(back->find("net trace")->summary, "Trace");

  EXPECT_FALSE(PluginIndex::load(path, scan, 1000)) << "another user's rules";
  auto touched = scan;
  touched.files[0].mtime_ns += 1;
  EXPECT_FALSE(PluginIndex::load(path, touched, 0));
  auto chmodded = scan;
  chmodded.files[0].mode |= S_IWGRP;
  EXPECT_FALSE(PluginIndex::load(path, chmodded, 0));
  auto dir_changed = scan;
  dir_changed.dirs[0].mtime_ns += 1;
  EXPECT_FALSE(PluginIndex::load(path, dir_changed, 0));
  EXPECT_FALSE(PluginIndex::load(path + ".missing", scan, 0));
  EXPECT_FALSE(PluginIndex::from_json("{\"version\": 1"));

  // An index pointing at a file the scan did not find is not trusted.
  std::string text = idx.to_json();
  auto pos = text.find("\"plugin\": \"/p/x.so\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, std::string("\"plugin\": \"/p/x.so\"").size(), "\"plugin\": \"/tmp/evil.so\"");
  ASSERT_TRUE(rt::write_file_atomic(path, text));
  EXPECT_FALSE(PluginIndex::load(path, scan, 0));

  std::remove(path.c_str());
  rmdir(dir);
}

} // namespace
} // namespace ctk::tools
