// ctk debug's default toolbox image: built from a static busybox, refused
// with a message naming the package when there is none or it is dynamic.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "ctk/runtime/image_toolbox.h"

namespace ctk::rt::image {
namespace {

struct ScratchStore {
  std::string dir;
  ScratchStore() {
    char t[] = "/tmp/ctk-toolbox-test.XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~ScratchStore() { std::filesystem::remove_all(dir); }
};

TEST(ImageToolbox, StaticElfDetection) {
  // Debian's coreutils are dynamically linked (PT_INTERP).
  auto dyn = is_static_elf("/bin/true");
  ASSERT_TRUE(dyn) << dyn.error().message();
  EXPECT_FALSE(*dyn);
  ScratchStore s;
  const std::string text = s.dir + "/script";
  std::ofstream(text) << "#!/bin/sh\necho not elf\n";
  auto txt = is_static_elf(text);
  ASSERT_TRUE(txt);
  EXPECT_FALSE(*txt);
  EXPECT_FALSE(is_static_elf(s.dir + "/missing"));
}

TEST(ImageToolbox, MissingBusyboxNamesThePackage) {
  ScratchStore s;
  auto store = Store::open(s.dir);
  ASSERT_TRUE(store) << store.error().message();
  auto r =
      ensure_busybox_image(*store, {.name = "ctk-debug:busybox", .busybox = s.dir + "/no/busybox"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message().find("busybox-static"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("ctk-debug:busybox"), std::string::npos);
}

TEST(ImageToolbox, DynamicBusyboxRefused) {
  ScratchStore s;
  auto store = Store::open(s.dir);
  ASSERT_TRUE(store);
  auto r = ensure_busybox_image(*store, {.name = "ctk-debug:busybox", .busybox = "/bin/true"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported);
  EXPECT_NE(r.error().message().find("not statically linked"), std::string::npos)
      << r.error().message();
}

TEST(ImageToolbox, BuildsOnceFromStaticBusybox) {
  auto st = is_static_elf("/bin/busybox");
  if (!st || !*st)
    GTEST_SKIP() << "no static /bin/busybox (package busybox-static)";
  ScratchStore s;
  auto store = Store::open(s.dir);
  ASSERT_TRUE(store);
  auto img = ensure_busybox_image(*store, {});
  ASSERT_TRUE(img) << img.error().message();
  auto again = ensure_busybox_image(*store, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->manifest, img->manifest) << "the second call must reuse the image";
  auto byname = store->resolve("ctk-debug:busybox");
  ASSERT_TRUE(byname);
  EXPECT_EQ(byname->manifest, img->manifest);

  // The layer: busybox itself, applet symlinks where --list-full puts them,
  // passwd and group.
  auto m = store->read_manifest(img->manifest);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->layers.size(), 1u);
  auto fd = store->open_blob(m->layers[0].digest);
  ASSERT_TRUE(fd);
  auto rd = LayerReader::open(std::move(*fd));
  ASSERT_TRUE(rd);
  std::map<std::string, Entry> entries;
  Entry e;
  while (true) {
    auto more = rd->next(e);
    ASSERT_TRUE(more) << more.error().message();
    if (!*more)
      break;
    entries[e.path] = e;
  }
  ASSERT_TRUE(entries.count("bin/busybox"));
  EXPECT_EQ(entries["bin/busybox"].type, EntryType::file);
  EXPECT_EQ(entries["bin/busybox"].size, std::filesystem::file_size("/bin/busybox"));
  ASSERT_TRUE(entries.count("bin/sh"));
  EXPECT_EQ(entries["bin/sh"].type, EntryType::symlink);
  EXPECT_EQ(entries["bin/sh"].link_target, "/bin/busybox");
  EXPECT_TRUE(entries.count("etc/passwd"));
  EXPECT_TRUE(entries.count("etc/group"));
  EXPECT_EQ(entries["tmp"].mode, 01777u);
  EXPECT_GT(entries.size(), 100u) << "an applet link each";
}

} // namespace
} // namespace ctk::rt::image
