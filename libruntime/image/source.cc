// open_image(): one resolver for image references. ctk's store and the
// archive transports live here; docker's store and containers-storage in
// source_docker.cc and source_storage.cc.
#include "ctk/runtime/image_source.h"

#include <cstdlib>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_internal.h"

namespace ctk::rt::image {
namespace {

// A private directory removed with everything in it when the last holder goes.
class TempDir {
public:
  static Result<std::shared_ptr<TempDir>> make(const std::string &base_dir) {
    std::string base = base_dir;
    if (base.empty()) {
      const char *t = std::getenv("TMPDIR");
      base = t && *t ? t : "/tmp";
    }
    std::string tmpl = base + "/ctk-image.XXXXXX";
    if (!mkdtemp(tmpl.data()))
      return fail_errno("cannot create a temporary directory under " + base);
    return std::shared_ptr<TempDir>(new TempDir(std::move(tmpl)));
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }

private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// What a store image looks like to a reader.
Result<OpenedImage> from_store(const Store &store, const Image &image, std::string_view ref,
                               std::string transport) {
  auto m = store.read_manifest(image.manifest);
  if (!m)
    return wrap(m, "cannot read its manifest");
  auto cfg = store.read_json(image.config);
  if (!cfg)
    return wrap(cfg, "cannot read its config");
  std::vector<std::string> diff_ids;
  if (auto r = cfg->find("rootfs"); r != cfg->end() && r->is_object())
    if (auto d = r->find("diff_ids"); d != r->end() && d->is_array())
      for (const auto &x : *d)
        diff_ids.push_back(x.is_string() ? x.get<std::string>() : std::string());
  OpenedImage out;
  out.ref = std::string(ref);
  out.transport = std::move(transport);
  out.id = image.config.str();
  out.names = image.names;
  out.config = std::move(*cfg);
  for (size_t i = 0; i < m->layers.size(); ++i) {
    const auto &d = m->layers[i].digest;
    SourceLayer l;
    l.open = [path = store.blob_path(d)] { return open_fd(path, O_RDONLY | O_CLOEXEC); };
    l.digest = d.str();
    l.diff_id = i < diff_ids.size() ? diff_ids[i] : std::string();
    l.compressed_size = store.blob_size(d).value_or(m->layers[i].size);
    out.layers.push_back(std::move(l));
  }
  return out;
}

Result<OpenedImage> from_archive(std::string_view ref, const std::string &transport,
                                 const std::string &path, const SourceOptions &opt) {
  auto dir = TempDir::make(opt.tmp_dir);
  if (!dir)
    return tl::unexpected(dir.error());
  auto store = Store::open((*dir)->path());
  if (!store)
    return tl::unexpected(store.error());
  LoadOptions lo;
  lo.platform = opt.platform;
  lo.progress = opt.progress;
  lo.cancelled = opt.cancelled;
  auto loaded = load_archive(*store, path, lo);
  if (!loaded)
    return tl::unexpected(loaded.error());
  if (loaded->empty())
    return fail(Errc::not_found, "the archive holds no image");
  auto out = from_store(*store, loaded->front().image, ref, transport);
  if (out)
    out->hold = *dir;
  return out;
}

// A bare path names an archive only when it exists, so that a store name
// never turns into a file lookup by accident.
std::optional<std::string> bare_archive(const std::string &ref) {
  struct stat st {};
  if (stat(ref.c_str(), &st) != 0)
    return std::nullopt;
  if (S_ISREG(st.st_mode))
    return ref;
  if (S_ISDIR(st.st_mode) && ::access((ref + "/index.json").c_str(), F_OK) == 0)
    return "oci:" + ref;
  return std::nullopt;
}

Result<OpenedImage> open_any(std::string_view text, const SourceOptions &opt) {
  auto parsed = discovery::parse_image_ref(text);
  if (!parsed)
    return tl::unexpected(parsed.error());
  const std::string &t = parsed->transport;
  if (t == "docker-archive" || t == "oci-archive")
    return from_archive(text, t, parsed->reference, opt);
  if (t == "oci")
    return from_archive(text, t, "oci:" + parsed->reference, opt);
  if (t == "docker-daemon")
    return detail::open_docker_daemon(text, parsed->reference, opt);
  if (t == "containers-storage")
    return detail::open_containers_storage(text, parsed->reference, opt);
  if (t != "ctk")
    return fail(Errc::invalid_argument,
                "transport " + t + ": not an image source ctk can read (docker-archive:, "
                "oci-archive:, oci:, docker-daemon:, containers-storage:, or a name)");
  if (auto path = bare_archive(parsed->reference))
    return from_archive(text, path->starts_with("oci:") ? "oci" : "docker-archive", *path, opt);
  auto store = Store::open(opt.ctk_root);
  if (!store)
    return tl::unexpected(store.error());
  auto image = store->resolve(parsed->reference);
  if (!image)
    return tl::unexpected(image.error());
  return from_store(*store, *image, text, "ctk");
}

} // namespace

Result<OpenedImage> open_image(std::string_view ref, const SourceOptions &opt) {
  auto img = open_any(ref, opt);
  if (!img)
    return wrap(img, "cannot open image " + std::string(ref));
  return img;
}

std::vector<std::string> layer_created_by(const nlohmann::json &cfg) {
  std::vector<std::string> out;
  auto it = cfg.find("history");
  if (it == cfg.end() || !it->is_array())
    return out;
  for (const auto &h : *it)
    if (h.is_object() && !h.value("empty_layer", false)) {
      auto c = h.find("created_by");
      out.push_back(c != h.end() && c->is_string() ? c->get<std::string>() : std::string());
    }
  return out;
}

std::vector<AuditLayerInput> audit_inputs(const OpenedImage &image) {
  auto by = layer_created_by(image.config);
  std::vector<AuditLayerInput> in;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const auto &l = image.layers[i];
    AuditLayerInput a;
    a.open = l.open;
    a.digest = l.digest;
    a.compressed_size = l.compressed_size;
    if (i < by.size())
      a.created_by = by[i];
    in.push_back(std::move(a));
  }
  return in;
}

} // namespace ctk::rt::image
