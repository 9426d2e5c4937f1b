// Reading image layers (tar, plain, gzip or zstd) and unpacking them safely.
//
//   ctk::rt::image::Limits lim;                       // budgets against tar bombs
//   auto r = LayerReader::open(std::move(fd), lim);   // compression detected
//   Entry e;
//   while (auto more = r->next(e); more && *more) {   // false at the end
//     if (e.type == EntryType::file) r->read_data(buf, sizeof buf);  // optional
//   }
//
//   auto st = extract_layer(std::move(fd), dest_dirfd, {});  // every path resolved
//                                                            // by fd inside dest
//
// Paths in Entry are normalised: no leading "/" or "./", no "." components,
// no trailing "/"; an entry whose path escapes ("../x") is an error, never
// silently rewritten. Whiteouts are reported as such (`whiteout`,
// `opaque`), with `path` naming what they delete (the directory, for opaque;
// "" for an opaque marker at the layer root). aufs bookkeeping names
// (".wh..wh.plnk" ...) are skipped; ".wh..", ".wh..." and ".wh." are errors.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include "ctk/runtime/core.h"

namespace ctk::rt::image {

struct Limits {
  uint64_t max_uncompressed_bytes = 64ull << 30; // total bytes of file data in a layer
  uint64_t max_entries = 10'000'000;
  uint64_t max_file_size = 16ull << 30; // one file's (apparent) size
};

enum class EntryType { file, dir, symlink, hardlink, chardev, blockdev, fifo };

struct Entry {
  std::string path;        // normalised, relative to the layer root ("etc/passwd")
  EntryType type = EntryType::file;
  uint64_t size = 0;       // file data size; 0 for others
  mode_t mode = 0;         // permission bits incl. setuid/setgid/sticky (no type bits)
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 0;
  std::string link_target; // symlink target as stored; hardlink: normalised path of the target
  uint32_t dev_major = 0, dev_minor = 0;
  bool whiteout = false;   // ".wh.NAME": deletes `path` (= dir/NAME)
  bool opaque = false;     // ".wh..wh..opq": hides everything below `path` from lower layers
  bool has_capabilities = false; // security.capability xattr present
};

class LayerReader {
public:
  // Takes ownership of `fd` (a file or a pipe); detects gzip/zstd/plain.
  static Result<LayerReader> open(UniqueFd fd, const Limits &limits = {});
  LayerReader(LayerReader &&) noexcept;
  LayerReader &operator=(LayerReader &&) noexcept;
  ~LayerReader();

  // Next entry; false at the end. Errors: a malformed or truncated archive,
  // a path escaping the root, a budget exceeded (each names the entry).
  Result<bool> next(Entry &e);
  // Data of the current file entry; 0 at its end.
  Result<size_t> read_data(char *buf, size_t n);
  // Data of the current file entry block by block, with each block's offset
  // in the file, so a writer can leave the holes of sparse files unwritten;
  // false at its end. `data` stays valid until the next call. Do not mix
  // with read_data on one entry.
  Result<bool> read_block(const char *&data, size_t &len, uint64_t &offset);
  // The raw value of the current entry's security.capability xattr, "" if
  // none (has_capabilities says whether there is one).
  const std::string &capabilities() const;
  uint64_t compressed_bytes_read() const; // for progress

private:
  struct Impl;
  explicit LayerReader(Impl *impl) : impl_(impl) {}
  Impl *impl_ = nullptr;
};

struct ExtractOptions {
  Limits limits;
  // Whiteouts become overlayfs form (0/0 char devices, trusted.overlay.opaque
  // "y"), as for a layer that overlayfs mounts as a lower dir. When false
  // they are applied instead: the named path is removed from `dest` (for
  // flattening layers into one tree).
  bool overlay_whiteouts = true;
  bool keep_owners = true; // chown entries to their uid/gid
};

struct ExtractStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// Unpacks a layer into the directory `dest_dirfd`. Every path is resolved
// inside it by fd (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so
// symlinks planted by this or an earlier layer cannot lead outside; hardlink
// targets are checked the same way. Setuid bits and file capabilities are
// kept. On error the destination may hold part of the layer: callers unpack
// into a fresh directory and rename it into place only on success.
Result<ExtractStats> extract_layer(UniqueFd src, int dest_dirfd, const ExtractOptions &opt = {});

} // namespace ctk::rt::image
