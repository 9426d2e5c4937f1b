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

// A bare ID (only hex digits) is a container only below a parent that says
// whose it is.
std::optional<CgroupMatch> match_bare_id(std::string_view c, std::string_view parent) {
  if (parent == "docker")
    return CgroupMatch{Runtime::docker, std::string(c)};
  if (parent == "ctk")
    return CgroupMatch{Runtime::ctk, std::string(c)};
  // kubelet's cgroupfs driver: /kubepods[/<qos>]/pod<uid>/<id>. containerd
  // names the leaf by the bare ID (CRI-O uses crio-<id>, matched below).
  if (parent.substr(0, 3) == "pod" && parent.size() > 3)
    return CgroupMatch{Runtime::containerd, std::string(c)};
  return std::nullopt;
}

std::optional<CgroupMatch> match_component(std::string_view c, std::string_view parent) {
  // Every scope prefix ends in '-', which is no hex digit: an all-hex
  // component can only be a bare ID, so the prefixes need not be tried.
  if (is_container_id(c))
    return match_bare_id(c, parent);
  for (const auto &p : kScopes) {
    // systemd driver: "<prefix><id>.scope"; cgroupfs driver (podman's
    // /libpod_parent/libpod-<id>, CRI-O's /kubepods/.../pod<uid>/crio-<id>): no suffix.
    if (auto id = id_between(c, p.prefix, ".scope"))
      return CgroupMatch{p.runtime, *id};
    if (auto id = id_between(c, p.prefix, ""))
      return CgroupMatch{p.runtime, *id};
  }
  return std::nullopt;
}

} // namespace

// Called for every cgroup of every process (pidmap: 10,000 processes, three
// paths each), so the components are walked in place, last first, without
// splitting the path into a vector.
std::optional<CgroupMatch> match_cgroup_path(std::string_view path) {
  size_t end = path.size();
  for (;;) {
    const size_t slash = end == 0 ? std::string_view::npos : path.rfind('/', end - 1);
    const size_t begin = slash == std::string_view::npos ? 0 : slash + 1;
    const std::string_view comp = path.substr(begin, end - begin);
    std::string_view parent;
    if (slash != std::string_view::npos) {
      const size_t pslash = slash == 0 ? std::string_view::npos : path.rfind('/', slash - 1);
      const size_t pbegin = pslash == std::string_view::npos ? 0 : pslash + 1;
      parent = path.substr(pbegin, slash - pbegin);
    }
    // The cheap test first: every container name holds a run of at least 12
    // hex digits, so shorter components ("system.slice", "") never match.
    if (comp.size() >= 12)
      if (auto m = match_component(comp, parent))
        return m;
    if (slash == std::string_view::npos)
      return std::nullopt;
    end = slash;
  }
}

} // namespace ctk::rt::discovery
