// Recognising a runtime's container cgroup from its path alone.
//
// The path is walked from its last component towards the root, and the first
// component that names a container wins. Walking from the end gives the
// innermost container for nested setups (docker in docker: /docker/A/docker/B
// is B) and maps sub-cgroups to their container (/docker/<id>/init, a
// systemd-in-container's .../docker-<id>.scope/init.scope). Components such
// as ".." (a cgroupns-relative path like "/../docker-<id>.scope") are simply
// not container names and are walked past.
#include <array>

#include "internal.h"

namespace ctk::rt::discovery {
namespace {

// Runtimes use the full 64-hex ID in cgroup names; accept shorter IDs down to
// docker's 12-character short form for tools that name cgroups that way.
bool is_container_id(std::string_view s) {
  return s.size() >= 12 && s.size() <= 64 && is_hex(s);
}

// "<prefix><id><suffix>" with an ID in the middle.
std::optional<std::string> id_between(std::string_view c, std::string_view prefix,
                                      std::string_view suffix) {
  if (c.size() <= prefix.size() + suffix.size() || c.substr(0, prefix.size()) != prefix ||
      c.substr(c.size() - suffix.size()) != suffix)
    return std::nullopt;
  auto id = c.substr(prefix.size(), c.size() - prefix.size() - suffix.size());
  if (!is_container_id(id))
    return std::nullopt;
  return std::string(id);
}

struct ScopePattern {
  std::string_view prefix;
  Runtime runtime;
};

// Conmon scopes ("libpod-conmon-<id>.scope", "crio-conmon-<id>.scope") never
// match: "conmon-<id>" is not hex, so is_container_id rejects them.
constexpr std::array<ScopePattern, 6> kScopes{{
    {"docker-", Runtime::docker},
    {"libpod-", Runtime::podman},
    {"cri-containerd-", Runtime::containerd},
    {"crio-", Runtime::crio},
    {"ctk-", Runtime::ctk},
    {"cri-o-", Runtime::crio},
}};

std::optional<CgroupMatch> match_component(std::string_view c, std::string_view parent) {
  for (const auto &p : kScopes) {
    // systemd driver: "<prefix><id>.scope"; cgroupfs driver (podman's
    // /libpod_parent/libpod-<id>, CRI-O's /kubepods/.../pod<uid>/crio-<id>): no suffix.
    if (auto id = id_between(c, p.prefix, ".scope"))
      return CgroupMatch{p.runtime, *id};
    if (auto id = id_between(c, p.prefix, ""))
      return CgroupMatch{p.runtime, *id};
  }
  if (!is_container_id(c))
    return std::nullopt;
  // A bare ID is a container only below a parent that says whose it is.
  if (parent == "docker")
    return CgroupMatch{Runtime::docker, std::string(c)};
  if (parent == "ctk")
    return CgroupMatch{Runtime::ctk, std::string(c)};
  // kubelet's cgroupfs driver: /kubepods[/<qos>]/pod<uid>/<id>. containerd
  // names the leaf by the bare ID (CRI-O uses crio-<id>, matched above).
  if (parent.substr(0, 3) == "pod" && parent.size() > 3)
    return CgroupMatch{Runtime::containerd, std::string(c)};
  return std::nullopt;
}

} // namespace

std::optional<CgroupMatch> match_cgroup_path(std::string_view path) {
  auto parts = split(path, '/');
  for (size_t i = parts.size(); i-- > 0;) {
    std::string_view parent = i > 0 ? parts[i - 1] : std::string_view();
    if (auto m = match_component(parts[i], parent))
      return m;
  }
  return std::nullopt;
}

} // namespace ctk::rt::discovery
