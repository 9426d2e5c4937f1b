// Helpers for the image store tests: a scratch store and archives built
// in the test with libarchive (archive_write to a file).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ctk/runtime/image_store.h"

namespace ctk::test::imgstore {

struct TarMember {
  std::string name;
  std::string data;
  std::string symlink; // non-empty: a symlink to this target
};

// Writes a tar (optionally gzip-compressed) holding `members`.
enum class Compression { none, gzip, zstd };

inline void write_tar(const std::string &path, const std::vector<TarMember> &members,
                      Compression c = Compression::none) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::gzip)
    archive_write_add_filter_gzip(a);
  if (c == Compression::zstd)
    archive_write_add_filter_zstd(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto &m : members) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    if (!m.symlink.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, m.symlink.c_str());
      archive_entry_set_perm(e, 0777);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
    }
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    if (m.symlink.empty() && !m.data.empty())
      archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// A layer tarball's bytes: one file.
inline std::string layer_tar(const std::string &dir, const std::string &file,
                             const std::string &content, Compression c = Compression::none) {
  std::string p = dir + "/layer-tmp.tar";
  write_tar(p, {{file, content, ""}}, c);
  auto text = ctk::rt::read_file(p);
  std::filesystem::remove(p);
  return *text;
}

inline std::string config_json(const std::vector<std::string> &diff_ids,
                               const std::string &arch = "amd64") {
  nlohmann::json ids = diff_ids;
  nlohmann::json hist = nlohmann::json::array();
  for (size_t i = 0; i < diff_ids.size(); i++)
    hist.push_back(
        {{"created", "2024-01-01T00:00:00Z"}, {"created_by", "step " + std::to_string(i)}});
  hist.push_back(
      {{"created", "2024-01-01T00:00:00Z"}, {"created_by", "CMD [\"sh\"]"}, {"empty_layer", true}});
  return nlohmann::json{{"architecture", arch},
                        {"os", "linux"},
                        {"created", "2024-01-01T00:00:00Z"},
                        {"config", {{"Cmd", {"sh"}}}},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", ids}}},
                        {"history", hist}}
      .dump();
}

inline std::string hex_of(const std::string &data) {
  return std::string(ctk::rt::image::sha256_of(data).hex());
}

// A legacy docker-archive (docker save before 25): <id>.json, <id>/layer.tar.
inline void docker_archive(const std::string &path, const std::vector<std::string> &layers,
                           const std::string &tag, std::vector<TarMember> extra = {}) {
  std::vector<std::string> ids;
  std::vector<TarMember> m;
  nlohmann::json lpaths = nlohmann::json::array();
  for (const auto &l : layers) {
    ids.push_back("sha256:" + hex_of(l));
    m.push_back({hex_of(l) + "/layer.tar", l, ""});
    lpaths.push_back(hex_of(l) + "/layer.tar");
  }
  std::string cfg = config_json(ids);
  m.push_back({hex_of(cfg) + ".json", cfg, ""});
  nlohmann::json man = nlohmann::json::array(
      {{{"Config", hex_of(cfg) + ".json"}, {"RepoTags", {tag}}, {"Layers", lpaths}}});
  m.push_back({"manifest.json", man.dump(), ""});
  for (auto &e : extra)
    m.push_back(std::move(e));
  write_tar(path, m);
}

// Members of an OCI layout for one image: blobs + the manifest's descriptor.
struct OciImage {
  std::vector<TarMember> blobs;
  nlohmann::json descriptor; // for index.json
  std::string manifest_digest, config_digest;
};

inline OciImage oci_image(const std::vector<std::string> &layers,
                          const std::vector<std::string> &diff_ids, const std::string &arch,
                          const std::string &layer_media) {
  OciImage o;
  std::string cfg = config_json(diff_ids, arch);
  nlohmann::json man = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                        {"config",
                         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", "sha256:" + hex_of(cfg)},
                          {"size", cfg.size()}}},
                        {"layers", nlohmann::json::array()}};
  for (const auto &l : layers) {
    man["layers"].push_back(
        {{"mediaType", layer_media}, {"digest", "sha256:" + hex_of(l)}, {"size", l.size()}});
    o.blobs.push_back({"blobs/sha256/" + hex_of(l), l, ""});
  }
  std::string mt = man.dump();
  o.blobs.push_back({"blobs/sha256/" + hex_of(cfg), cfg, ""});
  o.blobs.push_back({"blobs/sha256/" + hex_of(mt), mt, ""});
  o.manifest_digest = "sha256:" + hex_of(mt);
  o.config_digest = "sha256:" + hex_of(cfg);
  o.descriptor = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                  {"digest", o.manifest_digest},
                  {"size", mt.size()},
                  {"platform", {{"os", "linux"}, {"architecture", arch}}}};
  return o;
}

class ImageStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctk-imgstore-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = ctk::rt::image::Store::open(dir_ + "/root");
    ASSERT_TRUE(s) << s.error().message();
    store_.emplace(std::move(*s));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  ctk::rt::image::Store &store() { return *store_; }
  size_t image_count() {
    auto all = store_->images();
    EXPECT_TRUE(all) << all.error().message();
    return all ? all->size() : 0;
  }
  size_t tmp_files() {
    size_t n = 0;
    for ([[maybe_unused]] auto &e : std::filesystem::directory_iterator(dir_ + "/root/image/tmp"))
      n++;
    return n;
  }
  std::string dir_;
  std::optional<ctk::rt::image::Store> store_;
};

} // namespace ctk::test::imgstore
