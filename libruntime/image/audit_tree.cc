// The merged tree as rows a renderer prints. Rebuilt from the per-layer file
// lists (which already carry each entry's status), so one audit serves the
// final view and the view as of any layer without keeping snapshots.
#include <map>

#include "audit_internal.h"

namespace ctk::rt::image {

using detail::is_under;
using detail::parent_of;
using detail::PathLess;

namespace {

using Tree = std::map<std::string, TreeNode, PathLess>;

bool live(const TreeNode &n) {
  return n.status != FileStatus::deleted;
}

void kill_subtree(Tree &tree, const std::string &path, bool only_below, size_t k) {
  auto kill = [&](TreeNode &n) {
    if (live(n)) {
      n.status = FileStatus::deleted;
      n.layer = k;
    }
  };
  if (!only_below)
    if (auto it = tree.find(path); it != tree.end())
      kill(it->second);
  std::string prefix = path.empty() ? std::string() : path + "/";
  for (auto it = tree.lower_bound(prefix); it != tree.end() && is_under(it->first, path); ++it)
    kill(it->second);
}

void ensure_parents(Tree &tree, std::string_view path, size_t k) {
  std::string_view parent = parent_of(path);
  if (parent.empty())
    return;
  auto it = tree.find(parent);
  if (it != tree.end() && live(it->second))
    return;
  ensure_parents(tree, parent, k);
  tree.insert_or_assign(std::string(parent),
                        TreeNode{EntryType::dir, FileStatus::added, k, 0, 0755, 0, 0, true});
}

void apply_layer(Tree &tree, const LayerAudit &la, size_t k) {
  for (const LayerFile &f : la.files)
    if (f.status == FileStatus::deleted)
      kill_subtree(tree, f.path, f.opaque, k);
  for (const LayerFile &f : la.files) {
    if (f.status == FileStatus::deleted)
      continue;
    ensure_parents(tree, f.path, k);
    auto [it, inserted] = tree.try_emplace(f.path);
    TreeNode &n = it->second;
    if (!inserted && live(n) && n.type == EntryType::dir && f.type != EntryType::dir)
      kill_subtree(tree, f.path, true, k);
    if (inserted || f.status != FileStatus::unchanged) {
      n.status = f.status == FileStatus::unchanged ? FileStatus::added : f.status;
      n.layer = k;
    }
    n.type = f.type;
    n.size = f.size;
    n.mode = f.mode;
    n.uid = f.uid;
    n.gid = f.gid;
    n.implicit = false;
  }
}

} // namespace

Result<std::vector<TreeRow>> tree_rows(const Audit &audit, const TreeOptions &opt) {
  if (audit.layers.empty())
    return std::vector<TreeRow>{};
  size_t last = audit.layers.size() - 1;
  if (opt.layer && *opt.layer > last)
    return fail(Errc::invalid_argument, "cannot show the tree as of layer " +
                                            std::to_string(*opt.layer) +
                                            ": the image has layers 0 to " + std::to_string(last));
  size_t upto = opt.layer.value_or(last);
  Tree tree;
  for (size_t k = 0; k <= upto; ++k)
    apply_layer(tree, audit.layers[k], k);

  std::vector<TreeRow> rows;
  std::vector<bool> changed;
  std::vector<size_t> stack; // indices of the rows that are ancestors of the current one
  for (const auto &[path, n] : tree) {
    bool is_live = live(n);
    FileStatus status = n.status;
    if (opt.layer) {
      if (!is_live && n.layer != upto)
        continue; // deleted before this layer: not part of its tree
      if (n.layer != upto)
        status = FileStatus::unchanged;
    }
    if (!is_live && !opt.show_deleted)
      continue;
    while (!stack.empty() && !is_under(path, rows[stack.back()].path))
      stack.pop_back();
    TreeRow row;
    row.path = path;
    size_t slash = path.rfind('/');
    row.name = slash == std::string::npos ? path : path.substr(slash + 1);
    row.depth = stack.size();
    row.type = n.type;
    row.size = n.size;
    row.status = status;
    row.layer = n.layer;
    row.mode = n.mode;
    row.uid = n.uid;
    row.gid = n.gid;
    // Final view: "changes" are what came after the base layer.
    bool is_change = opt.layer ? status != FileStatus::unchanged : (n.layer > 0 || !is_live);
    if (is_live && n.type != EntryType::dir)
      for (size_t a : stack) // a live path's parents are live too
        rows[a].size += n.size;
    if (is_change)
      for (size_t a : stack)
        changed[a] = true;
    rows.push_back(std::move(row));
    changed.push_back(is_change);
    if (n.type == EntryType::dir)
      stack.push_back(rows.size() - 1);
  }
  if (!opt.changes_only)
    return rows;
  std::vector<TreeRow> kept;
  for (size_t i = 0; i < rows.size(); ++i)
    if (changed[i])
      kept.push_back(std::move(rows[i]));
  return kept;
}

} // namespace ctk::rt::image
