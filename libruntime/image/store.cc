// The content-addressed blob store under <root>/image.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "ctk/runtime/image_store.h"
#include "store_internal.h"

namespace ctk::rt::image {

using detail::fsync_dir;

Result<Store> Store::open(const std::string &root) {
  std::string dir = root + "/image";
  for (const char *sub : {"", "/blobs/sha256", detail::kTmp, detail::kLayers, detail::kLocks}) {
    auto r = make_dirs(dir + sub, 0700);
    if (!r)
      return wrap(r, "cannot open the image store in " + root);
  }
  // The store holds setuid binaries and secrets of images: owner only,
  // whatever the umask made of it.
  if (::chmod(dir.c_str(), 0700) != 0)
    return fail_errno("cannot open the image store: cannot chmod " + dir);
  Store s(dir);
  // Cleaning is best effort and only when nobody commits or deletes now.
  if (auto l = s.lock(LockMode::exclusive, false))
    detail::clean_tmp(dir + detail::kTmp);
  // Garbage only after a write session that may have left some (a killed or
  // failed load), and only when no session runs: one stat otherwise. Best
  // effort as well: the mark stays until a collection succeeds.
  struct stat st {};
  if (::stat((dir + detail::kGcNeeded).c_str(), &st) == 0)
    (void)s.collect_garbage(false);
  return s;
}

Result<FileLock> Store::lock(LockMode mode, bool wait) const {
  auto l = FileLock::acquire(dir_ + "/lock", mode, wait);
  if (!l)
    return wrap(l, "cannot lock the image store");
  return l;
}

std::string Store::blob_path(const Digest &d) const {
  return dir_ + "/blobs/sha256/" + std::string(d.hex());
}

bool Store::has_blob(const Digest &d) const {
  struct stat st {};
  return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<UniqueFd> Store::open_blob(const Digest &d) const {
  auto fd = open_fd(blob_path(d), O_RDONLY | O_NOFOLLOW);
  if (!fd) {
    if (fd.error().code == Errc::not_found)
      return fail(Errc::not_found, "blob " + d.str() + " is not in the store");
    return wrap(fd, "cannot open blob " + d.str());
  }
  return fd;
}

Result<uint64_t> Store::blob_size(const Digest &d) const {
  struct stat st {};
  if (::stat(blob_path(d).c_str(), &st) != 0)
    return fail_errno("cannot stat blob " + d.str());
  return static_cast<uint64_t>(st.st_size);
}

Result<std::string> Store::read_blob(const Digest &d, uint64_t max) const {
  auto size = blob_size(d);
  if (!size)
    return tl::unexpected(size.error());
  if (*size > max)
    return fail(Errc::parse, "blob " + d.str() + " is too large for a manifest or config (" +
                                 std::to_string(*size) + " bytes)");
  auto text = read_file(blob_path(d));
  if (!text)
    return wrap(text, "cannot read blob " + d.str());
  return text;
}

Result<nlohmann::json> Store::read_json(const Digest &d) const {
  auto text = read_blob(d);
  if (!text)
    return tl::unexpected(text.error());
  return parse_json(*text, "blob " + d.str());
}

Result<Manifest> Store::read_manifest(const Digest &d) const {
  auto text = read_blob(d);
  if (!text)
    return tl::unexpected(text.error());
  return parse_manifest(*text, "manifest " + d.str());
}

Result<BlobWriter> Store::begin_blob() {
  std::string tmpl = dir_ + "/tmp/blob.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  // clean_tmp() runs under the store lock exclusively: holding it shared
  // until our flock keeps it from taking the file in between.
  auto guard = lock(LockMode::shared);
  if (!guard)
    return tl::unexpected(guard.error());
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0)
    return fail_errno("cannot create a temporary blob in " + dir_ + "/tmp");
  BlobWriter w;
  w.fd_ = UniqueFd(fd);
  w.tmp_path_ = name.data();
  w.blobs_dir_ = dir_ + "/blobs/sha256";
  // Marks the file as live for clean_tmp() of other processes.
  if (::flock(fd, LOCK_EX) != 0)
    return fail_errno("cannot lock temporary blob " + w.tmp_path_);
  return w;
}

Result<Digest> Store::put_blob(std::string_view data, const std::optional<Digest> &expected) {
  auto w = begin_blob();
  if (!w)
    return tl::unexpected(w.error());
  if (auto r = w->write(data.data(), data.size()); !r)
    return tl::unexpected(r.error());
  return w->commit(expected);
}

BlobWriter::BlobWriter(BlobWriter &&o) noexcept
    : fd_(std::move(o.fd_)), tmp_path_(std::exchange(o.tmp_path_, "")),
      blobs_dir_(std::move(o.blobs_dir_)), sha_(std::move(o.sha_)), size_(o.size_),
      head_(std::move(o.head_)) {}

BlobWriter &BlobWriter::operator=(BlobWriter &&o) noexcept {
  if (this != &o) {
    if (!tmp_path_.empty())
      ::unlink(tmp_path_.c_str());
    fd_ = std::move(o.fd_);
    tmp_path_ = std::exchange(o.tmp_path_, "");
    blobs_dir_ = std::move(o.blobs_dir_);
    sha_ = std::move(o.sha_);
    size_ = o.size_;
    head_ = std::move(o.head_);
  }
  return *this;
}

BlobWriter::~BlobWriter() {
  if (!tmp_path_.empty())
    ::unlink(tmp_path_.c_str());
}

Result<void> BlobWriter::write(const void *data, size_t n) {
  const char *p = static_cast<const char *>(data);
  if (head_.size() < 16)
    head_.append(p, std::min(n, 16 - head_.size()));
  sha_.update(p, n);
  size_ += n;
  while (n > 0) {
    ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot write temporary blob " + tmp_path_);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Result<UniqueFd> BlobWriter::reopen() const {
  auto fd = open_fd(tmp_path_, O_RDONLY | O_NOFOLLOW);
  if (!fd)
    return wrap(fd, "cannot reopen temporary blob");
  return fd;
}

Result<Digest> BlobWriter::commit(const std::optional<Digest> &expected) {
  Digest got = sha_.finish();
  if (got.empty())
    return fail(Errc::internal, "cannot compute the digest of " + tmp_path_);
  if (expected && *expected != got)
    return fail(Errc::parse,
                "blob digest mismatch: expected " + expected->str() + ", content is " + got.str());
  if (::fchmod(fd_.get(), 0444) != 0 || ::fsync(fd_.get()) != 0)
    return fail_errno("cannot sync temporary blob " + tmp_path_);
  std::string dest = blobs_dir_ + "/" + std::string(got.hex());
  if (::rename(tmp_path_.c_str(), dest.c_str()) != 0)
    return fail_errno("cannot move blob " + got.str() + " into the store");
  tmp_path_.clear();
  fd_.reset();
  if (auto r = fsync_dir(blobs_dir_); !r)
    return tl::unexpected(r.error());
  return got;
}

} // namespace ctk::rt::image
