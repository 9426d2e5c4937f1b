// diff_images on layer stacks built here: file changes of every kind, whiteouts
// and opaque directories honoured, package databases read from the final
// tree only, and shared layers.
#include <atomic>

#include <gtest/gtest.h>

#include "ctk/runtime/image_diff.h"
#include "unit/image_audit_stack.h"

using namespace ctk::rt::image;
using ctk::test::audit_layer;
using ctk::test::owned;
using ctk::test::tar_dir;
using ctk::test::tar_file;
using ctk::test::tar_hardlink;
using ctk::test::tar_symlink;
using ctk::test::TarCompression;
using ctk::test::TarItem;

namespace {

std::string dpkg_stanza(const std::string &name, const std::string &version,
                        const std::string &size = "10") {
  return "Package: " + name + "\nStatus: install ok installed\nVersion: " + version +
         "\nArchitecture: amd64\nInstalled-Size: " + size + "\n\n";
}

const FileChange *find(const DiffResult &d, const std::string &path) {
  for (const FileChange &c : d.files)
    if (c.path == path)
      return &c;
  return nullptr;
}

DiffResult run(const std::vector<AuditLayerInput> &a, const std::vector<AuditLayerInput> &b,
               DiffOptions opt = {}) {
  auto d = diff_images(a, b, opt);
  EXPECT_TRUE(d) << d.error().message();
  return d ? std::move(*d) : DiffResult{};
}

// The base both images share.
AuditLayerInput base_layer() {
  return audit_layer(
      {
          tar_dir("etc"),
          tar_file("etc/passwd", "root:x:0:0\n"),
          tar_file("etc/motd", "hello\n"),
          tar_dir("bin"),
          tar_file("bin/tool", std::string(30, 't'), 0755),
          tar_symlink("bin/sh", "busybox"),
          tar_file("bin/busybox", std::string(40, 'b'), 0755),
          tar_dir("var/lib/dpkg"),
          tar_file("var/lib/dpkg/status", dpkg_stanza("libc6", "2.36-9") +
                                              dpkg_stanza("curl", "7.88.1-10") +
                                              dpkg_stanza("gone", "1.0")),
          tar_dir("cache"),
          tar_file("cache/a", "aaaa"),
          tar_file("cache/b", "bbbb"),
          tar_file("data", "same size"),
      },
      "sha256:base", TarCompression::gzip);
}

} // namespace

TEST(ImageDiff, EveryKindOfFileChange) {
  std::vector<AuditLayerInput> a = {base_layer()};
  std::vector<AuditLayerInput> b = {
      base_layer(),
      audit_layer(
          {
              tar_file("etc/motd", "hello, world\n"),                    // content and size
              tar_file("bin/tool", std::string(30, 't'), 0700),          // mode only
              owned(tar_file("etc/passwd", "root:x:0:0\n"), 1000, 1000), // owner only
              tar_symlink("bin/sh", "bash"),                             // link target
              tar_file("bin/.wh.busybox", ""),                           // deleted
              tar_file("cache/.wh..wh..opq", ""),                        // opaque: a and b go
              tar_file("cache/b", "bbbb"),                               // ... b comes back
              tar_file("data", "SAME SIZE"),                             // same size, new data
              tar_file("new/deep/file", "x"),                            // implicit parents
              tar_dir("etc"),                                            // rewritten, same
          },
          "sha256:top"),
  };
  DiffResult d = run(a, b, {.packages = false});

  std::vector<std::string> paths;
  for (const FileChange &c : d.files)
    paths.push_back(std::string(1, change_letter(c.change)) + " " + c.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"D bin/busybox", "C bin/sh", "C bin/tool", "D cache/a",
                                             "C data", "C etc/motd", "C etc/passwd", "A new",
                                             "A new/deep", "A new/deep/file"}));

  const FileChange *motd = find(d, "etc/motd");
  ASSERT_TRUE(motd);
  EXPECT_EQ(motd->what, diff_content);
  EXPECT_EQ(motd->old_state.size, 6u);
  EXPECT_EQ(motd->new_state.size, 13u);
  EXPECT_EQ(find(d, "data")->what, diff_content); // the hash, not the size, tells
  const FileChange *tool = find(d, "bin/tool");
  EXPECT_EQ(tool->what, diff_mode);
  EXPECT_EQ(tool->old_state.mode & 07777, 0755u);
  EXPECT_EQ(tool->new_state.mode & 07777, 0700u);
  EXPECT_EQ(find(d, "etc/passwd")->what, diff_owner);
  EXPECT_EQ(find(d, "etc/passwd")->new_state.uid, 1000u);
  const FileChange *sh = find(d, "bin/sh");
  EXPECT_EQ(sh->what, diff_link);
  EXPECT_EQ(sh->old_state.link_target, "busybox");
  EXPECT_EQ(sh->new_state.link_target, "bash");
  EXPECT_EQ(diff_bits_string(sh->what), "link");
  const FileChange *bb = find(d, "bin/busybox");
  EXPECT_EQ(bb->old_state.size, 40u);
  EXPECT_EQ(find(d, "new/deep")->new_state.type, EntryType::dir);
  EXPECT_FALSE(find(d, "cache/b")); // deleted by the opaque marker and written back identically
  EXPECT_FALSE(find(d, "etc"));
}

TEST(ImageDiff, ReversedDiffSwapsAddedAndRemoved) {
  std::vector<AuditLayerInput> a = {base_layer()};
  std::vector<AuditLayerInput> b = {
      base_layer(), audit_layer({tar_file("extra", "1"), tar_file(".wh.data", "")}, "sha256:x")};
  DiffResult fwd = run(a, b), back = run(b, a);
  ASSERT_EQ(fwd.files.size(), 2u);
  ASSERT_EQ(back.files.size(), 2u);
  EXPECT_EQ(fwd.files[0].path, "data");
  EXPECT_EQ(fwd.files[0].change, FileChangeKind::removed);
  EXPECT_EQ(back.files[0].change, FileChangeKind::added);
  EXPECT_EQ(fwd.files[1].change, FileChangeKind::added);
  EXPECT_EQ(back.files[1].change, FileChangeKind::removed);
}

TEST(ImageDiff, TypeChangeAndIdenticalImages) {
  std::vector<AuditLayerInput> a = {base_layer()};
  EXPECT_TRUE(run(a, {base_layer()}).files.empty());
  std::vector<AuditLayerInput> b = {
      base_layer(), audit_layer({tar_file(".wh.cache", ""), tar_file("cache", "now a file"),
                                 tar_hardlink("etc/motd", "etc/passwd")},
                                "sha256:t")};
  DiffResult d = run(a, b);
  const FileChange *cache = find(d, "cache");
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->change, FileChangeKind::changed);
  EXPECT_EQ(cache->what & diff_type, diff_type);
  EXPECT_EQ(cache->old_state.type, EntryType::dir);
  EXPECT_EQ(cache->new_state.type, EntryType::file);
  EXPECT_EQ(find(d, "cache/a")->change, FileChangeKind::removed);
  EXPECT_EQ(find(d, "etc/motd")->new_state.type, EntryType::hardlink);
  EXPECT_EQ(find(d, "etc/motd")->new_state.link_target, "etc/passwd");
}

TEST(ImageDiff, PackagesFromTheFinalTreeOnly) {
  std::vector<AuditLayerInput> a = {base_layer()};
  std::vector<AuditLayerInput> b = {
      base_layer(),
      audit_layer({tar_file("var/lib/dpkg/status", dpkg_stanza("libc6", "2.36-9+deb12u4", "20") +
                                                       dpkg_stanza("curl", "7.88.1-10") +
                                                       dpkg_stanza("jq", "1.6-2.1"))},
                  "sha256:upgrade")};
  DiffResult d = run(a, b, {.files = false});
  EXPECT_TRUE(d.files.empty());
  EXPECT_TRUE(d.a_databases.dpkg);
  EXPECT_FALSE(d.a_databases.apk);
  ASSERT_EQ(d.packages.size(), 3u);
  EXPECT_EQ(d.packages[0].name, "gone");
  EXPECT_EQ(d.packages[0].change, PackageChangeKind::removed);
  EXPECT_EQ(d.packages[1].name, "jq");
  EXPECT_EQ(d.packages[1].change, PackageChangeKind::added);
  EXPECT_EQ(d.packages[2].name, "libc6");
  EXPECT_EQ(d.packages[2].change, PackageChangeKind::upgraded);
  EXPECT_EQ(d.packages[2].old_size, 10u * 1024);
  EXPECT_EQ(d.packages[2].new_size, 20u * 1024);

  // A whiteout of the database: no database, every package removed.
  std::vector<AuditLayerInput> c = {
      base_layer(), audit_layer({tar_file("var/lib/dpkg/.wh.status", "")}, "sha256:rm")};
  DiffResult gone = run(a, c);
  EXPECT_FALSE(gone.b_databases.any());
  ASSERT_EQ(gone.packages.size(), 3u);
  for (const PackageChange &p : gone.packages)
    EXPECT_EQ(p.change, PackageChangeKind::removed) << p.name;
}

TEST(ImageDiff, DistrolessStatusDirAndApk) {
  std::vector<AuditLayerInput> a = {
      audit_layer({tar_file("var/lib/dpkg/status.d/base-files", dpkg_stanza("base-files", "12.4")),
                   tar_file("var/lib/dpkg/status.d/base-files.md5sums", "d41d8cd9  etc/issue\n"),
                   tar_file("var/lib/dpkg/status.d/tzdata", dpkg_stanza("tzdata", "2024a-0"))},
                  "sha256:distroless")};
  std::vector<AuditLayerInput> b = {audit_layer(
      {tar_file("lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\nI:622592\n\n"
                                        "P:busybox\nV:1.36.1-r5\nA:x86_64\nI:946176\n")},
      "sha256:alpine", TarCompression::zstd)};
  DiffResult d = run(a, b);
  EXPECT_TRUE(d.a_databases.dpkg);
  EXPECT_TRUE(d.b_databases.apk);
  ASSERT_EQ(d.a_databases.packages.size(), 2u);
  ASSERT_EQ(d.packages.size(), 4u);
  EXPECT_EQ(d.packages[0].name, "base-files");
  EXPECT_EQ(d.packages[0].change, PackageChangeKind::removed);
  EXPECT_EQ(d.packages[1].name, "busybox");
  EXPECT_EQ(d.packages[1].manager, PackageManager::apk);
  EXPECT_EQ(d.packages[1].new_size, 946176u);
}

TEST(ImageDiff, NoDatabasesAndOversizedDatabase) {
  std::vector<AuditLayerInput> a = {audit_layer({tar_file("x", "1")}, "sha256:a")};
  std::vector<AuditLayerInput> b = {audit_layer({tar_file("x", "2")}, "sha256:b")};
  DiffResult d = run(a, b);
  EXPECT_FALSE(d.a_databases.any());
  EXPECT_FALSE(d.b_databases.any());
  EXPECT_TRUE(d.packages.empty());
  ASSERT_EQ(d.files.size(), 1u);

  DiffOptions small;
  small.max_db_bytes = 16;
  small.b_name = "image big:1";
  auto r = diff_images(a, {base_layer()}, small);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/var/lib/dpkg/status of image big:1"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("larger than 16 bytes"), std::string::npos);
}

TEST(ImageDiff, SharedLayersAreReadOnceAndErrorsNameTheLayer) {
  std::atomic<int> opens{0};
  auto counted = [&](AuditLayerInput in) {
    auto inner = in.open;
    in.open = [inner, &opens] {
      ++opens;
      return inner();
    };
    return in;
  };
  std::vector<AuditLayerInput> a = {counted(base_layer())};
  std::vector<AuditLayerInput> b = {counted(base_layer()),
                                    counted(audit_layer({tar_file("y", "1")}, "sha256:y"))};
  DiffResult d = run(a, b);
  EXPECT_EQ(opens.load(), 2);
  EXPECT_EQ(d.files.size(), 1u);

  std::vector<AuditLayerInput> bad = {base_layer()};
  AuditLayerInput broken;
  broken.digest = "sha256:broken";
  broken.open = [] { return ctk::test::memfd_of("this is not a tar archive at all"); };
  bad.push_back(broken);
  DiffOptions opt;
  opt.b_name = "image bad:1";
  auto r = diff_images(a, bad, opt);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("cannot read image bad:1 layer 1 (sha256:broken)"),
            std::string::npos)
      << r.error().message();
}

TEST(ImageDiff, SameResultOnOneThreadAndTwo) {
  std::vector<AuditLayerInput> a = {base_layer()};
  std::vector<AuditLayerInput> b = {
      base_layer(), audit_layer({tar_file("etc/motd", "x"), tar_file(".wh.bin", "")}, "sha256:z")};
  DiffResult one = run(a, b, {.threads = 1}), two = run(a, b, {.threads = 2});
  ASSERT_EQ(one.files.size(), two.files.size());
  for (size_t i = 0; i < one.files.size(); ++i) {
    EXPECT_EQ(one.files[i].path, two.files[i].path);
    EXPECT_EQ(one.files[i].what, two.files[i].what);
  }
  EXPECT_EQ(one.packages.size(), two.packages.size());
}
