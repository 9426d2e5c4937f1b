// Private to the image module: file-descriptor based filesystem helpers for
// layer extraction. Nothing here joins paths into strings for the kernel to
// resolve from "/": every lookup is relative to a directory fd, and lookups
// of multi-component paths go through openat2 with RESOLVE_IN_ROOT.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_set>

#include "ctk/runtime/core.h"

namespace ctk::rt::image::detail {

// openat2(root, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// symlinks (absolute or "..") are resolved as if `root` were "/". Returns the
// fd, or -errno. Retries the EAGAIN the kernel returns when a concurrent
// rename may have raced the lookup.
int open_in_root(int root, const std::string &path, int flags);

// Opens the directory `path` inside `root` as an O_PATH fd, creating missing
// components (mode 0755) one by one, each created relative to the fd of its
// resolved parent. "" is the root itself. `what` names the entry for errors.
Result<UniqueFd> open_dir_in_root(int root, const std::string &path, std::string_view what,
                                  bool create);

// Removes `name` in the directory `parent` whatever it is; a directory with
// its whole subtree, walked by fds (symlinks inside are removed, never
// followed). ENOENT is success.
Result<void> remove_at(int parent, const std::string &name, std::string_view what);

// Removes every entry under the directory `dirfd` (whose layer path is
// `prefix`) except those whose layer path is in `keep`; kept directories are
// descended into. For opaque whiteouts applied to a flattened tree: they hide
// what lower layers put there, not what this layer added.
Result<void> remove_children_except(int dirfd, const std::string &prefix,
                                    const std::unordered_set<std::string> &keep,
                                    std::string_view what);

// chmod of the inode behind an O_PATH fd (fchmod refuses O_PATH fds):
// fchmodat2(AT_EMPTY_PATH) where the kernel has it, else the fd's
// /proc/self/fd magic link, which names the inode, not a path.
int chmod_opath_fd(int fd, mode_t mode);

} // namespace ctk::rt::image::detail
