// import_rootfs(): a one-layer image from a root filesystem tarball. The
// tarball is stored as it is (the layer blob); its diff_id is the digest of
// the uncompressed stream.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include <archive.h>
#include <archive_entry.h>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

using nlohmann::json;

namespace {

struct ReaderDeleter {
  void operator()(struct archive *a) const { archive_read_free(a); }
};

// The digest of the decompressed content of a file (gzip, zstd or plain).
Result<Digest> uncompressed_digest(const BlobWriter &blob) {
  std::unique_ptr<struct archive, ReaderDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  auto fd = blob.reopen();
  if (!fd)
    return tl::unexpected(fd.error());
  if (archive_read_open_fd(a.get(), fd->get(), 1 << 16) != ARCHIVE_OK)
    return fail(Errc::parse,
                std::string("cannot read the layer: ") + archive_error_string(a.get()));
  struct archive_entry *e = nullptr;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return fail(Errc::parse,
                std::string("cannot read the layer: ") + archive_error_string(a.get()));
  Sha256 h;
  std::string buf(1 << 16, '\0');
  char first[512];
  size_t first_n = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0)
      return fail(Errc::parse,
                  std::string("cannot decompress the layer: ") + archive_error_string(a.get()));
    if (n == 0)
      break;
    if (first_n < sizeof first) {
      size_t k = std::min(sizeof first - first_n, static_cast<size_t>(n));
      memcpy(first + first_n, buf.data(), k);
      first_n += k;
    }
    h.update(buf.data(), static_cast<size_t>(n));
  }
  // A tar header carries "ustar" at offset 257; an empty file is no rootfs.
  if (first_n < 512 || memcmp(first + 257, "ustar", 5) != 0)
    return fail(Errc::parse, "not a tar archive");
  return h.finish();
}

std::string now_rfc3339() {
  char buf[64];
  time_t t = ::time(nullptr);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

Result<Image> import_rootfs(Store &store, const std::string &path, const ImportOptions &opt) {
  const std::string what = "cannot import " + (path == "-" ? std::string("stdin") : path);
  auto name = normalize_name(opt.name);
  if (!name)
    return wrap(name, what);
  // Until commit_image, the blobs below are referenced by nothing.
  auto session = store.begin_write();
  if (!session)
    return wrap(session, what);
  UniqueFd in;
  uint64_t total = 0;
  if (path == "-") {
    in = UniqueFd(::fcntl(0, F_DUPFD_CLOEXEC, 3));
  } else {
    auto fd = open_fd(path, O_RDONLY);
    if (!fd)
      return wrap(fd, what);
    in = std::move(*fd);
    struct stat st {};
    if (::fstat(in.get(), &st) == 0)
      total = static_cast<uint64_t>(st.st_size);
  }
  auto w = store.begin_blob();
  if (!w)
    return wrap(w, what);
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail_errno(what);
    if (n == 0)
      break;
    if (auto r = w->write(buf.data(), static_cast<size_t>(n)); !r)
      return wrap(r, what);
    if (opt.progress)
      opt.progress("Importing", w->size(), total);
    if (opt.cancelled && opt.cancelled())
      return fail(Errc::interrupted, what + ": interrupted");
  }
  const std::string media = layer_media_type(w->head());
  const uint64_t layer_size = w->size();
  // Checked before the commit, so that garbage never reaches blobs/.
  auto diff_id = uncompressed_digest(*w);
  if (!diff_id)
    return wrap(diff_id, what);
  auto layer = w->commit();
  if (!layer)
    return wrap(layer, what);

  const Platform host = Platform::host();
  const std::string created = now_rfc3339();
  json config = {{"architecture", host.arch},
                 {"os", host.os},
                 {"created", created},
                 {"config", json::object()},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id->str()}}}},
                 {"history",
                  {{{"created", created},
                    {"created_by", "ctk import " + (path == "-" ? std::string("-") : path)},
                    {"comment", opt.message.empty() ? "Imported from " + path : opt.message}}}}};
  if (!host.variant.empty())
    config["variant"] = host.variant;
  const std::string cfg_text = config.dump();
  auto cfg = store.put_blob(cfg_text);
  if (!cfg)
    return wrap(cfg, what);
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"config", {{"mediaType", kOciConfig}, {"digest", cfg->str()}, {"size", cfg_text.size()}}},
      {"layers", {{{"mediaType", media}, {"digest", layer->str()}, {"size", layer_size}}}}};
  auto md = store.put_blob(manifest.dump());
  if (!md)
    return wrap(md, what);
  if (auto r = store.commit_image(*md, {*name}); !r)
    return wrap(r, what);
  auto img = store.resolve(*name);
  if (!img)
    return wrap(img, what);
  return img;
}

} // namespace ctk::rt::image
