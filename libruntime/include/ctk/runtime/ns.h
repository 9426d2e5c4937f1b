// Entering namespaces. The caller's thread never changes namespace: the work
// runs in a forked child (fork + setns + the callback), as util-linux nsenter
// does. The user namespace is entered first when entering it gains privilege
// (the target's userns is not an ancestor of ours) and last otherwise.
//
//   ctk::rt::ns::EnterSpec spec;
//   spec.target_pid = 4242;
//   spec.types = {NsType::net, NsType::pid};
//   auto status = ctk::rt::ns::run_in(spec, [] { return execlp("ip", "ip", "a", nullptr), 127; });
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/proc.h"

namespace ctk::rt::ns {

struct EnterSpec {
  pid_t target_pid = 0;                 // namespaces of this process (pidfd when available)
  std::vector<proc::NsType> types;      // which namespaces to enter
  // Explicit namespace files instead of the target's (nsenter's -n FILE).
  std::vector<std::pair<proc::NsType, std::string>> files;
  bool fork_after_pidns = true;         // a new pid namespace applies to children only
  HostPaths paths;
};

// The CLONE_NEW* flag of a namespace type (setns's nstype, unshare's flag).
int clone_flag(proc::NsType t);

// Opens the namespace fds of a spec in the order they must be joined.
struct NsFd {
  proc::NsType type;
  UniqueFd fd;
};
Result<std::vector<NsFd>> open_namespaces(const EnterSpec &spec);

// Forks; the child joins the namespaces, runs fn and _exits with its result.
// Returns the child's exit status (128+signal if killed, as a shell).
Result<int> run_in(const EnterSpec &spec, const std::function<int()> &fn);

// Runs fn on a dedicated thread that joins the network namespace of
// `netns_fd` (setns(CLONE_NEWNET) changes only the calling thread): sockets
// fn opens (netlink, nfnetlink, raw) belong to that namespace and keep
// working after the thread ends. The caller's thread never moves.
Result<void> in_netns(int netns_fd, const std::function<Result<void>()> &fn);

} // namespace ctk::rt::ns
