// Store::unpack: every layer extracted once per chain ID into
// layers/<chain hex>, ready to be an overlayfs lower dir; Store::use.
//
// A layer blob is read and decompressed on the calling thread, which hashes
// the uncompressed stream (the diff ID to verify) and hands it through a
// socketpair to extract_layer() on a worker thread. One pass over the data,
// decompression and file writing on two cores, and the progress and cancel
// callbacks stay on the caller's thread. A socket and not a pipe: send()
// with MSG_NOSIGNAL reports EPIPE when the extractor stops reading, where a
// pipe would raise SIGPIPE in the process of the library's caller.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include <archive.h>
#include <archive_entry.h>

#include "ctk/runtime/image_store.h"
#include "store_internal.h"

namespace ctk::rt::image {

using nlohmann::json;

std::vector<Digest> chain_ids(const std::vector<Digest> &diff_ids) {
  std::vector<Digest> out;
  for (const auto &d : diff_ids)
    out.push_back(out.empty() ? d : sha256_of(out.back().str() + " " + d.str()));
  return out;
}

std::string UnpackedImage::lowerdir() const {
  // overlayfs splits lowerdir at ':' and the mount data at ',': a store
  // under a path holding either must escape it.
  std::string out;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!out.empty())
      out += ':';
    for (char c : *it) {
      if (c == ':' || c == ',' || c == '\\')
        out += '\\';
      out += c;
    }
  }
  return out;
}

std::string Store::layer_path(const Digest &chain) const {
  return dir_ + detail::kLayers + "/" + std::string(chain.hex()) + "/diff";
}

namespace {

struct ArchiveDeleter {
  void operator()(struct archive *a) const { archive_read_free(a); }
};

// The uncompressed bytes of a layer blob (gzip, zstd or plain).
class Decompressor {
public:
  Result<void> open(int fd) {
    a_.reset(archive_read_new());
    if (!a_)
      return fail(Errc::internal, "cannot allocate an archive reader");
    archive_read_support_filter_all(a_.get());
    archive_read_support_format_raw(a_.get());
    struct archive_entry *e = nullptr;
    if (archive_read_open_fd(a_.get(), fd, 1 << 20) != ARCHIVE_OK ||
        archive_read_next_header(a_.get(), &e) != ARCHIVE_OK)
      return fail(Errc::parse, std::string("cannot read the layer blob: ") + error());
    return {};
  }
  // A block of data; size 0 at the end. Valid until the next call.
  Result<std::string_view> next() {
    const void *buf = nullptr;
    size_t len = 0;
    la_int64_t off = 0;
    int rc = archive_read_data_block(a_.get(), &buf, &len, &off);
    if (rc == ARCHIVE_EOF)
      return std::string_view();
    if (rc < ARCHIVE_WARN)
      return fail(Errc::parse, std::string("cannot decompress the layer blob: ") + error());
    return std::string_view(static_cast<const char *>(buf), len);
  }
  uint64_t compressed_read() { return static_cast<uint64_t>(archive_filter_bytes(a_.get(), -1)); }

private:
  const char *error() {
    const char *m = archive_error_string(a_.get());
    return m ? m : "unknown error";
  }
  std::unique_ptr<struct archive, ArchiveDeleter> a_;
};

// The extractor thread and our end of its socket. Closing our end first
// ends the thread's input, so the join never waits on a reader that waits
// on us.
class ExtractWorker {
public:
  ExtractWorker() = default;
  ExtractWorker(const ExtractWorker &) = delete;
  ExtractWorker &operator=(const ExtractWorker &) = delete;
  ~ExtractWorker() { finish(); }

  Result<void> start(int dest_dirfd, const ExtractOptions &opt) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return fail_errno("cannot create a socket pair");
    ours_ = UniqueFd(sv[0]);
    UniqueFd theirs(sv[1]);
    // Bigger buffers, fewer wakeups; capped by net.core.wmem_max, fine if refused.
    int size = 4 << 20;
    (void)::setsockopt(ours_.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    opt_ = opt;
    const int fd = theirs.get();
    try {
      thread_ = std::thread([this, fd, dest_dirfd] {
        try {
          result_ = extract_layer(UniqueFd(fd), dest_dirfd, opt_);
        } catch (const std::exception &e) {
          result_ = fail(Errc::internal, std::string("layer extraction failed: ") + e.what());
        }
      });
    } catch (const std::system_error &e) {
      return fail(Errc::io, std::string("cannot start the layer extractor: ") + e.what());
    }
    (void)theirs.release(); // the thread owns it now
    return {};
  }

  // Sends a block; false once the extractor has stopped reading (it
  // finished, or failed: finish() tells which).
  Result<bool> send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(ours_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EPIPE || errno == ECONNRESET)
          return false;
        return fail_errno("cannot hand the layer to the extractor");
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Ends the input and waits for the extractor; its outcome.
  Result<ExtractStats> finish() {
    ours_.reset();
    if (thread_.joinable())
      thread_.join();
    if (!result_)
      return fail(Errc::internal, "the layer extractor did not run");
    return *result_;
  }

private:
  UniqueFd ours_;
  std::thread thread_;
  ExtractOptions opt_;
  std::optional<Result<ExtractStats>> result_;
};

// Removes an unpack directory unless it was committed.
struct TmpGuard {
  std::string path;
  ~TmpGuard() {
    if (!path.empty())
      (void)detail::remove_tree(path);
  }
};

} // namespace

Result<ImageUse> Store::use(const Image &img) const {
  const std::string what = "cannot use image " + img.config.short_id();
  auto fd = detail::lock_file(dir_ + detail::kLocks + "/use-" + std::string(img.manifest.hex()),
                              LockMode::shared, true);
  if (!fd)
    return wrap(fd, what);
  // Checked under the hold: a deleter takes it exclusively before it
  // changes refs.json, and unlinks it (we then retried on a new file).
  auto refs = read_refs();
  if (!refs)
    return wrap(refs, what);
  if (!(*refs)["images"].contains(img.manifest.str()))
    return fail(Errc::not_found, what + ": it was removed");
  return ImageUse(std::move(*fd), img);
}

Result<UnpackedImage> Store::unpack(const Image &img, const UnpackOptions &opt) {
  const std::string what = "cannot unpack image " + img.config.short_id();
  // Our own hold for the duration: rmi and garbage collection leave the
  // image and its layers alone while we work on them.
  auto hold = use(img);
  if (!hold)
    return wrap(hold, what);
  auto m = read_manifest(img.manifest);
  if (!m)
    return wrap(m, what);
  auto cfg = read_json(m->config.digest);
  if (!cfg)
    return wrap(cfg, what);
  auto diff_ids = detail::diff_ids_of(*cfg, "config " + m->config.digest.str());
  if (!diff_ids)
    return wrap(diff_ids, what);
  if (diff_ids->size() != m->layers.size())
    return fail(Errc::parse, what + ": the manifest has " + std::to_string(m->layers.size()) +
                                 " layers but the config " + std::to_string(diff_ids->size()) +
                                 " diff IDs");
  UnpackedImage out;
  out.chains = chain_ids(*diff_ids);
  uint64_t total = 0, done = 0;
  std::vector<bool> present;
  for (size_t i = 0; i < out.chains.size(); ++i) {
    struct stat st {};
    const std::string p = dir_ + detail::kLayers + "/" + std::string(out.chains[i].hex());
    present.push_back(::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
    if (!present.back())
      total += m->layers[i].size;
  }
  // Bottom first: a layer's parent is complete before it is started, so a
  // visible chain always has its whole ancestry beside it.
  for (size_t i = 0; i < out.chains.size(); ++i) {
    const Digest &chain = out.chains[i];
    if (present[i]) {
      out.reused++;
    } else {
      auto did = unpack_layer(chain, i ? out.chains[i - 1] : Digest(), (*diff_ids)[i], m->layers[i],
                              opt, done, total);
      if (!did)
        return wrap(did, what + ": layer " + std::to_string(i) + " (" + chain.short_id() + ")");
      *did ? out.unpacked++ : out.reused++;
    }
    out.layers.push_back(layer_path(chain));
  }
  if (opt.progress && total > 0)
    opt.progress("Unpacking", total, total);
  return out;
}

Result<bool> Store::unpack_layer(const Digest &chain, const Digest &parent, const Digest &diff_id,
                                 const Descriptor &blob, const UnpackOptions &opt, uint64_t &done,
                                 uint64_t total) {
  const std::string hex(chain.hex());
  const std::string final_path = dir_ + detail::kLayers + "/" + hex;
  // One unpacker per chain; whoever waited finds the work done.
  auto chain_lock =
      detail::lock_file(dir_ + detail::kLocks + "/chain-" + hex, LockMode::exclusive, true);
  if (!chain_lock)
    return tl::unexpected(chain_lock.error());
  struct stat st {};
  if (::stat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return false;

  auto src = open_blob(blob.digest);
  if (!src)
    return tl::unexpected(src.error());
  auto tmp = detail::make_tmp_dir(*this, "unpack-" + hex.substr(0, 12) + "-");
  if (!tmp)
    return tl::unexpected(tmp.error());
  TmpGuard guard{tmp->path};
  if (::mkdirat(tmp->fd.get(), "diff", 0755) != 0)
    return fail_errno("cannot create " + tmp->path + "/diff");
  auto diff = open_at(tmp->fd.get(), "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!diff)
    return tl::unexpected(diff.error());
  if (::fchmod(diff->get(), 0755) != 0) // whatever the umask made of it
    return fail_errno("cannot chmod " + tmp->path + "/diff");

  Decompressor in;
  if (auto r = in.open(src->get()); !r)
    return tl::unexpected(r.error());
  ExtractOptions xopt;
  xopt.limits = opt.limits;
  xopt.overlay_whiteouts = true;
  xopt.keep_owners = true;
  ExtractWorker worker;
  if (auto r = worker.start(diff->get(), xopt); !r)
    return tl::unexpected(r.error());
  Sha256 sha;
  bool feeding = true;
  const uint64_t base = done;
  for (;;) {
    if (opt.cancelled && opt.cancelled())
      return fail(Errc::interrupted, "interrupted");
    auto block = in.next();
    if (!block)
      return tl::unexpected(block.error());
    if (block->empty())
      break;
    // Every byte counts for the diff ID, also what follows the tar's end
    // marker after the extractor stopped reading.
    sha.update(block->data(), block->size());
    if (feeding) {
      auto sent = worker.send(*block);
      if (!sent)
        return tl::unexpected(sent.error());
      if (!*sent) {
        feeding = false;
        if (auto r = worker.finish(); !r)
          return tl::unexpected(r.error());
      }
    }
    done = base + std::min(in.compressed_read(), blob.size);
    if (opt.progress)
      opt.progress("Unpacking", done, total);
  }
  auto stats = worker.finish();
  if (!stats)
    return tl::unexpected(stats.error());
  Digest got = sha.finish();
  if (got != diff_id)
    return fail(Errc::parse, "content of blob " + blob.digest.str() + " is " + got.str() +
                                 ", not diff ID " + diff_id.str() + " of the config");

  json meta = {{"chain_id", chain.str()},
               {"diff_id", diff_id.str()},
               {"parent", parent.empty() ? json(nullptr) : json(parent.str())},
               {"blob", blob.digest.str()},
               {"size", stats->bytes},
               {"entries", stats->entries}};
  if (auto r = write_file_atomic(tmp->path + "/layer.json", meta.dump(2) + "\n", 0600); !r)
    return tl::unexpected(r.error());
  // The data reaches the disk before the name that makes it visible.
  if (opt.sync && ::syncfs(tmp->fd.get()) != 0)
    return fail_errno("cannot sync unpacked layer " + hex);
  if (::rename(tmp->path.c_str(), final_path.c_str()) != 0)
    return fail_errno("cannot move unpacked layer " + hex + " into " + dir_ + detail::kLayers);
  guard.path.clear();
  if (opt.sync)
    if (auto r = detail::fsync_dir(dir_ + detail::kLayers); !r)
      return tl::unexpected(r.error());
  return true;
}

} // namespace ctk::rt::image
