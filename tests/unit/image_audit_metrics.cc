// Layer audit on a synthetic stack: every figure below is computed by hand
// from the layers in image_audit_stack.h.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "unit/image_audit_stack.h"

using namespace ctk::rt::image;
using ctk::test::sample_stack;

namespace {

const LayerFile *file_in(const LayerAudit &la, const std::string &path) {
  for (const LayerFile &f : la.files)
    if (f.path == path)
      return &f;
  return nullptr;
}

Audit run_sample(unsigned threads = 0) {
  AuditOptions opt;
  opt.threads = threads;
  auto a = audit_layers(sample_stack(), opt);
  EXPECT_TRUE(a) << a.error().message();
  return a ? std::move(*a) : Audit{};
}

} // namespace

TEST(ImageAuditMetrics, LayerSizesAndDiveMetrics) {
  Audit a = run_sample();
  ASSERT_EQ(a.layers.size(), 4u);
  EXPECT_EQ(a.layers[0].size, 472u);
  EXPECT_EQ(a.layers[1].size, 130u);
  EXPECT_EQ(a.layers[2].size, 359u);
  EXPECT_EQ(a.layers[3].size, 0u);
  EXPECT_TRUE(a.layers[3].empty_layer);
  EXPECT_EQ(a.layers[0].digest, "sha256:l0");
  EXPECT_GT(a.layers[0].compressed_size, 0u); // taken from the gzip bytes read

  const AuditMetrics &m = a.metrics;
  // min over paths 481, sum over paths 1053 (see the per-path table in the
  // header comments): passwd 3x100, su 2x50, tool 2x30, deploy 2x49,
  // data.bin 2x200, cache 0+31, opt 0+12, singles 10+21+5+7+9.
  EXPECT_DOUBLE_EQ(m.efficiency, 481.0 / 1053.0);
  EXPECT_EQ(m.wasted_bytes, 1001u);
  EXPECT_EQ(m.total_bytes, 961u);
  EXPECT_EQ(m.user_bytes, 489u);
  EXPECT_DOUBLE_EQ(m.user_wasted_percent, 1001.0 / 489.0);
  EXPECT_EQ(m.final_bytes, 389u);
  EXPECT_EQ(m.reclaimable_bytes, 572u);
}

TEST(ImageAuditMetrics, SameResultOnOneThreadAndTwo) {
  Audit one = run_sample(1), two = run_sample(2);
  EXPECT_EQ(one.metrics.wasted_bytes, two.metrics.wasted_bytes);
  EXPECT_EQ(one.metrics.efficiency, two.metrics.efficiency);
  ASSERT_EQ(one.findings.size(), two.findings.size());
  for (size_t i = 0; i < one.findings.size(); ++i)
    EXPECT_EQ(one.findings[i].path, two.findings[i].path);
}

TEST(ImageAuditMetrics, ChangesClassifiedPerLayer) {
  Audit a = run_sample();
  const LayerAudit &l1 = a.layers[1], &l2 = a.layers[2];

  const LayerFile *passwd = file_in(l1, "etc/passwd");
  ASSERT_TRUE(passwd);
  EXPECT_EQ(passwd->status, FileStatus::modified);
  EXPECT_EQ(passwd->changes, change_content);

  const LayerFile *tool = file_in(l1, "bin/tool");
  ASSERT_TRUE(tool);
  EXPECT_EQ(tool->status, FileStatus::modified);
  EXPECT_EQ(tool->changes, change_mode); // chmod only: same bytes

  const LayerFile *key = file_in(l1, "app/deploy");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->status, FileStatus::deleted);
  EXPECT_EQ(key->size, 49u);

  const LayerFile *cache = file_in(l1, "cache");
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->status, FileStatus::deleted);
  EXPECT_EQ(cache->type, EntryType::dir);
  EXPECT_EQ(cache->size, 31u);           // cache/a + cache/sub/.env
  EXPECT_EQ(cache->deleted_entries, 4u); // cache, cache/a, cache/sub, cache/sub/.env
  EXPECT_EQ(l1.deleted, 2u);
  EXPECT_EQ(l1.deleted_bytes, 80u);
  EXPECT_EQ(l1.added, 1u); // shared/
  EXPECT_EQ(l1.modified, 2u);

  const LayerFile *data = file_in(l2, "app/data.bin");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->status, FileStatus::modified);
  EXPECT_EQ(data->changes, change_owner);
  const LayerFile *su = file_in(l2, "bin/su");
  ASSERT_TRUE(su);
  EXPECT_EQ(su->changes, change_group);
  const LayerFile *same = file_in(l2, "etc/passwd");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, FileStatus::unchanged); // rewritten with identical bytes
  const LayerFile *opq = file_in(l2, "opt");
  ASSERT_TRUE(opq);
  // The opaque marker is listed as a deletion of what lay below opt/.
  auto opaque =
      std::find_if(l2.files.begin(), l2.files.end(), [](const LayerFile &f) { return f.opaque; });
  ASSERT_NE(opaque, l2.files.end());
  EXPECT_EQ(opaque->path, "opt");
  EXPECT_EQ(opaque->size, 12u);
  EXPECT_EQ(opaque->deleted_entries, 2u);
  ASSERT_TRUE(file_in(l2, "opt/z"));
  EXPECT_EQ(file_in(l2, "opt/z")->status, FileStatus::added);
  EXPECT_EQ(l2.unchanged, 3u); // etc/, etc/passwd, opt/
  EXPECT_EQ(l2.unchanged_bytes, 100u);
}

TEST(ImageAuditMetrics, LargestWastedPaths) {
  Audit a = run_sample();
  ASSERT_EQ(a.wasted.size(), 7u);
  EXPECT_EQ(a.wasted[0].path, "app/data.bin");
  EXPECT_EQ(a.wasted[0].total, 400u);
  EXPECT_EQ(a.wasted[0].count, 2u);
  EXPECT_EQ(a.wasted[1].path, "etc/passwd");
  EXPECT_EQ(a.wasted[1].count, 3u);
  EXPECT_EQ(a.wasted[1].total, 300u);
  EXPECT_EQ(a.wasted[6].path, "opt");
  EXPECT_EQ(a.wasted[6].total, 12u);

  AuditOptions opt;
  opt.top_wasted = 2;
  auto top2 = audit_layers(sample_stack(), opt);
  ASSERT_TRUE(top2);
  EXPECT_EQ(top2->wasted.size(), 2u);
  EXPECT_EQ(top2->metrics.wasted_bytes, 1001u); // the cut does not change the total
}

TEST(ImageAuditMetrics, FindingsDeletedSecretsSetuidWorldWritable) {
  Audit a = run_sample();
  std::vector<std::string> got;
  for (const Finding &f : a.findings)
    got.push_back(std::string(finding_kind_name(f.kind)) + " " + f.path +
                  (f.secret ? " secret" : ""));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "deleted-but-shipped app/deploy secret",
                     "deleted-but-shipped cache/sub/.env secret", "deleted-but-shipped cache/a",
                     "deleted-but-shipped opt/x", "deleted-but-shipped opt/y", "setuid bin/su",
                     "world-writable shared", // tmp/ is sticky: not reported
                 }));
  const Finding &key = a.findings[0];
  EXPECT_EQ(key.reason, "private key content");
  EXPECT_EQ(key.layer, 0u);
  EXPECT_EQ(key.deleted_in, 1u);
  EXPECT_EQ(key.size, 49u);
  EXPECT_EQ(a.findings[1].reason, "name .env");
  EXPECT_EQ(a.findings[4].deleted_in, 2u);
}

TEST(ImageAuditMetrics, NothingRepeatedIsFullyEfficient) {
  std::vector<AuditLayerInput> in;
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file("a", "1234")}, "l0"));
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file("b", "12")}, "l1"));
  auto a = audit_layers(in);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_DOUBLE_EQ(a->metrics.efficiency, 1.0);
  EXPECT_EQ(a->metrics.wasted_bytes, 0u);
  EXPECT_DOUBLE_EQ(a->metrics.user_wasted_percent, 0.0);
  EXPECT_EQ(a->metrics.reclaimable_bytes, 0u);
}

TEST(ImageAuditMetrics, EmptyImage) {
  auto none = audit_layers({});
  ASSERT_TRUE(none);
  EXPECT_DOUBLE_EQ(none->metrics.efficiency, 1.0);
  EXPECT_EQ(none->metrics.total_bytes, 0u);

  // A secret added then deleted with nothing else after the base: waste but
  // no user bytes, so the ratio is infinite (a highest-percent rule fails).
  std::vector<AuditLayerInput> in;
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file(".netrc", "machine x")}, "l0"));
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file(".wh..netrc", "")}, "l1"));
  auto a = audit_layers(in);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->metrics.wasted_bytes, 18u);
  EXPECT_TRUE(std::isinf(a->metrics.user_wasted_percent));
  ASSERT_EQ(a->findings.size(), 1u);
  EXPECT_TRUE(a->findings[0].secret);
}

TEST(ImageAuditMetrics, LayerErrorNamesTheLayer) {
  std::vector<AuditLayerInput> in;
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file("a", "1")}, "sha256:good"));
  AuditLayerInput bad;
  bad.digest = "sha256:bad";
  bad.open = []() -> ctk::rt::Result<ctk::rt::UniqueFd> {
    return ctk::test::memfd_of("this is not a tar archive, not even close to one");
  };
  in.push_back(std::move(bad));
  auto a = audit_layers(in);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("layer 1 (sha256:bad)"), std::string::npos)
      << a.error().message();
}

TEST(ImageAuditMetrics, SecretNames) {
  std::vector<AuditLayerInput> in;
  in.push_back(ctk::test::audit_layer({ctk::test::tar_file("root/.ssh/id_rsa", "k"),
                                       ctk::test::tar_file("root/.ssh/id_rsa.pub", "p"),
                                       ctk::test::tar_file("root/.aws/credentials", "c"),
                                       ctk::test::tar_file("root/.docker/config.json", "d"),
                                       ctk::test::tar_file("srv/tls.key", "k"),
                                       ctk::test::tar_file("srv/readme", "r")},
                                      "l0"));
  in.push_back(ctk::test::audit_layer(
      {ctk::test::tar_file(".wh.root", ""), ctk::test::tar_file(".wh.srv", "")}, "l1"));
  auto r = audit_layers(in);
  ASSERT_TRUE(r) << r.error().message();
  std::vector<std::string> secret, plain;
  for (const Finding &f : r->findings)
    (f.secret ? secret : plain).push_back(f.path);
  EXPECT_EQ(secret, (std::vector<std::string>{"root/.aws/credentials", "root/.docker/config.json",
                                              "root/.ssh/id_rsa", "srv/tls.key"}));
  EXPECT_EQ(plain, (std::vector<std::string>{"root/.ssh/id_rsa.pub", "srv/readme"}));
}

TEST(ImageAuditMetrics, RetargetedSymlinkReplacedDirAndReAdd) {
  using namespace ctk::test;
  std::vector<AuditLayerInput> in;
  in.push_back(audit_layer({tar_symlink("lib", "usr/lib"), tar_dir("d"), tar_file("d/f", "12345"),
                            tar_file("gone", "abc")},
                           "l0"));
  in.push_back(audit_layer(
      {tar_symlink("lib", "usr/lib64"), tar_file("d", "now a file"), tar_file(".wh.gone", "")},
      "l1"));
  in.push_back(audit_layer({tar_file("gone", "abc")}, "l2"));
  auto a = audit_layers(in);
  ASSERT_TRUE(a) << a.error().message();
  const LayerFile *lib = file_in(a->layers[1], "lib");
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->status, FileStatus::modified);
  EXPECT_EQ(lib->changes, change_content); // same mode and owner, new target
  const LayerFile *d = file_in(a->layers[1], "d");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, FileStatus::modified); // a directory became a file
  const LayerFile *back = file_in(a->layers[2], "gone");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, FileStatus::added); // deleted below, so added again
  // Final tree: lib, d (file, 10 bytes), gone; d/f went with its directory.
  EXPECT_EQ(a->metrics.final_bytes, 13u);
  EXPECT_EQ(a->metrics.final_entries, 3u);
  ASSERT_EQ(a->findings.size(), 2u); // d/f and gone were deleted while shipping
  EXPECT_EQ(a->findings[0].path, "d/f");
  EXPECT_EQ(a->findings[1].path, "gone");
}
