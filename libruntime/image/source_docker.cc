// docker-daemon: images, read from docker's store so that dockerd may be
// down. Its layout (graphdrivers; the containerd image store is another
// matter, see below):
//   <data-root>/image/<driver>/repositories.json   {"Repositories": {repo: {ref: image id}}}
//   <data-root>/image/<driver>/imagedb/content/sha256/<id>   the config; id = its digest
//   <data-root>/image/<driver>/layerdb/sha256/<chain id>/{diff,cache-id,tar-split.json.gz}
//   <data-root>/<driver>/<cache-id>/diff (overlay2, fuse-overlayfs), vfs/dir/<cache-id>,
//   btrfs/subvolumes/<cache-id>: the layer's files
// Layers have no blob: the tar is rebuilt from the files and tar-split, and its
// digest is the diff ID. The layerdb "size" is what the files take unpacked,
// not the tar's size, so it is not reported.
//
// With the containerd image store (or a driver whose files are not plain
// directories: zfs, devicemapper) no image is found this way; then, when
// ask_daemons is set, the image is fetched from the API as `docker save`
// would write it (GET /images/{name}/get) and read like docker-archive:.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ctk/runtime/http.h"
#include "source_internal.h"
#include "tar_split.h"

namespace ctk::rt::image::detail {

Result<nlohmann::json> read_store_json(const std::string &path) {
  auto text = read_file(path);
  if (!text)
    return tl::unexpected(text.error());
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse, "malformed JSON in " + path + ": " + e.what());
  }
}

std::vector<std::string> config_diff_ids(const nlohmann::json &cfg) {
  std::vector<std::string> out;
  auto r = cfg.find("rootfs");
  if (r == cfg.end() || !r->is_object())
    return out;
  auto d = r->find("diff_ids");
  if (d == r->end() || !d->is_array())
    return out;
  for (const auto &x : *d)
    out.push_back(x.is_string() ? x.get<std::string>() : std::string());
  return out;
}

std::string id_prefix_of(std::string_view name) {
  if (name.starts_with("sha256:"))
    name.remove_prefix(7);
  if (name.size() < 3 || name.size() > 64 || !is_hex(name))
    return {};
  for (char c : name)
    if (c >= 'A' && c <= 'F')
      return {};
  return std::string(name);
}

SourceLayer unpacked_layer(std::string tar_split, std::string dir, std::string what) {
  SourceLayer l;
  l.open = [tar_split = std::move(tar_split), dir = std::move(dir),
            what = std::move(what)]() -> Result<UniqueFd> {
    auto ts = open_fd(tar_split, O_RDONLY);
    if (!ts)
      return wrap(ts, what + ": cannot open its tar-split record");
    auto entries = read_tar_split(ts->get(), what);
    if (!entries)
      return tl::unexpected(entries.error());
    auto root = open_fd(dir, O_PATH | O_DIRECTORY);
    if (!root)
      return wrap(root, what + ": cannot open its directory");
    return stream_tar_split(std::move(*entries), std::move(*root), what);
  };
  return l;
}

namespace {

bool is_dir(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Where a graphdriver keeps a layer's files, or "" for a driver whose layers
// are not plain directories.
std::string layer_dir(const std::string &root, const std::string &driver,
                      const std::string &cache_id) {
  if (driver == "overlay2" || driver == "fuse-overlayfs")
    return root + "/" + driver + "/" + cache_id + "/diff";
  if (driver == "vfs")
    return root + "/vfs/dir/" + cache_id;
  if (driver == "btrfs")
    return root + "/btrfs/subvolumes/" + cache_id;
  return {};
}

struct Found {
  std::string root, driver, id; // id: hex of the config digest
  std::vector<std::string> names;
};

// The image `name` names in one driver's metadata: a name first, then an ID
// prefix, as docker resolves it. nullopt when absent; ambiguous for a prefix
// of several IDs.
Result<std::optional<Found>> find_in(const std::string &root, const std::string &driver,
                                     const std::string &name) {
  const std::string meta = root + "/image/" + driver;
  nlohmann::json repos = nlohmann::json::object();
  if (::access((meta + "/repositories.json").c_str(), F_OK) == 0) {
    auto r = read_store_json(meta + "/repositories.json");
    if (!r)
      return tl::unexpected(r.error());
    repos = std::move(*r);
  }
  // Every name of every image, normalised, by image ID. Digest references
  // ("busybox@sha256:...") are left out: normalize_name() refuses them.
  std::map<std::string, std::vector<std::string>> names_of;
  if (auto it = repos.find("Repositories"); it != repos.end() && it->is_object())
    for (const auto &[repo, refs] : it->items())
      if (refs.is_object())
        for (const auto &[ref, id] : refs.items())
          if (auto n = normalize_name(ref);
              n && id.is_string() && Digest::parse(id.get<std::string>()))
            names_of[id.get<std::string>()].push_back(*n);
  auto found = [&](const std::string &digest) -> std::optional<Found> {
    Found f{root, driver, digest.substr(7), {}};
    for (const auto &n : names_of[digest])
      f.names.push_back(familiar_name(n));
    return f;
  };
  if (auto want = normalize_name(name))
    for (const auto &[id, names] : names_of)
      if (std::find(names.begin(), names.end(), *want) != names.end())
        return found(id);
  std::string prefix = id_prefix_of(name);
  if (prefix.empty())
    return std::optional<Found>();
  std::vector<std::string> hits;
  std::error_code ec;
  for (const auto &d : std::filesystem::directory_iterator(meta + "/imagedb/content/sha256", ec))
    if (auto id = d.path().filename().string(); id.starts_with(prefix))
      hits.push_back(id);
  if (hits.size() > 1)
    return fail(Errc::ambiguous, fmt::format("image ID prefix {} matches {} images in {}", prefix,
                                             hits.size(), root));
  if (hits.empty())
    return std::optional<Found>();
  return found("sha256:" + hits[0]);
}

Result<OpenedImage> from_store(std::string_view ref, const Found &f) {
  const std::string meta = f.root + "/image/" + f.driver;
  auto cfg = read_store_json(meta + "/imagedb/content/sha256/" + f.id);
  if (!cfg)
    return wrap(cfg, "cannot read its config");
  OpenedImage out;
  out.ref = std::string(ref);
  out.transport = "docker-daemon";
  out.id = "sha256:" + f.id;
  out.names = f.names;
  std::string chain;
  for (const auto &diff_id : config_diff_ids(*cfg)) {
    if (!Digest::parse(diff_id))
      return fail(Errc::parse, "malformed diff ID \"" + diff_id + "\" in the config of " + out.id);
    // The chain ID names a layer with everything under it (layerdb's key).
    chain = chain.empty() ? diff_id : sha256_of(chain + " " + diff_id).str();
    const std::string ldir = meta + "/layerdb/sha256/" + chain.substr(7);
    auto cache_id = read_file(ldir + "/cache-id");
    if (!cache_id)
      return wrap(cache_id, "layer " + diff_id + " is not in docker's layer store");
    std::string id(trim(*cache_id));
    if (id.empty() || id.find('/') != std::string::npos || id == "..")
      return fail(Errc::parse, "malformed cache-id in " + ldir);
    SourceLayer l = unpacked_layer(ldir + "/tar-split.json.gz", layer_dir(f.root, f.driver, id),
                                   fmt::format("layer {} of {}", diff_id, ref));
    l.digest = diff_id;
    l.diff_id = diff_id;
    out.layers.push_back(std::move(l));
  }
  out.config = std::move(*cfg);
  return out;
}

// ---- the API ----------------------------------------------------------------

// Names docker's API takes in a path: reference characters only, so nothing
// needs escaping and nothing can smuggle a query or another route.
bool api_safe(std::string_view name) {
  if (name.empty() || name.find("..") != std::string_view::npos)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-' || c == '/' || c == ':' || c == '@'))
      return false;
  return true;
}

// GET /images/{name}/get (what `docker save` reads) into out_fd.
Result<void> api_save(const std::string &sock, const std::string &name, int out_fd,
                      const SourceOptions &opt) {
  http::GetOptions g;
  g.what = "docker API";
  g.cancelled = opt.cancelled;
  // A saving daemon may think for a while before the first byte; a stall of
  // a minute is a hung daemon.
  g.idle_timeout_ms = 60'000;
  auto got = http::get_unix(sock, "/images/" + name + "/get", g,
                            [&](std::string_view data) -> Result<void> {
                              for (size_t off = 0; off < data.size();) {
                                ssize_t w = ::write(out_fd, data.data() + off, data.size() - off);
                                if (w < 0 && errno == EINTR)
                                  continue;
                                if (w < 0)
                                  return fail_errno("cannot write the image docker's API sent");
                                off += static_cast<size_t>(w);
                              }
                              return {};
                            });
  if (!got)
    return tl::unexpected(got.error());
  return {};
}

Result<OpenedImage> from_api(std::string_view ref, const std::string &name, const std::string &sock,
                             const SourceOptions &opt) {
  std::string base = opt.tmp_dir;
  if (base.empty()) {
    const char *t = std::getenv("TMPDIR");
    base = t && *t ? t : "/tmp";
  }
  std::string path = base + "/ctk-docker-save.XXXXXX";
  UniqueFd tmp(::mkostemp(path.data(), O_CLOEXEC));
  if (!tmp)
    return fail_errno("cannot create a temporary file under " + base);
  // Only needed until the archive is read into the private store.
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink_later{path};
  if (auto r = api_save(sock, name, tmp.get(), opt); !r)
    return tl::unexpected(r.error());
  tmp.reset();
  SourceOptions inner = opt;
  auto img = open_image("docker-archive:" + path, inner);
  if (!img)
    return tl::unexpected(img.error());
  img->ref = std::string(ref);
  img->transport = "docker-daemon";
  return img;
}

const char *const kDrivers[] = {"overlay2", "fuse-overlayfs", "vfs", "btrfs"};

} // namespace

Result<OpenedImage> open_docker_daemon(std::string_view ref, const std::string &name,
                                       const SourceOptions &opt) {
  if (name.empty())
    return fail(Errc::invalid_argument, "docker-daemon: needs an image name or ID");
  std::vector<std::string> looked, other_drivers;
  for (const auto &root : opt.roots.docker_data_roots) {
    if (!is_dir(root + "/image"))
      continue;
    looked.push_back(root);
    std::error_code ec;
    for (const auto &d : std::filesystem::directory_iterator(root + "/image", ec)) {
      std::string driver = d.path().filename().string();
      if (std::find(std::begin(kDrivers), std::end(kDrivers), driver) == std::end(kDrivers)) {
        if (d.is_directory())
          other_drivers.push_back(driver);
        continue;
      }
      auto f = find_in(root, driver, name);
      if (!f)
        return tl::unexpected(f.error());
      if (*f)
        return from_store(ref, **f);
    }
  }
  std::string where =
      looked.empty() ? "no docker data root found" : fmt::format("{}", fmt::join(looked, ", "));
  if (opt.ask_daemons && api_safe(name)) {
    std::optional<Error> api_error;
    for (const auto &sock : opt.roots.docker_sockets) {
      if (::access(sock.c_str(), F_OK) != 0)
        continue;
      auto img = from_api(ref, name, sock, opt);
      if (img)
        return img;
      // A daemon that does not have it is an answer; one that is down is not.
      if (img.error().code == Errc::not_found && img.error().sys_errno == 0)
        return fail(
            Errc::not_found,
            fmt::format("no image {} in docker's store ({}) nor its API ({})", name, where, sock));
      if (!api_error)
        api_error = img.error();
    }
    if (api_error && !other_drivers.empty())
      return fail(api_error->code,
                  fmt::format("docker's store ({}) uses a storage driver ctk cannot read ({}), "
                              "and its API failed: {}",
                              where, fmt::join(other_drivers, ", "), api_error->message()));
  }
  if (!other_drivers.empty() && looked.size() == 1)
    return fail(Errc::not_found,
                fmt::format("no image {} in docker's store ({}); its storage driver {} is not "
                            "readable without dockerd",
                            name, where, fmt::join(other_drivers, ", ")));
  return fail(Errc::not_found, fmt::format("no image {} in docker's store ({})", name, where));
}

} // namespace ctk::rt::image::detail
