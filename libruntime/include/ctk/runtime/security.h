// The confinement of a container's process unless --privileged: docker's
// default capability set, docker's default seccomp profile (moby's
// default.json, shipped under share/ctk/seccomp/default.json and applied with
// libseccomp; clone3 answers ENOSYS so glibc falls back to clone), no_new_privs,
// and the lists of masked and read-only paths.
//
//   SecurityOptions so;  so.cap_add = {"NET_ADMIN"};
//   auto prepared = prepare_security(so);          // in the parent: errors reach the user
//   ... fork; in the child: namespaces, mounts, pivot_root ...
//   keep_capabilities_across_setuid();             // only when switching to a non-root user
//   setgroups/setgid/setuid
//   apply_security(*prepared);                     // last step before execve
//
// The order matters, and the runtime core follows it:
//  1. Everything that needs full privileges (mounts, masked paths, cgroup
//     joins, setgroups/setgid) happens before apply_security.
//  2. For a non-root user, keep_capabilities_across_setuid() (PR_SET_KEEPCAPS)
//     goes right before setuid: without it setuid empties the permitted set,
//     and the bounding set can no longer be dropped (that needs CAP_SETPCAP).
//     apply_security then fails with a message saying so rather than leave
//     the bounding set full.
//  3. apply_security drops the bounding set, sets permitted = effective = the
//     container's set, clears inheritable and ambient, sets no_new_privs and
//     loads the seccomp filter last, so every earlier step is still allowed.
//     As with docker, a non-root user ends with empty permitted/effective sets
//     after execve (the kernel recomputes them from file capabilities), and a
//     bounding set that still limits what a setuid or file-capability binary
//     can gain.
//  4. The filter allows execve, so the execve that follows works.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"

namespace ctk::rt::security {

struct SecurityOptions {
  bool privileged = false;           // all capabilities, no seccomp, nothing masked
  std::vector<std::string> cap_add;  // "NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "ALL"
  std::vector<std::string> cap_drop; // same forms
  std::string seccomp;               // "" = default profile, "unconfined", or a JSON file path
  bool no_new_privileges = true;     // docker sets it only with --security-opt no-new-privileges;
                                     // ctk sets it unless --privileged (issue 4)
  std::string profile_dir; // where default.json lives ("" = the install's share/ctk/seccomp)
  // Where compiled filters are kept between runs ("" = compile every time).
  // libseccomp needs ~10-20 ms for docker's profile on x86_64's three ABIs;
  // a hit costs well under a millisecond. The runtime passes
  // <run-root>/seccomp (a tmpfs: emptied on reboot, with the kernel).
  // Entries are keyed by the profile's bytes, the capability set, the
  // kernel and libseccomp's version, and compared in full, not by hash.
  std::string cache_dir;
};

// docker's 14 default capabilities, by name ("CAP_CHOWN", ...).
const std::vector<std::string> &default_capabilities();
// moby's masked paths (/proc/kcore, /proc/keys, ...) and read-only paths (/proc/sys, ...).
// A masked file is covered by a bind mount of /dev/null, a masked directory
// by an empty read-only tmpfs; a read-only path is bind-mounted onto itself
// and remounted read-only. Paths missing in the container are skipped.
const std::vector<std::string> &masked_paths();
const std::vector<std::string> &readonly_paths();

// In the container's mount namespace after pivot_root and after /proc and
// /sys are mounted: masks masked_paths() and makes readonly_paths() read-only,
// as seen from the current root. Not for --privileged containers.
Result<void> apply_masked_paths();

// ---- capabilities ----------------------------------------------------------

// A capability by name: "NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin" (any
// case). "ALL" is not a capability (resolve_capabilities handles it).
Result<int> capability_from_name(std::string_view name);
// "CAP_NET_ADMIN"; "CAP_<n>" for a number this build has no name for.
std::string capability_name(int cap);
// The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap).
int last_capability();
// The capabilities of the calling process's bounding set, as a bit mask.
uint64_t current_bounding_set();

// docker's rules (moby's TweakCapabilities): privileged gets everything; with
// cap_add ALL everything but cap_drop; with cap_drop ALL only cap_add;
// otherwise the defaults minus cap_drop plus cap_add. `available` is what the
// caller may hand out (its own bounding set): ALL and the defaults are cut to
// it silently, a capability named in cap_add outside it is an error.
Result<uint64_t> resolve_capabilities(const SecurityOptions &opt, uint64_t available);
std::vector<std::string> capability_names(uint64_t mask);

// ---- seccomp profiles (moby's format) ---------------------------------------

struct SeccompAction {
  enum Kind { kill_thread, kill_process, trap, errno_ret, trace, log, allow } kind = allow;
  uint32_t data = 0; // the errno of errno_ret, the message of trace
  bool operator==(const SeccompAction &) const = default;
};

struct SeccompArg {
  unsigned index = 0; // 0..5
  uint64_t value = 0, value_two = 0;
  enum Op { ne, lt, le, eq, ge, gt, masked_eq } op = eq;
};

struct KernelVersion {
  unsigned major = 0, minor = 0;
  auto operator<=>(const KernelVersion &) const = default;
};

// includes / excludes of a rule: caps and arches lists, minimum kernel.
struct SeccompFilter {
  std::vector<std::string> caps;   // "CAP_SYS_ADMIN"
  std::vector<std::string> arches; // Go names: "amd64", "x32", "arm64", "s390x"
  std::optional<KernelVersion> min_kernel;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action;
  std::vector<SeccompArg> args;
  SeccompFilter includes, excludes;
};

struct SeccompProfile {
  SeccompAction default_action;
  // archMap (or the legacy flat "architectures"): libseccomp arch names
  // ("x86_64", "x86", "x32") of the native arch and its sub-architectures.
  std::vector<std::string> architectures;
  std::vector<SeccompRule> syscalls;
};

// Parses moby's JSON format. `origin` (a file name) prefixes every error:
// "seccomp profile /x.json: syscalls[3].action: unknown action \"SCMP_ACT_FOO\"".
Result<SeccompProfile> parse_seccomp_profile(std::string_view json, const std::string &origin);
Result<SeccompProfile> load_seccomp_profile(const std::string &path);

// The rules that apply to a container with capability set `caps`, on Go arch
// `goarch` ("amd64") and kernel `kernel`, as moby selects them. A rule whose
// action equals the default action is dropped (libseccomp refuses it).
std::vector<SeccompRule> select_seccomp_rules(const SeccompProfile &p, uint64_t caps,
                                              std::string_view goarch, KernelVersion kernel);
std::string_view native_goarch();
KernelVersion running_kernel();

// Where default.json is looked for when SecurityOptions::profile_dir is empty:
// <dir of /proc/self/exe>/../share/ctk/seccomp, then the install prefix's.
std::string default_profile_dir();

// ---- prepare in the parent, apply in the child -------------------------------

struct Prepared; // capability set, compiled seccomp filter
struct PreparedDeleter {
  void operator()(Prepared *p) const;
};
using PreparedPtr = std::unique_ptr<Prepared, PreparedDeleter>;

// Parses and checks everything (unknown capability names, a malformed or
// missing profile) and compiles the filter to BPF, so errors are reported
// before anything is created and the child only makes system calls.
Result<PreparedPtr> prepare_security(const SecurityOptions &opt);

// PR_SET_KEEPCAPS: call right before setuid to a non-root user (see above).
Result<void> keep_capabilities_across_setuid();

// In the container's process, after setuid/setgid and right before execve:
// bounding set, ambient/inheritable/permitted/effective sets, no_new_privs,
// seccomp. Allocates nothing unless it fails. Async-signal-safety for a forked child of a
// multi-threaded parent is NOT required: the runtime forks from a
// single-threaded helper.
Result<void> apply_security(const Prepared &p);

// For inspect and tests: the effective capability names after cap_add/drop.
std::vector<std::string> effective_capabilities(const Prepared &p);
// For inspect and tests: whether a seccomp filter will be loaded, its size in
// BPF instructions, and the profile's syscall names libseccomp does not know
// (skipped, as runc and moby skip them).
bool has_seccomp(const Prepared &p);
size_t seccomp_instructions(const Prepared &p);
const std::vector<std::string> &skipped_syscalls(const Prepared &p);

} // namespace ctk::rt::security
