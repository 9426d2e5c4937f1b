// load_archive / save_archive on archives the tests build: docker-archive
// (legacy and hybrid), OCI archive, OCI layout directory, multi-platform.
#include "image_store_fixture.h"

using namespace ctk::rt::image;
using namespace ctk::test::imgstore;

namespace {

nlohmann::json index_of(std::vector<nlohmann::json> descs) {
  return {{"schemaVersion", 2}, {"manifests", descs}};
}

std::vector<TarMember> with_layout(std::vector<TarMember> blobs, const nlohmann::json &index) {
  blobs.push_back({"oci-layout", R"({"imageLayoutVersion":"1.0.0"})", ""});
  blobs.push_back({"index.json", index.dump(), ""});
  return blobs;
}

} // namespace

TEST_F(ImageStoreTest, LoadsLegacyDockerArchive) {
  std::string l1 = layer_tar(dir_, "a.txt", "one"), l2 = layer_tar(dir_, "b.txt", "two");
  docker_archive(dir_ + "/d.tar", {l1, l2}, "busybox:1.36");
  auto r = load_archive(store(), dir_ + "/d.tar", {});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  auto img = store().resolve("busybox:1.36");
  ASSERT_TRUE(img);
  auto m = store().read_manifest(img->manifest);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->layers.size(), 2u);
  // docker-archive layers are stored as they are: digest == diff_id.
  EXPECT_EQ(m->layers[0].digest, sha256_of(l1));
  EXPECT_EQ(m->layers[1].digest, sha256_of(l2));
  EXPECT_EQ(m->layers[0].media_type, kOciLayerTar);
  EXPECT_EQ(*store().read_blob(m->layers[1].digest), l2);
}

TEST_F(ImageStoreTest, LoadsDockerArchiveWithSymlinkedDuplicateLayer) {
  // docker save writes a repeated layer as a symlink to the first copy.
  std::string l1 = layer_tar(dir_, "a.txt", "one");
  std::string cfg = config_json({"sha256:" + hex_of(l1), "sha256:" + hex_of(l1)});
  nlohmann::json man = nlohmann::json::array({{{"Config", hex_of(cfg) + ".json"},
                                               {"RepoTags", {"dup:1"}},
                                               {"Layers", {"aaaa/layer.tar", "bbbb/layer.tar"}}}});
  write_tar(dir_ + "/d.tar", {{"aaaa/layer.tar", l1, ""},
                              {"bbbb/layer.tar", "", "../aaaa/layer.tar"},
                              {hex_of(cfg) + ".json", cfg, ""},
                              {"manifest.json", man.dump(), ""}});
  auto r = load_archive(store(), dir_ + "/d.tar", {});
  ASSERT_TRUE(r) << r.error().message();
  auto m = store().read_manifest(store().resolve("dup:1")->manifest);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].digest, sha256_of(l1));
}

TEST_F(ImageStoreTest, LoadsOciArchiveKeepingDigestsAndGzipLayers) {
  std::string l1 = layer_tar(dir_, "a.txt", "one", Compression::gzip);
  std::string diff = "sha256:" + hex_of(layer_tar(dir_, "a.txt", "one"));
  auto img =
      oci_image({l1}, {diff}, Platform::host().arch, "application/vnd.oci.image.layer.v1.tar+gzip");
  img.descriptor["annotations"] = {{"org.opencontainers.image.ref.name", "example.com/app:v1"}};
  write_tar(dir_ + "/o.tar", with_layout(img.blobs, index_of({img.descriptor})));
  auto r = load_archive(store(), dir_ + "/o.tar", {});
  ASSERT_TRUE(r) << r.error().message();
  auto got = store().resolve("example.com/app:v1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->manifest.str(), img.manifest_digest);
  EXPECT_EQ(got->config.str(), img.config_digest);
  EXPECT_EQ(*store().read_blob(sha256_of(l1)), l1);
}

TEST_F(ImageStoreTest, LoadsOciLayoutDirectoryAndPicksThePlatform) {
  std::string la = layer_tar(dir_, "amd.txt", "amd"), lb = layer_tar(dir_, "arm.txt", "arm");
  auto a = oci_image({la}, {"sha256:" + hex_of(la)}, "amd64", std::string(kOciLayerTar));
  auto b = oci_image({lb}, {"sha256:" + hex_of(lb)}, "arm64", std::string(kOciLayerTar));
  nlohmann::json nested = {
      {"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", {a.descriptor, b.descriptor}}};
  std::string nt = nested.dump();
  std::string layout = dir_ + "/layout";
  std::vector<TarMember> members = a.blobs;
  members.insert(members.end(), b.blobs.begin(), b.blobs.end());
  members.push_back({"blobs/sha256/" + hex_of(nt), nt, ""});
  nlohmann::json top = {{"mediaType", kOciIndex},
                        {"digest", "sha256:" + hex_of(nt)},
                        {"size", nt.size()},
                        {"annotations", {{"org.opencontainers.image.ref.name", "multi:1"}}}};
  std::filesystem::create_directories(layout + "/blobs/sha256");
  for (const auto &m : with_layout(members, index_of({top})))
    ASSERT_TRUE(ctk::rt::write_file_atomic(layout + "/" + m.name, m.data));

  LoadOptions arm;
  arm.platform = *Platform::parse("linux/arm64");
  auto r = load_archive(store(), "oci:" + layout, arm);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(store().resolve("multi:1")->manifest.str(), b.manifest_digest);
  EXPECT_FALSE(store().has_blob(sha256_of(la))) << "blobs of the other platform were copied";

  LoadOptions s390;
  s390.platform = *Platform::parse("linux/s390x");
  auto none = load_archive(store(), "oci:" + layout, s390);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("no image for platform linux/s390x"), std::string::npos)
      << none.error().message();
  EXPECT_NE(none.error().message().find("linux/amd64, linux/arm64"), std::string::npos);
}

TEST_F(ImageStoreTest, SaveThenLoadKeepsEveryDigest) {
  std::string l1 = layer_tar(dir_, "a.txt", "one");
  docker_archive(dir_ + "/d.tar", {l1}, "busybox:1.36");
  ASSERT_TRUE(load_archive(store(), dir_ + "/d.tar", {}));
  auto img = *store().resolve("busybox:1.36");
  for (auto fmt : {SaveFormat::docker_archive, SaveFormat::oci_archive, SaveFormat::oci_dir}) {
    std::string out = dir_ + "/out-" + std::to_string(static_cast<int>(fmt));
    auto s = save_archive(store(), {{img, std::nullopt}}, out, fmt, {});
    ASSERT_TRUE(s) << s.error().message();
    auto other = Store::open(dir_ + "/other-" + std::to_string(static_cast<int>(fmt)));
    ASSERT_TRUE(other);
    auto r = load_archive(*other, fmt == SaveFormat::oci_dir ? "oci:" + out : out, {});
    ASSERT_TRUE(r) << r.error().message();
    auto back = other->resolve("busybox:1.36");
    ASSERT_TRUE(back) << "format " << static_cast<int>(fmt);
    EXPECT_EQ(back->manifest, img.manifest);
    EXPECT_EQ(back->config, img.config);
  }
  // The hybrid archive carries docker's manifest.json too.
  std::string out0 = dir_ + "/out-0";
  ASSERT_EQ(system(("tar -xOf " + out0 + " manifest.json > " + dir_ + "/m.json").c_str()), 0);
  auto mj = ctk::rt::read_file(dir_ + "/m.json");
  EXPECT_NE(mj->find("\"RepoTags\":[\"busybox:1.36\"]"), std::string::npos) << *mj;
  EXPECT_NE(mj->find("blobs/sha256/" + hex_of(l1)), std::string::npos);
}

TEST_F(ImageStoreTest, ImportMakesAOneLayerImage) {
  std::string gz = layer_tar(dir_, "etc/hostname", "box", Compression::gzip);
  std::string plain = layer_tar(dir_, "etc/hostname", "box");
  ASSERT_TRUE(ctk::rt::write_file_atomic(dir_ + "/rootfs.tar.gz", gz));
  ImportOptions opt;
  opt.name = "me/rootfs:v1";
  auto img = import_rootfs(store(), dir_ + "/rootfs.tar.gz", opt);
  ASSERT_TRUE(img) << img.error().message();
  auto m = store().read_manifest(img->manifest);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest, sha256_of(gz)); // stored as given
  EXPECT_EQ(m->layers[0].media_type, std::string(kOciLayerTar) + "+gzip");
  auto cfg = store().read_json(img->config);
  EXPECT_EQ((*cfg)["rootfs"]["diff_ids"][0], sha256_of(plain).str());
  EXPECT_EQ((*cfg)["os"], "linux");
  EXPECT_EQ((*cfg)["architecture"], Platform::host().arch);
  EXPECT_EQ((*cfg)["history"].size(), 1u);
}

TEST_F(ImageStoreTest, LoadsZstdLayersAndImportsZstdRootfs) {
  std::string zl = layer_tar(dir_, "z.txt", "zstd", Compression::zstd);
  std::string plain = layer_tar(dir_, "z.txt", "zstd");
  ASSERT_EQ(zl.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  auto img = oci_image({zl}, {"sha256:" + hex_of(plain)}, Platform::host().arch,
                       "application/vnd.oci.image.layer.v1.tar+zstd");
  img.descriptor["annotations"] = {{"org.opencontainers.image.ref.name", "z:1"}};
  write_tar(dir_ + "/z.tar", with_layout(img.blobs, index_of({img.descriptor})));
  auto r = load_archive(store(), dir_ + "/z.tar", {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(store().resolve("z:1")->manifest.str(), img.manifest_digest);

  ASSERT_TRUE(ctk::rt::write_file_atomic(dir_ + "/rootfs.tar.zst", zl));
  ImportOptions opt;
  opt.name = "zi:1";
  auto imp = import_rootfs(store(), dir_ + "/rootfs.tar.zst", opt);
  ASSERT_TRUE(imp) << imp.error().message();
  auto cfg = store().read_json(imp->config);
  EXPECT_EQ((*cfg)["rootfs"]["diff_ids"][0], sha256_of(plain).str());
  EXPECT_EQ(store().read_manifest(imp->manifest)->layers[0].media_type,
            std::string(kOciLayerTar) + "+zstd");
}

TEST_F(ImageStoreTest, ImportRefusesANonTarAndStoresNothing) {
  ASSERT_TRUE(ctk::rt::write_file_atomic(dir_ + "/junk", "this is not a tarball"));
  ImportOptions opt;
  opt.name = "junk:1";
  auto imp = import_rootfs(store(), dir_ + "/junk", opt);
  ASSERT_FALSE(imp);
  EXPECT_NE(imp.error().message().find("cannot import " + dir_ + "/junk: not a tar archive"),
            std::string::npos)
      << imp.error().message();
  EXPECT_FALSE(store().has_blob(sha256_of("this is not a tarball")));
  EXPECT_EQ(image_count(), 0u);
  EXPECT_EQ(tmp_files(), 0u);
}
