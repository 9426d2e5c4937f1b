// fd-based filesystem helpers for layer extraction (see tar_fs.h).
#include "tar_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>

namespace ctk::rt::image::detail {

namespace {

std::string fd_error_text(std::string_view what, std::string_view op) {
  return fmt::format("layer entry \"{}\": {}", what, op);
}

struct DirCloser {
  void operator()(DIR *d) const { closedir(d); }
};

} // namespace

int open_in_root(int root, const std::string &path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char *p = path.empty() ? "." : path.c_str();
  for (int attempt = 0;; attempt++) {
    long fd = syscall(SYS_openat2, root, p, &how, sizeof how);
    if (fd >= 0)
      return static_cast<int>(fd);
    if (errno == EAGAIN && attempt < 16)
      continue;
    return -errno;
  }
}

Result<UniqueFd> open_dir_in_root(int root, const std::string &path, std::string_view what,
                                  bool create) {
  int fd = open_in_root(root, path, O_PATH | O_DIRECTORY);
  if (fd >= 0)
    return UniqueFd(fd);
  if (fd != -ENOENT || !create)
    return fail_errno(fd_error_text(what, fmt::format("cannot open directory \"{}\"", path)), -fd);
  // Create the missing components one at a time, each by mkdirat relative to
  // the fd of the (resolved) component before it.
  UniqueFd cur(open_in_root(root, "", O_PATH | O_DIRECTORY));
  if (!cur)
    return fail_errno(fd_error_text(what, "cannot open the destination root"));
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos)
      slash = path.size();
    std::string prefix = path.substr(0, slash);
    std::string comp = path.substr(start, slash - start);
    start = slash + 1;
    int next = open_in_root(root, prefix, O_PATH | O_DIRECTORY);
    if (next == -ENOENT) {
      bool made = mkdirat(cur.get(), comp.c_str(), 0755) == 0;
      if (!made && errno != EEXIST)
        return fail_errno(
            fd_error_text(what, fmt::format("cannot create directory \"{}\"", prefix)));
      next = open_in_root(root, prefix, O_PATH | O_DIRECTORY);
      if (next == -ENOENT) // "prefix" exists but leads nowhere: a dangling symlink
        return fail(
            Errc::parse,
            fd_error_text(what, fmt::format("parent \"{}\" is a dangling symlink", prefix)));
      // Implied directories are 0755 whatever the process umask (as docker does).
      if (made && next >= 0 && chmod_opath_fd(next, 0755) < 0) {
        int saved = errno;
        close(next);
        return fail_errno(fd_error_text(what, fmt::format("cannot set mode of \"{}\"", prefix)),
                          saved);
      }
    }
    if (next < 0)
      return fail_errno(fd_error_text(what, fmt::format("cannot open directory \"{}\"", prefix)),
                        -next);
    cur = UniqueFd(next);
  }
  return cur;
}

Result<void> remove_at(int parent, const std::string &name, std::string_view what) {
  struct stat st;
  if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return {};
    return fail_errno(fd_error_text(what, fmt::format("cannot inspect \"{}\"", name)));
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return fail_errno(fd_error_text(what, fmt::format("cannot open directory \"{}\"", name)));
    if (auto r = remove_children_except(fd, "", {}, what); !r) {
      close(fd);
      return r;
    }
    close(fd);
    if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
      return fail_errno(fd_error_text(what, fmt::format("cannot remove directory \"{}\"", name)));
    return {};
  }
  if (unlinkat(parent, name.c_str(), 0) < 0 && errno != ENOENT)
    return fail_errno(fd_error_text(what, fmt::format("cannot remove \"{}\"", name)));
  return {};
}

Result<void> remove_children_except(int dirfd, const std::string &prefix,
                                    const std::unordered_set<std::string> &keep,
                                    std::string_view what) {
  int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0)
    return fail_errno(fd_error_text(what, "cannot duplicate a directory fd"));
  std::unique_ptr<DIR, DirCloser> d(fdopendir(dup));
  if (!d) {
    close(dup);
    return fail_errno(fd_error_text(what, "cannot list a directory"));
  }
  // Collect first: removing while readdir walks the same stream may skip names.
  std::vector<std::pair<std::string, bool>> names;
  while (dirent *de = readdir(d.get())) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..")
      continue;
    bool is_dir = de->d_type == DT_DIR;
    struct stat st;
    if (de->d_type == DT_UNKNOWN && fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      is_dir = S_ISDIR(st.st_mode);
    names.emplace_back(std::string(n), is_dir);
  }
  for (auto &[name, is_dir] : names) {
    std::string layer_path = prefix.empty() ? name : prefix + "/" + name;
    if (keep.count(layer_path)) {
      if (!is_dir)
        continue;
      int sub = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        continue; // replaced by a non-directory of this layer: nothing below to hide
      auto r = remove_children_except(sub, layer_path, keep, what);
      close(sub);
      if (!r)
        return r;
      continue;
    }
    if (auto r = remove_at(dirfd, name, what); !r)
      return r;
  }
  return {};
}

int chmod_opath_fd(int fd, mode_t mode) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
  if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return -1;
  return chmod(fmt::format("/proc/self/fd/{}", fd).c_str(), mode);
}

} // namespace ctk::rt::image::detail
