// LayerReader: normalised entries, whiteouts, budgets and hostile names.
#include <gtest/gtest.h>

#include "ctk/runtime/image_tar.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using namespace ctk::test;

struct ReadAll {
  std::vector<Entry> entries;
  std::vector<std::string> data; // per entry
  std::optional<Error> error;
};

ReadAll read_all(const std::string &tar, const Limits &lim = {}) {
  ReadAll out;
  auto r = LayerReader::open(memfd_of(tar), lim);
  if (!r) {
    out.error = r.error();
    return out;
  }
  Entry e;
  for (;;) {
    auto more = r->next(e);
    if (!more) {
      out.error = more.error();
      return out;
    }
    if (!*more)
      return out;
    std::string d;
    char buf[4096];
    for (;;) {
      auto n = r->read_data(buf, sizeof buf);
      if (!n) {
        out.error = n.error();
        return out;
      }
      if (*n == 0)
        break;
      d.append(buf, *n);
    }
    out.entries.push_back(e);
    out.data.push_back(std::move(d));
  }
}

std::string error_of(const ReadAll &r) {
  return r.error ? r.error->message() : "(no error)";
}

TEST(ImageTarReader, NormalisesPathsAndTypes) {
  TarItem dev;
  dev.path = "dev/null";
  dev.type = 'c';
  dev.dev_major = 1;
  dev.dev_minor = 3;
  dev.mode = 0666;
  TarItem fifo;
  fifo.path = "run/fifo";
  fifo.type = 'p';
  TarItem suid = tar_file("/usr/bin/su", "x", 04755);
  suid.uid = 0;
  suid.gid = 42;
  suid.caps = std::string("\x01\x00\x00\x02", 4);
  auto r = read_all(
      make_tar({tar_dir("./"), tar_dir("./etc"), tar_file(".//etc/./passwd", "root:x:0:0\n"),
                tar_symlink("etc/link", "../etc/passwd"), tar_hardlink("etc/hard", "./etc//passwd"),
                dev, fifo, suid, tar_file("a/b/../c", "c")}));
  ASSERT_FALSE(r.error) << error_of(r);
  ASSERT_EQ(r.entries.size(), 8u); // the root entry is skipped
  EXPECT_EQ(r.entries[0].path, "etc");
  EXPECT_EQ(r.entries[0].type, EntryType::dir);
  EXPECT_EQ(r.entries[1].path, "etc/passwd");
  EXPECT_EQ(r.entries[1].size, 11u);
  EXPECT_EQ(r.data[1], "root:x:0:0\n");
  EXPECT_EQ(r.entries[2].type, EntryType::symlink);
  EXPECT_EQ(r.entries[2].link_target, "../etc/passwd"); // as stored
  EXPECT_EQ(r.entries[3].type, EntryType::hardlink);
  EXPECT_EQ(r.entries[3].link_target, "etc/passwd");
  EXPECT_EQ(r.entries[4].type, EntryType::chardev);
  EXPECT_EQ(r.entries[4].dev_major, 1u);
  EXPECT_EQ(r.entries[4].dev_minor, 3u);
  EXPECT_EQ(r.entries[5].type, EntryType::fifo);
  EXPECT_EQ(r.entries[6].path, "usr/bin/su");
  EXPECT_EQ(r.entries[6].mode, 04755u);
  EXPECT_EQ(r.entries[6].gid, 42u);
  EXPECT_EQ(r.entries[6].mtime, 1'600'000'000);
  EXPECT_TRUE(r.entries[6].has_capabilities);
  EXPECT_FALSE(r.entries[1].has_capabilities);
  EXPECT_EQ(r.entries[7].path, "a/c");
}

TEST(ImageTarReader, Whiteouts) {
  auto r =
      read_all(make_tar({tar_file("etc/.wh.passwd", ""), tar_file("var/cache/.wh..wh..opq", ""),
                         tar_file(".wh.top", ""), tar_file("x/.wh..wh.plnk", "")}));
  ASSERT_FALSE(r.error) << error_of(r);
  ASSERT_EQ(r.entries.size(), 3u); // aufs metadata skipped
  EXPECT_TRUE(r.entries[0].whiteout);
  EXPECT_EQ(r.entries[0].path, "etc/passwd");
  EXPECT_TRUE(r.entries[1].opaque);
  EXPECT_FALSE(r.entries[1].whiteout);
  EXPECT_EQ(r.entries[1].path, "var/cache");
  EXPECT_TRUE(r.entries[2].whiteout);
  EXPECT_EQ(r.entries[2].path, "top");
}

TEST(ImageTarReader, DotDotEntryEscapesRoot) {
  auto r = read_all(make_tar({tar_file("../etc/passwd", "x")}));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->message(), "layer entry \"../etc/passwd\": path escapes the layer root");
}

TEST(ImageTarReader, DotDotDeepEscapesRoot) {
  auto r = read_all(make_tar({tar_file("a/../../x", "x")}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("escapes the layer root"), std::string::npos) << error_of(r);
}

TEST(ImageTarReader, AbsolutePathIsMadeRelative) {
  auto r = read_all(make_tar({tar_file("/x", "x")}));
  ASSERT_FALSE(r.error) << error_of(r);
  EXPECT_EQ(r.entries.at(0).path, "x");
}

TEST(ImageTarReader, HardlinkTargetEscapes) {
  auto r = read_all(make_tar({tar_hardlink("h", "../../etc/shadow")}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"h\": hardlink target \"../../etc/shadow\" escapes"),
            std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, WhiteoutDotDotRejected) {
  auto r = read_all(make_tar({tar_file("a/.wh...", "")}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"a/.wh...\": whiteout of \"..\""), std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, WhiteoutDotRejected) {
  auto r = read_all(make_tar({tar_file("a/.wh..", "")}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("whiteout of \".\""), std::string::npos) << error_of(r);
}

TEST(ImageTarReader, WhiteoutEmptyNameRejected) {
  auto r = read_all(make_tar({tar_file("a/.wh.", "")}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("whiteout of \"\""), std::string::npos) << error_of(r);
}

TEST(ImageTarReader, DeviceNumberOutOfRange) {
  TarItem dev;
  dev.path = "dev/mem2";
  dev.type = 'c';
  dev.dev_major = 4096 + 1; // truncated by mknod to 1 = /dev/mem
  dev.dev_minor = 1;
  auto r = read_all(make_tar({dev}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"dev/mem2\": device number 4097:1 out of range"),
            std::string::npos)
      << error_of(r);
  dev.dev_major = 1;
  dev.dev_minor = 0x100000;
  r = read_all(make_tar({dev}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("out of range"), std::string::npos) << error_of(r);
}

TEST(ImageTarReader, TinyGzipExceedsBudget) {
  std::string tar = make_tar({tar_file("zeros", std::string(8 << 20, '\0'))}, TarCompression::gzip);
  ASSERT_LT(tar.size(), 64u * 1024); // tiny on disk
  Limits lim;
  lim.max_uncompressed_bytes = 1 << 20;
  auto r = read_all(tar, lim);
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"zeros\": file data exceeds the uncompressed size "
                             "budget (max_uncompressed_bytes = 1048576)"),
            std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, ManySmallFilesExceedBudget) {
  std::vector<TarItem> items;
  for (int i = 0; i < 40; i++)
    items.push_back(tar_file("f" + std::to_string(i), std::string(64 * 1024, 'a')));
  Limits lim;
  lim.max_uncompressed_bytes = 1 << 20;
  auto r = read_all(make_tar(items, TarCompression::zstd), lim);
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("max_uncompressed_bytes = 1048576"), std::string::npos) << error_of(r);
  EXPECT_EQ(r.entries.size(), 16u); // stopped at the entry that crossed the budget
}

TEST(ImageTarReader, MoreEntriesThanLimit) {
  std::vector<TarItem> items;
  for (int i = 0; i < 11; i++)
    items.push_back(tar_file("f" + std::to_string(i), ""));
  Limits lim;
  lim.max_entries = 10;
  auto r = read_all(make_tar(items), lim);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.entries.size(), 10u);
  EXPECT_NE(error_of(r).find("more entries than the limit (max_entries = 10)"), std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, HugeSparseSizeRejected) {
  TarItem t = tar_file("sparse", "data");
  t.sparse_size = int64_t(1) << 40; // 1 TiB apparent
  auto r = read_all(make_tar({t}));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"sparse\": size 1099511627776 exceeds the per-file "
                             "limit (max_file_size = "),
            std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, TruncatedArchive) {
  std::string tar = make_tar({tar_file("a", std::string(10000, 'a')), tar_file("b", "b")});
  tar.resize(512 + 4000);
  auto r = read_all(tar);
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer entry \"a\": cannot read data"), std::string::npos)
      << error_of(r);
}

TEST(ImageTarReader, TruncatedGzipWhenSkippingData) {
  std::string noise(1 << 20, '\0');
  uint32_t x = 12345;
  for (auto &c : noise) // incompressible, so half the gzip stream cuts into a's data
    c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  std::string tar = make_tar({tar_file("a", noise), tar_file("b", "b")}, TarCompression::gzip);
  tar.resize(tar.size() / 2);
  auto r = LayerReader::open(memfd_of(tar));
  ASSERT_TRUE(r) << r.error().message();
  Entry e;
  auto first = r->next(e);
  ASSERT_TRUE(first && *first);
  auto second = r->next(e); // skips a's data without reading it
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("layer entry \"a\""), std::string::npos)
      << second.error().message();
}

TEST(ImageTarReader, NotATarIsAClearError) {
  auto r = read_all(std::string(2000, 'x'));
  ASSERT_TRUE(r.error);
  EXPECT_NE(error_of(r).find("layer"), std::string::npos) << error_of(r);
}

TEST(ImageTarReader, EmptyLayerFile) {
  auto r = read_all("");
  EXPECT_FALSE(r.error) << error_of(r);
  EXPECT_TRUE(r.entries.empty());
}

TEST(ImageTarReader, ZstdAndCompressedBytes) {
  std::string tar = make_tar({tar_file("a", std::string(200000, 'z'))}, TarCompression::zstd);
  auto r = LayerReader::open(memfd_of(tar));
  ASSERT_TRUE(r);
  Entry e;
  ASSERT_TRUE(*r->next(e));
  uint64_t total = 0, off = 0;
  const char *p;
  size_t len;
  while (true) {
    auto b = r->read_block(p, len, off);
    ASSERT_TRUE(b) << b.error().message();
    if (!*b)
      break;
    EXPECT_EQ(off, total);
    total += len;
  }
  EXPECT_EQ(total, 200000u);
  ASSERT_FALSE(*r->next(e));
  EXPECT_EQ(r->compressed_bytes_read(), tar.size());
}

} // namespace
