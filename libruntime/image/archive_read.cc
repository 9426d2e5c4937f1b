// Reading an image archive once, as a stream: every blob-like member is
// copied into the store as it passes (content-addressed, so harmless if the
// load fails later), the small metadata files are kept in memory, and the
// caller interprets manifest.json / index.json at the end.
#include <fcntl.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_load.h"

namespace ctk::rt::image::detail {

namespace {

struct ArchiveDeleter {
  void operator()(struct archive *a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

constexpr size_t kMaxMeta = 16u << 20;

bool is_meta(const std::string &p) {
  return p == "manifest.json" || p == "index.json" || p == "repositories" || p == "oci-layout";
}

bool ends_with(const std::string &s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// Members that may be blobs: the OCI layout's, legacy configs (<id>.json)
// and layers (<id>/layer.tar). Legacy v1 metadata (<id>/json, VERSION) is
// not needed.
bool is_blob_like(const std::string &p) {
  if (p.rfind("blobs/sha256/", 0) == 0)
    return true;
  if (ends_with(p, ".tar") || ends_with(p, "/layer.tar"))
    return true;
  return ends_with(p, ".json") && p.find('/') == std::string::npos;
}

std::optional<Digest> expected_digest(const std::string &p, Error *err) {
  if (p.rfind("blobs/sha256/", 0) == 0) {
    auto d = Digest::from_hex(p.substr(13));
    if (!d) {
      *err = d.error();
      return std::nullopt;
    }
    return *d;
  }
  // A legacy config is named after its digest.
  if (ends_with(p, ".json") && p.size() == 69)
    if (auto d = Digest::from_hex(p.substr(0, 64)))
      return *d;
  return std::nullopt;
}

} // namespace

Result<std::string> normalize_member(std::string_view raw) {
  std::vector<std::string> parts;
  for (auto part : split(raw, '/')) {
    if (part.empty() || part == ".")
      continue;
    if (part == "..") {
      if (parts.empty())
        return fail(Errc::parse, "member " + std::string(raw) + " points outside the archive");
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  std::string out;
  for (const auto &p : parts)
    out += (out.empty() ? "" : "/") + p;
  return out;
}

Result<std::string> Collected::resolve(const std::string &path) const {
  std::string p = path;
  for (int i = 0; i < 16; i++) {
    auto it = links.find(p);
    if (it == links.end())
      return p;
    p = it->second;
  }
  return fail(Errc::parse, "member " + path + ": too many levels of links");
}

Result<const Member *> Collected::member(const std::string &path) const {
  auto p = resolve(path);
  if (!p)
    return tl::unexpected(p.error());
  auto it = files.find(*p);
  if (it == files.end())
    return fail(Errc::not_found, "names missing member " + path);
  return &it->second;
}

Result<Collected> read_archive(Store &store, const std::string &path, const LoadOptions &opt) {
  const ProgressFn &progress = opt.progress;
  ArchivePtr a(archive_read_new());
  if (!a)
    return fail(Errc::internal, "cannot allocate an archive reader");
  // docker load accepts a compressed archive (docker save | gzip), so do we.
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  uint64_t total = 0;
  int rc;
  if (path == "-") {
    rc = archive_read_open_fd(a.get(), 0, 1 << 16);
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return fail_errno("cannot open " + path);
    total = static_cast<uint64_t>(st.st_size);
    rc = archive_read_open_filename(a.get(), path.c_str(), 1 << 16);
  }
  if (rc != ARCHIVE_OK)
    return fail(Errc::io, std::string("cannot open archive: ") + archive_error_string(a.get()));

  Collected out;
  std::string buf(1 << 16, '\0');
  struct archive_entry *e = nullptr;
  for (;;) {
    rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF)
      break;
    if (rc < ARCHIVE_WARN)
      return fail(Errc::parse,
                  std::string("malformed or truncated archive: ") + archive_error_string(a.get()));
    const char *raw = archive_entry_pathname(e);
    auto name = normalize_member(raw ? raw : "");
    if (!name)
      return tl::unexpected(name.error());
    if (const char *hl = archive_entry_hardlink(e)) {
      auto t = normalize_member(hl);
      if (!t)
        return tl::unexpected(t.error());
      out.links[*name] = *t;
      continue;
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      const char *target = archive_entry_symlink(e);
      std::string t = target ? target : "";
      if (!t.empty() && t[0] != '/') {
        auto slash = name->rfind('/');
        t = (slash == std::string::npos ? "" : name->substr(0, slash + 1)) + t;
      }
      auto norm = normalize_member(t);
      if (!norm)
        return tl::unexpected(norm.error());
      out.links[*name] = *norm;
      continue;
    }
    if (type != AE_IFREG)
      continue;
    if (is_meta(*name)) {
      std::string text;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0)
          return fail(Errc::parse,
                      "cannot read member " + *name + ": " + archive_error_string(a.get()));
        if (n == 0)
          break;
        if (text.size() + static_cast<size_t>(n) > kMaxMeta)
          return fail(Errc::parse, "member " + *name + " is too large");
        text.append(buf.data(), static_cast<size_t>(n));
      }
      out.meta[*name] = std::move(text);
      continue;
    }
    if (!is_blob_like(*name))
      continue;
    Error derr;
    auto expected = expected_digest(*name, &derr);
    if (!expected && !derr.context.empty())
      return tl::unexpected(derr.wrap("member " + *name));
    auto w = store.begin_blob();
    if (!w)
      return tl::unexpected(w.error());
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0)
        return fail(Errc::parse,
                    "cannot read member " + *name + ": " + archive_error_string(a.get()));
      if (n == 0)
        break;
      if (auto r = w->write(buf.data(), static_cast<size_t>(n)); !r)
        return tl::unexpected(r.error());
      if (progress)
        progress("Loading", static_cast<uint64_t>(archive_filter_bytes(a.get(), -1)), total);
      if (opt.cancelled && opt.cancelled())
        return fail(Errc::interrupted, "interrupted while reading member " + *name);
    }
    Member m;
    m.size = w->size();
    m.head = std::string(w->head());
    auto d = w->commit(expected);
    if (!d)
      return wrap(d, "member " + *name);
    m.digest = *d;
    out.files[*name] = std::move(m);
  }
  if (progress)
    progress("Loading", total, total);
  return out;
}

} // namespace ctk::rt::image::detail
