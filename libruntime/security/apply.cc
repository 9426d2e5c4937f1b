// prepare_security (in the parent) and apply_security (in the container's
// process, right before execve). The order of the steps in apply_security is
// explained in security.h.
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "security_internal.h"

#ifndef CTK_SECCOMP_INSTALL_DIR
#define CTK_SECCOMP_INSTALL_DIR "/usr/local/share/ctk/seccomp"
#endif

namespace ctk::rt::security {

namespace fs = std::filesystem;

void PreparedDeleter::operator()(Prepared *p) const {
  if (!p)
    return;
  if (p->raise)
    cap_free(p->raise);
  if (p->target)
    cap_free(p->target);
  delete p;
}

std::string default_profile_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = (exe.parent_path() / ".." / "share" / "ctk" / "seccomp").lexically_normal();
    if (fs::exists(dir / "default.json", ec))
      return dir.string();
  }
  return CTK_SECCOMP_INSTALL_DIR;
}

namespace {

// A cap_t with the given mask in the permitted and effective sets and an
// empty inheritable set (docker gives containers no inheritable capabilities).
Result<cap_t> make_caps(uint64_t mask, int last_cap) {
  cap_t c = cap_init();
  if (!c)
    return fail_errno("cannot allocate capability sets");
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (!((mask >> cap) & 1))
      continue;
    cap_value_t v = cap;
    if (cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) != 0 ||
        cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) != 0) {
      int err = errno;
      cap_free(c);
      return fail_errno(fmt::format("cannot build capability sets with {}", capability_name(cap)),
                        err);
    }
  }
  return c;
}

Result<void> prepare_seccomp(const SecurityOptions &opt, Prepared &p) {
  if (opt.seccomp == "unconfined")
    return {};
  std::string path = opt.seccomp;
  if (path.empty())
    path = (opt.profile_dir.empty() ? default_profile_dir() : opt.profile_dir) + "/default.json";
  auto text = read_file(path);
  if (!text)
    return wrap(text, fmt::format("cannot read seccomp profile {}", path));
  KernelVersion kernel = running_kernel();
  std::string key;
  if (!opt.cache_dir.empty()) {
    key = detail::cache_key(*text, p.caps, native_goarch(), kernel);
    if (auto hit = detail::cache_lookup(opt.cache_dir, key)) {
      p.filter = std::move(hit->program);
      p.skipped = std::move(hit->skipped);
      return {};
    }
  }
  auto profile = parse_seccomp_profile(*text, path);
  if (!profile)
    return tl::unexpected(profile.error());
  auto rules = select_seccomp_rules(*profile, p.caps, native_goarch(), kernel);
  auto compiled = detail::compile_filter(*profile, rules, path);
  if (!compiled)
    return tl::unexpected(compiled.error());
  if (!opt.cache_dir.empty())
    detail::cache_store(opt.cache_dir, key, *compiled);
  p.filter = std::move(compiled->program);
  p.skipped = std::move(compiled->skipped);
  return {};
}

Result<void> load_filter(const Prepared &p) {
  sock_fprog prog{static_cast<unsigned short>(p.filter.size()),
                  const_cast<sock_filter *>(p.filter.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    return fail_errno("cannot load the seccomp filter");
  return {};
}

} // namespace

Result<PreparedPtr> prepare_security(const SecurityOptions &opt) {
  PreparedPtr p(new Prepared);
  p->privileged = opt.privileged;
  p->last_cap = last_capability();
  auto caps = resolve_capabilities(opt, current_bounding_set());
  if (!caps)
    return tl::unexpected(caps.error());
  p->caps = *caps;
  if (opt.privileged)
    return p; // all of ctk's capabilities, no seccomp, no no_new_privs (as docker)
  p->no_new_privs = opt.no_new_privileges;

  auto target = make_caps(p->caps, p->last_cap);
  if (!target)
    return tl::unexpected(target.error());
  p->target = *target;
  // What ctk holds now is what a child that kept its capabilities across
  // setuid still has in its permitted set.
  p->raise = cap_get_proc();
  if (!p->raise)
    return fail_errno("cannot read ctk's own capabilities");
  for (int cap = 0; cap <= p->last_cap && cap < 64; ++cap) {
    cap_value_t v = cap;
    cap_flag_value_t permitted = CAP_CLEAR;
    if (cap_get_flag(p->raise, v, CAP_PERMITTED, &permitted) == 0)
      cap_set_flag(p->raise, CAP_EFFECTIVE, 1, &v, permitted);
  }

  if (auto s = prepare_seccomp(opt, *p); !s)
    return tl::unexpected(s.error());
  return p;
}

Result<void> keep_capabilities_across_setuid() {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return fail_errno("cannot keep capabilities across setuid (PR_SET_KEEPCAPS)");
  return {};
}

Result<void> apply_security(const Prepared &p) {
  if (p.privileged)
    return {};

  // 1. The bounding set: dropping needs CAP_SETPCAP in the effective set,
  //    which a process that changed uid has only with PR_SET_KEEPCAPS.
  bool drop = false;
  for (int cap = 0; cap <= p.last_cap && cap < 64; ++cap)
    drop = drop || (!((p.caps >> cap) & 1) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1);
  if (drop) {
    if (cap_set_proc(p.raise) != 0)
      return fail_errno("cannot raise the effective capabilities to drop the bounding set "
                        "(a non-root user needs PR_SET_KEEPCAPS before setuid)");
    for (int cap = 0; cap <= p.last_cap && cap < 64; ++cap) {
      if ((p.caps >> cap) & 1 || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
        continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
        return fail_errno(
            fmt::format("cannot drop {} from the bounding set", capability_name(cap)));
    }
  }

  // 2. Without no_new_privs the kernel accepts a filter only from a process
  //    with CAP_SYS_ADMIN, so it goes in while ctk still holds it (as runc).
  if (!p.filter.empty() && !p.no_new_privs)
    if (auto r = load_filter(p); !r)
      return r;

  // 3. The process's own sets. Ambient first: it must be a subset of
  //    permitted and inheritable, which shrink next.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail_errno("cannot clear the ambient capabilities");
  if (cap_set_proc(p.target) != 0)
    return fail_errno("cannot set the container's capabilities");
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);

  // 4. no_new_privs, then the filter last: everything above is done.
  if (p.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail_errno("cannot set no_new_privs");
  if (!p.filter.empty() && p.no_new_privs)
    if (auto r = load_filter(p); !r)
      return r;
  return {};
}

std::vector<std::string> effective_capabilities(const Prepared &p) {
  return capability_names(p.caps);
}

bool has_seccomp(const Prepared &p) {
  return !p.filter.empty();
}
size_t seccomp_instructions(const Prepared &p) {
  return p.filter.size();
}
const std::vector<std::string> &skipped_syscalls(const Prepared &p) {
  return p.skipped;
}

} // namespace ctk::rt::security
