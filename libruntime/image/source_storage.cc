// containers-storage: images (podman, CRI-O, buildah, skopeo), read from the
// store's files; there is no daemon to ask.
//   <root>/<driver>-images/images.json   [{id, names, layer (the top one), big-data-names}]
//   <root>/<driver>-images/<id>/<key>    big data: "manifest", the config under
//                                        its digest "sha256:<id>"; a key with
//                                        characters unsafe in a file name is
//                                        stored as "=" + base64(key)
//   <root>/<driver>-layers/layers.json   [{id, parent, diff-digest, diff-size,
//                                        compressed-diff-digest, compressed-size}]
//   <root>/<driver>-layers/<id>.tar-split.gz
//   <root>/overlay/<id>/diff, <root>/vfs/dir/<id>, <root>/btrfs/subvolumes/<id>
// The layers of an image are its top layer's parent chain, bottom first; their
// diff digests are the config's diff IDs.
#include "source_internal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ctk::rt::image::detail {
namespace {

const char *const kDrivers[] = {"overlay", "vfs", "btrfs"};

std::string layer_dir(const std::string &root, const std::string &driver, const std::string &id) {
  if (driver == "overlay")
    return root + "/overlay/" + id + "/diff";
  if (driver == "vfs")
    return root + "/vfs/dir/" + id;
  return root + "/btrfs/subvolumes/" + id;
}

bool safe_id(const std::string &id) {
  return !id.empty() && id.find('/') == std::string::npos && id != "." && id != "..";
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size())
      v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// A big-data item of an image, under either of the names storage gives it.
Result<std::string> big_data(const std::string &dir, const std::string &key) {
  auto text = read_file(dir + "/=" + base64(key));
  if (!text && text.error().code == Errc::not_found)
    text = read_file(dir + "/" + key);
  return text;
}

// Names as a user types them: "multi", "multi:latest", "localhost/multi",
// "busybox" for docker.io/library/busybox:latest. podman tries a short name
// under localhost/ first, then as docker would qualify it.
std::vector<std::string> candidates(std::string_view name) {
  std::vector<std::string> out;
  auto n = normalize_name(name);
  if (!n)
    return out;
  out.push_back(*n);
  bool has_domain = false;
  if (auto slash = name.find('/'); slash != std::string_view::npos) {
    auto first = name.substr(0, slash);
    has_domain = first.find_first_of(".:") != std::string_view::npos || first == "localhost";
  }
  if (!has_domain) {
    // normalize_name put it under docker.io/[library/]; strip that again.
    std::string rest = n->substr(10);
    if (rest.starts_with("library/") && name.find('/') == std::string_view::npos)
      rest = rest.substr(8);
    out.insert(out.begin(), "localhost/" + rest);
  }
  return out;
}

struct StorageImage {
  std::string root, driver;
  nlohmann::json entry;
};

Result<std::optional<StorageImage>> find_in(const std::string &root, const std::string &driver,
                                            const std::string &name) {
  const std::string list_path = root + "/" + driver + "-images/images.json";
  if (::access(list_path.c_str(), F_OK) != 0)
    return std::optional<StorageImage>();
  auto list = read_store_json(list_path);
  if (!list)
    return tl::unexpected(list.error());
  if (!list->is_array())
    return fail(Errc::parse, list_path + " is not a list");
  auto names_of = [](const nlohmann::json &e) {
    std::vector<std::string> out;
    if (auto n = e.find("names"); n != e.end() && n->is_array())
      for (const auto &x : *n)
        if (x.is_string())
          out.push_back(x.get<std::string>());
    return out;
  };
  for (const auto &want : candidates(name))
    for (const auto &e : *list)
      for (const auto &n : names_of(e))
        if (n == want)
          return std::optional<StorageImage>(StorageImage{root, driver, e});
  std::string prefix = id_prefix_of(name);
  if (prefix.empty())
    return std::optional<StorageImage>();
  std::vector<const nlohmann::json *> hits;
  for (const auto &e : *list)
    if (e.is_object() && e.value("id", "").starts_with(prefix))
      hits.push_back(&e);
  if (hits.size() > 1)
    return fail(Errc::ambiguous, fmt::format("image ID prefix {} matches {} images in {}", prefix,
                                             hits.size(), root));
  if (hits.empty())
    return std::optional<StorageImage>();
  return std::optional<StorageImage>(StorageImage{root, driver, *hits[0]});
}

Result<OpenedImage> from_store(std::string_view ref, const StorageImage &img) {
  const std::string id = img.entry.value("id", "");
  const std::string top = img.entry.value("layer", "");
  if (!safe_id(id))
    return fail(Errc::parse,
                "malformed image ID in " + img.root + "/" + img.driver + "-images/images.json");
  const std::string dir = img.root + "/" + img.driver + "-images/" + id;
  auto cfg_text = big_data(dir, "sha256:" + id);
  if (!cfg_text)
    return wrap(cfg_text, "cannot read its config");
  OpenedImage out;
  try {
    out.config = nlohmann::json::parse(*cfg_text);
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse, "malformed config of image " + id + ": " + e.what());
  }
  out.ref = std::string(ref);
  out.transport = "containers-storage";
  out.id = "sha256:" + id;
  if (auto n = img.entry.find("names"); n != img.entry.end() && n->is_array())
    for (const auto &x : *n)
      if (x.is_string())
        out.names.push_back(x.get<std::string>());

  const std::string layers_dir = img.root + "/" + img.driver + "-layers";
  auto layers = read_store_json(layers_dir + "/layers.json");
  if (!layers)
    return tl::unexpected(layers.error());
  std::map<std::string, const nlohmann::json *> by_id;
  if (layers->is_array())
    for (const auto &l : *layers)
      if (l.is_object())
        by_id[l.value("id", "")] = &l;
  // The top layer's parents, top first; an image without layers has none.
  std::vector<const nlohmann::json *> chain;
  for (std::string cur = top; !cur.empty();) {
    auto it = by_id.find(cur);
    if (it == by_id.end())
      return fail(Errc::parse,
                  "layer " + cur + " of image " + id + " is not in " + layers_dir + "/layers.json");
    if (chain.size() > by_id.size())
      return fail(Errc::parse, "the parent chain of layer " + top + " loops in " + layers_dir);
    chain.push_back(it->second);
    cur = it->second->value("parent", "");
  }
  std::reverse(chain.begin(), chain.end());
  auto diff_ids = config_diff_ids(out.config);
  if (diff_ids.size() != chain.size())
    return fail(Errc::parse, fmt::format("image {} has {} layers in the store but its config "
                                         "lists {} diff IDs",
                                         id, chain.size(), diff_ids.size()));
  for (size_t i = 0; i < chain.size(); ++i) {
    const auto &l = *chain[i];
    std::string lid = l.value("id", "");
    if (!safe_id(lid))
      return fail(Errc::parse, "malformed layer ID in " + layers_dir + "/layers.json");
    std::string diff = l.value("diff-digest", "");
    if (!diff.empty() && diff != diff_ids[i])
      return fail(Errc::parse, fmt::format("layer {} of image {} has diff digest {}, the config "
                                           "says {}",
                                           lid, id, diff, diff_ids[i]));
    SourceLayer s = unpacked_layer(layers_dir + "/" + lid + ".tar-split.gz",
                                   layer_dir(img.root, img.driver, lid),
                                   fmt::format("layer {} of {}", diff_ids[i], ref));
    s.digest = diff_ids[i];
    s.diff_id = diff_ids[i];
    s.size = l.value("diff-size", uint64_t{0});
    // The size of the blob it was pulled as, when it was compressed.
    if (l.value("compressed-diff-digest", "") != diff_ids[i])
      s.compressed_size = l.value("compressed-size", uint64_t{0});
    out.layers.push_back(std::move(s));
  }
  return out;
}

} // namespace

Result<OpenedImage> open_containers_storage(std::string_view ref, const std::string &text,
                                            const SourceOptions &opt) {
  // "[driver@root+runroot]name" names the store explicitly
  // (containers-transports(5)); its root is searched first.
  std::string name = text;
  std::vector<std::string> roots = opt.roots.storage_roots;
  if (name.starts_with("[")) {
    auto close = name.find(']');
    if (close == std::string::npos)
      return fail(Errc::invalid_argument, "containers-storage: unterminated [store] in " + text);
    std::string spec = name.substr(1, close - 1);
    name = name.substr(close + 1);
    if (auto at = spec.find('@'); at != std::string::npos)
      spec = spec.substr(at + 1);
    if (auto plus = spec.find('+'); plus != std::string::npos)
      spec = spec.substr(0, plus);
    roots.insert(roots.begin(), spec);
  }
  if (name.empty())
    return fail(Errc::invalid_argument, "containers-storage: needs an image name or ID");
  std::vector<std::string> looked;
  for (const auto &root : roots) {
    bool any = false;
    for (const char *driver : kDrivers) {
      auto f = find_in(root, driver, name);
      if (!f)
        return tl::unexpected(f.error());
      if (::access((root + "/" + driver + "-images").c_str(), F_OK) == 0)
        any = true;
      if (*f)
        return from_store(ref, **f);
    }
    if (any)
      looked.push_back(root);
  }
  return fail(Errc::not_found,
              fmt::format("no image {} in containers-storage ({})", name,
                          looked.empty() ? std::string("no store found")
                                         : fmt::format("{}", fmt::join(looked, ", "))));
}

} // namespace ctk::rt::image::detail
