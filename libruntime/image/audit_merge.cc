// Merging the per-layer tables in order: change classification, dive's
// metrics, reclaimable bytes and findings.
//
// Whiteouts and opaque markers of a layer are applied before its entries,
// since by the OCI image spec they only hide content of the layers below.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <sys/stat.h>
#include <thread>

#include "audit_internal.h"

namespace ctk::rt::image {

using detail::is_under;
using detail::LayerScan;
using detail::parent_of;
using detail::PathLess;
using detail::ScanRecord;

char status_letter(FileStatus s) {
  switch (s) {
  case FileStatus::added:
    return 'A';
  case FileStatus::modified:
    return 'M';
  case FileStatus::deleted:
    return 'D';
  case FileStatus::unchanged:
    break;
  }
  return ' ';
}

std::string_view finding_kind_name(FindingKind k) {
  switch (k) {
  case FindingKind::deleted_but_shipped:
    return "deleted-but-shipped";
  case FindingKind::setuid:
    return "setuid";
  case FindingKind::setgid:
    return "setgid";
  case FindingKind::world_writable:
    return "world-writable";
  }
  return "unknown";
}

namespace {

struct Node {
  Node() { t.status = FileStatus::deleted; } // absent until an entry fills it
  TreeNode t;
  std::array<uint64_t, 2> hash{};
  bool key_content = false;
  std::string link_target;
  std::shared_ptr<const std::string> content; // captured data (image diff)
  bool content_truncated = false;
  // dive's per-path accounting: one size per layer the path appears in.
  uint64_t dive_sum = 0, dive_min = 0;
  uint32_t dive_count = 0;
  long pending_layer = -1;
  uint64_t pending = 0;

  bool live() const { return t.status != FileStatus::deleted; }
  void contribute(size_t layer, uint64_t bytes) {
    if (pending_layer != static_cast<long>(layer)) {
      flush();
      pending_layer = static_cast<long>(layer);
    }
    pending += bytes; // two entries for a path in one layer make one dive node
  }
  void flush() {
    if (pending_layer < 0)
      return;
    dive_min = dive_count == 0 ? pending : std::min(dive_min, pending);
    dive_sum += pending;
    ++dive_count;
    pending_layer = -1;
    pending = 0;
  }
};

using Tree = std::map<std::string, Node, PathLess>;

class Merger {
public:
  explicit Merger(Audit &out) : out_(out) {}

  void apply(size_t k, const LayerScan &scan, LayerAudit &la);
  void finish(size_t top_wasted);
  std::vector<detail::MergedEntry> live_entries() const;

private:
  struct Removed {
    uint64_t bytes = 0;
    uint64_t entries = 0;
    std::optional<EntryType> type; // of `path` itself when it was live
  };
  // Tombstones `path` (unless only_below) and every live path under it.
  Removed remove_subtree(const std::string &path, bool only_below, size_t k);
  Node &ensure_parents_and_get(const std::string &path, size_t k);

  Audit &out_;
  Tree tree_;
};

Merger::Removed Merger::remove_subtree(const std::string &path, bool only_below, size_t k) {
  Removed rm;
  auto kill = [&](const std::string &p, Node &n) {
    if (!n.live())
      return;
    rm.bytes += n.t.size;
    ++rm.entries;
    if (n.t.type == EntryType::file) {
      Finding f;
      f.kind = FindingKind::deleted_but_shipped;
      f.path = p;
      f.layer = n.t.layer;
      f.deleted_in = k;
      f.size = n.t.size;
      f.mode = n.t.mode;
      f.type = n.t.type;
      if (n.key_content && n.t.size > 0)
        f.reason = "private key content";
      else if (std::string why = detail::secret_name_reason(p); !why.empty() && n.t.size > 0)
        f.reason = std::move(why);
      f.secret = !f.reason.empty();
      out_.findings.push_back(std::move(f));
    }
    n.t.status = FileStatus::deleted;
    n.t.layer = k;
    n.t.implicit = false;
  };
  if (!only_below) {
    auto it = tree_.find(path);
    if (it != tree_.end() && it->second.live()) {
      rm.type = it->second.t.type;
      kill(it->first, it->second);
    }
  }
  std::string prefix = path.empty() ? std::string() : path + "/";
  for (auto it = tree_.lower_bound(prefix); it != tree_.end() && is_under(it->first, path); ++it)
    kill(it->first, it->second);
  return rm;
}

Node &Merger::ensure_parents_and_get(const std::string &path, size_t k) {
  std::string_view parent = parent_of(path);
  if (!parent.empty()) {
    auto it = tree_.find(parent);
    if (it == tree_.end() || !it->second.live()) {
      Node &p = ensure_parents_and_get(std::string(parent), k);
      p.t = TreeNode{EntryType::dir, FileStatus::added, k, 0, 0755, 0, 0, true};
      p.hash = {};
    }
  }
  return tree_[path];
}

void Merger::apply(size_t k, const LayerScan &scan, LayerAudit &la) {
  la.files.reserve(scan.records.size());
  // Deletions first: they hide what lies below this layer only.
  for (const ScanRecord &r : scan.records) {
    if (!r.whiteout && !r.opaque)
      continue;
    Removed rm = remove_subtree(r.path, r.opaque, k);
    LayerFile f;
    f.path = r.path;
    f.type = r.opaque ? EntryType::dir : rm.type.value_or(EntryType::file);
    f.status = FileStatus::deleted;
    f.size = rm.bytes;
    f.deleted_entries = rm.entries;
    f.opaque = r.opaque;
    if (!r.path.empty()) // a whiteout of the root itself has no path to account
      tree_[r.path].contribute(k, rm.bytes);
    ++la.deleted;
    la.deleted_bytes += rm.bytes;
    la.files.push_back(std::move(f));
  }
  for (const ScanRecord &r : scan.records) {
    if (r.whiteout || r.opaque)
      continue;
    ++la.entries;
    la.size += r.size;
    Node &n = ensure_parents_and_get(r.path, k);
    LayerFile f;
    f.path = r.path;
    f.type = r.type;
    f.size = r.size;
    f.mode = r.mode;
    f.uid = r.uid;
    f.gid = r.gid;
    if (!n.live() || n.t.implicit) {
      // Absent, deleted below, or a parent directory no layer had listed.
      f.status = FileStatus::added;
    } else {
      uint8_t ch = 0;
      if (n.t.type != r.type || n.t.size != r.size || n.hash != r.hash)
        ch |= change_content;
      if (n.t.mode != r.mode)
        ch |= change_mode;
      if (n.t.uid != r.uid)
        ch |= change_owner;
      if (n.t.gid != r.gid)
        ch |= change_group;
      f.changes = ch;
      f.status = ch ? FileStatus::modified : FileStatus::unchanged;
      // A directory replaced by something else takes its subtree with it.
      if (n.t.type == EntryType::dir && r.type != EntryType::dir)
        remove_subtree(r.path, true, k);
    }
    switch (f.status) {
    case FileStatus::added:
      ++la.added, la.added_bytes += r.size;
      break;
    case FileStatus::modified:
      ++la.modified, la.modified_bytes += r.size;
      break;
    default:
      ++la.unchanged, la.unchanged_bytes += r.size;
      break;
    }
    Node &m = tree_[r.path]; // remove_subtree does not invalidate map references
    if (f.status != FileStatus::unchanged) {
      m.t.status = f.status;
      m.t.layer = k;
    }
    m.t.type = r.type;
    m.t.size = r.size;
    m.t.mode = r.mode;
    m.t.uid = r.uid;
    m.t.gid = r.gid;
    m.t.implicit = false;
    m.hash = r.hash;
    m.key_content = r.key_content;
    m.link_target = r.link_target;
    m.content = r.content;
    m.content_truncated = r.content_truncated;
    m.contribute(k, r.size);
    la.files.push_back(std::move(f));
  }
  std::stable_sort(la.files.begin(), la.files.end(), [](const LayerFile &a, const LayerFile &b) {
    return PathLess{}(a.path, b.path);
  });
}

std::vector<detail::MergedEntry> Merger::live_entries() const {
  std::vector<detail::MergedEntry> out;
  for (const auto &[path, n] : tree_)
    if (n.live() && !path.empty())
      out.push_back({path, n.t, n.hash, n.link_target, n.content, n.content_truncated});
  return out;
}

void Merger::finish(size_t top_wasted) {
  AuditMetrics &m = out_.metrics;
  uint64_t min_total = 0, all_total = 0;
  for (auto &[path, n] : tree_) {
    n.flush();
    if (n.dive_count > 0) {
      min_total += n.dive_min;
      all_total += n.dive_sum;
    }
    if (n.dive_count >= 2) {
      m.wasted_bytes += n.dive_sum;
      if (n.dive_sum > 0)
        out_.wasted.push_back({path, n.dive_count, n.dive_sum});
    }
    if (!n.live())
      continue;
    ++m.final_entries;
    m.final_bytes += n.t.size;
    auto add = [&](FindingKind kind) {
      out_.findings.push_back(
          {kind, path, n.t.layer, std::nullopt, n.t.size, n.t.mode, n.t.type, false, {}});
    };
    if (n.t.type == EntryType::file && (n.t.mode & S_ISUID))
      add(FindingKind::setuid);
    if (n.t.type == EntryType::file && (n.t.mode & S_ISGID))
      add(FindingKind::setgid);
    // Sticky world-writable directories (/tmp, /var/tmp) are the intended
    // shared-scratch form and are not reported; symlinks are always 0777.
    bool sticky_dir = n.t.type == EntryType::dir && (n.t.mode & S_ISVTX);
    if ((n.t.type == EntryType::file || n.t.type == EntryType::dir) && (n.t.mode & S_IWOTH) &&
        !sticky_dir)
      add(FindingKind::world_writable);
  }
  m.efficiency =
      all_total == 0 ? 1.0 : static_cast<double>(min_total) / static_cast<double>(all_total);
  for (size_t i = 0; i < out_.layers.size(); ++i) {
    m.total_bytes += out_.layers[i].size;
    if (i > 0)
      m.user_bytes += out_.layers[i].size;
  }
  if (m.user_bytes > 0)
    m.user_wasted_percent = static_cast<double>(m.wasted_bytes) / static_cast<double>(m.user_bytes);
  else
    m.user_wasted_percent = m.wasted_bytes == 0 ? 0.0 : INFINITY;
  m.reclaimable_bytes = m.total_bytes > m.final_bytes ? m.total_bytes - m.final_bytes : 0;

  auto by_total = [](const WastedPath &a, const WastedPath &b) {
    return a.total != b.total ? a.total > b.total : PathLess{}(a.path, b.path);
  };
  size_t keep = std::min(top_wasted, out_.wasted.size());
  std::partial_sort(out_.wasted.begin(), out_.wasted.begin() + keep, out_.wasted.end(), by_total);
  out_.wasted.resize(keep);

  std::stable_sort(out_.findings.begin(), out_.findings.end(),
                   [](const Finding &a, const Finding &b) {
                     if (a.kind != b.kind)
                       return a.kind < b.kind;
                     if (a.secret != b.secret)
                       return a.secret;
                     return PathLess{}(a.path, b.path);
                   });
}

} // namespace

namespace detail {

std::vector<Result<LayerScan>> scan_layers(const std::vector<const AuditLayerInput *> &layers,
                                           const Limits &limits, unsigned threads,
                                           bool sniff_content, const Capture *capture) {
  size_t count = layers.size();
  std::vector<std::optional<Result<LayerScan>>> scans(count);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < count;) {
      const AuditLayerInput &in = *layers[i];
      if (!in.open) {
        scans[i] = in.empty_layer
                       ? Result<LayerScan>(LayerScan{})
                       : Result<LayerScan>(fail(Errc::invalid_argument, "no way to open it"));
        continue;
      }
      auto fd = in.open();
      if (!fd) {
        scans[i] = tl::unexpected(fd.error());
        continue;
      }
      scans[i] = scan_layer(std::move(*fd), limits, sniff_content, capture);
    }
  };
  if (threads == 0)
    threads = std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(count, 1)));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto &t : pool)
    t.join();
  std::vector<Result<LayerScan>> out;
  out.reserve(count);
  for (auto &s : scans)
    out.push_back(std::move(*s));
  return out;
}

std::vector<MergedEntry> merge_final_tree(const std::vector<const LayerScan *> &scans) {
  // The audit's own merge, so the diff sees exactly the tree `ctk layers
  // tree` shows; the per-layer tables it builds on the way are dropped.
  Audit scratch;
  Merger merger(scratch);
  for (size_t i = 0; i < scans.size(); ++i) {
    LayerAudit la;
    merger.apply(i, *scans[i], la);
  }
  return merger.live_entries();
}

} // namespace detail

Result<Audit> audit_layers(const std::vector<AuditLayerInput> &layers, const AuditOptions &opt) {
  size_t count = layers.size();
  auto describe = [&](size_t i) {
    return "layer " + std::to_string(i) +
           (layers[i].digest.empty() ? "" : " (" + layers[i].digest + ")");
  };
  std::vector<const AuditLayerInput *> inputs;
  for (const auto &l : layers)
    inputs.push_back(&l);
  std::vector<Result<LayerScan>> scans =
      detail::scan_layers(inputs, opt.limits, opt.threads, opt.sniff_content);

  Audit audit;
  audit.layers.resize(count);
  Merger merger(audit);
  for (size_t i = 0; i < count; ++i) {
    if (!scans[i])
      return wrap(scans[i], "cannot audit " + describe(i));
    LayerAudit &la = audit.layers[i];
    la.index = i;
    la.digest = layers[i].digest;
    la.created_by = layers[i].created_by;
    la.empty_layer = layers[i].empty_layer;
    la.compressed_size =
        layers[i].compressed_size ? layers[i].compressed_size : scans[i]->compressed_bytes;
    merger.apply(i, *scans[i], la);
    *scans[i] = {}; // the table now lives in la.files
  }
  merger.finish(opt.top_wasted);
  return audit;
}

} // namespace ctk::rt::image
