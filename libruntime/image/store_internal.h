// Internal to the image store: helpers shared by store*.cc.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image::detail {

// Names under <root>/image.
inline constexpr const char *kGcLock = "/gc.lock";
inline constexpr const char *kGcNeeded = "/gc-needed";
inline constexpr const char *kLayers = "/layers";
inline constexpr const char *kLocks = "/locks";
inline constexpr const char *kTmp = "/tmp";

Result<void> fsync_dir(const std::string &dir);

// flock on a lock file that may be unlinked by its owner while we wait:
// after locking, the path must still name the locked inode, otherwise the
// lock is on a dead file and we retry on the new one. This makes unlinking a
// lock file safe for whoever holds it exclusively.
Result<UniqueFd> lock_file(const std::string &path, LockMode mode, bool wait);

// A fresh directory tmp/<prefix>XXXXXX, flocked (exclusive) through the
// returned fd so that clean_tmp() of other processes leaves it alone. Made
// under the store lock (shared): clean_tmp() runs under it exclusively, so it
// never sees the directory between its creation and its flock.
struct TmpDir {
  std::string path;
  UniqueFd fd; // O_DIRECTORY, flocked
};
Result<TmpDir> make_tmp_dir(const Store &store, const std::string &prefix);

// rm -r without following symlinks; a missing path is fine.
Result<void> remove_tree(const std::string &path);

// Entry names of a directory but "." and ".."; empty if it cannot be read.
std::vector<std::string> list_dir(const std::string &dir);

// Removes tmp/ entries (files and directories) whose writer is gone.
void clean_tmp(const std::string &tmp_dir);

// rootfs.diff_ids of an image config.
Result<std::vector<Digest>> diff_ids_of(const nlohmann::json &config, std::string_view what);

// What the images of a refs.json need: their manifests, configs and layer
// blobs (as "sha256:<hex>") and their chain IDs (hex). An image whose
// manifest or config cannot be read contributes what could be read: it is
// broken either way, and its blobs are unreachable without them.
struct Needed {
  std::set<std::string> blobs;
  std::set<std::string> chains;
};
void add_needs(const Store &store, const Digest &manifest, Needed &out);

// Removes layers/<hex> (renamed into tmp/ first, so that it disappears at
// once and a crash halfway leaves only a tmp/ leftover) and its chain lock.
Result<void> remove_chain(const Store &store, const std::string &hex);

} // namespace ctk::rt::image::detail
