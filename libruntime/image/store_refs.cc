// refs.json: which manifests are images and under which names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "ctk/runtime/image_store.h"
#include "store_internal.h"

namespace ctk::rt::image {

using nlohmann::json;

Result<json> Store::read_refs() const {
  const std::string path = dir_ + "/refs.json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return json{{"images", json::object()}};
  auto text = read_file(path);
  if (!text)
    return wrap(text, "cannot read the image list");
  auto j = parse_json(*text, path);
  if (!j)
    return tl::unexpected(j.error());
  if (!j->is_object() || !(*j)["images"].is_object())
    return fail(Errc::parse, path + " has no images object");
  return j;
}

Result<void> Store::write_refs(const json &refs) const {
  auto r = write_file_atomic(dir_ + "/refs.json", refs.dump(2) + "\n", 0600);
  if (!r)
    return wrap(r, "cannot update the image list");
  return {};
}

static Image image_of(const std::string &key, const json &v) {
  Image img;
  img.manifest = Digest::parse(key).value_or(Digest());
  if (v.contains("config") && v["config"].is_string())
    img.config = Digest::parse(v["config"].get<std::string>()).value_or(Digest());
  if (v.contains("names") && v["names"].is_array())
    for (const auto &n : v["names"])
      if (n.is_string())
        img.names.push_back(n.get<std::string>());
  std::sort(img.names.begin(), img.names.end());
  if (v.contains("loaded") && v["loaded"].is_number_integer())
    img.loaded = v["loaded"].get<int64_t>();
  return img;
}

Result<std::vector<Image>> Store::images() const {
  auto refs = read_refs();
  if (!refs)
    return tl::unexpected(refs.error());
  std::vector<Image> out;
  for (const auto &[k, v] : (*refs)["images"].items()) {
    Image img = image_of(k, v);
    if (!img.manifest.empty() && !img.config.empty())
      out.push_back(std::move(img));
  }
  std::sort(out.begin(), out.end(), [](const Image &a, const Image &b) {
    return a.loaded != b.loaded ? a.loaded > b.loaded : a.manifest < b.manifest;
  });
  return out;
}

Result<Image> Store::resolve(std::string_view ref) const {
  auto all = images();
  if (!all)
    return tl::unexpected(all.error());
  std::string_view id = ref;
  if (id.substr(0, 7) == "sha256:")
    id.remove_prefix(7);
  if (id.size() >= 4 && id.size() <= 64 && is_hex(id) &&
      id.find_first_of("ABCDEF") == std::string_view::npos) {
    std::vector<const Image *> hits;
    for (const auto &img : *all)
      if (img.config.hex().substr(0, id.size()) == id || img.manifest.hex() == id)
        hits.push_back(&img);
    if (hits.size() == 1)
      return *hits[0];
    if (hits.size() > 1)
      return fail(Errc::ambiguous, "image ID " + std::string(ref) + " is ambiguous: " +
                                       std::to_string(hits.size()) + " images match");
  }
  auto name = normalize_name(ref);
  if (name) {
    for (const auto &img : *all)
      if (std::find(img.names.begin(), img.names.end(), *name) != img.names.end())
        return img;
  }
  return fail(Errc::not_found, "no such image: " + std::string(ref));
}

Result<void> Store::commit_image(const Digest &manifest, const std::vector<std::string> &names) {
  auto lk = lock(LockMode::exclusive);
  if (!lk)
    return tl::unexpected(lk.error());
  // Blobs are checked under the lock: an rmi running beside this load may
  // have removed a blob the load found present and did not rewrite.
  auto m = read_manifest(manifest);
  if (!m)
    return wrap(m, "cannot commit image " + manifest.str());
  for (const Descriptor *d : [&] {
         std::vector<const Descriptor *> v{&m->config};
         for (const auto &l : m->layers)
           v.push_back(&l);
         return v;
       }())
    if (!has_blob(d->digest))
      return fail(Errc::not_found, "cannot commit image " + manifest.str() + ": blob " +
                                       d->digest.str() + " is missing");
  auto refs = read_refs();
  if (!refs)
    return tl::unexpected(refs.error());
  json &imgs = (*refs)["images"];
  for (auto &[k, v] : imgs.items()) {
    if (k == manifest.str() || !v.contains("names"))
      continue;
    json kept = json::array();
    for (const auto &n : v["names"])
      if (std::find(names.begin(), names.end(), n.get<std::string>()) == names.end())
        kept.push_back(n);
    v["names"] = kept;
  }
  json &entry = imgs[manifest.str()];
  std::set<std::string> all(names.begin(), names.end());
  if (entry.contains("names"))
    for (const auto &n : entry["names"])
      all.insert(n.get<std::string>());
  entry["config"] = m->config.digest.str();
  entry["names"] = std::vector<std::string>(all.begin(), all.end());
  entry["loaded"] = static_cast<int64_t>(::time(nullptr));
  return write_refs(*refs);
}

Result<void> Store::tag(std::string_view src, std::string_view dst) {
  auto img = resolve(src);
  if (!img)
    return tl::unexpected(img.error());
  auto name = normalize_name(dst);
  if (!name)
    return tl::unexpected(name.error());
  return commit_image(img->manifest, {*name});
}

Result<void> Store::delete_unreferenced(const json &refs, const Image &img) const {
  detail::Needed used, mine;
  for (const auto &[k, v] : refs["images"].items())
    if (auto d = Digest::parse(k))
      detail::add_needs(*this, *d, used);
  detail::add_needs(*this, img.manifest, mine);
  // Layers first: they are found through the config, a blob below.
  for (const auto &c : mine.chains)
    if (!used.chains.count(c))
      if (auto r = detail::remove_chain(*this, c); !r)
        return r;
  for (const auto &b : mine.blobs) {
    auto d = Digest::parse(b);
    if (d && !used.blobs.count(b) && ::unlink(blob_path(*d).c_str()) != 0 && errno != ENOENT)
      return fail_errno("cannot delete blob " + b);
  }
  return {};
}

Result<Store::Removed> Store::remove(std::string_view ref, bool force) {
  auto lk = lock(LockMode::exclusive);
  if (!lk)
    return tl::unexpected(lk.error());
  auto img = resolve(ref);
  if (!img)
    return tl::unexpected(img.error());
  auto refs = read_refs();
  if (!refs)
    return tl::unexpected(refs.error());
  json &imgs = (*refs)["images"];
  Removed out;
  auto name = normalize_name(ref);
  bool by_name = name && std::find(img->names.begin(), img->names.end(), *name) != img->names.end();
  std::vector<std::string> left;
  if (by_name) {
    out.untagged.push_back(*name);
    for (const auto &n : img->names)
      if (n != *name)
        left.push_back(n);
  } else if (img->names.size() > 1 && !force) {
    return fail(Errc::busy, "cannot remove image " + img->config.short_id() +
                                ": it has several names (" + std::to_string(img->names.size()) +
                                "); remove them by name or use -f");
  } else {
    out.untagged = img->names;
  }
  if (!left.empty()) {
    imgs[img->manifest.str()]["names"] = left;
    if (auto r = write_refs(*refs); !r)
      return tl::unexpected(r.error());
    return out;
  }
  // A running container (or an unpack) holds the image: its layers are
  // mounted. Deleting them would pull the filesystem from under it, so the
  // image stays; -f takes its names (docker's dangling <none> image).
  const std::string use_path = dir_ + detail::kLocks + "/use-" + std::string(img->manifest.hex());
  auto held = detail::lock_file(use_path, LockMode::exclusive, false);
  if (!held) {
    if (held.error().code != Errc::busy)
      return wrap(held, "cannot remove image " + std::string(ref));
    if (!force)
      return fail(Errc::busy, "cannot remove image " + std::string(ref) +
                                  ": a running container uses it (-f untags it only)");
    imgs[img->manifest.str()]["names"] = json::array();
    if (auto r = write_refs(*refs); !r)
      return tl::unexpected(r.error());
    return out;
  }
  // Whatever a crash below leaves, the next open collects.
  auto mark = open_fd(dir_ + detail::kGcNeeded, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600);
  if (!mark)
    return wrap(mark, "cannot remove image " + std::string(ref));
  imgs.erase(img->manifest.str());
  // refs.json first: a crash after it leaves unreferenced blobs (garbage),
  // never an image whose blobs are gone.
  if (auto r = write_refs(*refs); !r)
    return tl::unexpected(r.error());
  if (auto r = delete_unreferenced(*refs, *img); !r)
    return tl::unexpected(r.error());
  // Held exclusively: a user waiting on it retries on a new file and finds
  // the image gone.
  ::unlink(use_path.c_str());
  out.deleted = img->config;
  return out;
}

} // namespace ctk::rt::image
