// extract_layer on well-formed layers: what lands on disk is what the tar
// says (content, type, mode, mtime, links, holes), across compressions and
// with whiteouts applied. Owners, devices and overlay whiteouts need root:
// tests/privileged/image_extract_*.cc.
#include <gtest/gtest.h>

#include "ctk/runtime/image_tar.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using namespace ctk::test;

ExtractOptions applied() {
  ExtractOptions o;
  o.keep_owners = false;
  o.overlay_whiteouts = false;
  return o;
}

std::string slurp(const std::string &p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct stat lst(const std::string &p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::vector<TarItem> sample_layer() {
  TarItem fifo;
  fifo.path = "run/fifo";
  fifo.type = 'p';
  fifo.mode = 0620;
  TarItem old = tar_file("etc/old", "old");
  old.mtime = 1'000'000'000;
  TarItem etc = tar_dir("etc", 0750);
  etc.mtime = 1'200'000'000;
  return {tar_dir("./"),
          etc,
          tar_file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644),
          tar_file("usr/bin/su", "ELF", 04755),
          tar_file("usr/bin/wall", "ELF", 02711),
          tar_dir("tmp", 01777),
          old,
          tar_symlink("etc/mtab", "/proc/self/mounts"),
          tar_hardlink("usr/bin/su2", "usr/bin/su"),
          tar_file("empty", "", 0600),
          fifo};
}

void check_sample(const Sandbox &sb) {
  std::string r = sb.root();
  EXPECT_EQ(slurp(r + "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(lst(r + "/etc/passwd").st_mode & 07777, 0644u);
  EXPECT_EQ(lst(r + "/etc").st_mode & 07777, 0750u);
  EXPECT_EQ(lst(r + "/etc").st_mtime, 1'200'000'000); // set after its contents
  EXPECT_EQ(lst(r + "/usr/bin/su").st_mode & 07777, 04755u);
  EXPECT_EQ(lst(r + "/usr/bin/wall").st_mode & 07777, 02711u);
  EXPECT_EQ(lst(r + "/tmp").st_mode & 07777, 01777u);
  EXPECT_EQ(lst(r + "/etc/old").st_mtime, 1'000'000'000);
  EXPECT_EQ(lst(r + "/etc/passwd").st_mtime, 1'600'000'000);
  EXPECT_TRUE(S_ISLNK(lst(r + "/etc/mtab").st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(r + "/etc/mtab"), "/proc/self/mounts");
  EXPECT_EQ(lst(r + "/usr/bin/su2").st_ino, lst(r + "/usr/bin/su").st_ino);
  EXPECT_EQ(lst(r + "/usr/bin/su").st_nlink, 2u);
  EXPECT_EQ(lst(r + "/usr").st_mode & 07777, 0755u); // implied parent
  EXPECT_TRUE(S_ISFIFO(lst(r + "/run/fifo").st_mode));
  EXPECT_EQ(lst(r + "/run/fifo").st_mode & 07777, 0620u);
  EXPECT_EQ(lst(r + "/empty").st_size, 0);
}

TEST(ImageTarExtract, RoundTripPlain) {
  Sandbox sb;
  auto r = extract_layer(memfd_of(make_tar(sample_layer())), sb.root_fd(), applied());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->entries, 10u); // the root entry is not counted
  EXPECT_EQ(r->bytes, 26u + 3 + 3 + 3);
  check_sample(sb);
}

TEST(ImageTarExtract, RoundTripGzip) {
  Sandbox sb;
  auto r = extract_layer(memfd_of(make_tar(sample_layer(), TarCompression::gzip)), sb.root_fd(),
                         applied());
  ASSERT_TRUE(r) << r.error().message();
  check_sample(sb);
}

TEST(ImageTarExtract, RoundTripZstd) {
  Sandbox sb;
  auto r = extract_layer(memfd_of(make_tar(sample_layer(), TarCompression::zstd)), sb.root_fd(),
                         applied());
  ASSERT_TRUE(r) << r.error().message();
  check_sample(sb);
}

TEST(ImageTarExtract, LargeFileContent) {
  Sandbox sb;
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++)
    big[i] = static_cast<char>(i * 7 + i / 4096);
  auto r = extract_layer(memfd_of(make_tar({tar_file("big", big)}, TarCompression::gzip)),
                         sb.root_fd(), applied());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(slurp(sb.root() + "/big") == big);
}

TEST(ImageTarExtract, SparseFileKeepsHoles) {
  Sandbox sb;
  TarItem t = tar_file("sparse", "head");
  t.sparse_size = int64_t(4) << 30; // 4 GiB apparent, 4 bytes of data
  auto r = extract_layer(memfd_of(make_tar({t})), sb.root_fd(), applied());
  ASSERT_TRUE(r) << r.error().message();
  struct stat st = lst(sb.root() + "/sparse");
  EXPECT_EQ(st.st_size, int64_t(4) << 30);
  EXPECT_LT(st.st_blocks * 512, 1 << 20); // not allocated
  char head[4] = {};
  std::ifstream(sb.root() + "/sparse").read(head, 4);
  EXPECT_EQ(std::string(head, 4), "head");
}

TEST(ImageTarExtract, ReplacesEntriesOfLowerLayer) {
  Sandbox sb;
  ASSERT_TRUE(
      extract_layer(memfd_of(make_tar({tar_dir("d", 0700), tar_file("d/a", "a"), tar_dir("x"),
                                       tar_file("x/deep", "d"), tar_file("f", "old")})),
                    sb.root_fd(), applied()));
  auto r = extract_layer(memfd_of(make_tar({tar_dir("d", 0755), tar_file("d/b", "b"),
                                            tar_file("x", "now a file"), tar_dir("f")})),
                         sb.root_fd(), applied());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(sb.root() + "/d/a"), "a"); // a directory over a directory merges
  EXPECT_EQ(lst(sb.root() + "/d").st_mode & 07777, 0755u);
  EXPECT_EQ(slurp(sb.root() + "/x"), "now a file");
  EXPECT_TRUE(S_ISDIR(lst(sb.root() + "/f").st_mode));
}

TEST(ImageTarExtract, AppliedWhiteouts) {
  Sandbox sb;
  ASSERT_TRUE(extract_layer(
      memfd_of(make_tar({tar_file("etc/secret", "s"), tar_file("etc/keep", "k"),
                         tar_dir("var/cache/sub"), tar_file("var/cache/sub/x", "x"),
                         tar_file("var/cache/y", "y"), tar_dir("gone"), tar_file("gone/z", "z")})),
      sb.root_fd(), applied()));
  // Same-layer entries survive the opaque marker, whatever their order.
  auto r = extract_layer(
      memfd_of(make_tar({tar_file("var/cache/new", "n"), tar_file("etc/.wh.secret", ""),
                         tar_file("var/cache/.wh..wh..opq", ""), tar_file(".wh.gone", ""),
                         tar_file(".wh.never", "")})),
      sb.root_fd(), applied());
  ASSERT_TRUE(r) << r.error().message();
  std::string root = sb.root();
  EXPECT_FALSE(std::filesystem::exists(root + "/etc/secret"));
  EXPECT_TRUE(std::filesystem::exists(root + "/etc/keep"));
  EXPECT_FALSE(std::filesystem::exists(root + "/var/cache/sub"));
  EXPECT_FALSE(std::filesystem::exists(root + "/var/cache/y"));
  EXPECT_EQ(slurp(root + "/var/cache/new"), "n");
  EXPECT_FALSE(std::filesystem::exists(root + "/gone"));
}

} // namespace
