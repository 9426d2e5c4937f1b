// Runtime names and container target parsing.
#include "internal.h"

namespace ctk::rt::discovery {

const char *runtime_name(Runtime r) {
  switch (r) {
  case Runtime::ctk:
    return "ctk";
  case Runtime::docker:
    return "docker";
  case Runtime::podman:
    return "podman";
  case Runtime::containerd:
    return "containerd";
  case Runtime::crio:
    return "cri-o";
  case Runtime::runc:
    return "runc";
  case Runtime::crun:
    return "crun";
  case Runtime::unknown:
    break;
  }
  return "-";
}

std::optional<Runtime> parse_runtime(std::string_view s) {
  static constexpr std::pair<std::string_view, Runtime> kNames[] = {
      {"ctk", Runtime::ctk},       {"docker", Runtime::docker},
      {"podman", Runtime::podman}, {"containerd", Runtime::containerd},
      {"cri-o", Runtime::crio},    {"crio", Runtime::crio},
      {"runc", Runtime::runc},     {"crun", Runtime::crun},
  };
  for (const auto &[name, r] : kNames)
    if (s == name)
      return r;
  return std::nullopt;
}

static Result<pid_t> parse_pid(std::string_view s, std::string_view text) {
  long long v = 0;
  if (!parse_int(s, v) || v <= 0 || v > INT32_MAX)
    return fail(Errc::invalid_argument,
                "invalid target " + std::string(text) + ": not a process ID");
  return static_cast<pid_t>(v);
}

Result<Target> parse_target(std::string_view text) {
  Target t;
  if (text.empty())
    return fail(Errc::invalid_argument, "invalid target: empty container name");
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    // A bare number is a host PID, as in nsenter -t; IDs are searched by
    // prefix, so a container whose ID starts with digits only is still
    // reachable with a scheme or a longer, lettered prefix.
    long long v = 0;
    if (parse_int(text, v)) {
      auto pid = parse_pid(text, text);
      if (!pid)
        return tl::unexpected(pid.error());
      t.pid = *pid;
      return t;
    }
    t.name = std::string(text);
    return t;
  }
  auto scheme = text.substr(0, sep);
  auto rest = text.substr(sep + 3);
  if (rest.empty())
    return fail(Errc::invalid_argument,
                "invalid target " + std::string(text) + ": missing container name after ://");
  if (scheme == "pid") {
    auto pid = parse_pid(rest, text);
    if (!pid)
      return tl::unexpected(pid.error());
    t.pid = *pid;
    return t;
  }
  auto rt = parse_runtime(scheme);
  if (!rt)
    return fail(Errc::invalid_argument, "invalid target " + std::string(text) +
                                            ": unknown scheme " + std::string(scheme) +
                                            " (docker, podman, containerd, crio, ctk, pid)");
  t.runtime = *rt;
  if (*rt == Runtime::containerd) {
    // containerd IDs are only unique within a namespace.
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size())
      return fail(Errc::invalid_argument,
                  "invalid target " + std::string(text) + ": expected containerd://NAMESPACE/ID");
    t.ns = std::string(rest.substr(0, slash));
    t.name = std::string(rest.substr(slash + 1));
    return t;
  }
  if (rest.find('/') != std::string_view::npos)
    return fail(Errc::invalid_argument,
                "invalid target " + std::string(text) + ": a container name has no '/'");
  t.name = std::string(rest);
  return t;
}

} // namespace ctk::rt::discovery
