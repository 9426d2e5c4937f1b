// extract_layer: unpacks a layer into a directory, resolving every path by
// fd inside it. Never archive_write_disk: it resolves paths as strings.
//
// Each entry is created in two steps: its parent directory is opened with
// openat2(RESOLVE_IN_ROOT) (symlinks planted by this or a lower layer are
// resolved as if the destination were "/"), then the last component is made
// relative to that parent fd with O_NOFOLLOW / *at calls. Modes are set with
// fchmod on the created file's own fd, never chmod by path, so a symlink or
// a hardlink to one cannot redirect it.
#include "ctk/runtime/image_tar.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <unordered_set>
#include <vector>

#include "tar_fs.h"
#include "tar_path.h"

namespace ctk::rt::image {

namespace {

using detail::open_in_root;

struct DirTime {
  std::string path;
  int64_t mtime;
};

class Extractor {
public:
  Extractor(LayerReader &r, int root, const ExtractOptions &opt)
      : reader_(r), root_(root), opt_(opt) {}

  Result<ExtractStats> run();

private:
  Result<void> extract(const Entry &e);
  Result<void> make_file(const Entry &e, int parent, const std::string &name);
  Result<void> make_dir(const Entry &e, int parent, const std::string &name);
  Result<void> make_symlink(const Entry &e, int parent, const std::string &name);
  Result<void> make_hardlink(const Entry &e, int parent, const std::string &name);
  Result<void> make_node(const Entry &e, int parent, const std::string &name);
  Result<void> whiteout(const Entry &e);
  Result<void> opaque(const Entry &e);
  Result<void> finish_dir_times();
  Result<int> parent_of(const std::string &dir, bool create, const std::string &what);
  // Drops the cached parent if `path` is it or one of its ancestors: the
  // entry about to be written may replace that directory.
  void invalidate(const std::string &path);
  Result<void> set_owner_mode(int fd, const Entry &e, bool opath);
  Error err(const Entry &e, std::string_view op, int errnum = errno) {
    return errno_error(fmt::format("layer entry \"{}\": {}", e.path, op), errnum);
  }

  LayerReader &reader_;
  int root_;
  const ExtractOptions &opt_;
  ExtractStats stats_;
  std::string cached_dir_;
  UniqueFd cached_fd_;
  bool cache_valid_ = false;
  std::vector<DirTime> dir_times_;
  std::unordered_set<std::string> created_; // for applied whiteouts only
};

std::pair<std::string, std::string> split_last(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

void Extractor::invalidate(const std::string &path) {
  if (!cache_valid_)
    return;
  if (cached_dir_ == path || (cached_dir_.size() > path.size() && cached_dir_.starts_with(path) &&
                              cached_dir_[path.size()] == '/')) {
    cache_valid_ = false;
    cached_fd_.reset();
  }
}

Result<int> Extractor::parent_of(const std::string &dir, bool create, const std::string &what) {
  if (dir.empty())
    return root_;
  if (cache_valid_ && cached_dir_ == dir)
    return cached_fd_.get();
  auto fd = detail::open_dir_in_root(root_, dir, what, create);
  if (!fd)
    return tl::unexpected(fd.error());
  cached_fd_ = std::move(*fd);
  cached_dir_ = dir;
  cache_valid_ = true;
  return cached_fd_.get();
}

Result<void> Extractor::set_owner_mode(int fd, const Entry &e, bool opath) {
  // chown first: it clears setuid/setgid bits and file capabilities.
  if (opt_.keep_owners && fchownat(fd, "", e.uid, e.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    int saved = errno;
    return tl::unexpected(err(e, fmt::format("cannot change owner to {}:{}", e.uid, e.gid), saved));
  }
  int rc = opath ? detail::chmod_opath_fd(fd, e.mode) : fchmod(fd, e.mode);
  if (rc < 0) {
    int saved = errno;
    return tl::unexpected(err(e, fmt::format("cannot set mode {:04o}", e.mode), saved));
  }
  return {};
}

Result<void> Extractor::make_file(const Entry &e, int parent, const std::string &name) {
  int fd = openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    if (auto r = detail::remove_at(parent, name, e.path); !r)
      return r;
    fd = openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0)
    return tl::unexpected(err(e, "cannot create file"));
  UniqueFd file(fd);
  // Blocks come with their offsets: holes of sparse files are skipped, not
  // written, and ftruncate gives the file its apparent size.
  const char *data;
  size_t len;
  uint64_t off;
  for (;;) {
    auto more = reader_.read_block(data, len, off);
    if (!more)
      return tl::unexpected(more.error());
    if (!*more)
      break;
    while (len > 0) {
      ssize_t n = pwrite(fd, data, len, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return tl::unexpected(err(e, "cannot write data"));
      }
      data += n;
      len -= static_cast<size_t>(n);
      off += static_cast<uint64_t>(n);
      stats_.bytes += static_cast<uint64_t>(n);
    }
  }
  if (ftruncate(fd, static_cast<off_t>(e.size)) < 0)
    return tl::unexpected(err(e, "cannot set file size"));
  if (auto r = set_owner_mode(fd, e, false); !r)
    return r;
  if (e.has_capabilities) {
    const std::string &caps = reader_.capabilities();
    if (fsetxattr(fd, "security.capability", caps.data(), caps.size(), 0) < 0)
      return tl::unexpected(err(e, "cannot set file capabilities"));
  }
  timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
  if (futimens(fd, ts) < 0)
    return tl::unexpected(err(e, "cannot set mtime"));
  return {};
}

Result<void> Extractor::make_dir(const Entry &e, int parent, const std::string &name) {
  if (mkdirat(parent, name.c_str(), 0700) < 0) {
    if (errno != EEXIST)
      return tl::unexpected(err(e, "cannot create directory"));
    struct stat st;
    if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return tl::unexpected(err(e, "cannot inspect existing entry"));
    if (!S_ISDIR(st.st_mode)) { // a symlink or file is replaced, never followed
      if (auto r = detail::remove_at(parent, name, e.path); !r)
        return r;
      if (mkdirat(parent, name.c_str(), 0700) < 0)
        return tl::unexpected(err(e, "cannot create directory"));
    }
  }
  int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return tl::unexpected(err(e, "cannot open created directory"));
  UniqueFd dir(fd);
  if (auto r = set_owner_mode(fd, e, false); !r)
    return r;
  // Entries created inside change the mtime again: set it at the end.
  dir_times_.push_back({e.path, e.mtime});
  return {};
}

Result<void> Extractor::make_symlink(const Entry &e, int parent, const std::string &name) {
  if (symlinkat(e.link_target.c_str(), parent, name.c_str()) < 0) {
    if (errno != EEXIST)
      return tl::unexpected(err(e, "cannot create symlink"));
    if (auto r = detail::remove_at(parent, name, e.path); !r)
      return r;
    if (symlinkat(e.link_target.c_str(), parent, name.c_str()) < 0)
      return tl::unexpected(err(e, "cannot create symlink"));
  }
  if (opt_.keep_owners && fchownat(parent, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return tl::unexpected(err(e, "cannot change symlink owner"));
  timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
  if (utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0)
    return tl::unexpected(err(e, "cannot set symlink mtime"));
  return {};
}

Result<void> Extractor::make_hardlink(const Entry &e, int parent, const std::string &name) {
  if (e.link_target == e.path)
    return fail(Errc::parse, fmt::format("layer entry \"{}\": hardlink to itself", e.path));
  // The target is looked up inside the root, and its last component is not
  // followed: a hardlink "to" a symlink links the symlink itself (as tar
  // does), so a symlink pointing outside never lends its target.
  int tfd = open_in_root(root_, e.link_target, O_PATH | O_NOFOLLOW);
  if (tfd < 0)
    return tl::unexpected(
        errno_error(fmt::format("layer entry \"{}\": cannot open hardlink target \"{}\"", e.path,
                                e.link_target),
                    -tfd));
  UniqueFd target(tfd);
  struct stat st;
  if (fstat(tfd, &st) < 0)
    return tl::unexpected(err(e, "cannot inspect hardlink target"));
  if (S_ISDIR(st.st_mode))
    return fail(Errc::parse, fmt::format("layer entry \"{}\": hardlink to directory \"{}\"", e.path,
                                         e.link_target));
  if (auto r = detail::remove_at(parent, name, e.path); !r)
    return r;
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; otherwise the fd's magic link
  // names the same inode (open(2) documents this for O_PATH fds).
  if (linkat(tfd, "", parent, name.c_str(), AT_EMPTY_PATH) < 0) {
    if (errno != EPERM && errno != ENOENT)
      return tl::unexpected(err(e, "cannot create hardlink"));
    std::string magic = fmt::format("/proc/self/fd/{}", tfd);
    if (linkat(AT_FDCWD, magic.c_str(), parent, name.c_str(), AT_SYMLINK_FOLLOW) < 0)
      return tl::unexpected(err(e, "cannot create hardlink"));
  }
  return {};
}

Result<void> Extractor::make_node(const Entry &e, int parent, const std::string &name) {
  mode_t type = e.type == EntryType::fifo      ? S_IFIFO
                : e.type == EntryType::chardev ? S_IFCHR
                                               : S_IFBLK;
  if (e.dev_major > detail::kMaxDevMajor || e.dev_minor > detail::kMaxDevMinor)
    return fail(Errc::parse, fmt::format("layer entry \"{}\": device number {}:{} out of range",
                                         e.path, e.dev_major, e.dev_minor));
  dev_t dev = type == S_IFIFO ? 0 : makedev(e.dev_major, e.dev_minor);
  if (auto r = detail::remove_at(parent, name, e.path); !r)
    return r;
  if (mknodat(parent, name.c_str(), type | 0600, dev) < 0)
    return tl::unexpected(err(e, "cannot create device node or fifo"));
  // Opening a device node could have side effects: work on an O_PATH fd.
  int fd = openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return tl::unexpected(err(e, "cannot open created node"));
  UniqueFd node(fd);
  if (auto r = set_owner_mode(fd, e, true); !r)
    return r;
  timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
  if (utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0)
    return tl::unexpected(err(e, "cannot set mtime"));
  return {};
}

Result<void> Extractor::whiteout(const Entry &e) {
  auto [dir, name] = split_last(e.path);
  invalidate(e.path);
  if (!opt_.overlay_whiteouts) {
    if (created_.count(e.path)) // whiteouts hide lower layers, not this one
      return {};
    auto parent = parent_of(dir, false, e.path);
    if (!parent) // no parent (or a dangling symlink): nothing below to delete
      return parent.error().sys_errno == ENOENT || parent.error().sys_errno == ENOTDIR
                 ? Result<void>{}
                 : Result<void>(tl::unexpected(parent.error()));
    return detail::remove_at(*parent, name, e.path);
  }
  auto parent = parent_of(dir, true, e.path);
  if (!parent)
    return tl::unexpected(parent.error());
  if (auto r = detail::remove_at(*parent, name, e.path); !r)
    return r;
  // overlayfs: a 0/0 character device hides the name in lower layers.
  if (mknodat(*parent, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
    return tl::unexpected(err(e, "cannot create whiteout device"));
  return {};
}

Result<void> Extractor::opaque(const Entry &e) {
  invalidate(e.path); // applied, it may remove directories below
  UniqueFd dir;
  if (!opt_.overlay_whiteouts) {
    int fd = open_in_root(root_, e.path, O_RDONLY | O_DIRECTORY);
    if (fd == -ENOENT || fd == -ENOTDIR)
      return {};
    if (fd < 0)
      return tl::unexpected(err(e, "cannot open opaque directory", -fd));
    dir = UniqueFd(fd);
    return detail::remove_children_except(fd, e.path, created_, e.path);
  }
  auto d = detail::open_dir_in_root(root_, e.path, e.path, true);
  if (!d)
    return tl::unexpected(d.error());
  // fsetxattr needs a real fd; reopen the resolved directory itself.
  int fd = openat(d->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return tl::unexpected(err(e, "cannot open opaque directory"));
  dir = UniqueFd(fd);
  if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
    return tl::unexpected(err(e, "cannot mark directory opaque (trusted.overlay.opaque)"));
  return {};
}

Result<void> Extractor::extract(const Entry &e) {
  if (e.whiteout)
    return whiteout(e);
  if (e.opaque)
    return opaque(e);
  auto [dir, name] = split_last(e.path);
  invalidate(e.path); // before parent_of: it may hand out the cached fd
  auto parent = parent_of(dir, true, e.path);
  if (!parent)
    return tl::unexpected(parent.error());
  if (!opt_.overlay_whiteouts)
    created_.insert(e.path);
  switch (e.type) {
  case EntryType::file:
    return make_file(e, *parent, name);
  case EntryType::dir:
    return make_dir(e, *parent, name);
  case EntryType::symlink:
    return make_symlink(e, *parent, name);
  case EntryType::hardlink:
    return make_hardlink(e, *parent, name);
  case EntryType::chardev:
  case EntryType::blockdev:
  case EntryType::fifo:
    return make_node(e, *parent, name);
  }
  return {};
}

Result<void> Extractor::finish_dir_times() {
  // Setting a directory's mtime does not touch its parent's: any order works.
  for (const auto &d : dir_times_) {
    int fd = open_in_root(root_, d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0)
      continue; // replaced by a later entry of the layer
    UniqueFd dir(fd);
    timespec ts[2] = {{d.mtime, 0}, {d.mtime, 0}};
    if (futimens(fd, ts) < 0)
      return fail_errno(fmt::format("layer entry \"{}\": cannot set mtime", d.path));
  }
  return {};
}

Result<ExtractStats> Extractor::run() {
  Entry e;
  for (;;) {
    auto more = reader_.next(e);
    if (!more)
      return tl::unexpected(more.error());
    if (!*more)
      break;
    if (auto r = extract(e); !r)
      return tl::unexpected(r.error());
    stats_.entries++;
  }
  if (auto r = finish_dir_times(); !r)
    return tl::unexpected(r.error());
  return stats_;
}

} // namespace

Result<ExtractStats> extract_layer(UniqueFd src, int dest_dirfd, const ExtractOptions &opt) {
  auto reader = LayerReader::open(std::move(src), opt.limits);
  if (!reader)
    return tl::unexpected(reader.error());
  Extractor x(*reader, dest_dirfd, opt);
  return x.run();
}

} // namespace ctk::rt::image
