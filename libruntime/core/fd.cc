#include "ctk/runtime/core.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace ctk::rt {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    int saved = errno; // closing must not clobber the errno a caller is about to report
    ::close(fd_);
    errno = saved;
  }
  fd_ = fd;
}

Result<UniqueFd> open_fd(const std::string &path, int flags, mode_t mode) {
  return open_at(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> open_at(int dirfd, const std::string &path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0)
    return fail_errno("cannot open " + path);
  return UniqueFd(fd);
}

void close_fds_except(std::vector<int> keep) {
  keep.erase(std::remove(keep.begin(), keep.end(), -1), keep.end());
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  unsigned from = 0;
  for (int k : keep) {
    if (static_cast<unsigned>(k) > from)
      ::syscall(SYS_close_range, from, static_cast<unsigned>(k) - 1, 0u);
    from = static_cast<unsigned>(k) + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0u);
}

} // namespace ctk::rt
