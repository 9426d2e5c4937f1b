// ctk pidmap: which host PID is which PID in which container.
//
//   ctk pidmap                      every containerised process
//   ctk pidmap --host-pid 4242      one host PID (runtime "-" when in no container)
//   ctk pidmap web                  the processes of one container
//   ctk pidmap web --ns-pid 1       the host PID of PID 1 of web
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "ctk/runtime/discovery.h"
#include "ctk/runtime/plugin.h"
#include "model.h"
#include "scan.h"

namespace ctk::plugins::pidmap {
namespace {

using rt::plugin::Call;

void emit(const Call &call, const Row &r) {
  auto rec = call.record();
  rec.field("PID", static_cast<long long>(r.pid));
  rec.field("NSPid", static_cast<long long>(r.ns_pid));
  rec.key("NSPidChain").begin_array();
  for (pid_t p : r.chain)
    rec.num(p);
  rec.end_array();
  rec.field("PIDNamespace", static_cast<unsigned long long>(r.pid_ns));
  rec.field("Container", r.container);
  rec.field("ID", r.id);
  rec.field("Runtime", r.runtime);
  rec.field("Command", r.command);
}

rt::Result<long long> positive_pid(const Call &call, const char *opt) {
  auto v = call.get_int(opt);
  if (!v)
    return tl::unexpected(v.error());
  if (!*v)
    return 0;
  if (**v <= 0 || **v > 0x3fffffff)
    return rt::fail(rt::Errc::invalid_argument,
                    fmt::format("invalid --{} {}: not a PID", opt, **v));
  return **v;
}

std::string describe(const discovery::Container &c) {
  std::string who = c.name.empty() ? c.id.substr(0, 12) : c.name;
  return fmt::format("{}://{}", discovery::runtime_name(c.runtime), who);
}

int run_pidmap(Call &call) {
  auto backend = parse_backend(call.get("backend").value_or("auto"));
  if (!backend)
    return call.fail(fmt::format("invalid --backend {}: expected auto, bpf or proc",
                                 call.get("backend").value_or("")));
  auto host_pid = positive_pid(call, "host-pid");
  if (!host_pid)
    return call.fail(host_pid.error());
  auto ns_pid = positive_pid(call, "ns-pid");
  if (!ns_pid)
    return call.fail(ns_pid.error());
  const auto args = call.args();
  if (*host_pid && !args.empty())
    return call.fail("--host-pid and a TARGET exclude each other");
  if (*ns_pid && args.empty())
    return call.fail("--ns-pid needs a TARGET: ctk pidmap TARGET --ns-pid N");

  // Scan first: the resolver looks for runtime daemons in the same process
  // list instead of walking /proc again.
  auto scanned = scan_processes(call, *backend);
  if (!scanned)
    return call.fail(scanned.error());
  const auto &procs = scanned->procs;
  discovery::Options ropt;
  ropt.processes = &procs;
  ropt.roots.ctk_root = call.root(); // --root/--run-root name ctk's own store
  ropt.roots.ctk_run_root = call.run_root();
  auto resolver = discovery::Resolver::open(std::move(ropt));
  if (!resolver)
    return call.fail(resolver.error());
  std::optional<discovery::Container> target;
  if (!args.empty()) {
    auto c = resolver->resolve(args[0]);
    if (!c)
      return call.fail(c.error());
    target = std::move(*c);
  }
  for (const auto &w : resolver->warnings())
    call.log(CTK_LOG_DEBUG, w);

  if (*host_pid) {
    auto it = std::lower_bound(procs.begin(), procs.end(), *host_pid,
                               [](const proc::Process &p, long long pid) { return p.pid < pid; });
    if (it == procs.end() || it->pid != *host_pid)
      return call.fail(fmt::format("pid {} does not exist", *host_pid));
    auto owner = resolver->container_of(*it);
    if (!is_containerised(*it, owner))
      call.warn(fmt::format("pid {} is not in a container", *host_pid));
    emit(call, make_row(*it, owner));
    return 0;
  }

  if (target) {
    std::vector<std::optional<discovery::Container>> owners;
    owners.reserve(procs.size());
    for (const auto &p : procs)
      owners.push_back(resolver->container_of(p));
    const proc::Process *init = find_init(procs, owners, *target);
    if (*ns_pid && !init)
      return call.fail(fmt::format("container {} is not running", describe(*target)));
    // The container's own PID namespace is the innermost one of its init.
    const size_t level = init && !init->nspid.empty() ? init->nspid.size() - 1 : 0;
    bool any = false;
    for (size_t i = 0; i < procs.size(); i++) {
      const auto &p = procs[i];
      if (!belongs_to(p, owners[i], *target, init))
        continue;
      if (*ns_pid && pid_at_level(p, level) != *ns_pid)
        continue;
      emit(call, make_row(p, owners[i] ? owners[i] : target));
      any = true;
    }
    if (*ns_pid && !any)
      return call.fail(fmt::format("pid {} is not in container {}", *ns_pid, describe(*target)));
    return 0;
  }

  const auto t0 = std::chrono::steady_clock::now();
  size_t rows = 0;
  for (const auto &p : procs) {
    auto owner = resolver->container_of(p);
    if (is_containerised(p, owner)) {
      emit(call, make_row(p, owner));
      rows++;
    }
  }
  call.log(CTK_LOG_DEBUG, fmt::format("pidmap: {} records matched and emitted in {:.1f} ms", rows,
                                      std::chrono::duration<double, std::milli>(
                                          std::chrono::steady_clock::now() - t0)
                                          .count()));
  return 0;
}

const ctk_option_v1 kOptions[] = {
    {"host-pid", 0, 0, CTK_ARG_PID, "N", nullptr,
     "Show host PID N: its container and its PID in each namespace"},
    {"ns-pid", 0, 0, CTK_ARG_INT, "N", nullptr,
     "With TARGET: the process that is PID N in the container's PID namespace"},
    {"backend", 0, 0, CTK_ARG_STRING, "auto|bpf|proc", "auto",
     "How to scan: a BPF task iterator (fast), /proc, or BPF falling back to /proc"},
};
const ctk_positional_v1 kPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL, "Show only the processes of this container"},
};
const ctk_column_v1 kColumns[] = {
    {"PID", "PID", CTK_COL_INT, 0, "Host PID"},
    {"NSPid", "NSPID", CTK_COL_INT, 0, "PID in the process's own PID namespace"},
    {"NSPidChain", "NSPID CHAIN", CTK_COL_LIST, 0,
     "PID in each nested PID namespace, host first (the NSpid line of /proc/PID/status)"},
    {"PIDNamespace", "PIDNS", CTK_COL_INT, 0, "Inode of the PID namespace"},
    {"Container", "CONTAINER", CTK_COL_STRING, 0, "Container name"},
    {"ID", "ID", CTK_COL_ID, 0, "Container ID"},
    {"Runtime", "RUNTIME", CTK_COL_STRING, 0, "Runtime that owns the container; - for none"},
    {"Command", "COMMAND", CTK_COL_STRING, CTK_COL_WIDE, "Command line"},
};

const ctk_command_v1 kCommands[] = {{
    "pidmap",
    "Map host PIDs to containers and in-container PIDs",
    "[OPTIONS] [TARGET]",
    "Without arguments, lists every containerised process: those in a runtime's container "
    "cgroup (--pid host containers too) and those in a nested PID namespace (runtime -).\n"
    "--host-pid N shows one host PID, with empty container fields and a warning when it is in "
    "no container. TARGET lists the processes of one container; with --ns-pid N only the one "
    "that is PID N inside it.\n"
    "The BPF task iterator scans every process in one pass; --backend proc reads /proc instead. "
    "--log-level debug tells which backend ran and its timings.",
    kOptions,
    sizeof(kOptions) / sizeof(kOptions[0]),
    kPositionals,
    sizeof(kPositionals) / sizeof(kPositionals[0]),
    kColumns,
    sizeof(kColumns) / sizeof(kColumns[0]),
    0,
    &rt::plugin::entry<run_pidmap>,
}};

} // namespace
} // namespace ctk::plugins::pidmap

CTK_DEFINE_PLUGIN("pidmap", "PID mapping between the host and containers",
                  ctk::plugins::pidmap::kCommands)
