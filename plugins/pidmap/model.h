// Pure logic of ctk pidmap: which processes are listed and how one record
// reads. Header-only so the unit tests use it without loading the plugin.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/discovery.h"
#include "ctk/runtime/proc.h"

namespace ctk::plugins::pidmap {

namespace proc = ctk::rt::proc;
namespace discovery = ctk::rt::discovery;

// One output record.
struct Row {
  pid_t pid = 0;             // host PID
  pid_t ns_pid = 0;          // PID in the process's own PID namespace
  std::vector<pid_t> chain;  // NSpid chain, host first
  uint64_t pid_ns = 0;       // PID namespace inode
  std::string container;     // name, empty when none
  std::string id;            // full ID, empty when none
  std::string runtime = "-"; // runtime name, "-" when no runtime claims it
  std::string command;
};

// The PID namespace of the host is the one whose processes have a one-entry
// NSpid chain (ctk reads from the initial namespace, as /proc/1/ns/pid would
// say): a longer chain means a nested PID namespace.
inline bool in_nested_pid_ns(const proc::Process &p) {
  return p.nspid.size() > 1;
}

// Listed by plain `ctk pidmap`: claimed by a runtime (also --pid host
// containers, which share the host PID namespace) or in a nested PID namespace.
inline bool is_containerised(const proc::Process &p, const std::optional<discovery::Container> &c) {
  return c.has_value() || in_nested_pid_ns(p);
}

// As ps prints it: argv joined by spaces, or "[comm]" when there is no argv
// (kernel threads, zombies).
inline std::string command_line(const proc::Process &p) {
  if (p.cmdline.empty() || (p.cmdline.size() == 1 && p.cmdline[0].empty()))
    return "[" + p.comm + "]";
  std::string out;
  for (const auto &a : p.cmdline) {
    if (!out.empty())
      out += ' ';
    out += a;
  }
  return out;
}

// "4242/17/1": the chain as the NSpid line reads, separators made visible.
inline std::string format_chain(const std::vector<pid_t> &chain) {
  std::string out;
  for (pid_t p : chain) {
    if (!out.empty())
      out += '/';
    out += std::to_string(p);
  }
  return out;
}

inline Row make_row(const proc::Process &p, const std::optional<discovery::Container> &c) {
  Row r;
  r.pid = p.pid;
  r.chain = p.nspid.empty() ? std::vector<pid_t>{p.pid} : p.nspid;
  r.ns_pid = r.chain.back();
  r.pid_ns = p.ns[proc::ns_index(proc::NsType::pid)];
  if (c) {
    r.container = c->name;
    r.id = c->id;
    r.runtime = discovery::runtime_name(c->runtime);
  }
  r.command = command_line(p);
  return r;
}

// The PID of `p` inside the PID namespace at `level` of its chain (0 = host),
// or 0 when `p` is not that deep.
inline pid_t pid_at_level(const proc::Process &p, size_t level) {
  return level < p.nspid.size() ? p.nspid[level] : 0;
}

// Whether `p` belongs to the container whose init process is `init`: the
// runtime claims it by cgroup, or it shares (or is nested below) the
// container's own PID namespace. A --pid host container's namespace is the
// host's, so only the cgroup claim counts there.
inline bool belongs_to(const proc::Process &p, const std::optional<discovery::Container> &owner,
                       const discovery::Container &target, const proc::Process *init) {
  if (owner && owner->id == target.id && owner->runtime == target.runtime)
    return true;
  if (!init || !in_nested_pid_ns(*init))
    return false;
  const auto pidns = proc::ns_index(proc::NsType::pid);
  if (p.ns[pidns] != 0 && p.ns[pidns] == init->ns[pidns])
    return true;
  return false;
}

// The init process of `target`: its recorded init PID when that process is
// in the scan, else (a container found by its cgroup alone) the member
// claimed by the runtime whose PID namespace is the shallowest, preferring
// the one that is PID 1 there. nullptr when nothing of it runs.
inline const proc::Process *
find_init(const std::vector<proc::Process> &procs,
          const std::vector<std::optional<discovery::Container>> &owners,
          const discovery::Container &target) {
  const proc::Process *best = nullptr;
  for (size_t i = 0; i < procs.size(); i++) {
    const auto &p = procs[i];
    if (target.pid > 0) {
      if (p.pid == target.pid)
        return &p;
      continue;
    }
    const auto &o = owners[i];
    if (!o || o->id != target.id || o->runtime != target.runtime || p.nspid.empty())
      continue;
    if (!best || p.nspid.size() < best->nspid.size() ||
        (p.nspid.size() == best->nspid.size() && p.nspid.back() == 1 && best->nspid.back() != 1))
      best = &p;
  }
  return best;
}

} // namespace ctk::plugins::pidmap
