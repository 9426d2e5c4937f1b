#include "ctk/runtime/core.h"

#include <fcntl.h>
#include <unistd.h>

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

} // namespace ctk::rt
