#include "ctk/runtime/core.h"

#include <fcntl.h>
#include <sys/file.h>

namespace ctk::rt {

Result<FileLock> FileLock::acquire(const std::string &path, LockMode mode, bool wait) {
  auto fd = open_fd(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
  if (!fd)
    return wrap(fd, "cannot take lock " + path);
  int op = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (::flock(fd->get(), op) != 0) {
    if (errno == EINTR)
      continue;
    if (errno == EWOULDBLOCK)
      return fail(Errc::busy, "cannot take lock " + path + ": held by another process");
    return fail_errno("cannot take lock " + path);
  }
  return FileLock(std::move(*fd), path);
}

} // namespace ctk::rt
