// Shared between the security module's files; not part of the public API.
#pragma once

#include <linux/filter.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <sys/capability.h>

#include "ctk/runtime/security.h"

namespace ctk::rt::security {

struct Prepared {
  bool privileged = false;
  bool no_new_privs = false;
  uint64_t caps = 0; // bounding = permitted = effective
  int last_cap = 0;  // highest capability the kernel knows
  cap_t raise =
      nullptr; // effective = permitted as ctk had it: lets the child drop the bounding set
  cap_t target = nullptr;          // the container's sets
  std::vector<sock_filter> filter; // empty: no seccomp
  std::vector<std::string> skipped;
};

namespace detail {

struct CompiledFilter {
  std::vector<sock_filter> program;
  std::vector<std::string> skipped; // names libseccomp does not know
};

Result<CompiledFilter> compile_filter(const SeccompProfile &profile,
                                      const std::vector<SeccompRule> &rules,
                                      const std::string &origin);

// The compiled-filter cache (SecurityOptions::cache_dir). `key` holds every
// input of the compilation in full; a lookup that finds an entry with another
// key, a damaged entry, or a directory others can write, is a miss.
std::string cache_key(std::string_view profile_text, uint64_t caps, std::string_view goarch,
                      KernelVersion kernel);
std::optional<CompiledFilter> cache_lookup(const std::string &dir, const std::string &key);
void cache_store(const std::string &dir, const std::string &key, const CompiledFilter &f);

} // namespace detail
} // namespace ctk::rt::security
