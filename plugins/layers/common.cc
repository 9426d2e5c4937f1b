#include <cstdlib>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::layers {
namespace {

namespace img = rt::image;

// A private store for an image audited straight from an archive: the user's
// store is never touched, and the directory goes when the audit is done.
class TempDir {
public:
  static rt::Result<TempDir> make() {
    const char *base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ctk-layers.XXXXXX";
    if (!mkdtemp(tmpl.data()))
      return rt::fail_errno("cannot create a temporary directory under " +
                            tmpl.substr(0, tmpl.rfind('/')));
    return TempDir(std::move(tmpl));
  }
  TempDir(TempDir &&o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir &operator=(TempDir &&) = delete;
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::string &path() const { return path_; }

private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// The archive path an IMAGE argument names, or nullopt for a store reference.
// oci:DIR is passed on as is: load_archive understands the prefix.
std::optional<std::string> archive_of(const std::string &ref) {
  for (std::string_view p : {"docker-archive:", "oci-archive:"})
    if (ref.starts_with(p))
      return ref.substr(p.size());
  if (ref.starts_with("oci:"))
    return ref;
  // A bare path: only when it exists, so that a store name never turns into
  // a file lookup by accident (names like "busybox" rarely are files, but a
  // regular file or an OCI layout beside the user is what they meant).
  struct stat st {};
  if (stat(ref.c_str(), &st) == 0 &&
      (S_ISREG(st.st_mode) ||
       (S_ISDIR(st.st_mode) && ::access((ref + "/index.json").c_str(), F_OK) == 0)))
    return ref;
  return std::nullopt;
}

// History entries that made a layer, in order, for CreatedBy.
std::vector<std::string> created_by_of(const nlohmann::json &cfg) {
  std::vector<std::string> out;
  auto it = cfg.find("history");
  if (it == cfg.end() || !it->is_array())
    return out;
  for (const auto &h : *it)
    if (h.is_object() && !h.value("empty_layer", false))
      out.push_back(h.value("created_by", std::string()));
  return out;
}

rt::Result<img::Audit> audit_in(const img::Store &store, const img::Image &image) {
  auto m = store.read_manifest(image.manifest);
  if (!m)
    return rt::wrap(m, "cannot read its manifest");
  auto cfg = store.read_json(image.config);
  if (!cfg)
    return rt::wrap(cfg, "cannot read its config");
  auto by = created_by_of(*cfg);
  std::vector<img::AuditLayerInput> in;
  for (size_t i = 0; i < m->layers.size(); ++i) {
    const auto &d = m->layers[i].digest;
    std::string path = store.blob_path(d);
    img::AuditLayerInput l;
    l.open = [path] { return rt::open_fd(path, O_RDONLY); };
    l.digest = d.str();
    l.compressed_size = store.blob_size(d).value_or(m->layers[i].size);
    if (i < by.size())
      l.created_by = by[i];
    in.push_back(std::move(l));
  }
  return img::audit_layers(in, {});
}

rt::Result<img::Audit> audit_ref(const Call &call, const std::string &ref) {
  if (auto archive = archive_of(ref)) {
    auto dir = TempDir::make();
    if (!dir)
      return tl::unexpected(dir.error());
    auto store = img::Store::open(dir->path());
    if (!store)
      return tl::unexpected(store.error());
    img::LoadOptions opt;
    opt.cancelled = [&call] { return call.interrupted(); };
    auto loaded = img::load_archive(*store, *archive, opt);
    if (!loaded)
      return tl::unexpected(loaded.error());
    if (loaded->empty())
      return rt::fail(rt::Errc::not_found, "the archive holds no image");
    if (loaded->size() > 1)
      call.warn(fmt::format("{} holds {} images; auditing the first", ref, loaded->size()));
    return audit_in(*store, loaded->front().image);
  }
  auto store = img::Store::open(call.root());
  if (!store)
    return tl::unexpected(store.error());
  auto image = store->resolve(ref);
  if (!image)
    return tl::unexpected(image.error());
  return audit_in(*store, *image);
}

} // namespace

rt::Result<img::Audit> audit_image(const Call &call) {
  const std::string ref = call.args().at(0);
  auto a = audit_ref(call, ref);
  if (!a)
    return rt::wrap(a, "cannot audit image " + ref);
  return a;
}

std::string_view entry_type_name(img::EntryType t) {
  switch (t) {
  case img::EntryType::file:
    return "file";
  case img::EntryType::dir:
    return "dir";
  case img::EntryType::symlink:
    return "symlink";
  case img::EntryType::hardlink:
    return "hardlink";
  case img::EntryType::chardev:
    return "chardev";
  case img::EntryType::blockdev:
    return "blockdev";
  case img::EntryType::fifo:
    return "fifo";
  }
  return "unknown";
}

std::string_view status_name(img::FileStatus s) {
  switch (s) {
  case img::FileStatus::added:
    return "added";
  case img::FileStatus::modified:
    return "modified";
  case img::FileStatus::deleted:
    return "deleted";
  case img::FileStatus::unchanged:
    break;
  }
  return "unchanged";
}

std::string mode_string(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

} // namespace ctk::plugins::layers
