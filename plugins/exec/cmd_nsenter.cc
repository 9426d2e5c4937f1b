// ctk nsenter: util-linux nsenter's options; -t (or the first word) may
// name a container of any runtime.
#include <algorithm>
#include <cstdlib>

#include "commands.h"

namespace ctk::plugins::exec {

namespace ns = rt::ns;
using rt::proc::NsType;

namespace {

struct NsOption {
  const char *name;
  NsType type;
};
constexpr NsOption kNsOptions[] = {
    {"mount", NsType::mnt}, {"uts", NsType::uts},   {"ipc", NsType::ipc},
    {"net", NsType::net},   {"pid", NsType::pid},   {"cgroup", NsType::cgroup},
    {"user", NsType::user}, {"time", NsType::time},
};

rt::Result<long long> id_of(const Call &call, const char *name) {
  auto v = call.get_int(name);
  if (!v)
    return tl::unexpected(v.error());
  if (!*v)
    return -1;
  if (**v < 0 || **v > 0xfffffffeLL)
    return rt::fail(rt::Errc::invalid_argument,
                    std::string("invalid --") + name + " value " + std::to_string(**v));
  return **v;
}

} // namespace

int run_nsenter(Call &call) {
  auto args = call.args();
  std::optional<std::string> target = call.get("target");
  // Without -t, the first word is the TARGET (ctk's extension), unless no
  // namespace needs a target at all (every one given as a file).
  bool needs_target = call.flag("all") || call.flag("env") || call.flag("join-cgroup");
  for (const auto &o : kNsOptions)
    if (auto v = call.get(o.name); v && v->empty())
      needs_target = true;
  if (auto r = call.get("root"); r && r->empty())
    needs_target = true;
  if (auto w = call.get("wd"); w && w->empty())
    needs_target = true;
  if (!target && needs_target) {
    if (args.empty())
      return call.fail("nsenter: no target PID specified (-t or TARGET)", 1);
    target = args.front();
    args.erase(args.begin());
  }

  ns::ExecSpec spec;
  if (target) {
    auto pid = target_pid(call, *target);
    if (!pid)
      return call.fail(pid.error(), 1);
    spec.enter.target_pid = *pid;
  }
  if (call.flag("all"))
    spec.enter.types = ns::all_types();
  for (const auto &o : kNsOptions) {
    auto v = call.get(o.name);
    if (!v)
      continue;
    if (v->empty()) {
      if (std::find(spec.enter.types.begin(), spec.enter.types.end(), o.type) ==
          spec.enter.types.end())
        spec.enter.types.push_back(o.type);
    } else {
      std::erase(spec.enter.types, o.type);
      spec.enter.files.emplace_back(o.type, *v);
    }
  }
  // nsenter -a (but not -U) leaves out a user namespace equal to ours;
  // open_namespaces does that for every request, which matches too.
  if (auto r = call.get("root")) {
    spec.root = r->empty() ? ns::PathMode::target : ns::PathMode::host_dir;
    spec.root_path = *r;
  }
  if (auto w = call.get("wd")) {
    spec.cwd = w->empty() ? ns::PathMode::target : ns::PathMode::host_dir;
    spec.cwd_path = *w;
  }
  if (auto w = call.get("wdns")) {
    spec.cwd = ns::PathMode::ns_dir;
    spec.cwd_path = *w;
  }
  if (spec.enter.types.empty() && spec.enter.files.empty() && spec.root == ns::PathMode::keep &&
      spec.cwd == ns::PathMode::keep && !call.flag("join-cgroup"))
    return call.fail("nsenter: no namespace specified", 1);

  auto uid = id_of(call, "setuid");
  auto gid = id_of(call, "setgid");
  if (!uid || !gid)
    return call.fail(!uid ? uid.error() : gid.error(), 1);
  if (*uid >= 0)
    spec.uid = static_cast<uid_t>(*uid);
  if (*gid >= 0)
    spec.gid = static_cast<gid_t>(*gid);
  spec.preserve_credentials = call.flag("preserve-credentials");
  spec.fork = !call.flag("no-fork");
  spec.copy_cgroup = call.flag("join-cgroup");
  if (call.flag("env")) {
    auto env = ns::target_environment(spec.enter.target_pid);
    if (!env)
      return call.fail(env.error(), 1);
    spec.env = std::move(*env);
  }

  if (args.empty()) {
    const char *shell = std::getenv("SHELL");
    args = {shell && *shell ? shell : "/bin/sh"};
  }
  spec.argv = args;
  // nsenter execs directly; ctk still goes through the sealed helper when
  // the mount namespace is joined, where the command's files are another's.
  bool joins_mnt = false;
  for (auto t : spec.enter.types)
    joins_mnt = joins_mnt || t == NsType::mnt;
  for (const auto &f : spec.enter.files)
    joins_mnt = joins_mnt || f.first == NsType::mnt;
  spec.sealed_exec = joins_mnt || spec.root != ns::PathMode::keep;

  Session s;
  s.interactive = true; // stdio is passed through as is
  return run_session(call, spec, s, {"nsenter: failed to execute " + args.front(), "nsenter", 1});
}

} // namespace ctk::plugins::exec
