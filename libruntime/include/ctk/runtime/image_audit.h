// Layer audit: what each layer adds, modifies and deletes, dive's metrics,
// reclaimable bytes, findings (deleted secrets, setuid, world-writable), the
// merged tree, and CI rules (dive's .dive-ci keys plus ctk's own).
//
//   std::vector<AuditLayerInput> in;            // bottom layer first
//   in.push_back({[&] { return open_fd(path, O_RDONLY); }, "sha256:…", 1234, "RUN …"});
//   auto audit = audit_layers(in, {});          // each layer streamed once
//   double score = audit->metrics.efficiency;  uint64_t waste = audit->metrics.wasted_bytes;
//   auto rows = tree_rows(*audit, {.changes_only = true});  // rows->at(i).depth, .name, …
//
//   CiRules rules = CiRules::dive_defaults();    // the layers plugin reads .dive-ci and flags
//   auto verdict = evaluate_ci(*audit, rules);   // verdict.pass, verdict.rules[i].message
//
// Sizes are the data sizes stored in the layer tars (dive's definition):
// directories, symlinks, hardlinks and whiteouts weigh 0 themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/image_tar.h"

namespace ctk::rt::image {

struct AuditLayerInput {
  // Opens the layer's tar stream (plain, gzip or zstd); called exactly once,
  // possibly from a worker thread.
  std::function<Result<UniqueFd>()> open;
  std::string digest;
  uint64_t compressed_size = 0; // 0: taken from the bytes read
  std::string created_by;
  bool empty_layer = false; // a history entry without a tar: `open` may be empty
};

struct AuditOptions {
  Limits limits;
  unsigned threads = 0;      // 0: min(2, hardware threads, layers)
  size_t top_wasted = 20;    // how many largest wasted paths to keep
  bool sniff_content = true; // look for private keys in the first bytes of files
};

enum class FileStatus : uint8_t { unchanged, added, modified, deleted };
char status_letter(FileStatus s); // ' ', 'A', 'M', 'D'

// Why a path was counted as modified (bit set).
enum ChangeBits : uint8_t {
  change_content = 1, // data, link target, device numbers or type
  change_mode = 2,
  change_owner = 4,
  change_group = 8,
};

// One entry of a layer, classified against the layers below it.
struct LayerFile {
  std::string path;
  EntryType type = EntryType::file;
  FileStatus status = FileStatus::added; // unchanged: rewritten identically
  uint64_t size = 0;            // data size; for a deletion the bytes it deletes (whole subtree)
  uint64_t deleted_entries = 0; // deletion: how many paths it removed
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uint8_t changes = 0; // ChangeBits, for modified
  bool opaque = false; // deletion by ".wh..wh..opq" of everything below `path`
};

struct LayerAudit {
  size_t index = 0;
  std::string digest;
  std::string created_by;
  bool empty_layer = false;
  uint64_t compressed_size = 0;
  uint64_t size = 0; // sum of the data sizes of its entries (dive's layer size)
  uint64_t entries = 0;
  uint64_t added = 0, modified = 0, deleted = 0, unchanged = 0; // counts
  uint64_t added_bytes = 0, modified_bytes = 0, deleted_bytes = 0, unchanged_bytes = 0;
  std::vector<LayerFile> files; // every entry, in path order (the full list)
};

struct WastedPath {
  std::string path;
  size_t count = 0;   // layers it appears in
  uint64_t total = 0; // sum of its sizes in them
};

enum class FindingKind { deleted_but_shipped, setuid, setgid, world_writable };
std::string_view finding_kind_name(FindingKind k);

struct Finding {
  FindingKind kind = FindingKind::deleted_but_shipped;
  std::string path;
  size_t layer = 0;                 // where it ships (the last version below the deletion)
  std::optional<size_t> deleted_in; // deleted_but_shipped: the deleting layer
  uint64_t size = 0;
  mode_t mode = 0;
  EntryType type = EntryType::file;
  bool secret = false; // name or content looks like a credential
  std::string reason;  // why it is a secret ("private key content", "name .env")
};

struct AuditMetrics {
  double efficiency = 1.0; // 1.0 when nothing repeats or the image is empty
  uint64_t wasted_bytes = 0;
  double user_wasted_percent = 0.0; // a ratio like dive's (0.1 = 10%); +inf if layers
                                    // after the first hold no bytes but waste exists
  uint64_t total_bytes = 0;         // sum of layer sizes
  uint64_t user_bytes = 0;          // sum of layer sizes but the first
  uint64_t final_bytes = 0;         // data size of the merged filesystem
  uint64_t reclaimable_bytes = 0;   // total_bytes - final_bytes: what squashing saves
  uint64_t final_entries = 0;
};

// Merged-tree node, kept for tree views.
struct TreeNode {
  EntryType type = EntryType::dir;
  FileStatus status = FileStatus::added; // of the layer it comes from; deleted: a tombstone
  size_t layer = 0;                      // the layer of its final version (or of its deletion)
  uint64_t size = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool implicit = false; // a parent directory no layer lists
};

struct Audit {
  std::vector<LayerAudit> layers;
  AuditMetrics metrics;
  std::vector<WastedPath> wasted; // largest first, at most AuditOptions::top_wasted
  std::vector<Finding> findings;  // deleted_but_shipped first (secrets first), then by path
};

// Reads every layer once (two at a time on two cores) and merges them in order.
// Errors name the layer (index and digest) and the entry.
Result<Audit> audit_layers(const std::vector<AuditLayerInput> &layers,
                           const AuditOptions &opt = {});

struct TreeOptions {
  std::optional<size_t> layer; // the tree as of this layer, statuses relative to it;
                               // unset: the final tree, statuses of each path's last change
  bool changes_only = false;   // only changed paths (and their parent directories)
  bool show_deleted = true;    // tombstones (status deleted) as rows
};

struct TreeRow {
  std::string path; // full path, for JSON
  std::string name; // last component
  size_t depth = 0; // 0 for top-level entries
  EntryType type = EntryType::dir;
  uint64_t size = 0; // a directory: the sum of the live data below it
  FileStatus status = FileStatus::unchanged;
  size_t layer = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Depth-first, children sorted by name, parents before children.
Result<std::vector<TreeRow>> tree_rows(const Audit &audit, const TreeOptions &opt = {});

// ---- CI rules -----------------------------------------------------------

struct CiRules {
  std::optional<double> lowest_efficiency;           // fail if efficiency < it
  std::optional<uint64_t> highest_wasted_bytes;      // fail if wasted > it
  std::optional<double> highest_user_wasted_percent; // ratio; fail if above
  bool no_deleted_secrets = false;                   // fail on a deleted-but-shipped secret

  // dive's defaults: lowestEfficiency 0.9, highestWastedBytes disabled,
  // highestUserWastedPercent 0.1.
  static CiRules dive_defaults();
};

struct CiRuleResult {
  std::string rule; // "lowestEfficiency", ... as in .dive-ci
  bool enabled = true;
  bool pass = true;
  std::string message; // "image efficiency is too low (efficiency=0.8 < threshold=0.9)"
};

struct CiVerdict {
  bool pass = true;
  std::vector<CiRuleResult> rules;
};

CiVerdict evaluate_ci(const Audit &audit, const CiRules &rules);

} // namespace ctk::rt::image
