// Turning the metadata of an archive or layout into images: index.json (OCI
// layout, hybrid archive) or manifest.json (legacy docker-archive).
#include <algorithm>

#include "archive_load.h"

namespace ctk::rt::image::detail {

using nlohmann::json;

namespace {

std::string ann(const Descriptor &d, const char *key) {
  if (!d.annotations.is_object())
    return "";
  auto it = d.annotations.find(key);
  return it != d.annotations.end() && it->is_string() ? it->get<std::string>() : "";
}

// Checks a descriptor against the blob the store now holds.
Result<void> check_blob(const Store &store, const Descriptor &d, const EnsureBlob &ensure,
                        std::string_view role) {
  if (auto r = ensure(d); !r)
    return wrap(r, role);
  auto size = store.blob_size(d.digest);
  if (!size)
    return tl::unexpected(size.error());
  if (d.size != *size)
    return fail(Errc::parse, std::string(role) + " " + d.digest.str() + " has " +
                                 std::to_string(*size) + " bytes, its descriptor says " +
                                 std::to_string(d.size));
  return {};
}

// Checks a manifest and every blob it names; returns its config digest.
Result<Digest> check_image(Store &store, const Descriptor &md, const EnsureBlob &ensure) {
  if (auto r = check_blob(store, md, ensure, "manifest"); !r)
    return tl::unexpected(r.error());
  auto m = store.read_manifest(md.digest);
  if (!m)
    return tl::unexpected(m.error());
  if (auto r = check_blob(store, m->config, ensure, "config"); !r)
    return wrap(r, "manifest " + md.digest.str());
  auto cfg = store.read_json(m->config.digest);
  if (!cfg)
    return wrap(cfg, "config of manifest " + md.digest.str());
  if (!cfg->is_object())
    return fail(Errc::parse, "config " + m->config.digest.str() + " is not a JSON object");
  for (const auto &l : m->layers)
    if (auto r = check_blob(store, l, ensure, "layer"); !r)
      return wrap(r, "manifest " + md.digest.str());
  return m->config.digest;
}

// RepoTags of a legacy manifest.json, keyed by config digest (hybrid archives).
Result<std::map<std::string, std::vector<std::string>>> repo_tags(const Collected &c) {
  std::map<std::string, std::vector<std::string>> out;
  auto it = c.meta.find("manifest.json");
  if (it == c.meta.end())
    return out;
  auto j = parse_json(it->second, "manifest.json");
  if (!j)
    return tl::unexpected(j.error());
  if (!j->is_array())
    return fail(Errc::parse, "manifest.json is not an array");
  for (const auto &e : *j) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string())
      return fail(Errc::parse, "manifest.json: an entry has no Config");
    auto m = c.member(e["Config"].get<std::string>());
    if (!m)
      continue; // the index decides what is loaded
    if (e.contains("RepoTags") && e["RepoTags"].is_array())
      for (const auto &t : e["RepoTags"])
        if (t.is_string())
          if (auto n = normalize_name(t.get<std::string>()))
            out[(*m)->digest.str()].push_back(*n);
  }
  return out;
}

} // namespace

Result<std::vector<Found>> interpret_oci(Store &store, const Collected &c, const EnsureBlob &ensure,
                                         const LoadOptions &opt) {
  auto index = parse_json(c.meta.at("index.json"), "index.json");
  if (!index)
    return tl::unexpected(index.error());
  if (!index->is_object() || !index->contains("manifests") || !(*index)["manifests"].is_array())
    return fail(Errc::parse, "index.json has no manifests array");
  auto tags = repo_tags(c);
  if (!tags)
    return tl::unexpected(tags.error());
  const Platform want = opt.platform.value_or(Platform::host());
  std::vector<Found> out;
  for (const auto &entry : (*index)["manifests"]) {
    auto d = parse_descriptor(entry, "index.json");
    if (!d)
      return tl::unexpected(d.error());
    Descriptor md = *d;
    if (is_index_type(md.media_type)) {
      if (auto r = check_blob(store, md, ensure, "index"); !r)
        return wrap(r, "index.json");
      auto nested = store.read_json(md.digest);
      if (!nested)
        return tl::unexpected(nested.error());
      auto chosen = choose_platform(*nested, want, "index " + md.digest.str());
      if (!chosen)
        return tl::unexpected(chosen.error());
      chosen->annotations = md.annotations; // names live on the outer entry
      md = *chosen;
    }
    auto cfg = check_image(store, md, ensure);
    if (!cfg)
      return wrap(cfg, "index.json");
    Found f{md.digest, {}};
    // docker 25 writes the full name in containerd's annotation and only
    // the tag in the OCI one; podman and skopeo write a name or a tag.
    std::string full = ann(md, "io.containerd.image.name");
    std::string ref = ann(md, "org.opencontainers.image.ref.name");
    if (full.empty() && ref.find_first_of(":/") != std::string::npos)
      full = ref;
    if (full.empty() && !ref.empty() && opt.name)
      full = *opt.name;
    if (!full.empty())
      if (auto n = normalize_name(full))
        f.names.push_back(*n);
    if (auto it = tags->find(cfg->str()); it != tags->end())
      f.names.insert(f.names.end(), it->second.begin(), it->second.end());
    std::sort(f.names.begin(), f.names.end());
    f.names.erase(std::unique(f.names.begin(), f.names.end()), f.names.end());
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<Found>> interpret_docker(Store &store, const Collected &c) {
  auto j = parse_json(c.meta.at("manifest.json"), "manifest.json");
  if (!j)
    return tl::unexpected(j.error());
  if (!j->is_array())
    return fail(Errc::parse, "manifest.json is not an array");
  std::vector<Found> out;
  for (const auto &e : *j) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string())
      return fail(Errc::parse, "manifest.json: an entry has no Config");
    const std::string cfg_path = e["Config"].get<std::string>();
    auto cfg = c.member(cfg_path);
    if (!cfg)
      return wrap(cfg, "manifest.json");
    auto cfg_json = store.read_json((*cfg)->digest);
    if (!cfg_json)
      return wrap(cfg_json, "config " + cfg_path);
    if (!cfg_json->is_object())
      return fail(Errc::parse, "config " + cfg_path + " is not a JSON object");
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", kOciManifest},
        {"config",
         {{"mediaType", kOciConfig}, {"digest", (*cfg)->digest.str()}, {"size", (*cfg)->size}}},
        {"layers", json::array()}};
    if (!e.contains("Layers") || !e["Layers"].is_array())
      return fail(Errc::parse, "manifest.json: entry " + cfg_path + " has no Layers");
    for (const auto &l : e["Layers"]) {
      if (!l.is_string())
        return fail(Errc::parse, "manifest.json: a layer path is not a string");
      auto m = c.member(l.get<std::string>());
      if (!m)
        return wrap(m, "manifest.json");
      manifest["layers"].push_back({{"mediaType", layer_media_type((*m)->head)},
                                    {"digest", (*m)->digest.str()},
                                    {"size", (*m)->size}});
    }
    // docker load checks the layers against rootfs.diff_ids; so do we, for
    // the uncompressed layers docker save writes.
    const json *ids = nullptr;
    if (auto rf = cfg_json->find("rootfs"); rf != cfg_json->end() && rf->is_object())
      if (auto d = rf->find("diff_ids"); d != rf->end() && d->is_array())
        ids = &*d;
    if (!ids || ids->size() != manifest["layers"].size())
      return fail(Errc::parse, "config " + cfg_path + ": rootfs.diff_ids does not list the " +
                                   std::to_string(manifest["layers"].size()) +
                                   " layers of manifest.json");
    for (size_t i = 0; i < ids->size(); i++) {
      const auto &l = manifest["layers"][i];
      if (l["mediaType"] == kOciLayerTar && (*ids)[i] != l["digest"])
        return fail(Errc::parse, "layer " + e["Layers"][i].get<std::string>() + " has digest " +
                                     l["digest"].get<std::string>() + " but the config expects " +
                                     (*ids)[i].dump());
    }
    auto md = store.put_blob(manifest.dump());
    if (!md)
      return tl::unexpected(md.error());
    Found f{*md, {}};
    if (e.contains("RepoTags") && e["RepoTags"].is_array())
      for (const auto &t : e["RepoTags"]) {
        if (!t.is_string())
          continue;
        auto n = normalize_name(t.get<std::string>());
        if (!n)
          return wrap(n, "manifest.json");
        f.names.push_back(*n);
      }
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace ctk::rt::image::detail
