// LayerReader: libarchive, reading only, turned into normalised Entry
// records with the budgets of Limits enforced.
#include "ctk/runtime/image_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <memory>
#include <sys/stat.h>

#include "tar_path.h"

namespace ctk::rt::image {

namespace detail {

Result<std::string> normalise_layer_path(std::string_view raw, std::string_view what) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i <= raw.size()) {
    size_t j = raw.find('/', i);
    if (j == std::string_view::npos)
      j = raw.size();
    std::string_view comp = raw.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".")
      continue;
    if (comp == "..") {
      if (out.empty())
        return fail(Errc::parse,
                    fmt::format("layer entry \"{}\": path escapes the layer root", what));
      size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    if (comp.find('\0') != std::string_view::npos)
      return fail(Errc::parse, fmt::format("layer entry \"{}\": path holds a NUL byte", what));
    if (!out.empty())
      out += '/';
    out += comp;
  }
  return out;
}

} // namespace detail

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
// Other ".wh..wh." names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs)
// that old docker layers carry; containerd and docker skip them too.
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";
// Allowance per entry for header bytes (pax records, GNU long names) in the
// decompressed stream budget, on top of the file data budget.
constexpr uint64_t kHeaderAllowance = 64 * 1024;

struct ArchiveDeleter {
  void operator()(archive *a) const { archive_read_free(a); }
};

std::string archive_error_text(archive *a) {
  const char *s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

} // namespace

struct LayerReader::Impl {
  UniqueFd fd;
  std::unique_ptr<archive, ArchiveDeleter> ar;
  Limits limits;
  uint64_t entries = 0;
  uint64_t declared_total = 0; // sum of declared file sizes
  uint64_t read_total = 0;     // file data bytes handed out
  std::string current;         // name of the current entry, for errors
  std::string caps;            // security.capability of the current entry
  bool data_allowed = false;

  Error entry_error(std::string_view cause) const {
    return Error(Errc::parse, fmt::format("layer entry \"{}\": {}", current, cause));
  }
  Error archive_failure(std::string_view op) {
    auto where =
        current.empty() ? std::string("layer") : fmt::format("layer entry \"{}\"", current);
    return Error(Errc::parse, fmt::format("{}: {}: {}", where, op, archive_error_text(ar.get())));
  }
  Result<void> check_stream_budget() {
    uint64_t stream = static_cast<uint64_t>(archive_filter_bytes(ar.get(), 0));
    uint64_t cap = limits.max_uncompressed_bytes + (entries + 16) * kHeaderAllowance;
    if (stream > cap)
      return tl::unexpected(entry_error(fmt::format(
          "decompressed stream exceeds the uncompressed size budget (max_uncompressed_bytes = {})",
          limits.max_uncompressed_bytes)));
    return {};
  }
  Result<bool> next(Entry &e);
  Result<void> fill(archive_entry *ae, Entry &e, bool &skip);
};

Result<LayerReader> LayerReader::open(UniqueFd fd, const Limits &limits) {
  std::unique_ptr<archive, ArchiveDeleter> ar(archive_read_new());
  if (!ar)
    return fail(Errc::internal, "cannot read layer: out of memory");
  // The compressions image layers use, all in-process. (filter_all would
  // also enable filters that fork external programs such as lrzip.)
  archive_read_support_filter_gzip(ar.get());
  archive_read_support_filter_zstd(ar.get());
  archive_read_support_filter_xz(ar.get());
  archive_read_support_filter_bzip2(ar.get());
  archive_read_support_format_tar(ar.get());   // ustar, pax and GNU
  archive_read_support_format_empty(ar.get()); // a zero-byte layer is a valid empty layer
  // archive_read_open_fd seeks over skipped data of a plain tar file.
  if (archive_read_open_fd(ar.get(), fd.get(), 64 * 1024) != ARCHIVE_OK)
    return fail(Errc::parse, "cannot read layer: " + archive_error_text(ar.get()));
  auto *impl = new Impl{};
  impl->fd = std::move(fd);
  impl->ar = std::move(ar);
  impl->limits = limits;
  return LayerReader(impl);
}

LayerReader::LayerReader(LayerReader &&o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
LayerReader &LayerReader::operator=(LayerReader &&o) noexcept {
  if (this != &o) {
    delete impl_;
    impl_ = std::exchange(o.impl_, nullptr);
  }
  return *this;
}
LayerReader::~LayerReader() {
  delete impl_;
}

Result<void> LayerReader::Impl::fill(archive_entry *ae, Entry &e, bool &skip) {
  e = Entry{};
  const char *raw = archive_entry_pathname(ae);
  if (!raw)
    raw = archive_entry_pathname_utf8(ae);
  if (!raw)
    return fail(Errc::parse, fmt::format("layer entry #{}: no readable name", entries));
  current = raw;
  auto norm = detail::normalise_layer_path(raw, current);
  if (!norm)
    return tl::unexpected(norm.error());
  e.path = std::move(*norm);

  const char *hl = archive_entry_hardlink(ae);
  if (!hl)
    hl = archive_entry_hardlink_utf8(ae);
  mode_t ft = archive_entry_filetype(ae);
  if (hl) {
    e.type = EntryType::hardlink;
    auto t = detail::normalise_layer_path(hl, current);
    if (!t)
      return tl::unexpected(
          entry_error(fmt::format("hardlink target \"{}\" escapes the layer root", hl)));
    if (t->empty())
      return tl::unexpected(entry_error("hardlink to the layer root"));
    e.link_target = std::move(*t);
  } else {
    switch (ft) {
    case AE_IFREG:
      e.type = EntryType::file;
      break;
    case AE_IFDIR:
      e.type = EntryType::dir;
      break;
    case AE_IFLNK: {
      e.type = EntryType::symlink;
      const char *t = archive_entry_symlink(ae);
      if (!t)
        t = archive_entry_symlink_utf8(ae);
      if (!t || !*t)
        return tl::unexpected(entry_error("symlink with an empty target"));
      e.link_target = t;
      break;
    }
    case AE_IFCHR:
      e.type = EntryType::chardev;
      break;
    case AE_IFBLK:
      e.type = EntryType::blockdev;
      break;
    case AE_IFIFO:
      e.type = EntryType::fifo;
      break;
    default:
      return tl::unexpected(entry_error(fmt::format("unsupported entry type 0{:o}", ft)));
    }
  }

  if (e.path.empty()) {
    // The root directory itself ("./" or "/"): the destination already exists.
    if (e.type == EntryType::dir) {
      skip = true;
      return {};
    }
    return tl::unexpected(entry_error("empty name"));
  }

  // Whiteouts: only the last component is special.
  size_t slash = e.path.rfind('/');
  std::string_view base =
      std::string_view(e.path).substr(slash == std::string::npos ? 0 : slash + 1);
  std::string dir = slash == std::string::npos ? std::string() : e.path.substr(0, slash);
  if (base.starts_with(kWhiteoutPrefix)) {
    if (base == kOpaqueMarker) {
      e.opaque = true;
      e.path = dir; // "" for the layer root
    } else if (base.starts_with(kAufsMetaPrefix)) {
      skip = true;
      return {};
    } else {
      std::string_view name = base.substr(kWhiteoutPrefix.size());
      if (name.empty() || name == "." || name == "..")
        return tl::unexpected(entry_error(fmt::format(
            "whiteout of \"{}\" would delete a directory itself, not an entry in it", name)));
      e.whiteout = true;
      e.path = dir.empty() ? std::string(name) : dir + "/" + std::string(name);
    }
    e.type = EntryType::file;
    e.mode = 0;
    e.link_target.clear();
    return {}; // a whiteout has no data, owner or device of its own
  }

  e.mode = archive_entry_perm(ae) & 07777;
  e.uid = static_cast<uid_t>(archive_entry_uid(ae));
  e.gid = static_cast<gid_t>(archive_entry_gid(ae));
  e.mtime = archive_entry_mtime(ae);
  if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > 0xfffffffe ||
      archive_entry_gid(ae) < 0 || archive_entry_gid(ae) > 0xfffffffe)
    return tl::unexpected(entry_error("owner uid or gid out of range"));

  if (e.type == EntryType::chardev || e.type == EntryType::blockdev) {
    unsigned long maj = archive_entry_rdevmajor(ae), min = archive_entry_rdevminor(ae);
    if (maj > detail::kMaxDevMajor || min > detail::kMaxDevMinor)
      return tl::unexpected(
          entry_error(fmt::format("device number {}:{} out of range (major <= {}, minor <= {})",
                                  maj, min, detail::kMaxDevMajor, detail::kMaxDevMinor)));
    e.dev_major = static_cast<uint32_t>(maj);
    e.dev_minor = static_cast<uint32_t>(min);
  }

  if (e.type == EntryType::file) {
    int64_t sz = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
    if (sz < 0)
      return tl::unexpected(entry_error("negative size"));
    e.size = static_cast<uint64_t>(sz);
    if (e.size > limits.max_file_size)
      return tl::unexpected(
          entry_error(fmt::format("size {} exceeds the per-file limit (max_file_size = {})", e.size,
                                  limits.max_file_size)));
    declared_total += e.size;
    if (declared_total > limits.max_uncompressed_bytes)
      return tl::unexpected(entry_error(fmt::format(
          "file data exceeds the uncompressed size budget (max_uncompressed_bytes = {})",
          limits.max_uncompressed_bytes)));
    data_allowed = true;
  }

  archive_entry_xattr_reset(ae);
  const char *xname;
  const void *xval;
  size_t xlen;
  while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) == ARCHIVE_OK) {
    if (xname && std::string_view(xname) == "security.capability") {
      e.has_capabilities = true;
      caps.assign(static_cast<const char *>(xval), xlen);
    }
  }
  return {};
}

Result<bool> LayerReader::Impl::next(Entry &e) {
  for (;;) {
    data_allowed = false;
    caps.clear();
    archive_entry *ae = nullptr;
    int rc = archive_read_next_header(ar.get(), &ae);
    if (rc == ARCHIVE_EOF)
      return false;
    if (rc < ARCHIVE_WARN) // ARCHIVE_WARN: e.g. a name not convertible to the locale; still usable
      return tl::unexpected(archive_failure(current.empty() ? "cannot read the first header"
                                                            : "cannot read the header after it"));
    if (++entries > limits.max_entries)
      return fail(Errc::parse,
                  fmt::format("layer has more entries than the limit (max_entries = {})",
                              limits.max_entries));
    if (auto b = check_stream_budget(); !b)
      return tl::unexpected(b.error());
    bool skip = false;
    if (auto r = fill(ae, e, skip); !r)
      return tl::unexpected(r.error());
    if (!skip)
      return true;
  }
}

Result<bool> LayerReader::next(Entry &e) {
  return impl_->next(e);
}

Result<size_t> LayerReader::read_data(char *buf, size_t n) {
  if (!impl_->data_allowed)
    return 0;
  la_ssize_t got = archive_read_data(impl_->ar.get(), buf, n);
  if (got < 0)
    return tl::unexpected(impl_->archive_failure("cannot read data"));
  impl_->read_total += static_cast<uint64_t>(got);
  if (impl_->read_total > impl_->limits.max_uncompressed_bytes)
    return tl::unexpected(impl_->entry_error(
        fmt::format("file data exceeds the uncompressed size budget (max_uncompressed_bytes = {})",
                    impl_->limits.max_uncompressed_bytes)));
  return static_cast<size_t>(got);
}

Result<bool> LayerReader::read_block(const char *&data, size_t &len, uint64_t &offset) {
  if (!impl_->data_allowed)
    return false;
  const void *buf = nullptr;
  la_int64_t off = 0;
  int rc = archive_read_data_block(impl_->ar.get(), &buf, &len, &off);
  if (rc == ARCHIVE_EOF)
    return false;
  if (rc < ARCHIVE_WARN)
    return tl::unexpected(impl_->archive_failure("cannot read data"));
  if (off < 0)
    return tl::unexpected(impl_->entry_error("data block at a negative offset"));
  data = static_cast<const char *>(buf);
  offset = static_cast<uint64_t>(off);
  impl_->read_total += len;
  if (impl_->read_total > impl_->limits.max_uncompressed_bytes)
    return tl::unexpected(impl_->entry_error(
        fmt::format("file data exceeds the uncompressed size budget (max_uncompressed_bytes = {})",
                    impl_->limits.max_uncompressed_bytes)));
  return true;
}

const std::string &LayerReader::capabilities() const {
  return impl_->caps;
}

uint64_t LayerReader::compressed_bytes_read() const {
  return static_cast<uint64_t>(archive_filter_bytes(impl_->ar.get(), -1));
}

} // namespace ctk::rt::image
