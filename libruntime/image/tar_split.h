// Private to the image module: replaying a tar-split record, the way docker
// (layerdb/<chain>/tar-split.json.gz) and containers-storage
// (<driver>-layers/<id>.tar-split.gz) give back the exact layer tar they
// unpacked, from the unpacked files.
//
//   auto entries = read_tar_split(tar_split_fd, "layer sha256:ab12");
//   auto fd = stream_tar_split(std::move(*entries), std::move(diff_dir_fd), "layer sha256:ab12");
//   // *fd reads as the uncompressed layer tar: its sha256 is the diff ID
//
// A record is gzip'ed JSON, one object per line (vbatts/tar-split's
// storage.Entry): type 2 ("segment") carries raw tar bytes in "payload"
// (base64: headers, padding, the end-of-archive blocks); type 1 ("file") names
// an entry ("name", or "name_raw" in base64 when not UTF-8) whose "size" bytes
// of data come from the unpacked file of that name. Every file is opened
// relative to the layer's directory with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS): the directory is the runtime's, but a hostile image
// can plant symlinks in it, and those must not lead out of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"

namespace ctk::rt::image::detail {

struct TarSplitEntry {
  bool file = false; // false: `bytes` go out as they are
  std::string bytes; // segment bytes, or the file's name within the layer
  uint64_t size = 0; // file: bytes of data that follow its header
};

// Parses the JSON lines of a record (already decompressed). `what` names the
// layer in errors; a malformed line is Errc::parse naming its number.
Result<std::vector<TarSplitEntry>> parse_tar_split(std::string_view text, std::string_view what);

// Reads and parses a record from fd: gzip'ed (as both runtimes write it) or plain.
Result<std::vector<TarSplitEntry>> read_tar_split(int fd, std::string_view what);

// Size of the tar the entries make.
uint64_t tar_split_size(const std::vector<TarSplitEntry> &entries);

// Checks that every file with data exists under root_fd as a regular file of
// the recorded size: the cheap pass that turns a damaged or tampered layer
// directory into an error naming the layer and the path, before any stream
// is handed out.
Result<void> check_tar_split(const std::vector<TarSplitEntry> &entries, int root_fd,
                             std::string_view what);

// Writes the tar to out_fd (a pipe, socket or file). Fails naming the layer
// and path if a file is missing or its size differs from the record.
Result<uint64_t> replay_tar_split(const std::vector<TarSplitEntry> &entries, int root_fd,
                                  int out_fd, std::string_view what);

// check_tar_split(), then a stream socket whose read end yields the tar,
// written by a detached worker thread that owns the entries and root_fd. If
// the layer changes under the worker, the stream ends early (the reader sees
// a truncated tar); closing the read end stops the worker.
Result<UniqueFd> stream_tar_split(std::vector<TarSplitEntry> entries, UniqueFd root_fd,
                                  std::string what);

} // namespace ctk::rt::image::detail
