// Capability names, docker's default set and moby's cap_add/cap_drop rules,
// and the lists of masked and read-only paths.
//
// Names are kept here rather than taken from libcap's cap_to_name() because
// docker prints them upper case with the CAP_ prefix, and because libcap
// returns a bare number for a capability newer than itself.
#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "ctk/runtime/security.h"

namespace ctk::rt::security {

namespace {

// Indexed by capability number (linux/capability.h, through Linux 6.x).
constexpr std::array<std::string_view, 41> kNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

bool is_all(std::string_view name) {
  return iequals(name, "ALL") || iequals(name, "CAP_ALL");
}

uint64_t bit(int cap) {
  return uint64_t{1} << cap;
}

uint64_t all_known() {
  int last = std::min<int>(last_capability(), 63);
  return last >= 63 ? ~uint64_t{0} : (bit(last + 1) - 1);
}

// Parses a list of names into a mask; `all` is set when ALL is among them.
Result<uint64_t> parse_list(const std::vector<std::string> &names, const char *what, bool &all) {
  uint64_t mask = 0;
  for (const auto &n : names) {
    if (is_all(n)) {
      all = true;
      continue;
    }
    auto cap = capability_from_name(n);
    if (!cap)
      return wrap(cap, fmt::format("invalid {}", what));
    mask |= bit(*cap);
  }
  return mask;
}

} // namespace

Result<int> capability_from_name(std::string_view name) {
  std::string_view bare = name;
  if (bare.size() > 4 && iequals(bare.substr(0, 4), "CAP_"))
    bare = bare.substr(4);
  for (size_t i = 0; i < kNames.size(); ++i)
    if (iequals(kNames[i].substr(4), bare))
      return static_cast<int>(i);
  return fail(Errc::invalid_argument, fmt::format("unknown capability \"{}\"", name));
}

std::string capability_name(int cap) {
  if (cap >= 0 && static_cast<size_t>(cap) < kNames.size())
    return std::string(kNames[cap]);
  return fmt::format("CAP_{}", cap);
}

int last_capability() {
  static const int last = [] {
    auto text = read_file("/proc/sys/kernel/cap_last_cap");
    long long v = 0;
    if (text && parse_int(trim(*text), v) && v > 0 && v < 64)
      return static_cast<int>(v);
    return static_cast<int>(kNames.size()) - 1;
  }();
  return last;
}

uint64_t current_bounding_set() {
  uint64_t mask = 0;
  for (int cap = 0; cap <= last_capability(); ++cap)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
      mask |= bit(cap);
  return mask;
}

std::vector<std::string> capability_names(uint64_t mask) {
  std::vector<std::string> out;
  for (int cap = 0; cap < 64; ++cap)
    if (mask & bit(cap))
      out.push_back(capability_name(cap));
  return out;
}

const std::vector<std::string> &default_capabilities() {
  // moby's oci/caps.DefaultCapabilities(), in its order.
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return caps;
}

Result<uint64_t> resolve_capabilities(const SecurityOptions &opt, uint64_t available) {
  if (opt.privileged)
    return available;
  bool add_all = false, drop_all = false;
  auto add = parse_list(opt.cap_add, "--cap-add", add_all);
  if (!add)
    return add;
  auto drop = parse_list(opt.cap_drop, "--cap-drop", drop_all);
  if (!drop)
    return drop;
  // A capability asked for by name that ctk itself does not hold cannot be
  // given: say so now instead of failing in capset(2) inside the container.
  uint64_t missing = *add & ~available;
  if (missing)
    return fail(Errc::permission_denied,
                fmt::format("cannot add capability {}: ctk itself does not have it (not in its "
                            "bounding set)",
                            capability_names(missing).front()));
  uint64_t caps = 0;
  if (add_all) {
    caps = all_known() & ~*drop;
  } else if (drop_all) {
    caps = *add;
  } else {
    for (const auto &name : default_capabilities())
      caps |= bit(*capability_from_name(name));
    caps = (caps & ~*drop) | *add;
  }
  return caps & available;
}

const std::vector<std::string> &masked_paths() {
  // moby's oci.DefaultLinuxSpec() MaskedPaths.
  static const std::vector<std::string> paths = {
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
  };
  return paths;
}

const std::vector<std::string> &readonly_paths() {
  static const std::vector<std::string> paths = {
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
  };
  return paths;
}

} // namespace ctk::rt::security
