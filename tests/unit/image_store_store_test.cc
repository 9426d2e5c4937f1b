// The blob store: verified writes, refs, shared blobs on delete, cleanup.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "image_store_fixture.h"

using namespace ctk::rt::image;
using ctk::test::imgstore::ImageStoreTest;

namespace {

// Puts a one-layer image into the store and returns its manifest digest.
Digest put_image(Store &s, const std::string &layer) {
  auto l = s.put_blob(layer);
  std::string cfg = ctk::test::imgstore::config_json({l->str()});
  auto c = s.put_blob(cfg);
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"config", {{"mediaType", kOciConfig}, {"digest", c->str()}, {"size", cfg.size()}}},
      {"layers", {{{"mediaType", kOciLayerTar}, {"digest", l->str()}, {"size", layer.size()}}}}};
  return *s.put_blob(m.dump());
}

} // namespace

TEST_F(ImageStoreTest, StoreDirectoryIsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/root/image").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(ImageStoreTest, BlobIsStoredUnderItsDigest) {
  auto d = store().put_blob("hello");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, sha256_of("hello"));
  EXPECT_EQ(*ctk::rt::read_file(dir_ + "/root/image/blobs/sha256/" + std::string(d->hex())),
            "hello");
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(ImageStoreTest, MismatchingBlobIsRefusedAndLeavesNothing) {
  auto r = store().put_blob("hello", sha256_of("other"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(store().has_blob(sha256_of("hello")));
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(ImageStoreTest, UncommittedWriterRemovesItsTempFile) {
  {
    auto w = store().begin_blob();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("abc", 3));
    EXPECT_EQ(tmp_files(), 1u);
  }
  EXPECT_EQ(tmp_files(), 0u);
}

TEST_F(ImageStoreTest, OpenCleansLeftoversOfDeadWritersOnly) {
  // A leftover of a killed load: nobody holds its lock.
  std::string dead = dir_ + "/root/image/tmp/blob.dead00";
  ASSERT_TRUE(ctk::rt::write_file_atomic(dead, "junk"));
  auto live = store().begin_blob(); // flocked by this writer
  ASSERT_TRUE(live);
  auto again = Store::open(dir_ + "/root");
  ASSERT_TRUE(again);
  EXPECT_NE(access(dead.c_str(), F_OK), 0) << "leftover not cleaned";
  EXPECT_EQ(tmp_files(), 1u) << "a live writer's file was removed";
}

TEST_F(ImageStoreTest, CommitResolveTagAndRemove) {
  Digest m = put_image(store(), "layer-a");
  ASSERT_TRUE(store().commit_image(m, {"docker.io/library/busybox:latest"}));
  auto img = store().resolve("busybox");
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(img->manifest, m);
  // By ID prefix and full ID.
  EXPECT_EQ(store().resolve(img->config.short_id())->manifest, m);
  EXPECT_EQ(store().resolve(img->config.str())->manifest, m);
  ASSERT_TRUE(store().tag("busybox", "me/bb:v1"));
  EXPECT_EQ(store().resolve("me/bb:v1")->manifest, m);
  // Two names: removing by ID needs -f; by name only untags.
  auto by_id = store().remove(img->config.short_id(), false);
  ASSERT_FALSE(by_id);
  EXPECT_NE(by_id.error().message().find("several names"), std::string::npos);
  auto untag = store().remove("me/bb:v1", false);
  ASSERT_TRUE(untag);
  EXPECT_FALSE(untag->deleted);
  EXPECT_TRUE(store().has_blob(m));
  auto del = store().remove("busybox", false);
  ASSERT_TRUE(del);
  EXPECT_TRUE(del->deleted);
  EXPECT_FALSE(store().has_blob(m));
  EXPECT_FALSE(store().resolve("busybox"));
  EXPECT_EQ(image_count(), 0u);
}

TEST_F(ImageStoreTest, BlobSharedByTwoImagesSurvivesRemovalOfOne) {
  Digest a = put_image(store(), "shared-layer");
  ASSERT_TRUE(store().commit_image(a, {"docker.io/library/a:latest"}));
  // Same layer, another config (history differs by name) -> another image.
  auto l = sha256_of("shared-layer");
  std::string cfg = ctk::test::imgstore::config_json({l.str()}, "arm64");
  auto c = store().put_blob(cfg);
  nlohmann::json mj = {
      {"schemaVersion", 2},
      {"config", {{"mediaType", kOciConfig}, {"digest", c->str()}, {"size", cfg.size()}}},
      {"layers", {{{"mediaType", kOciLayerTar}, {"digest", l.str()}, {"size", 12}}}}};
  auto b = store().put_blob(mj.dump());
  ASSERT_TRUE(store().commit_image(*b, {"docker.io/library/b:latest"}));
  ASSERT_TRUE(store().remove("a", false));
  EXPECT_TRUE(store().has_blob(l)) << "layer shared with b was deleted";
  EXPECT_FALSE(store().has_blob(a));
  EXPECT_TRUE(store().resolve("b"));
}

TEST_F(ImageStoreTest, CommitRefusesAManifestWithMissingBlobs) {
  nlohmann::json mj = {{"schemaVersion", 2},
                       {"config", {{"digest", sha256_of("nope").str()}, {"size", 4}}},
                       {"layers", nlohmann::json::array()}};
  auto m = store().put_blob(mj.dump());
  auto r = store().commit_image(*m, {"docker.io/library/x:latest"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is missing"), std::string::npos);
  EXPECT_EQ(image_count(), 0u);
}

TEST_F(ImageStoreTest, NameMovesToTheNewestImage) {
  Digest a = put_image(store(), "one");
  Digest b = put_image(store(), "two");
  ASSERT_TRUE(store().commit_image(a, {"docker.io/library/x:latest"}));
  ASSERT_TRUE(store().commit_image(b, {"docker.io/library/x:latest"}));
  EXPECT_EQ(store().resolve("x")->manifest, b);
  auto all = store().images();
  ASSERT_EQ(all->size(), 2u); // the old one stays, untagged (docker's <none>)
}
