// Private to the layer audit: the per-layer table a scan produces, and the
// path order every audit structure uses.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/image_audit.h"

namespace ctk::rt::image::detail {

// One tar entry, reduced to what the audit compares: the data itself is
// hashed while streaming and dropped.
struct ScanRecord {
  std::string path;
  EntryType type = EntryType::file;
  uint64_t size = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // First 128 bits of the SHA-256 of the data (file), the link target
  // (symlink, hardlink) or the device numbers: "content" for change checks.
  std::array<uint64_t, 2> hash{};
  bool whiteout = false;
  bool opaque = false;
  bool key_content = false; // first bytes look like a private key
  std::string link_target;  // symlink, hardlink: as stored
  // The data of a file the scan was asked to capture (see Capture); shared
  // so the merged tree and every image that holds the layer can keep it.
  std::shared_ptr<const std::string> content;
  bool content_truncated = false; // the file was larger than Capture::max_bytes
};

struct LayerScan {
  std::vector<ScanRecord> records; // in archive order
  uint64_t compressed_bytes = 0;
};

// Files whose data a scan keeps besides hashing it (package databases for
// the image diff): at most max_bytes of each, the rest is hashed only.
struct Capture {
  std::function<bool(std::string_view path)> wants;
  uint64_t max_bytes = 0;
};

// Reads one layer stream to its end.
Result<LayerScan> scan_layer(UniqueFd fd, const Limits &limits, bool sniff_content,
                             const Capture *capture = nullptr);

// Scans each layer once on `threads` workers (0: min(2, cores, layers));
// results in input order. An empty layer (no `open`) scans as no entries.
std::vector<Result<LayerScan>> scan_layers(const std::vector<const AuditLayerInput *> &layers,
                                           const Limits &limits, unsigned threads,
                                           bool sniff_content, const Capture *capture = nullptr);

// One live path of a merged tree, with what identifies its content.
struct MergedEntry {
  std::string path;
  TreeNode node;
  std::array<uint64_t, 2> hash{};
  std::string link_target;
  std::shared_ptr<const std::string> content; // when captured
  bool content_truncated = false;
};

// Merges layer scans (bottom first) exactly as audit_layers does and returns
// the live paths of the final tree in PathLess order: whiteouts and opaque
// directories applied, deleted paths absent.
std::vector<MergedEntry> merge_final_tree(const std::vector<const LayerScan *> &scans);

// Does the start of a file look like a private key? (PEM, OpenSSH, PuTTY)
bool looks_like_private_key(std::string_view head);
// Is a path's name one that usually holds a credential? Returns the reason
// ("name id_rsa") or an empty string.
std::string secret_name_reason(std::string_view path);

// Path order that lists a directory right before its subtree: '/' sorts
// below every other byte, so "a", "a/b", "a/c", "a-x". Any prefix "p/" is
// then a contiguous range.
struct PathLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n; ++i) {
      if (a[i] == b[i])
        continue;
      if (a[i] == '/')
        return true;
      if (b[i] == '/')
        return false;
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
  }
};

inline bool is_under(std::string_view path, std::string_view dir) {
  return dir.empty() || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

inline std::string_view parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

} // namespace ctk::rt::image::detail
