// ctk exec: docker exec's options, for any runtime's container or a host PID.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "commands.h"

namespace ctk::plugins::exec {

namespace ns = rt::ns;

int run_exec(Call &call) {
  auto args = call.args();
  if (args.size() < 2)
    return call.fail("exec needs a TARGET and a COMMAND", 125);
  const std::string target = args[0];
  auto pid = target_pid(call, target);
  if (!pid)
    return call.fail(pid.error(), 125);

  ns::ExecSpec spec;
  spec.enter.target_pid = *pid;
  spec.enter.types = ns::all_types();
  spec.keep_host_fs = call.flag("keep-host-fs");
  spec.root = spec.keep_host_fs ? ns::PathMode::keep : ns::PathMode::target;
  if (auto w = call.get("workdir"); w && !w->empty()) {
    spec.cwd = ns::PathMode::ns_dir;
    spec.cwd_path = *w;
  } else {
    spec.cwd = spec.keep_host_fs ? ns::PathMode::keep : ns::PathMode::target;
  }
  spec.argv.assign(args.begin() + 1, args.end());
  spec.copy_cgroup = true;
  spec.copy_confinement = true;
  spec.all_capabilities = call.flag("privileged");

  // The user: -u from the container's passwd and group files (read below
  // its root, never following a link out), else the target's own.
  ns::Credentials cred;
  if (auto u = call.get("user"); u && !u->empty()) {
    auto root = rt::open_fd("/proc/" + std::to_string(*pid) + "/root", O_PATH | O_DIRECTORY);
    if (!root)
      return call.fail(root.error().wrap("cannot exec in " + target), 125);
    auto c = ns::resolve_user_in_root(root->get(), *u);
    if (!c)
      return call.fail(c.error(), 125);
    cred = std::move(*c);
  } else {
    auto c = ns::target_credentials(*pid);
    if (!c)
      return call.fail(c.error(), 125);
    cred = std::move(*c);
  }
  spec.uid = cred.uid;
  spec.gid = cred.gid;
  spec.groups = cred.groups;

  // The environment: the target's, then --env-file, then -e, as docker
  // (HOME from the user when unset, TERM with -t).
  auto env = ns::target_environment(*pid);
  if (!env)
    return call.fail(env.error(), 125);
  std::vector<std::string> entries;
  // HOME follows -u (docker sets it from the user's passwd entry), unless
  // the environment has one and no -u was given; -e and --env-file win.
  if (call.get("user") || !ns::env_get(*env, "HOME"))
    entries.push_back("HOME=" + cred.home);
  for (const auto &file : call.get_all("env-file")) {
    auto text = rt::read_file(file);
    if (!text)
      return call.fail(text.error().wrap("cannot read env file " + file), 125);
    auto e = ns::parse_env_file(*text, file);
    if (!e)
      return call.fail(e.error(), 125);
    entries.insert(entries.end(), e->begin(), e->end());
  }
  for (const auto &e : call.get_all("env"))
    entries.push_back(e);
  auto lookup = [](const std::string &k) -> std::optional<std::string> {
    const char *v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto merged = ns::merge_env(std::move(*env), entries, lookup);
  if (!ns::env_get(merged, "PATH"))
    merged.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (call.flag("tty") && !ns::env_get(merged, "TERM"))
    merged.push_back("TERM=xterm");
  spec.env = std::move(merged);

  Session s;
  s.tty = call.flag("tty");
  s.interactive = call.flag("interactive");
  s.detach = call.flag("detach");
  s.host_pty = spec.keep_host_fs;
  return run_session(call, spec, s, {"exec failed", "cannot exec in " + target, 125});
}

} // namespace ctk::plugins::exec
