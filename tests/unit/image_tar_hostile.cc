// Hostile layers against extract_layer, one test per attack (containerd's
// TestBreakouts list and issue 3's). Each checks the error is clear and that
// the sentinel directory beside the extraction root is untouched. These run
// without root: owners are not kept, whiteouts are applied (no mknod).
#include <gtest/gtest.h>

#include "ctk/runtime/image_tar.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using namespace ctk::test;

ExtractOptions opts(bool overlay = false) {
  ExtractOptions o;
  o.keep_owners = false;
  o.overlay_whiteouts = overlay;
  return o;
}

Result<ExtractStats> extract(const Sandbox &sb, const std::vector<TarItem> &items,
                             const ExtractOptions &o = opts()) {
  return extract_layer(memfd_of(make_tar(items)), sb.root_fd(), o);
}

std::string msg(const Result<ExtractStats> &r) {
  return r ? "(success)" : r.error().message();
}

bool exists_nofollow(const std::string &p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

#define EXPECT_ERROR_HAS(r, text)                                                                  \
  do {                                                                                             \
    ASSERT_FALSE(r) << "extraction succeeded";                                                     \
    EXPECT_NE((r).error().message().find(text), std::string::npos) << (r).error().message();       \
  } while (0)

TEST(ImageTarHostile, DotDotEntry) {
  Sandbox sb;
  auto r = extract(sb, {tar_file("../sentinel/pwn", "x")});
  EXPECT_ERROR_HAS(r, "layer entry \"../sentinel/pwn\": path escapes the layer root");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, AbsoluteEntryLandsInsideRoot) {
  Sandbox sb;
  auto r = extract(sb, {tar_file(sb.sentinel() + "/pwn", "x")});
  ASSERT_TRUE(r) << msg(r);
  EXPECT_TRUE(exists_nofollow(sb.root() + sb.sentinel() + "/pwn"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, AbsoluteSymlinkSameLayerWrittenThrough) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("evil", sb.sentinel()), tar_file("evil/pwn", "x")});
  // Inside the root, the symlink's target does not exist: a dangling parent.
  EXPECT_ERROR_HAS(r, "layer entry \"evil/pwn\": parent \"evil\" is a dangling symlink");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, AbsoluteSymlinkLowerLayerWrittenThrough) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("evil", sb.sentinel())}));
  auto r = extract(sb, {tar_file("evil/secret", "pwned", 0777)});
  EXPECT_ERROR_HAS(r, "dangling symlink");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, AbsoluteSymlinkToExistingInsidePathIsClamped) {
  Sandbox sb;
  // The symlink names the sentinel; the same path also exists inside the
  // root, so writing through it lands there.
  auto r = extract(sb, {tar_dir(sb.sentinel().substr(1)), tar_symlink("evil", sb.sentinel()),
                        tar_file("evil/secret", "pwned", 0777)});
  ASSERT_TRUE(r) << msg(r);
  EXPECT_TRUE(exists_nofollow(sb.root() + sb.sentinel() + "/secret"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, RelativeUpAndOutSymlink) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("a/evil", "../../../../../../../../" + sb.sentinel()),
                        tar_file("a/evil/secret", "pwned")});
  EXPECT_ERROR_HAS(r, "dangling symlink");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, RelativeUpAndOutSymlinkLowerLayer) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_dir("a"), tar_symlink("a/up", "../../sentinel")}));
  auto r = extract(sb, {tar_file("a/up/secret", "pwned")});
  EXPECT_ERROR_HAS(r, "dangling symlink");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, ParentDirectorySymlink) {
  Sandbox sb;
  // "up" -> ".." is the root itself inside the root: up/up/sentinel is root/sentinel.
  auto r = extract(sb, {tar_symlink("up", ".."), tar_dir("up/up/sentinel"),
                        tar_file("up/up/sentinel/secret", "pwned", 0777)});
  ASSERT_TRUE(r) << msg(r);
  EXPECT_TRUE(exists_nofollow(sb.root() + "/sentinel/secret"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SlashEndedSymlink) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("evil", sb.sentinel() + "/"), tar_file("evil/pwn", "x")});
  EXPECT_ERROR_HAS(r, "dangling symlink");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SlashEndedDirectoryEntryOverSymlink) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("evil", sb.sentinel() + "/dir/")}));
  // "evil/" as a directory: replaces the symlink, never chmods its target.
  auto r = extract(sb, {tar_dir("evil/", 0777), tar_file("evil/file", "pwned", 0777)});
  ASSERT_TRUE(r) << msg(r);
  struct stat st;
  ASSERT_EQ(::lstat((sb.root() + "/evil").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SymlinkOverridesDirectory) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_dir("d"), tar_file("d/keep", "k")}));
  auto r = extract(sb, {tar_symlink("d", sb.sentinel()), tar_file("d/pwn", "x")});
  EXPECT_ERROR_HAS(r, "dangling symlink");
  struct stat st;
  ASSERT_EQ(::lstat((sb.root() + "/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, DirectoryOverridesSymlink) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("d", sb.sentinel())}));
  auto r = extract(sb, {tar_dir("d", 0777), tar_file("d/secret", "pwned", 0777)});
  ASSERT_TRUE(r) << msg(r);
  struct stat st;
  ASSERT_EQ(::lstat((sb.root() + "/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, FileOverridesSymlink) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("f", sb.sentinel() + "/secret")}));
  auto r = extract(sb, {tar_file("f", "pwned", 0777)});
  ASSERT_TRUE(r) << msg(r);
  struct stat st;
  ASSERT_EQ(::lstat((sb.root() + "/f").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SymlinkNamedRoot) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("/", sb.sentinel())});
  EXPECT_ERROR_HAS(r, "layer entry \"/\": empty name");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SymlinkNamedDot) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink(".", sb.sentinel()), tar_file("pwn", "x")});
  EXPECT_ERROR_HAS(r, "layer entry \".\": empty name");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, HardlinkOutsideRoot) {
  Sandbox sb;
  auto r = extract(sb, {tar_hardlink("h", "../sentinel/secret")});
  EXPECT_ERROR_HAS(r, "layer entry \"h\": hardlink target \"../sentinel/secret\" escapes");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, HardlinkAbsoluteTargetStaysInside) {
  Sandbox sb;
  auto r = extract(sb, {tar_hardlink("h", sb.sentinel() + "/secret")});
  EXPECT_ERROR_HAS(r, "layer entry \"h\": cannot open hardlink target");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, HardlinkToSymlinkPointingOutside) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("s", sb.sentinel() + "/secret"), tar_hardlink("h", "s")});
  ASSERT_TRUE(r) << msg(r);
  // h links the symlink itself, never the file it names.
  struct stat st;
  ASSERT_EQ(::lstat((sb.root() + "/h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  sb.expect_sentinel_unchanged(); // includes the secret's link count
}

TEST(ImageTarHostile, HardlinkThroughSymlinkedParent) {
  Sandbox sb;
  auto r = extract(sb, {tar_symlink("s", sb.sentinel()), tar_hardlink("h", "s/secret")});
  EXPECT_ERROR_HAS(r, "layer entry \"h\": cannot open hardlink target \"s/secret\"");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, SymlinkHardlinkChmodEscape) {
  Sandbox sb;
  // A naive extractor links h to s, then chmods "h" by path: the chmod
  // follows the symlink to the 0400 file outside.
  TarItem h = tar_hardlink("h", "s");
  h.mode = 0777;
  TarItem again = tar_file("s", "", 0777); // and a file entry over the symlink
  auto r = extract(sb, {tar_symlink("s", sb.sentinel() + "/secret"), h, tar_dir("h", 0777)});
  ASSERT_TRUE(r) << msg(r);
  auto r2 = extract(sb, {h, again});
  ASSERT_TRUE(r2) << msg(r2);
  struct stat st;
  ASSERT_EQ(::stat((sb.sentinel() + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, WhiteoutDotDot) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_dir("a"), tar_file("a/keep", "k")}));
  auto r = extract(sb, {tar_file("a/.wh...", "")});
  EXPECT_ERROR_HAS(r, "layer entry \"a/.wh...\": whiteout of \"..\"");
  EXPECT_TRUE(exists_nofollow(sb.root() + "/a/keep"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, WhiteoutDot) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_dir("a"), tar_file("a/keep", "k")}));
  auto r = extract(sb, {tar_file("a/.wh..", "")});
  EXPECT_ERROR_HAS(r, "layer entry \"a/.wh..\": whiteout of \".\"");
  EXPECT_TRUE(exists_nofollow(sb.root() + "/a/keep"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, WhiteoutOnSymlinkRemovesOnlyTheLink) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("s", sb.sentinel())}));
  auto r = extract(sb, {tar_file(".wh.s", "")});
  ASSERT_TRUE(r) << msg(r);
  EXPECT_FALSE(exists_nofollow(sb.root() + "/s"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, WhiteoutThroughSymlinkParent) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("s", sb.sentinel())}));
  auto r = extract(sb, {tar_file("s/.wh.secret", ""), tar_file("s/dir/.wh..wh..opq", "")});
  ASSERT_TRUE(r) << msg(r); // nothing of that name inside the root: nothing to delete
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, WhiteoutUnderDeadSymlinkParent) {
  Sandbox sb;
  ASSERT_TRUE(extract(sb, {tar_symlink("dead", "/nonexistent")}));
  auto r = extract(sb, {tar_file("dead/.wh.x", "")});
  ASSERT_TRUE(r) << msg(r);
  EXPECT_FALSE(exists_nofollow(sb.root() + "/nonexistent"));
  EXPECT_TRUE(exists_nofollow(sb.root() + "/dead"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, DeviceNodeOutOfRange) {
  Sandbox sb;
  TarItem dev;
  dev.path = "mem";
  dev.type = 'c';
  dev.dev_major = (1u << 12) + 1; // would truncate to 1:1, /dev/mem
  dev.dev_minor = 1;
  auto r = extract(sb, {dev});
  EXPECT_ERROR_HAS(r, "layer entry \"mem\": device number 4097:1 out of range");
  EXPECT_FALSE(exists_nofollow(sb.root() + "/mem"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, TinyGzipExceedsBudget) {
  Sandbox sb;
  std::string tar = make_tar({tar_file("bomb", std::string(16 << 20, '\0'))}, TarCompression::gzip);
  ExtractOptions o = opts();
  o.limits.max_uncompressed_bytes = 4 << 20;
  auto r = extract_layer(memfd_of(tar), sb.root_fd(), o);
  EXPECT_ERROR_HAS(r, "uncompressed size budget (max_uncompressed_bytes = 4194304)");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, MoreEntriesThanLimit) {
  Sandbox sb;
  std::vector<TarItem> items;
  for (int i = 0; i < 100; i++)
    items.push_back(tar_file("f" + std::to_string(i), ""));
  ExtractOptions o = opts();
  o.limits.max_entries = 50;
  auto r = extract_layer(memfd_of(make_tar(items)), sb.root_fd(), o);
  EXPECT_ERROR_HAS(r, "max_entries = 50");
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, HugeSparseSize) {
  Sandbox sb;
  TarItem t = tar_file("sparse", "data");
  t.sparse_size = int64_t(1) << 50; // 1 PiB apparent
  auto r = extract(sb, {t});
  EXPECT_ERROR_HAS(r, "layer entry \"sparse\": size 1125899906842624 exceeds the per-file limit");
  EXPECT_FALSE(exists_nofollow(sb.root() + "/sparse"));
  sb.expect_sentinel_unchanged();
}

TEST(ImageTarHostile, TruncatedArchive) {
  Sandbox sb;
  std::string tar = make_tar({tar_file("a", std::string(10000, 'a')), tar_file("b", "b")});
  tar.resize(512 + 5000);
  auto r = extract_layer(memfd_of(tar), sb.root_fd(), opts());
  EXPECT_ERROR_HAS(r, "layer entry \"a\": cannot read data");
  EXPECT_FALSE(exists_nofollow(sb.root() + "/b"));
  sb.expect_sentinel_unchanged();
}

} // namespace
