// OCI and docker schema 2 documents: descriptors, manifests, indexes and
// platform selection.
#include <sys/utsname.h>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

using nlohmann::json;

Result<json> parse_json(std::string_view text, std::string_view what) {
  try {
    return json::parse(text);
  } catch (const json::exception &e) {
    return fail(Errc::parse, std::string(what) + " is not JSON: " + e.what());
  }
}

Result<Descriptor> parse_descriptor(const json &j, std::string_view what) {
  if (!j.is_object())
    return fail(Errc::parse, std::string(what) + ": descriptor is not an object");
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string())
    return fail(Errc::parse, std::string(what) + ": descriptor has no digest");
  auto d = Digest::parse(dg->get<std::string>());
  if (!d)
    return wrap(d, what);
  Descriptor out;
  out.digest = *d;
  if (auto mt = j.find("mediaType"); mt != j.end() && mt->is_string())
    out.media_type = mt->get<std::string>();
  if (auto sz = j.find("size"); sz != j.end()) {
    if (!sz->is_number_unsigned() && !(sz->is_number_integer() && sz->get<int64_t>() >= 0))
      return fail(Errc::parse,
                  std::string(what) + ": descriptor " + d->str() + " has an invalid size");
    out.size = sz->get<uint64_t>();
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object())
    out.annotations = *a;
  if (auto p = j.find("platform"); p != j.end() && p->is_object())
    out.platform = *p;
  return out;
}

bool is_index_type(std::string_view media_type) {
  return media_type == kOciIndex || media_type == kDockerList;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view what) {
  auto j = parse_json(text, what);
  if (!j)
    return tl::unexpected(j.error());
  if (!j->is_object())
    return fail(Errc::parse, std::string(what) + " is not a JSON object");
  Manifest m;
  if (auto mt = j->find("mediaType"); mt != j->end() && mt->is_string())
    m.media_type = mt->get<std::string>();
  if (m.media_type.empty())
    m.media_type = kOciManifest;
  if (is_index_type(m.media_type) || j->contains("manifests"))
    return fail(Errc::parse, std::string(what) + " is an index, not an image manifest");
  auto cfg = j->find("config");
  if (cfg == j->end())
    return fail(Errc::parse, std::string(what) + " has no config");
  auto c = parse_descriptor(*cfg, std::string(what) + " config");
  if (!c)
    return tl::unexpected(c.error());
  m.config = *c;
  auto layers = j->find("layers");
  if (layers == j->end() || !layers->is_array())
    return fail(Errc::parse, std::string(what) + " has no layers array");
  for (const auto &l : *layers) {
    auto d = parse_descriptor(l, std::string(what) + " layer");
    if (!d)
      return tl::unexpected(d.error());
    m.layers.push_back(*d);
  }
  return m;
}

std::string layer_media_type(std::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b)
    return std::string(kOciLayerTar) + "+gzip";
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4))
    return std::string(kOciLayerTar) + "+zstd";
  return std::string(kOciLayerTar);
}

Platform Platform::host() {
  Platform p;
  struct utsname u {};
  std::string m = ::uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64")
    p.arch = "amd64";
  else if (m == "aarch64")
    p.arch = "arm64", p.variant = "v8";
  else if (m.rfind("armv7", 0) == 0)
    p.arch = "arm", p.variant = "v7";
  else if (m == "i686" || m == "i386")
    p.arch = "386";
  else
    p.arch = m;
  return p;
}

Result<Platform> Platform::parse(std::string_view text) {
  auto parts = split(text, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return fail(Errc::invalid_argument,
                "invalid platform " + std::string(text) + ": expected os/arch[/variant]");
  Platform p;
  p.os = std::string(parts[0]);
  p.arch = std::string(parts[1]);
  if (parts.size() == 3)
    p.variant = std::string(parts[2]);
  return p;
}

std::string Platform::str() const {
  return os + "/" + arch + (variant.empty() ? "" : "/" + variant);
}

static std::string jstr(const json &j, const char *k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<Descriptor> choose_platform(const json &index, const Platform &want, std::string_view what) {
  auto ms = index.find("manifests");
  if (!index.is_object() || ms == index.end() || !ms->is_array())
    return fail(Errc::parse, std::string(what) + " has no manifests array");
  std::vector<Descriptor> all;
  for (const auto &m : *ms) {
    auto d = parse_descriptor(m, what);
    if (!d)
      return tl::unexpected(d.error());
    all.push_back(*d);
  }
  if (all.empty())
    return fail(Errc::not_found, std::string(what) + " lists no manifests");
  // Attestations (buildkit's "unknown/unknown") are never images to run.
  std::optional<Descriptor> loose;
  std::string seen;
  for (const auto &d : all) {
    if (!d.platform.is_object()) {
      if (!loose)
        loose = d;
      continue;
    }
    Platform p{jstr(d.platform, "os"), jstr(d.platform, "architecture"),
               jstr(d.platform, "variant")};
    seen += (seen.empty() ? "" : ", ") + p.str();
    if (p.os == want.os && p.arch == want.arch &&
        (want.variant.empty() || p.variant.empty() || p.variant == want.variant))
      return d;
  }
  if (loose && seen.empty())
    return *loose; // single-platform layouts name no platform
  return fail(Errc::not_found, std::string(what) + " has no image for platform " + want.str() +
                                   " (it has: " + (seen.empty() ? "none" : seen) +
                                   "); choose one with --platform");
}

} // namespace ctk::rt::image
