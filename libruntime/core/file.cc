#include "ctk/runtime/core.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ctk::rt {

Result<std::string> read_file_at(int dirfd, const std::string &path) {
  int fd = ::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail_errno("cannot read " + path);
  UniqueFd owner(fd);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot read " + path);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string &path) { return read_file_at(AT_FDCWD, path); }

Result<size_t> read_small_at(int dirfd, const char *path, char *buf, size_t cap) {
  int fd = ::openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail_errno(std::string("cannot read ") + path);
  UniqueFd owner(fd);
  size_t total = 0;
  while (total < cap) {
    ssize_t n = ::read(fd, buf + total, cap - total);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno(std::string("cannot read ") + path);
    }
    if (n == 0)
      break;
    total += static_cast<size_t>(n);
  }
  return total;
}

static std::string dir_of(const std::string &path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

Result<void> write_file_atomic(const std::string &path, std::string_view data, mode_t mode) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0)
    return fail_errno("cannot create a temporary file for " + path);
  UniqueFd owner(fd);
  std::string tmp(name.data());
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (::fchmod(fd, mode) != 0) {
    int e = errno;
    cleanup();
    return fail_errno("cannot set the mode of " + tmp, e);
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      cleanup();
      return fail_errno("cannot write " + tmp, e);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    cleanup();
    return fail_errno("cannot fsync " + tmp, e);
  }
  owner.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    cleanup();
    return fail_errno("cannot rename " + tmp + " to " + path, e);
  }
  int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<void> make_dirs(const std::string &path, mode_t mode) {
  if (path.empty())
    return fail(Errc::invalid_argument, "cannot create a directory with an empty path");
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty())
      continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return fail_errno("cannot create directory " + cur);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail_errno("cannot create directory " + path);
  if (!S_ISDIR(st.st_mode))
    return fail(Errc::exists, "cannot create directory " + path + ": a file of that name exists");
  return {};
}

std::string HostPaths::prefixed(std::string_view abs_path) const {
  if (root.empty() || root == "/")
    return std::string(abs_path);
  std::string r = root;
  while (!r.empty() && r.back() == '/')
    r.pop_back();
  return r + std::string(abs_path);
}

} // namespace ctk::rt
