// moby's seccomp profile format (profiles/seccomp/default.json): parsing,
// and the selection of the rules that apply to one container.
//
// The parser is strict about what it uses (types, actions, operators,
// argument indexes) and, like Go's encoding/json in moby, ignores keys it does
// not know ("comment", "listenerPath", ...), so profiles written for docker
// load unchanged.
#include <sys/utsname.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctk/runtime/security.h"

namespace ctk::rt::security {

namespace {

using nlohmann::json;

// Errors inside the parser carry the JSON path of the offending value; the
// caller prefixes the file name.
struct ParseError {
  std::string what;
};

[[noreturn]] void bad(const std::string &where, const std::string &what) {
  throw ParseError{where.empty() ? what : where + ": " + what};
}

const json *member(const json &obj, const char *key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const json &v, const std::string &where) {
  if (!v.is_string())
    bad(where, fmt::format("expected a string, found {}", v.type_name()));
  return v.get<std::string>();
}

uint64_t get_uint(const json &v, const std::string &where) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad(where, fmt::format("expected a non-negative integer, found {}", v.dump()));
  return v.get<uint64_t>();
}

std::vector<std::string> get_strings(const json &v, const std::string &where) {
  if (!v.is_array())
    bad(where, fmt::format("expected an array of strings, found {}", v.type_name()));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(get_string(v[i], fmt::format("{}[{}]", where, i)));
  return out;
}

SeccompAction parse_action(const json &v, const json *errno_ret, const std::string &where) {
  std::string name = get_string(v, where);
  SeccompAction a;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD")
    a.kind = SeccompAction::kill_thread;
  else if (name == "SCMP_ACT_KILL_PROCESS")
    a.kind = SeccompAction::kill_process;
  else if (name == "SCMP_ACT_TRAP")
    a.kind = SeccompAction::trap;
  else if (name == "SCMP_ACT_ERRNO")
    a.kind = SeccompAction::errno_ret, a.data = 1; // EPERM unless errnoRet says otherwise
  else if (name == "SCMP_ACT_TRACE")
    a.kind = SeccompAction::trace, a.data = 1;
  else if (name == "SCMP_ACT_LOG")
    a.kind = SeccompAction::log;
  else if (name == "SCMP_ACT_ALLOW")
    a.kind = SeccompAction::allow;
  else if (name == "SCMP_ACT_NOTIFY")
    bad(where, "SCMP_ACT_NOTIFY needs a seccomp agent, which ctk does not run");
  else
    bad(where, fmt::format("unknown action \"{}\"", name));
  if (errno_ret) {
    uint64_t e = get_uint(*errno_ret, where + " errnoRet");
    if (e > 0xffff)
      bad(where, fmt::format("errnoRet {} is out of range", e));
    if (a.kind == SeccompAction::errno_ret || a.kind == SeccompAction::trace)
      a.data = static_cast<uint32_t>(e);
  }
  return a;
}

SeccompArg parse_arg(const json &v, const std::string &where) {
  if (!v.is_object())
    bad(where, "expected an object");
  SeccompArg a;
  const json *index = member(v, "index");
  const json *value = member(v, "value");
  const json *op = member(v, "op");
  if (!index || !value || !op)
    bad(where, "an argument needs index, value and op");
  uint64_t i = get_uint(*index, where + ".index");
  if (i > 5)
    bad(where + ".index", fmt::format("{} is not an argument index (0-5)", i));
  a.index = static_cast<unsigned>(i);
  a.value = get_uint(*value, where + ".value");
  if (const json *two = member(v, "valueTwo"))
    a.value_two = get_uint(*two, where + ".valueTwo");
  static const std::pair<const char *, SeccompArg::Op> ops[] = {
      {"SCMP_CMP_NE", SeccompArg::ne},
      {"SCMP_CMP_LT", SeccompArg::lt},
      {"SCMP_CMP_LE", SeccompArg::le},
      {"SCMP_CMP_EQ", SeccompArg::eq},
      {"SCMP_CMP_GE", SeccompArg::ge},
      {"SCMP_CMP_GT", SeccompArg::gt},
      {"SCMP_CMP_MASKED_EQ", SeccompArg::masked_eq},
  };
  std::string name = get_string(*op, where + ".op");
  auto it = std::find_if(std::begin(ops), std::end(ops), [&](auto &p) { return name == p.first; });
  if (it == std::end(ops))
    bad(where + ".op", fmt::format("unknown operator \"{}\"", name));
  a.op = it->second;
  return a;
}

KernelVersion parse_kernel(std::string_view s, const std::string &where) {
  KernelVersion k;
  auto parts = split(s, '.');
  long long major = 0, minor = 0;
  if (parts.size() != 2 || !parse_int(parts[0], major) || !parse_int(parts[1], minor) ||
      major < 0 || minor < 0)
    bad(where, fmt::format("\"{}\" is not a kernel version (MAJOR.MINOR)", s));
  k.major = static_cast<unsigned>(major);
  k.minor = static_cast<unsigned>(minor);
  return k;
}

SeccompFilter parse_filter(const json &v, const std::string &where) {
  if (!v.is_object())
    bad(where, "expected an object");
  SeccompFilter f;
  if (const json *caps = member(v, "caps")) {
    f.caps = get_strings(*caps, where + ".caps");
    for (size_t i = 0; i < f.caps.size(); ++i) {
      auto cap = capability_from_name(f.caps[i]);
      if (!cap)
        bad(fmt::format("{}.caps[{}]", where, i), cap.error().context);
      f.caps[i] = capability_name(*cap);
    }
  }
  if (const json *arches = member(v, "arches"))
    f.arches = get_strings(*arches, where + ".arches");
  if (const json *k = member(v, "minKernel"))
    f.min_kernel = parse_kernel(get_string(*k, where + ".minKernel"), where + ".minKernel");
  return f;
}

// "SCMP_ARCH_X86_64" -> "x86_64", libseccomp's name.
std::string arch_name(const std::string &scmp, const std::string &where) {
  const std::string prefix = "SCMP_ARCH_";
  if (scmp.rfind(prefix, 0) != 0 || scmp.size() == prefix.size())
    bad(where, fmt::format("\"{}\" is not an architecture (SCMP_ARCH_...)", scmp));
  std::string name = scmp.substr(prefix.size());
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

// The build's architecture in libseccomp's and in Go's (moby's "arches") names.
struct NativeArch {
  std::string_view scmp, go;
};
constexpr NativeArch native_arch() {
#if defined(__x86_64__) && defined(__ILP32__)
  return {"x32", "x32"};
#elif defined(__x86_64__)
  return {"x86_64", "amd64"};
#elif defined(__i386__)
  return {"x86", "386"};
#elif defined(__aarch64__)
  return {"aarch64", "arm64"};
#elif defined(__arm__)
  return {"arm", "arm"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return {"ppc64le", "ppc64le"};
#elif defined(__s390x__)
  return {"s390x", "s390x"};
#elif defined(__riscv) && __riscv_xlen == 64
  return {"riscv64", "riscv64"};
#else
  return {"", "unknown"};
#endif
}

std::string_view native_scmp_arch() {
  return native_arch().scmp;
}

SeccompProfile parse_document(const json &doc) {
  if (!doc.is_object())
    bad("", "the profile is not a JSON object");
  SeccompProfile p;
  const json *def = member(doc, "defaultAction");
  if (!def)
    bad("", "defaultAction is missing");
  p.default_action = parse_action(*def, member(doc, "defaultErrnoRet"), "defaultAction");

  // archMap: keep the entry of the architecture we run on, with its
  // sub-architectures (x86 and x32 beside x86_64), so 32-bit binaries in the
  // image are filtered instead of killed as a foreign architecture.
  std::string native(native_scmp_arch());
  if (const json *map = member(doc, "archMap")) {
    if (!map->is_array())
      bad("archMap", "expected an array");
    for (size_t i = 0; i < map->size(); ++i) {
      std::string where = fmt::format("archMap[{}]", i);
      const json &e = (*map)[i];
      if (!e.is_object() || !member(e, "architecture"))
        bad(where, "an entry needs an architecture");
      std::string arch = arch_name(get_string(e["architecture"], where + ".architecture"),
                                   where + ".architecture");
      std::vector<std::string> subs;
      if (const json *s = member(e, "subArchitectures"))
        for (const auto &name : get_strings(*s, where + ".subArchitectures"))
          subs.push_back(arch_name(name, where + ".subArchitectures"));
      if (arch == native) {
        p.architectures.push_back(arch);
        p.architectures.insert(p.architectures.end(), subs.begin(), subs.end());
      }
    }
  } else if (const json *arches = member(doc, "architectures")) {
    for (const auto &name : get_strings(*arches, "architectures"))
      p.architectures.push_back(arch_name(name, "architectures"));
  }

  const json *calls = member(doc, "syscalls");
  if (calls && !calls->is_array())
    bad("syscalls", "expected an array");
  for (size_t i = 0; calls && i < calls->size(); ++i) {
    std::string where = fmt::format("syscalls[{}]", i);
    const json &c = (*calls)[i];
    if (!c.is_object())
      bad(where, "expected an object");
    SeccompRule r;
    if (const json *names = member(c, "names"))
      r.names = get_strings(*names, where + ".names");
    if (const json *name = member(c, "name")) // the pre-1.13 form, one name
      r.names.push_back(get_string(*name, where + ".name"));
    if (r.names.empty())
      bad(where, "a rule needs names");
    const json *action = member(c, "action");
    if (!action)
      bad(where, "action is missing");
    r.action = parse_action(*action, member(c, "errnoRet"), where + ".action");
    if (const json *args = member(c, "args")) {
      if (!args->is_array())
        bad(where + ".args", "expected an array");
      for (size_t k = 0; k < args->size(); ++k)
        r.args.push_back(parse_arg((*args)[k], fmt::format("{}.args[{}]", where, k)));
    }
    if (const json *inc = member(c, "includes"))
      r.includes = parse_filter(*inc, where + ".includes");
    if (const json *exc = member(c, "excludes"))
      r.excludes = parse_filter(*exc, where + ".excludes");
    p.syscalls.push_back(std::move(r));
  }
  return p;
}

bool contains(const std::vector<std::string> &v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool has_cap(uint64_t caps, const std::string &name) {
  auto cap = capability_from_name(name);
  return cap && (caps >> *cap) & 1;
}

} // namespace

Result<SeccompProfile> parse_seccomp_profile(std::string_view text, const std::string &origin) {
  try {
    return parse_document(json::parse(text));
  } catch (const json::exception &e) {
    return fail(Errc::parse,
                fmt::format("seccomp profile {}: malformed JSON: {}", origin, e.what()));
  } catch (const ParseError &e) {
    return fail(Errc::parse, fmt::format("seccomp profile {}: {}", origin, e.what));
  }
}

Result<SeccompProfile> load_seccomp_profile(const std::string &path) {
  auto text = read_file(path);
  if (!text)
    return wrap(text, fmt::format("cannot read seccomp profile {}", path));
  return parse_seccomp_profile(*text, path);
}

std::vector<SeccompRule> select_seccomp_rules(const SeccompProfile &p, uint64_t caps,
                                              std::string_view goarch, KernelVersion kernel) {
  // moby's setupSeccomp: an excluded arch, an included arch that is not
  // ours, any excluded capability the container has, any included one it
  // lacks, or a kernel outside the bounds skips the rule.
  std::vector<SeccompRule> out;
  for (const auto &r : p.syscalls) {
    if (!r.excludes.arches.empty() && contains(r.excludes.arches, goarch))
      continue;
    if (!r.includes.arches.empty() && !contains(r.includes.arches, goarch))
      continue;
    if (std::any_of(r.excludes.caps.begin(), r.excludes.caps.end(),
                    [&](const std::string &c) { return has_cap(caps, c); }))
      continue;
    if (!std::all_of(r.includes.caps.begin(), r.includes.caps.end(),
                     [&](const std::string &c) { return has_cap(caps, c); }))
      continue;
    if (r.excludes.min_kernel && kernel >= *r.excludes.min_kernel)
      continue;
    if (r.includes.min_kernel && kernel < *r.includes.min_kernel)
      continue;
    if (r.action == p.default_action)
      continue;
    out.push_back(r);
  }
  return out;
}

std::string_view native_goarch() {
  return native_arch().go;
}

KernelVersion running_kernel() {
  struct utsname u {};
  KernelVersion k;
  if (uname(&u) == 0) {
    unsigned major = 0, minor = 0;
    if (sscanf(u.release, "%u.%u", &major, &minor) == 2)
      k = {major, minor};
  }
  return k;
}

} // namespace ctk::rt::security
