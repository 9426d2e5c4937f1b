// A cache of compiled seccomp filters. libseccomp takes 10-20 ms to turn
// docker's profile into BPF for x86_64 with its x86 and x32 sub-architectures,
// and `ctk run` would pay that on every start although the inputs rarely
// change. An entry stores its whole key (profile bytes, capability set, arch,
// kernel, libseccomp version) and is used only when the key matches byte for
// byte, so a hash collision cannot hand out another profile's filter.
//
// Entry layout: "CTKSECC1", then u32 key length, u32 skipped-names length,
// u32 instruction count, then the key, the skipped names ('\n'-separated) and
// the instructions.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "security_internal.h"

namespace ctk::rt::security::detail {

namespace {

constexpr char kMagic[8] = {'C', 'T', 'K', 'S', 'E', 'C', 'C', '1'};
constexpr size_t kHeader = sizeof(kMagic) + 3 * sizeof(uint32_t);

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string entry_path(const std::string &dir, const std::string &key) {
  return fmt::format("{}/{:016x}.bpf", dir, fnv1a(key));
}

// Only a directory of our own that nobody else can write may feed filters
// into containers.
bool trusted_dir(const std::string &dir) {
  struct stat st {};
  return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
         (st.st_mode & 022) == 0;
}

uint32_t get_u32(const std::string &data, size_t off) {
  uint32_t v;
  std::memcpy(&v, data.data() + off, sizeof v);
  return v;
}

void put_u32(std::string &out, uint32_t v) {
  out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

} // namespace

std::string cache_key(std::string_view profile_text, uint64_t caps, std::string_view goarch,
                      KernelVersion kernel) {
  const scmp_version *v = seccomp_version();
  std::string key =
      fmt::format("libseccomp {}.{}.{}\narch {}\nkernel {}.{}\ncaps {:016x}\n", v ? v->major : 0,
                  v ? v->minor : 0, v ? v->micro : 0, goarch, kernel.major, kernel.minor, caps);
  key.append(profile_text);
  return key;
}

std::optional<CompiledFilter> cache_lookup(const std::string &dir, const std::string &key) {
  if (!trusted_dir(dir))
    return std::nullopt;
  std::string path = entry_path(dir, key);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 022) != 0)
    return std::nullopt;
  if (st.st_size < static_cast<off_t>(kHeader) || st.st_size > (1 << 20))
    return std::nullopt;
  std::optional<std::string> data(std::string(static_cast<size_t>(st.st_size), '\0'));
  if (pread(fd.get(), data->data(), data->size(), 0) != st.st_size)
    return std::nullopt;
  if (data->size() < kHeader || std::memcmp(data->data(), kMagic, sizeof kMagic) != 0)
    return std::nullopt;
  size_t key_len = get_u32(*data, 8), skipped_len = get_u32(*data, 12), insns = get_u32(*data, 16);
  if (insns == 0 || insns > BPF_MAXINSNS ||
      data->size() != kHeader + key_len + skipped_len + insns * sizeof(sock_filter) ||
      key_len != key.size() || data->compare(kHeader, key_len, key) != 0)
    return std::nullopt;
  CompiledFilter f;
  std::string_view skipped(data->data() + kHeader + key_len, skipped_len);
  for (auto name : split(skipped, '\n'))
    if (!name.empty())
      f.skipped.emplace_back(name);
  f.program.resize(insns);
  std::memcpy(f.program.data(), data->data() + kHeader + key_len + skipped_len,
              insns * sizeof(sock_filter));
  return f;
}

void cache_store(const std::string &dir, const std::string &key, const CompiledFilter &f) {
  // Best effort: a cache that cannot be written only costs time.
  if (!make_dirs(dir, 0700) || !trusted_dir(dir))
    return;
  std::string skipped;
  for (const auto &name : f.skipped)
    skipped += name + "\n";
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, static_cast<uint32_t>(key.size()));
  put_u32(out, static_cast<uint32_t>(skipped.size()));
  put_u32(out, static_cast<uint32_t>(f.program.size()));
  out += key;
  out += skipped;
  out.append(reinterpret_cast<const char *>(f.program.data()),
             f.program.size() * sizeof(sock_filter));
  (void)write_file_atomic(entry_path(dir, key), out, 0600);
}

} // namespace ctk::rt::security::detail
