// libruntime core: errors, file descriptors, files and locks.
//
//   using namespace ctk::rt;
//   Result<std::string> text = read_file("/proc/self/status");
//   if (!text) return tl::unexpected(text.error().wrap("cannot read status of pid 1"));
//
//   auto fd = open_fd("/run/ctk", O_DIRECTORY | O_RDONLY);   // O_CLOEXEC always added
//   auto lock = FileLock::acquire("/run/ctk/containers/web.lock", LockMode::exclusive);
//
// Every function here returns data or a typed Error; nothing prints or exits.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <tl/expected.hpp>

namespace ctk::rt {

enum class Errc {
  internal,
  invalid_argument, // the caller (ultimately the user) asked for something malformed
  not_found,        // no such container, image, pid, file
  ambiguous,        // a name matched more than one thing; message lists them
  exists,
  permission_denied,
  unsupported, // the kernel or host cannot do it (no BPF, no cgroup v2, ...)
  parse,       // a file or document we read is malformed
  io,          // a system call failed
  busy,
  interrupted,
  timeout,
};

std::string_view errc_name(Errc code);

// An error names the thing, the operation and the cause. `context` is a
// chain built from the outside in: wrap() prepends, so the final message
// reads "cannot resolve web: cannot read /run/docker/x/state.json: No such file".
struct [[nodiscard]] Error {
  Errc code = Errc::internal;
  int sys_errno = 0;     // errno of the failing system call, 0 if none
  std::string context;   // human text, outermost first

  Error() = default;
  Error(Errc c, std::string ctx, int err = 0) : code(c), sys_errno(err), context(std::move(ctx)) {}

  // Adds outer context: "outer: inner".
  Error &wrap(std::string_view outer) &;
  Error &&wrap(std::string_view outer) &&;
  // The one-line message shown to a user: context, then strerror if any.
  std::string message() const;
};

template <class T> using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string context, int err = 0) {
  return tl::unexpected<Error>(Error(code, std::move(context), err));
}
// From errno (captured by the caller right after the failing call). Maps
// ENOENT/ESRCH to not_found, EACCES/EPERM to permission_denied, EBUSY to
// busy, EINTR to interrupted, anything else to io.
Error errno_error(std::string context, int err);
inline tl::unexpected<Error> fail_errno(std::string context, int err = errno) {
  return tl::unexpected<Error>(errno_error(std::move(context), err));
}
// Wraps the error of a failed Result with outer context and passes it on.
template <class T> tl::unexpected<Error> wrap(const Result<T> &r, std::string_view outer) {
  Error e = r.error();
  e.wrap(outer);
  return tl::unexpected<Error>(std::move(e));
}

// Move-only owner of a file descriptor. No implicit conversion to int.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd &&o) noexcept : fd_(o.release()) {}
  UniqueFd &operator=(UniqueFd &&o) noexcept {
    if (this != &o)
      reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd &) = delete;
  UniqueFd &operator=(const UniqueFd &) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

private:
  int fd_ = -1;
};

// Closes every descriptor of this process except those in `keep` (-1
// entries ignored): what a child does before it runs anything of a
// container's, so no host descriptor crosses.
void close_fds_except(std::vector<int> keep);

// open(2)/openat(2) with O_CLOEXEC added.
Result<UniqueFd> open_fd(const std::string &path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dirfd, const std::string &path, int flags, mode_t mode = 0);

// Whole-file reads, for /proc and /sys files and small state files. Reads
// until EOF (procfs files may be larger than st_size says).
Result<std::string> read_file(const std::string &path);
Result<std::string> read_file_at(int dirfd, const std::string &path);
// Cheap read of a small file into a caller buffer (no allocation beyond it);
// returns the number of bytes read. For hot /proc loops.
Result<size_t> read_small_at(int dirfd, const char *path, char *buf, size_t cap);

// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over
// `path` and fsyncs the directory: readers see the old or the new content,
// never a mix.
Result<void> write_file_atomic(const std::string &path, std::string_view data, mode_t mode = 0644);

// mkdir -p; succeeds if the directory already exists.
Result<void> make_dirs(const std::string &path, mode_t mode = 0755);

// Lines of a text, without their terminators; empty trailing line dropped.
std::vector<std::string_view> split_lines(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char sep);
std::string_view trim(std::string_view s);
bool parse_int(std::string_view s, long long &out);
bool parse_uint(std::string_view s, unsigned long long &out);
bool is_hex(std::string_view s);

enum class LockMode { shared, exclusive };

// A cross-process advisory lock (flock on a lock file, created if needed).
// Released when the object dies. Locks are per open file description, so two
// FileLock objects in one process exclude each other as in two processes.
class FileLock {
public:
  static Result<FileLock> acquire(const std::string &path, LockMode mode, bool wait = true);
  FileLock(FileLock &&) noexcept = default;
  FileLock &operator=(FileLock &&) noexcept = default;
  const std::string &path() const { return path_; }

private:
  FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// Paths of the host that libruntime reads. Tests point these at fixture trees.
struct HostPaths {
  std::string proc = "/proc";
  std::string sys = "/sys";
  std::string root = "/"; // prefix for runtime state dirs (/run, /var/lib) in fixtures
  // Joins `root` and an absolute host path: prefixed("/run/docker").
  std::string prefixed(std::string_view abs_path) const;
};

} // namespace ctk::rt
