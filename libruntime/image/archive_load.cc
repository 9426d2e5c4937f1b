// load_archive(): detect the format, collect blobs, interpret, commit.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_load.h"

namespace ctk::rt::image {

using detail::Collected;
using detail::Found;

namespace {

bool is_dir(const std::string &p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Copies a blob of an OCI layout directory into the store, verified.
Result<void> copy_layout_blob(Store &store, const std::string &dir, const Descriptor &d) {
  if (store.has_blob(d.digest))
    return {};
  auto fd = open_fd(dir + "/blobs/sha256/" + std::string(d.digest.hex()), O_RDONLY);
  if (!fd)
    return fail(Errc::not_found, "names missing blob " + d.digest.str());
  auto w = store.begin_blob();
  if (!w)
    return tl::unexpected(w.error());
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot read blob " + d.digest.str());
    }
    if (n == 0)
      break;
    if (auto r = w->write(buf.data(), static_cast<size_t>(n)); !r)
      return tl::unexpected(r.error());
  }
  auto got = w->commit(d.digest);
  if (!got)
    return wrap(got, "blob " + d.digest.str());
  return {};
}

Result<Collected> read_layout_dir(const std::string &dir) {
  Collected c;
  for (const char *f : {"index.json", "oci-layout", "manifest.json", "repositories"}) {
    std::string p = dir + "/" + f;
    if (::access(p.c_str(), F_OK) != 0)
      continue;
    auto text = read_file(p);
    if (!text)
      return tl::unexpected(text.error());
    c.meta[f] = std::move(*text);
  }
  if (!c.meta.count("index.json"))
    return fail(Errc::parse, "not an OCI layout: no index.json in " + dir);
  return c;
}

} // namespace

Result<std::vector<Loaded>> load_archive(Store &store, const std::string &path,
                                         const LoadOptions &opt) {
  std::string src = path;
  bool layout = false;
  if (src.rfind("oci:", 0) == 0) {
    src = src.substr(4);
    layout = true;
  } else if (src.rfind("oci-archive:", 0) == 0) {
    src = src.substr(12);
  } else if (src.rfind("docker-archive:", 0) == 0) {
    src = src.substr(15);
  }
  if (src != "-" && is_dir(src))
    layout = true;
  const std::string what = "cannot load " + (src == "-" ? std::string("stdin") : src);
  // Blobs are unreferenced until the commit: no garbage collection meanwhile.
  auto session = store.begin_write();
  if (!session)
    return wrap(session, what);

  Result<Collected> c = layout ? read_layout_dir(src) : detail::read_archive(store, src, opt);
  if (!c)
    return wrap(c, what);

  detail::EnsureBlob ensure;
  if (layout) {
    ensure = [&](const Descriptor &d) { return copy_layout_blob(store, src, d); };
  } else {
    ensure = [&](const Descriptor &d) -> Result<void> {
      if (!store.has_blob(d.digest))
        return fail(Errc::not_found, "names missing blob " + d.digest.str());
      return {};
    };
  }

  Result<std::vector<Found>> found = fail(Errc::parse, "");
  if (c->meta.count("index.json"))
    found = detail::interpret_oci(store, *c, ensure, opt);
  else if (c->meta.count("manifest.json"))
    found = detail::interpret_docker(store, *c);
  else
    found = fail(Errc::parse, "not an image archive: it has neither manifest.json nor index.json");
  if (!found)
    return wrap(found, what);
  if (found->empty())
    return fail(Errc::not_found, what + ": the archive holds no image");

  // Commit last: until here nothing is visible.
  std::vector<Loaded> out;
  for (const auto &f : *found) {
    if (auto r = store.commit_image(f.manifest, f.names); !r)
      return wrap(r, what);
    auto img = store.resolve(f.manifest.hex());
    if (!img)
      return wrap(img, what);
    out.push_back({*img});
  }
  return out;
}

} // namespace ctk::rt::image
