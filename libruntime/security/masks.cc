// Masked and read-only paths, as runc applies moby's lists: a masked file is
// covered by /dev/null, a masked directory by an empty read-only tmpfs, and a
// read-only path is a bind mount of itself remounted read-only.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <fmt/format.h>

#include "ctk/runtime/security.h"

namespace ctk::rt::security {

namespace {

// The flags a read-only remount must keep: the kernel refuses to clear
// nosuid/nodev/noexec on a bind remount when they are locked.
unsigned long kept_flags(const std::string &path) {
  struct statvfs sv {};
  if (statvfs(path.c_str(), &sv) != 0)
    return 0;
  unsigned long flags = 0;
  if (sv.f_flag & ST_NOSUID)
    flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  return flags;
}

Result<void> mask_one(const std::string &path) {
  struct stat st {};
  // The paths live in /proc and /sys, whose entries the kernel controls;
  // lstat keeps a symlink there from redirecting the mount.
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return {};
    return fail_errno(fmt::format("cannot mask {}", path));
  }
  if (S_ISLNK(st.st_mode))
    return {};
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=0,mode=0555") != 0)
      return fail_errno(fmt::format("cannot mask directory {} with an empty tmpfs", path));
    return {};
  }
  if (mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return fail_errno(fmt::format("cannot mask {} with /dev/null", path));
  return {};
}

Result<void> make_readonly(const std::string &path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return {};
    return fail_errno(fmt::format("cannot make {} read-only", path));
  }
  if (S_ISLNK(st.st_mode))
    return {};
  if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail_errno(fmt::format("cannot bind {} onto itself", path));
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(path);
  if (mount(nullptr, path.c_str(), nullptr, flags, nullptr) != 0)
    return fail_errno(fmt::format("cannot remount {} read-only", path));
  return {};
}

} // namespace

Result<void> apply_masked_paths() {
  for (const auto &p : masked_paths())
    if (auto r = mask_one(p); !r)
      return r;
  for (const auto &p : readonly_paths())
    if (auto r = make_readonly(p); !r)
      return r;
  return {};
}

} // namespace ctk::rt::security
