// ensure_busybox_image(): ctk debug's default toolbox, built from the host's
// static busybox into a layer in memory and imported like `ctk import`.
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include "ctk/runtime/image_toolbox.h"

namespace ctk::rt::image {

namespace {

struct WriterDeleter {
  void operator()(struct archive *a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry *e) const { archive_entry_free(e); }
};

// `busybox --list-full`: every applet with the directory it belongs in
// ("bin/sh", "usr/bin/awk", "sbin/ip").
Result<std::vector<std::string>> applet_paths(const std::string &busybox) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return fail_errno("cannot create a pipe");
  UniqueFd r(p[0]), w(p[1]);
  pid_t child = ::fork();
  if (child < 0)
    return fail_errno("cannot fork");
  if (child == 0) {
    ::dup2(w.get(), 1);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 2);
    ::execl(busybox.c_str(), busybox.c_str(), "--list-full", static_cast<char *>(nullptr));
    ::_exit(127);
  }
  w.reset();
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return fail(Errc::io, busybox + " --list-full failed");
  std::vector<std::string> paths;
  for (auto line : split_lines(out)) {
    auto t = trim(line);
    // Relative, no "..": these become paths in the layer.
    if (t.empty() || t[0] == '/' || t.find("..") != std::string_view::npos)
      continue;
    paths.emplace_back(t);
  }
  if (paths.empty())
    return fail(Errc::parse, busybox + " --list-full listed no applets");
  return paths;
}

struct Item {
  enum Kind { dir, file, symlink } kind = dir;
  mode_t mode = 0755;
  std::string data;   // file content
  std::string target; // symlink target
};

Result<void> write_layer(int fd, const std::map<std::string, Item> &items) {
  std::unique_ptr<struct archive, WriterDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK)
    return fail(Errc::io, std::string("cannot write the layer: ") + archive_error_string(a.get()));
  for (const auto &[path, it] : items) {
    std::unique_ptr<struct archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), 0, 0);
    switch (it.kind) {
    case Item::dir:
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      break;
    case Item::file:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(it.data.size()));
      break;
    case Item::symlink:
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), it.target.c_str());
      break;
    }
    archive_entry_set_perm(e.get(), it.mode);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
      return fail(Errc::io, fmt::format("cannot write {} into the layer: {}", path,
                                        archive_error_string(a.get())));
    if (it.kind == Item::file && archive_write_data(a.get(), it.data.data(), it.data.size()) !=
                                     static_cast<la_ssize_t>(it.data.size()))
      return fail(Errc::io, fmt::format("cannot write {} into the layer: {}", path,
                                        archive_error_string(a.get())));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(Errc::io, std::string("cannot write the layer: ") + archive_error_string(a.get()));
  return {};
}

} // namespace

Result<bool> is_static_elf(const std::string &path) {
  auto text = read_file(path);
  if (!text)
    return tl::unexpected(text.error());
  const std::string &b = *text;
  if (b.size() < sizeof(Elf64_Ehdr) || std::memcmp(b.data(), ELFMAG, SELFMAG) != 0 ||
      b[EI_CLASS] != ELFCLASS64)
    return false;
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    const uint64_t off = eh.e_phoff + uint64_t{i} * eh.e_phentsize;
    if (eh.e_phentsize < sizeof(Elf64_Phdr) || off + sizeof(Elf64_Phdr) > b.size())
      return false;
    Elf64_Phdr ph;
    std::memcpy(&ph, b.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP)
      return false; // needs a dynamic loader (and a libc) in the image
  }
  return true;
}

Result<Image> ensure_busybox_image(Store &store, const BusyboxImageOptions &opt) {
  if (auto name = normalize_name(opt.name); name)
    if (auto img = store.resolve(*name); img)
      return img;
  const std::string what = "cannot build the debug image " + opt.name;
  if (::access(opt.busybox.c_str(), X_OK) != 0)
    return fail(Errc::not_found, fmt::format("{}: {} not found (install Debian's busybox-static "
                                             "package, or name an image with --image)",
                                             what, opt.busybox));
  auto is_static = is_static_elf(opt.busybox);
  if (!is_static)
    return wrap(is_static, what);
  if (!*is_static)
    return fail(Errc::unsupported, fmt::format("{}: {} is not statically linked (install Debian's "
                                               "busybox-static package)",
                                               what, opt.busybox));
  auto applets = applet_paths(opt.busybox);
  if (!applets)
    return wrap(applets, what);
  auto binary = read_file(opt.busybox);
  if (!binary)
    return wrap(binary, what);

  std::map<std::string, Item> items;
  for (const char *d :
       {"bin", "dev", "etc", "proc", "run", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var"})
    items[d] = {};
  items["root"] = {Item::dir, 0700, {}, {}};
  items["tmp"] = items["var/tmp"] = {Item::dir, 01777, {}, {}};
  items["bin/busybox"] = {Item::file, 0755, std::move(*binary), {}};
  items["etc/passwd"] = {Item::file,
                         0644,
                         "root:x:0:0:root:/root:/bin/sh\n"
                         "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
                         {}};
  items["etc/group"] = {Item::file, 0644, "root:x:0:\nnogroup:x:65534:\n", {}};
  for (const auto &p : *applets) {
    if (items.count(p))
      continue; // bin/busybox itself
    // Parent directories an applet needs that the list above lacks.
    for (size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1))
      items.try_emplace(p.substr(0, slash));
    items[p] = {Item::symlink, 0777, {}, "/bin/busybox"};
  }

  // In memory: nothing to clean up if this fails half-way, and import reads
  // it back through /proc/self/fd like any file.
  UniqueFd mem(::memfd_create("ctk-debug-layer", MFD_CLOEXEC));
  if (!mem)
    return fail_errno(what + ": cannot create a memfd");
  if (auto r = write_layer(mem.get(), items); !r)
    return wrap(r, what);
  ImportOptions io;
  io.name = opt.name;
  io.message = "ctk debug's toolbox: " + opt.busybox;
  auto img = import_rootfs(store, "/proc/self/fd/" + std::to_string(mem.get()), io);
  if (!img)
    return wrap(img, what);
  return img;
}

} // namespace ctk::rt::image
