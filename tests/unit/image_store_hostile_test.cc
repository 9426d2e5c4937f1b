// Hostile archives: each must end in a clear error and leave no image.
#include "image_store_fixture.h"

using namespace ctk::rt::image;
using namespace ctk::test::imgstore;

namespace {

class ImageStoreHostile : public ImageStoreTest {
protected:
  // Loads `members` and expects failure with `needle` in the message.
  void expect_refused(const std::vector<TarMember> &members, const std::string &needle) {
    write_tar(dir_ + "/h.tar", members);
    expect_refused_file(dir_ + "/h.tar", needle);
  }
  void expect_refused_file(const std::string &path, const std::string &needle) {
    auto r = load_archive(store(), path, {});
    ASSERT_FALSE(r) << "hostile archive was loaded";
    EXPECT_NE(r.error().message().find("cannot load " + path), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
    EXPECT_EQ(image_count(), 0u) << "an image became visible";
    EXPECT_EQ(tmp_files(), 0u) << "temporary files left behind";
  }
};

} // namespace

TEST_F(ImageStoreHostile, ManifestJsonIsNotJson) {
  expect_refused({{"manifest.json", "[{not json", ""}}, "manifest.json is not JSON");
}

TEST_F(ImageStoreHostile, ConfigIsNotJson) {
  std::string cfg = "this is not json";
  nlohmann::json man = nlohmann::json::array({{{"Config", hex_of(cfg) + ".json"},
                                               {"RepoTags", {"x:1"}},
                                               {"Layers", nlohmann::json::array()}}});
  expect_refused({{hex_of(cfg) + ".json", cfg, ""}, {"manifest.json", man.dump(), ""}},
                 "is not JSON");
}

TEST_F(ImageStoreHostile, ManifestJsonNamesMissingLayer) {
  std::string cfg = config_json({"sha256:" + std::string(64, 'a')});
  nlohmann::json man = nlohmann::json::array(
      {{{"Config", hex_of(cfg) + ".json"}, {"RepoTags", {"x:1"}}, {"Layers", {"gone/layer.tar"}}}});
  expect_refused({{hex_of(cfg) + ".json", cfg, ""}, {"manifest.json", man.dump(), ""}},
                 "names missing member gone/layer.tar");
}

TEST_F(ImageStoreHostile, LayerDoesNotMatchDiffId) {
  std::string l = layer_tar(dir_, "a", "a");
  std::string cfg = config_json({"sha256:" + std::string(64, 'b')});
  nlohmann::json man = nlohmann::json::array(
      {{{"Config", hex_of(cfg) + ".json"}, {"RepoTags", {"x:1"}}, {"Layers", {"l/layer.tar"}}}});
  expect_refused(
      {{"l/layer.tar", l, ""}, {hex_of(cfg) + ".json", cfg, ""}, {"manifest.json", man.dump(), ""}},
      "but the config expects");
}

TEST_F(ImageStoreHostile, IndexNamesMissingBlob) {
  auto img = oci_image({"layer"}, {"sha256:" + hex_of("layer")}, "amd64", "x");
  img.blobs.erase(img.blobs.begin()); // drop the layer
  img.blobs.push_back({"index.json", nlohmann::json{{"manifests", {img.descriptor}}}.dump(), ""});
  expect_refused(img.blobs, "names missing blob sha256:" + hex_of("layer"));
}

TEST_F(ImageStoreHostile, BlobContentDoesNotMatchItsName) {
  std::string name = "blobs/sha256/" + std::string(64, 'c');
  expect_refused({{name, "tampered", ""}, {"index.json", R"({"manifests":[]})", ""}},
                 "blob digest mismatch: expected sha256:" + std::string(64, 'c'));
}

TEST_F(ImageStoreHostile, DigestOfTheWrongLength) {
  nlohmann::json idx = {
      {"manifests", {{{"mediaType", kOciManifest}, {"digest", "sha256:abc123"}, {"size", 3}}}}};
  expect_refused({{"index.json", idx.dump(), ""}}, "64 hex digits, not 6");
}

TEST_F(ImageStoreHostile, BlobMemberWithBadDigestName) {
  expect_refused({{"blobs/sha256/xyz", "data", ""}}, "member blobs/sha256/xyz");
}

TEST_F(ImageStoreHostile, DescriptorSizeLies) {
  auto img = oci_image({"layer"}, {"sha256:" + hex_of("layer")}, "amd64", "x");
  img.descriptor["size"] = 1;
  img.blobs.push_back({"index.json", nlohmann::json{{"manifests", {img.descriptor}}}.dump(), ""});
  expect_refused(img.blobs, "its descriptor says 1");
}

TEST_F(ImageStoreHostile, TruncatedArchive) {
  std::string l1 = layer_tar(dir_, "a.txt", std::string(100000, 'x'));
  docker_archive(dir_ + "/full.tar", {l1}, "x:1");
  auto full = ctk::rt::read_file(dir_ + "/full.tar");
  ASSERT_TRUE(ctk::rt::write_file_atomic(dir_ + "/cut.tar", full->substr(0, 50000)));
  expect_refused_file(dir_ + "/cut.tar", "Truncated tar archive");
}

TEST_F(ImageStoreHostile, MemberEscapingTheArchive) {
  expect_refused({{"../../etc/manifest.json", "[]", ""}}, "points outside the archive");
}

TEST_F(ImageStoreHostile, NotAnImageArchive) {
  expect_refused({{"hello.txt", "hi", ""}}, "neither manifest.json nor index.json");
}
