// Compiles the selected rules of a profile to a BPF program with libseccomp.
//
// The program is generated in the parent (prepare_security) and exported as
// raw BPF, so the container's process loads it with one seccomp(2) call: no
// parsing or allocation after fork, and every error reaches the user before
// anything is created.
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include <fmt/format.h>

#include "security_internal.h"

namespace ctk::rt::security::detail {

namespace {

struct CtxRelease {
  void operator()(void *ctx) const { seccomp_release(ctx); }
};
using CtxPtr = std::unique_ptr<void, CtxRelease>;

uint32_t scmp_action(const SeccompAction &a) {
  switch (a.kind) {
  case SeccompAction::kill_thread:
    return SCMP_ACT_KILL_THREAD;
  case SeccompAction::kill_process:
    return SCMP_ACT_KILL_PROCESS;
  case SeccompAction::trap:
    return SCMP_ACT_TRAP;
  case SeccompAction::errno_ret:
    return SCMP_ACT_ERRNO(a.data);
  case SeccompAction::trace:
    return SCMP_ACT_TRACE(a.data);
  case SeccompAction::log:
    return SCMP_ACT_LOG;
  case SeccompAction::allow:
    return SCMP_ACT_ALLOW;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_arg_cmp scmp_cmp(const SeccompArg &a) {
  static constexpr std::array<scmp_compare, 7> ops = {
      SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,        SCMP_CMP_EQ,
      SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
  };
  // For MASKED_EQ moby's value is the mask and valueTwo the datum, which is
  // libseccomp's (datum_a, datum_b) order as well.
  return scmp_arg_cmp{a.index, ops[a.op], a.value, a.value_two};
}

Result<void> add_rule(void *ctx, const std::string &origin, const std::string &name, int nr,
                      const SeccompRule &r) {
  uint32_t action = scmp_action(r.action);
  std::array<unsigned, 6> per_index{};
  for (const auto &a : r.args)
    ++per_index[a.index];
  bool repeated = false;
  for (unsigned n : per_index)
    repeated = repeated || n > 1;
  auto check = [&](int rc) -> Result<void> {
    if (rc < 0)
      return fail(Errc::invalid_argument,
                  fmt::format("seccomp profile {}: cannot add the rule for {}", origin, name), -rc);
    return {};
  };
  // libseccomp ANDs the comparisons of one rule and refuses two on the same
  // argument; runc turns those into one rule per comparison (an OR), and so
  // does ctk, so profiles behave as they do under docker.
  if (repeated) {
    for (const auto &a : r.args) {
      scmp_arg_cmp cmp = scmp_cmp(a);
      if (auto c = check(seccomp_rule_add_array(ctx, action, nr, 1, &cmp)); !c)
        return c;
    }
    return {};
  }
  std::array<scmp_arg_cmp, 6> cmps{};
  for (size_t i = 0; i < r.args.size(); ++i)
    cmps[i] = scmp_cmp(r.args[i]);
  return check(
      seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(r.args.size()), cmps.data()));
}

} // namespace

Result<CompiledFilter> compile_filter(const SeccompProfile &profile,
                                      const std::vector<SeccompRule> &rules,
                                      const std::string &origin) {
  CompiledFilter out;
  CtxPtr ctx(seccomp_init(scmp_action(profile.default_action)));
  if (!ctx)
    return fail(Errc::internal, fmt::format("seccomp profile {}: seccomp_init failed", origin));
  // no_new_privs is set by apply_security itself, in the order it needs.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  for (const auto &arch : profile.architectures) {
    uint32_t token = seccomp_arch_resolve_name(arch.c_str());
    if (token == 0)
      continue; // an architecture this libseccomp does not know cannot run here either
    int rc = seccomp_arch_add(ctx.get(), token);
    if (rc < 0 && rc != -EEXIST)
      return fail(Errc::invalid_argument,
                  fmt::format("seccomp profile {}: cannot add architecture {}", origin, arch), -rc);
  }
  for (const auto &r : rules) {
    for (const auto &name : r.names) {
      // A name libseccomp does not know at all (a syscall newer than it) is
      // skipped, as runc does; a name known but absent on one of the
      // filter's architectures (chown32 on x86_64) is left to libseccomp,
      // which adds it only where it exists.
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (std::find(out.skipped.begin(), out.skipped.end(), name) == out.skipped.end())
          out.skipped.push_back(name);
        continue;
      }
      if (auto added = add_rule(ctx.get(), origin, name, nr, r); !added)
        return tl::unexpected(added.error());
    }
  }

  // libseccomp 2.5 exports only to a file descriptor.
  UniqueFd mem(memfd_create("ctk-seccomp", MFD_CLOEXEC));
  if (!mem)
    return fail_errno("cannot create a memfd for the seccomp filter");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0)
    return fail(Errc::internal, fmt::format("seccomp profile {}: cannot generate BPF", origin),
                -rc);
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS)
    return fail(Errc::invalid_argument,
                fmt::format("seccomp profile {}: the filter has {} bytes of BPF, more than the "
                            "kernel's {} instructions",
                            origin, static_cast<long long>(size), BPF_MAXINSNS));
  out.program.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), out.program.data(), static_cast<size_t>(size), 0) != size)
    return fail_errno("cannot read back the seccomp filter");
  return out;
}

} // namespace ctk::rt::security::detail
