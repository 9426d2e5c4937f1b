// extract_layer as root: owners, setuid after chown, file capabilities,
// device nodes, and whiteouts in overlayfs form (0/0 char devices, the
// trusted.overlay.opaque xattr), checked on disk and by mounting overlayfs.
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "common/privileged.h"
#include "ctk/runtime/image_tar.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using namespace ctk::test;

struct stat lst(const std::string &p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::string xattr(const std::string &p, const char *name) {
  char buf[256];
  ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// vfs_cap_data v2, effective, permitted = CAP_NET_RAW (13).
const std::string kCapNetRaw("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                             "\x00\x00\x00\x00\x00\x00\x00\x00",
                             20);

TEST(ImageExtractRoot, OwnersSetuidCapabilitiesAndDevices) {
  CTK_REQUIRE_ROOT();
  Sandbox sb;
  TarItem su = tar_file("usr/bin/su", "ELF", 04755);
  su.uid = 0;
  su.gid = 0;
  TarItem wall = tar_file("usr/bin/wall", "ELF", 02755);
  wall.uid = 0;
  wall.gid = 5;
  TarItem ping = tar_file("usr/bin/ping", "ELF", 0755);
  ping.caps = kCapNetRaw;
  ping.uid = 1000; // chown after writing would drop the capability: order matters
  TarItem home = tar_dir("home/user", 0700);
  home.uid = 1000;
  home.gid = 1000;
  TarItem link = tar_symlink("home/user/l", "/etc");
  link.uid = 1000;
  link.gid = 1001;
  TarItem null;
  null.path = "dev/null";
  null.type = 'c';
  null.dev_major = 1;
  null.dev_minor = 3;
  null.mode = 0666;
  TarItem loop;
  loop.path = "dev/loop0";
  loop.type = 'b';
  loop.dev_major = 7;
  loop.dev_minor = 0;
  loop.mode = 0660;
  loop.gid = 6;
  auto r =
      extract_layer(memfd_of(make_tar({su, wall, ping, home, link, null, loop})), sb.root_fd());
  ASSERT_TRUE(r) << r.error().message();
  std::string root = sb.root();
  EXPECT_EQ(lst(root + "/usr/bin/su").st_mode & 07777, 04755u);
  struct stat w = lst(root + "/usr/bin/wall");
  EXPECT_EQ(w.st_mode & 07777, 02755u);
  EXPECT_EQ(w.st_gid, 5u);
  struct stat p = lst(root + "/usr/bin/ping");
  EXPECT_EQ(p.st_uid, 1000u);
  EXPECT_EQ(xattr(root + "/usr/bin/ping", "security.capability"), kCapNetRaw);
  EXPECT_EQ(xattr(root + "/usr/bin/su", "security.capability"), "");
  struct stat h = lst(root + "/home/user");
  EXPECT_EQ(h.st_uid, 1000u);
  EXPECT_EQ(h.st_mode & 07777, 0700u);
  struct stat l = lst(root + "/home/user/l");
  EXPECT_TRUE(S_ISLNK(l.st_mode));
  EXPECT_EQ(l.st_gid, 1001u);
  struct stat n = lst(root + "/dev/null");
  EXPECT_TRUE(S_ISCHR(n.st_mode));
  EXPECT_EQ(n.st_rdev, makedev(1, 3));
  EXPECT_EQ(n.st_mode & 07777, 0666u);
  struct stat b = lst(root + "/dev/loop0");
  EXPECT_TRUE(S_ISBLK(b.st_mode));
  EXPECT_EQ(b.st_rdev, makedev(7, 0));
  EXPECT_EQ(b.st_gid, 6u);
  sb.expect_sentinel_unchanged();
}

TEST(ImageExtractRoot, OverlayWhiteoutsOnDisk) {
  CTK_REQUIRE_ROOT();
  Sandbox sb;
  auto r = extract_layer(
      memfd_of(make_tar({tar_file("etc/.wh.secret", ""), tar_file("var/cache/.wh..wh..opq", ""),
                         tar_file("var/cache/new", "n")})),
      sb.root_fd());
  ASSERT_TRUE(r) << r.error().message();
  struct stat w = lst(sb.root() + "/etc/secret");
  EXPECT_TRUE(S_ISCHR(w.st_mode));
  EXPECT_EQ(w.st_rdev, makedev(0, 0));
  EXPECT_EQ(xattr(sb.root() + "/var/cache", "trusted.overlay.opaque"), "y");
  EXPECT_TRUE(std::filesystem::exists(sb.root() + "/var/cache/new"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageExtractRoot, OverlayWhiteoutUnderDeadSymlinkParent) {
  CTK_REQUIRE_ROOT();
  Sandbox sb;
  auto r = extract_layer(
      memfd_of(make_tar({tar_symlink("dead", "/nonexistent"), tar_file("dead/.wh.x", "")})),
      sb.root_fd());
  ASSERT_FALSE(r);
  EXPECT_NE(
      r.error().message().find("layer entry \"dead/x\": parent \"dead\" is a dangling symlink"),
      std::string::npos)
      << r.error().message();
  EXPECT_FALSE(std::filesystem::exists(sb.root() + "/nonexistent"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageExtractRoot, OverlayWhiteoutOnSymlinkToOutside) {
  CTK_REQUIRE_ROOT();
  Sandbox sb;
  ASSERT_TRUE(extract_layer(memfd_of(make_tar({tar_symlink("s", sb.sentinel() + "/secret")})),
                            sb.root_fd()));
  auto r = extract_layer(memfd_of(make_tar({tar_file(".wh.s", "")})), sb.root_fd());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(S_ISCHR(lst(sb.root() + "/s").st_mode));
  sb.expect_sentinel_unchanged();
}

// Two layers unpacked apart in overlay form, mounted as overlayfs lower dirs
// in a private mount namespace (a forked child): the merged view hides what
// the upper layer whited out.
TEST(ImageExtractRoot, OverlayfsMountHonoursWhiteouts) {
  CTK_REQUIRE_ROOT();
  Sandbox sb;
  std::string l1 = sb.root() + "/l1", l2 = sb.root() + "/l2", merged = sb.root() + "/m";
  for (auto &d : {l1, l2, merged})
    std::filesystem::create_directory(d);
  UniqueFd f1(::open(l1.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd f2(::open(l2.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(
      extract_layer(memfd_of(make_tar({tar_file("etc/secret", "s"), tar_file("etc/keep", "k"),
                                       tar_file("var/cache/old", "o")})),
                    f1.get()));
  ASSERT_TRUE(extract_layer(
      memfd_of(make_tar({tar_file("etc/.wh.secret", ""), tar_file("var/cache/.wh..wh..opq", ""),
                         tar_file("var/cache/new", "n")})),
      f2.get()));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) < 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
      _exit(10);
    std::string opts = "lowerdir=" + l2 + ":" + l1;
    if (mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()) < 0)
      _exit(11);
    int code = 0;
    if (std::filesystem::exists(merged + "/etc/secret"))
      code |= 1;
    if (!std::filesystem::exists(merged + "/etc/keep"))
      code |= 2;
    if (std::filesystem::exists(merged + "/var/cache/old"))
      code |= 4;
    if (!std::filesystem::exists(merged + "/var/cache/new"))
      code |= 8;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10/11: cannot mount; 1: whited-out file visible; "
         "2: kept file hidden; 4: opaque dir shows lower; 8: new missing";
  sb.expect_sentinel_unchanged();
}

} // namespace
