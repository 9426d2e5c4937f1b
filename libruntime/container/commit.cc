// A container's overlay upper dir: its changes (docker diff) and its commit
// into a new image layer with OCI whiteouts.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <memory>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include "ctk/runtime/container_ops.h"

namespace ctk::rt::container {

using nlohmann::json;

namespace {

bool is_whiteout(const struct stat &st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(const std::string &path) {
  char v[4];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

// Sorted names of a directory, without "." and "..".
Result<std::vector<std::string>> names_in(const std::string &dir) {
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return fail_errno("cannot list " + dir);
  std::vector<std::string> out;
  while (auto *e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..")
      out.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Depth-first, parents before children, by name: visit(rel, abs, st) and
// descends into directories when it returns true.
using Visit = std::function<Result<bool>(const std::string &rel, const std::string &abs,
                                         const struct stat &st)>;
Result<void> walk(const std::string &root, const std::string &rel, const Visit &visit) {
  auto names = names_in(rel.empty() ? root : root + "/" + rel);
  if (!names)
    return tl::unexpected(names.error());
  for (const auto &n : *names) {
    const std::string r = rel.empty() ? n : rel + "/" + n;
    const std::string abs = root + "/" + r;
    struct stat st {};
    if (::lstat(abs.c_str(), &st) != 0)
      return fail_errno("cannot stat " + abs);
    auto descend = visit(r, abs, st);
    if (!descend)
      return tl::unexpected(descend.error());
    if (*descend && S_ISDIR(st.st_mode))
      if (auto w = walk(root, r, visit); !w)
        return w;
  }
  return {};
}

// Whether `rel` is visible in the lower layers (top first): the first layer
// that has it, or a whiteout for it, decides.
bool exists_below(const std::vector<std::string> &lowers, const std::string &rel) {
  for (const auto &l : lowers) {
    struct stat st {};
    if (::lstat((l + "/" + rel).c_str(), &st) == 0)
      return !is_whiteout(st);
  }
  return false;
}

// The mount points the runtime creates in the upper dir when the image
// lacks them (container.h: /dev, /proc, /sys, /etc/hosts, hostname,
// resolv.conf). docker keeps these in a separate "init" layer that neither
// diff nor commit shows; here they are recognised as empty stubs that exist
// in no lower layer.
bool is_runtime_stub(const std::vector<std::string> &lowers, const std::string &rel,
                     const std::string &abs, const struct stat &st) {
  static const char *const kStubs[] = {"dev",       "proc",         "sys",
                                       "etc/hosts", "etc/hostname", "etc/resolv.conf"};
  if (std::find(std::begin(kStubs), std::end(kStubs), rel) == std::end(kStubs))
    return false;
  if (S_ISREG(st.st_mode)) {
    if (st.st_size != 0)
      return false;
  } else if (S_ISDIR(st.st_mode)) {
    auto names = names_in(abs);
    if (!names || !names->empty())
      return false;
  } else {
    return false;
  }
  return !exists_below(lowers, rel);
}

// A directory copied up only because the runtime put a stub in it (/etc for
// /etc/hostname): not a change of the container's.
bool holds_only_stubs(const std::vector<std::string> &lowers, const std::string &rel,
                      const std::string &abs) {
  auto names = names_in(abs);
  if (!names || names->empty())
    return false;
  for (const auto &n : *names) {
    struct stat st {};
    if (::lstat((abs + "/" + n).c_str(), &st) != 0 ||
        !is_runtime_stub(lowers, rel + "/" + n, abs + "/" + n, st))
      return false;
  }
  return true;
}

} // namespace

Result<std::vector<std::string>> image_lower_dirs(const image::Store &store,
                                                  const ContainerConfig &c) {
  const std::string what =
      "cannot find the layers of container " + (c.name.empty() ? c.id : c.name);
  auto img = store.resolve(!c.image_manifest.empty() ? c.image_manifest : c.image_id);
  if (!img)
    return wrap(img, what);
  auto cfg = store.read_json(img->config);
  if (!cfg)
    return wrap(cfg, what);
  std::vector<image::Digest> diff_ids;
  try {
    for (const auto &d : cfg->at("rootfs").at("diff_ids")) {
      auto dg = image::Digest::parse(d.get<std::string>());
      if (!dg)
        return wrap(dg, what);
      diff_ids.push_back(*dg);
    }
  } catch (const json::exception &e) {
    return fail(Errc::parse, what + ": malformed image config: " + e.what());
  }
  std::vector<std::string> out;
  const auto chains = image::chain_ids(diff_ids);
  for (auto it = chains.rbegin(); it != chains.rend(); ++it)
    out.push_back(store.layer_path(*it));
  return out;
}

Result<std::vector<UpperChange>> upper_changes(const std::string &upper,
                                               const std::vector<std::string> &lowers) {
  std::vector<UpperChange> out;
  // Paths below an opaque directory hide the lower layers: all are added.
  std::vector<std::string> opaque_dirs;
  auto under_opaque = [&](const std::string &rel) {
    for (const auto &o : opaque_dirs)
      if (rel.compare(0, o.size() + 1, o + "/") == 0)
        return true;
    return false;
  };
  auto r = walk(
      upper, "",
      [&](const std::string &rel, const std::string &abs, const struct stat &st) -> Result<bool> {
        if (is_whiteout(st)) {
          out.push_back({'D', "/" + rel});
          return false;
        }
        if (is_runtime_stub(lowers, rel, abs, st))
          return false;
        const bool below = !under_opaque(rel) && exists_below(lowers, rel);
        if (below && S_ISDIR(st.st_mode) && holds_only_stubs(lowers, rel, abs))
          return false;
        if (S_ISDIR(st.st_mode) && is_opaque(abs)) {
          // docker diff reports an opaque directory as deleted, then its new
          // contents as added; one that did not exist below is simply added.
          out.push_back({below ? 'D' : 'A', "/" + rel});
          opaque_dirs.push_back(rel);
          return true;
        }
        out.push_back({below ? 'C' : 'A', "/" + rel});
        return true;
      });
  if (!r)
    return wrap(r, "cannot read the changes in " + upper);
  return out;
}

namespace {

struct ArchiveDeleter {
  void operator()(struct archive *a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry *e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

// tar (inner) -> sha256 of the tar = diff ID -> gzip (outer, libarchive's raw
// format + gzip filter) -> the blob writer, so the layer is read once.
struct Pipeline {
  image::BlobWriter *blob = nullptr;
  image::Sha256 tar_sha;
  ArchivePtr outer, inner;
  std::string error;
};

la_ssize_t blob_write(struct archive *, void *data, const void *buf, size_t n) {
  auto *p = static_cast<Pipeline *>(data);
  if (auto r = p->blob->write(buf, n); !r) {
    p->error = r.error().message();
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

la_ssize_t tar_write(struct archive *, void *data, const void *buf, size_t n) {
  auto *p = static_cast<Pipeline *>(data);
  p->tar_sha.update(buf, n);
  la_ssize_t w = archive_write_data(p->outer.get(), buf, n);
  if (w < 0) {
    p->error = archive_error_string(p->outer.get());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

Result<void> check(struct archive *a, int rc, Pipeline &p, const std::string &what) {
  if (rc >= ARCHIVE_WARN)
    return {};
  std::string msg =
      !p.error.empty() ? p.error : (archive_error_string(a) ? archive_error_string(a) : "?");
  return fail(Errc::io, what + ": " + msg);
}

// Writes one upper-dir entry (or its whiteout form) into the tar.
Result<void> add_entry(Pipeline &p, const std::string &rel, const std::string &abs,
                       const struct stat &st,
                       std::map<std::pair<dev_t, ino_t>, std::string> &links) {
  struct archive *a = p.inner.get();
  EntryPtr e(archive_entry_new());
  auto slash = rel.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (is_whiteout(st)) {
    archive_entry_set_pathname(e.get(), (dir + ".wh." + base).c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
    return check(a, archive_write_header(a, e.get()), p, "cannot write whiteout " + rel);
  }
  archive_entry_copy_stat(e.get(), &st);
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_set_uname(e.get(), "");
  archive_entry_set_gname(e.get(), "");
  // File capabilities travel with the layer (ping, ...); overlayfs' own
  // trusted.overlay.* bookkeeping must not.
  char caps[256];
  ssize_t nc = ::lgetxattr(abs.c_str(), "security.capability", caps, sizeof caps);
  if (nc > 0)
    archive_entry_xattr_add_entry(e.get(), "security.capability", caps, static_cast<size_t>(nc));
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
    if (n < 0)
      return fail_errno("cannot read link " + abs);
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(e.get(), target.c_str());
    archive_entry_set_size(e.get(), 0);
  } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (auto it = links.find(key); it != links.end()) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      archive_entry_set_size(e.get(), 0);
      return check(a, archive_write_header(a, e.get()), p, "cannot write " + rel);
    }
    links[key] = rel;
  }
  if (!S_ISREG(st.st_mode))
    archive_entry_set_size(e.get(), 0);
  if (auto r = check(a, archive_write_header(a, e.get()), p, "cannot write " + rel); !r)
    return r;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    auto fd = open_fd(abs, O_RDONLY | O_NOFOLLOW);
    if (!fd)
      return tl::unexpected(fd.error());
    std::string buf(1 << 16, '\0');
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::read(fd->get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail_errno("cannot read " + abs);
      if (n == 0)
        return fail(Errc::io, "cannot commit " + rel + ": the file shrank while being read");
      n = std::min<ssize_t>(n, left);
      if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0)
        return check(a, ARCHIVE_FATAL, p, "cannot write " + rel);
      left -= n;
    }
  }
  if (S_ISDIR(st.st_mode) && is_opaque(abs)) {
    EntryPtr o(archive_entry_new());
    archive_entry_set_pathname(o.get(), (rel + "/.wh..wh..opq").c_str());
    archive_entry_set_filetype(o.get(), AE_IFREG);
    archive_entry_set_perm(o.get(), 0);
    archive_entry_set_size(o.get(), 0);
    archive_entry_set_mtime(o.get(), st.st_mtim.tv_sec, 0);
    return check(a, archive_write_header(a, o.get()), p, "cannot write opaque marker " + rel);
  }
  return {};
}

std::string now_rfc3339() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, ts.tv_nsec);
}

std::string shell_join(const std::vector<std::string> &argv) {
  std::string out;
  for (const auto &a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

} // namespace

Result<Committed> commit(image::Store &store, const Record &rec, const Paths &paths,
                         const CommitOptions &opt) {
  const ContainerConfig &c = rec.config;
  const std::string what = "cannot commit container " + (c.name.empty() ? c.id : c.name);
  std::optional<std::string> name;
  if (!opt.name.empty()) {
    auto n = image::normalize_name(opt.name);
    if (!n)
      return wrap(n, what);
    name = *n;
  }
  auto base = store.resolve(!c.image_manifest.empty() ? c.image_manifest : c.image_id);
  if (!base)
    return wrap(base, what + ": its image is gone");
  auto base_manifest = store.read_manifest(base->manifest);
  if (!base_manifest)
    return wrap(base_manifest, what);
  auto base_config = store.read_json(base->config);
  if (!base_config)
    return wrap(base_config, what);
  // The changes are checked before anything is written.
  json config = *base_config;
  json &cc = config["config"];
  if (!cc.is_object())
    cc = json::object();
  for (const auto &ch : opt.changes)
    if (auto r = apply_change(cc, ch); !r)
      return wrap(r, what);

  // docker commit --pause: nothing in the container writes while its upper
  // directory is read; thawed on every way out.
  Committed out;
  struct Thaw {
    std::optional<cgroup::ContainerCgroup> cg;
    ~Thaw() {
      if (cg)
        (void)cg->freeze(false);
    }
  } thaw;
  if (opt.pause && rec.state.status == "running" && process_alive(rec.state.pid, rec.state.pid_start)) {
    auto h = cgroup::Hierarchy::detect({});
    if (!h)
      return wrap(h, what);
    auto cg = cgroup::ContainerCgroup::open(*h, c.id);
    if (auto r = cg.freeze(true); r) {
      thaw.cg.emplace(std::move(cg));
    } else if (r.error().code == Errc::unsupported) {
      out.not_paused = true;
    } else {
      (void)cg.freeze(false);
      return wrap(r, what);
    }
  }

  auto session = store.begin_write();
  if (!session)
    return wrap(session, what);
  auto blob = store.begin_blob();
  if (!blob)
    return wrap(blob, what);
  Pipeline p;
  p.blob = &*blob;
  p.outer.reset(archive_write_new());
  p.inner.reset(archive_write_new());
  archive_write_set_format_raw(p.outer.get());
  archive_write_add_filter_gzip(p.outer.get());
  archive_write_set_bytes_per_block(p.outer.get(), 0);
  archive_write_set_format_pax_restricted(p.inner.get());
  if (auto r = check(p.outer.get(),
                     archive_write_open(p.outer.get(), &p, nullptr, blob_write, nullptr), p, what);
      !r)
    return tl::unexpected(r.error());
  {
    EntryPtr raw(archive_entry_new());
    archive_entry_set_pathname(raw.get(), "layer.tar");
    archive_entry_set_filetype(raw.get(), AE_IFREG);
    if (auto r = check(p.outer.get(), archive_write_header(p.outer.get(), raw.get()), p, what); !r)
      return tl::unexpected(r.error());
  }
  if (auto r = check(p.inner.get(),
                     archive_write_open(p.inner.get(), &p, nullptr, tar_write, nullptr), p, what);
      !r)
    return tl::unexpected(r.error());
  std::map<std::pair<dev_t, ino_t>, std::string> links;
  const std::string upper = paths.dir(c.id) + "/upper";
  // The stubs are judged against the image's layers, as diff does.
  std::vector<std::string> lowers;
  if (auto l = image_lower_dirs(store, c))
    lowers = std::move(*l);
  auto walked = walk(
      upper, "",
      [&](const std::string &rel, const std::string &abs, const struct stat &st) -> Result<bool> {
        if (is_runtime_stub(lowers, rel, abs, st))
          return false;
        if (auto r = add_entry(p, rel, abs, st, links); !r)
          return tl::unexpected(r.error());
        return !is_whiteout(st);
      });
  if (!walked)
    return wrap(walked, what);
  if (auto r = check(p.inner.get(), archive_write_close(p.inner.get()), p, what); !r)
    return tl::unexpected(r.error());
  if (auto r = check(p.outer.get(), archive_write_close(p.outer.get()), p, what); !r)
    return tl::unexpected(r.error());
  // The layer is read: the container runs on while the image is assembled.
  if (thaw.cg) {
    (void)thaw.cg->freeze(false);
    thaw.cg.reset();
  }
  out.diff_id = p.tar_sha.finish();
  out.layer_size = blob->size();
  const std::string layer_media = base_manifest->media_type == image::kDockerManifest
                                      ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                                      : "application/vnd.oci.image.layer.v1.tar+gzip";
  auto layer = blob->commit();
  if (!layer)
    return wrap(layer, what);
  out.layer_digest = *layer;

  const std::string created = now_rfc3339();
  config["created"] = created;
  if (!opt.author.empty())
    config["author"] = opt.author;
  json &diff_ids = config["rootfs"]["diff_ids"];
  if (!diff_ids.is_array())
    diff_ids = json::array();
  config["rootfs"]["type"] = "layers";
  diff_ids.push_back(out.diff_id.str());
  json hist = {{"created", created}};
  std::vector<std::string> argv = c.entrypoint;
  argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());
  hist["created_by"] = shell_join(argv);
  if (!opt.author.empty())
    hist["author"] = opt.author;
  if (!opt.message.empty())
    hist["comment"] = opt.message;
  if (!config["history"].is_array())
    config["history"] = json::array();
  config["history"].push_back(hist);
  const std::string cfg_text = config.dump();
  auto cfg = store.put_blob(cfg_text);
  if (!cfg)
    return wrap(cfg, what);

  const std::string_view cfg_media = base_manifest->config.media_type.empty()
                                         ? image::kOciConfig
                                         : std::string_view(base_manifest->config.media_type);
  json layers = json::array();
  for (const auto &l : base_manifest->layers)
    layers.push_back({{"mediaType", l.media_type}, {"digest", l.digest.str()}, {"size", l.size}});
  layers.push_back(
      {{"mediaType", layer_media}, {"digest", layer->str()}, {"size", out.layer_size}});
  const std::string mt = base_manifest->media_type.empty() ? std::string(image::kOciManifest)
                                                           : base_manifest->media_type;
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", mt},
      {"config", {{"mediaType", cfg_media}, {"digest", cfg->str()}, {"size", cfg_text.size()}}},
      {"layers", layers}};
  auto md = store.put_blob(manifest.dump());
  if (!md)
    return wrap(md, what);
  std::vector<std::string> names;
  if (name)
    names.push_back(*name);
  if (auto r = store.commit_image(*md, names); !r)
    return wrap(r, what);
  auto img = store.resolve(md->str());
  if (!img)
    return wrap(img, what);
  out.image = *img;
  return out;
}

} // namespace ctk::rt::container
