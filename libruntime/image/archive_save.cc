// save_archive(): a hybrid docker-archive (manifest.json + repositories + an
// OCI layout, as docker 25 writes it), an OCI archive, or an OCI layout
// directory. Blobs are copied byte for byte, so digests survive.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <archive.h>
#include <archive_entry.h>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

Result<SaveFormat> parse_save_format(std::string_view text) {
  if (text == "docker-archive" || text == "docker" || text.empty())
    return SaveFormat::docker_archive;
  if (text == "oci-archive")
    return SaveFormat::oci_archive;
  if (text == "oci-dir" || text == "oci")
    return SaveFormat::oci_dir;
  return fail(Errc::invalid_argument, "invalid format " + std::string(text) +
                                          ": expected docker-archive, oci-archive or oci-dir");
}

namespace {

struct Plan {
  std::vector<Digest> blobs; // in write order, unique
  uint64_t total = 0;
  std::map<std::string, std::string> meta; // name -> content, written after the blobs
};

std::string blob_member(const Digest &d) {
  return "blobs/sha256/" + std::string(d.hex());
}

Result<Plan> plan(const Store &store, const std::vector<SaveItem> &items, SaveFormat format) {
  Plan p;
  std::set<std::string> seen;
  auto add = [&](const Digest &d) -> Result<void> {
    if (!seen.insert(d.str()).second)
      return {};
    auto size = store.blob_size(d);
    if (!size)
      return tl::unexpected(size.error());
    p.total += *size;
    p.blobs.push_back(d);
    return {};
  };
  ordered index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", json::array()}};
  ordered manifest_json = json::array();
  ordered repositories = json::object();
  for (const auto &it : items) {
    auto m = store.read_manifest(it.image.manifest);
    if (!m)
      return tl::unexpected(m.error());
    auto msize = store.blob_size(it.image.manifest);
    if (!msize)
      return tl::unexpected(msize.error());
    for (const Digest *d : {&m->config.digest})
      if (auto r = add(*d); !r)
        return tl::unexpected(r.error());
    for (const auto &l : m->layers)
      if (auto r = add(l.digest); !r)
        return tl::unexpected(r.error());
    if (auto r = add(it.image.manifest); !r)
      return tl::unexpected(r.error());

    std::vector<std::string> names;
    if (it.name) {
      if (auto n = normalize_name(*it.name))
        names.push_back(*n);
    } else {
      names = it.image.names;
    }
    ordered desc = {
        {"mediaType", m->media_type}, {"digest", it.image.manifest.str()}, {"size", *msize}};
    if (!names.empty()) {
      std::string repo, tag;
      split_name(names[0], repo, tag);
      desc["annotations"] = {{"io.containerd.image.name", names[0]},
                             {"org.opencontainers.image.ref.name",
                              format == SaveFormat::docker_archive ? tag : names[0]}};
    }
    index["manifests"].push_back(desc);
    ordered entry = {{"Config", blob_member(m->config.digest)}};
    entry["RepoTags"] = json::array();
    for (const auto &n : names) {
      entry["RepoTags"].push_back(familiar_name(n));
      std::string repo, tag;
      split_name(n, repo, tag);
      repositories[repo][tag] = std::string(m->config.digest.hex());
    }
    entry["Layers"] = json::array();
    for (const auto &l : m->layers)
      entry["Layers"].push_back(blob_member(l.digest));
    manifest_json.push_back(entry);
  }
  p.meta["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
  p.meta["index.json"] = index.dump();
  if (format == SaveFormat::docker_archive) {
    p.meta["manifest.json"] = manifest_json.dump();
    p.meta["repositories"] = repositories.dump();
  }
  return p;
}

struct WriterDeleter {
  void operator()(struct archive *a) const { archive_write_free(a); }
};

Result<void> add_entry(struct archive *a, const std::string &name, int64_t size, bool dir) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  int rc = archive_write_header(a, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK)
    return fail(Errc::io, "cannot write " + name + ": " + archive_error_string(a));
  return {};
}

Result<void> write_data(struct archive *a, const char *p, size_t n, const std::string &name) {
  if (n && archive_write_data(a, p, n) != static_cast<la_ssize_t>(n))
    return fail(Errc::io, "cannot write " + name + ": " + archive_error_string(a));
  return {};
}

Result<void> write_tar(const Store &store, const Plan &p, int fd, const ProgressFn &progress) {
  std::unique_ptr<struct archive, WriterDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK)
    return fail(Errc::io,
                std::string("cannot start the archive: ") + archive_error_string(a.get()));
  for (const char *d : {"blobs", "blobs/sha256"})
    if (auto r = add_entry(a.get(), d, 0, true); !r)
      return r;
  uint64_t done = 0;
  std::string buf(1 << 16, '\0');
  for (const auto &d : p.blobs) {
    auto src = store.open_blob(d);
    if (!src)
      return tl::unexpected(src.error());
    struct stat st {};
    if (::fstat(src->get(), &st) != 0)
      return fail_errno("cannot stat blob " + d.str());
    const std::string name = blob_member(d);
    if (auto r = add_entry(a.get(), name, st.st_size, false); !r)
      return r;
    uint64_t left = static_cast<uint64_t>(st.st_size);
    while (left > 0) {
      ssize_t n = ::read(src->get(), buf.data(), std::min<uint64_t>(buf.size(), left));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return fail_errno("cannot read blob " + d.str() + " (it changed while saving?)",
                          n == 0 ? EIO : errno);
      if (auto r = write_data(a.get(), buf.data(), static_cast<size_t>(n), name); !r)
        return r;
      left -= static_cast<uint64_t>(n);
      done += static_cast<uint64_t>(n);
      if (progress)
        progress("Saving", done, p.total);
    }
  }
  for (const auto &[name, text] : p.meta) {
    if (auto r = add_entry(a.get(), name, static_cast<int64_t>(text.size()), false); !r)
      return r;
    if (auto r = write_data(a.get(), text.data(), text.size(), name); !r)
      return r;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(Errc::io,
                std::string("cannot finish the archive: ") + archive_error_string(a.get()));
  if (progress)
    progress("Saving", p.total, p.total);
  return {};
}

Result<void> write_dir(const Store &store, const Plan &p, const std::string &dir,
                       const ProgressFn &progress) {
  if (auto r = make_dirs(dir + "/blobs/sha256", 0755); !r)
    return r;
  uint64_t done = 0;
  for (const auto &d : p.blobs) {
    const std::string dest = dir + "/" + blob_member(d);
    auto src = store.open_blob(d);
    if (!src)
      return tl::unexpected(src.error());
    auto out = open_fd(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
    if (!out)
      return tl::unexpected(out.error());
    std::string buf(1 << 16, '\0');
    for (;;) {
      ssize_t n = ::read(src->get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail_errno("cannot read blob " + d.str());
      if (n == 0)
        break;
      if (::write(out->get(), buf.data(), static_cast<size_t>(n)) != n)
        return fail_errno("cannot write " + dest);
      done += static_cast<uint64_t>(n);
      if (progress)
        progress("Saving", done, p.total);
    }
  }
  for (const auto &[name, text] : p.meta)
    if (auto r = write_file_atomic(dir + "/" + name, text, 0644); !r)
      return r;
  return {};
}

} // namespace

Result<void> save_archive(const Store &store, const std::vector<SaveItem> &items,
                          const std::string &path, SaveFormat format, const ProgressFn &progress,
                          int out_fd) {
  const std::string what = "cannot save to " + (path == "-" ? std::string("stdout") : path);
  if (items.empty())
    return fail(Errc::invalid_argument, what + ": no image given");
  // Nobody may delete blobs while we copy them.
  auto lk = store.lock(LockMode::shared);
  if (!lk)
    return wrap(lk, what);
  auto p = plan(store, items, format);
  if (!p)
    return wrap(p, what);
  if (format == SaveFormat::oci_dir) {
    if (auto r = write_dir(store, *p, path, progress); !r)
      return wrap(r, what);
    return {};
  }
  if (path == "-") {
    if (auto r = write_tar(store, *p, out_fd, progress); !r)
      return wrap(r, what);
    return {};
  }
  // A temporary file renamed into place: a failed save leaves no half archive.
  std::string tmp = path + ".ctk-tmp";
  auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd)
    return wrap(fd, what);
  auto r = write_tar(store, *p, fd->get(), progress);
  if (r && ::fsync(fd->get()) != 0)
    r = fail_errno("cannot sync " + tmp);
  if (r && ::rename(tmp.c_str(), path.c_str()) != 0)
    r = fail_errno("cannot rename " + tmp);
  if (!r) {
    ::unlink(tmp.c_str());
    return wrap(r, what);
  }
  return {};
}

} // namespace ctk::rt::image
