// ctk top TARGET: the processes of a container of any runtime, with host
// and in-container PIDs (docker top's rows plus the NSpid mapping pidmap
// gives). A process belongs to the container when discovery maps it there
// (its cgroup, as pidmap does), or, for containers whose cgroup discovery
// does not know, when it shares the PID namespace of the container's init.
#include <pwd.h>
#include <unistd.h>

#include <map>

#include <fmt/format.h>

#include "ctk/runtime/discovery.h"
#include "ctk/runtime/proc.h"
#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ds = rt::discovery;
namespace pr = rt::proc;
namespace {

std::string user_name(uid_t uid, std::map<uid_t, std::string> &cache) {
  auto it = cache.find(uid);
  if (it != cache.end())
    return it->second;
  struct passwd pw {
  }, *res = nullptr;
  char buf[1024];
  std::string name = std::to_string(uid);
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
    name = res->pw_name;
  return cache[uid] = name;
}

// Boot time in unix seconds, to turn start times (ticks after boot) into dates.
int64_t boot_time() {
  auto stat = rt::read_file("/proc/stat");
  if (!stat)
    return 0;
  for (auto line : rt::split_lines(*stat))
    if (line.starts_with("btime ")) {
      long long v = 0;
      if (rt::parse_int(rt::trim(line.substr(6)), v))
        return v;
    }
  return 0;
}

} // namespace

int run_top(Call &call) {
  const std::string target = call.args().at(0);
  ds::Options opt;
  opt.roots.ctk_root = call.root();
  opt.roots.ctk_run_root = call.run_root();
  auto resolver = ds::Resolver::open(opt);
  if (!resolver)
    return call.fail(resolver.error());
  auto c = resolver->resolve(target);
  if (!c)
    return call.fail(c.error());
  if (c->pid <= 0)
    return call.fail(fmt::format("container {} is not running", target));
  pr::ScanOptions so;
  so.fields = pr::kStatus | pr::kCgroups | pr::kCmdline | pr::kNamespaces | pr::kStartTime;
  auto procs = pr::scan(so);
  if (!procs)
    return call.fail(procs.error().wrap("cannot list processes"));
  // The init's PID namespace, unless it is the host's (--pid host): then
  // only the cgroup says which processes are the container's.
  uint64_t pidns = 0;
  if (auto init_ns = pr::ns_inode({}, c->pid, pr::NsType::pid))
    if (auto own = pr::ns_inode({}, ::getpid(), pr::NsType::pid); own && *own != *init_ns)
      pidns = *init_ns;
  std::map<uid_t, std::string> users;
  const int64_t btime = boot_time();
  const long hz = ::sysconf(_SC_CLK_TCK);
  size_t rows = 0;
  for (const auto &p : *procs) {
    bool mine = p.pid == c->pid || (pidns && p.ns[pr::ns_index(pr::NsType::pid)] == pidns);
    if (!mine) {
      auto owner = resolver->container_of(p);
      mine = owner && owner->runtime == c->runtime && owner->id == c->id;
    }
    if (!mine)
      continue;
    ++rows;
    auto r = call.record();
    r.field("User", user_name(p.uid, users));
    r.field("PID", p.pid);
    // The PID as the container sees it: the last NSpid entry when the
    // process is in the container's namespace (or below it).
    if (pidns && p.nspid.size() > 1)
      r.field("ContainerPID", p.nspid.back());
    else
      r.field("ContainerPID", p.pid);
    r.field("PPID", p.ppid);
    r.field("State", std::string(1, p.state));
    if (btime && hz > 0)
      r.field("Started", static_cast<long long>(btime + static_cast<int64_t>(p.start_time) / hz));
    else
      r.field("Started", nullptr);
    std::string cmd;
    for (const auto &a : p.cmdline)
      cmd += (cmd.empty() ? "" : " ") + a;
    r.field("Command", cmd.empty() ? "[" + p.comm + "]" : cmd);
    r.field("UID", static_cast<unsigned long long>(p.uid));
    r.key("NSpid").begin_array();
    for (pid_t n : p.nspid)
      r.num(n);
    r.end_array();
  }
  if (rows == 0)
    return call.fail(fmt::format("container {} has no processes (it exited)", target));
  return 0;
}

} // namespace ctk::plugins::run::life
