// diff_images: both images' layers are scanned by the audit's scanner on one
// pool of workers (a layer the two share is scanned once), each image's
// scans are merged into its final tree by the audit's merge, and the two
// sorted trees are walked side by side.
#include <algorithm>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "audit_internal.h"
#include "ctk/runtime/image_diff.h"

namespace ctk::rt::image {

using detail::MergedEntry;
using detail::PathLess;

char change_letter(FileChangeKind k) {
  switch (k) {
  case FileChangeKind::added:
    return 'A';
  case FileChangeKind::removed:
    return 'D';
  case FileChangeKind::changed:
    break;
  }
  return 'C';
}

std::string_view change_name(FileChangeKind k) {
  switch (k) {
  case FileChangeKind::added:
    return "added";
  case FileChangeKind::removed:
    return "removed";
  case FileChangeKind::changed:
    break;
  }
  return "changed";
}

std::string diff_bits_string(uint8_t bits) {
  static constexpr std::pair<uint8_t, std::string_view> names[] = {
      {diff_content, "content"}, {diff_mode, "mode"}, {diff_owner, "owner"},
      {diff_type, "type"},       {diff_link, "link"},
  };
  std::string out;
  for (auto [bit, name] : names)
    if (bits & bit)
      out.append(out.empty() ? "" : ",").append(name);
  return out;
}

namespace {

bool is_package_db(std::string_view path) {
  if (path == kDpkgStatus || path == kApkInstalled)
    return true;
  // distroless: one stanza file per package, beside .md5sums lists.
  return detail::parent_of(path) == kDpkgStatusDir && !path.ends_with(".md5sums");
}

FileState state_of(const MergedEntry &e) {
  FileState s;
  s.type = e.node.type;
  s.size = e.node.size;
  s.mode = e.node.mode;
  s.uid = e.node.uid;
  s.gid = e.node.gid;
  s.link_target = e.link_target;
  s.hash = e.hash;
  return s;
}

uint8_t compare_states(const FileState &a, const FileState &b) {
  uint8_t bits = 0;
  if (a.type != b.type) {
    bits |= diff_type;
  } else if (a.type == EntryType::symlink || a.type == EntryType::hardlink) {
    if (a.link_target != b.link_target)
      bits |= diff_link;
  } else if (a.size != b.size || a.hash != b.hash) {
    bits |= diff_content;
  }
  if ((a.mode & 07777) != (b.mode & 07777))
    bits |= diff_mode;
  if (a.uid != b.uid || a.gid != b.gid)
    bits |= diff_owner;
  return bits;
}

std::vector<FileChange> diff_trees(const std::vector<MergedEntry> &a,
                                   const std::vector<MergedEntry> &b) {
  std::vector<FileChange> out;
  PathLess less;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    FileChange c;
    if (j == b.size() || (i < a.size() && less(a[i].path, b[j].path))) {
      c.path = a[i].path;
      c.change = FileChangeKind::removed;
      c.old_state = state_of(a[i++]);
    } else if (i == a.size() || less(b[j].path, a[i].path)) {
      c.path = b[j].path;
      c.change = FileChangeKind::added;
      c.new_state = state_of(b[j++]);
    } else {
      c.old_state = state_of(a[i]);
      c.new_state = state_of(b[j]);
      c.what = compare_states(c.old_state, c.new_state);
      c.path = a[i].path;
      ++i, ++j;
      if (c.what == 0)
        continue;
      c.change = FileChangeKind::changed;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The databases of one final tree; `name` is the image, for errors.
Result<PackageDatabases> read_databases(const std::vector<MergedEntry> &tree,
                                        const std::string &name, uint64_t max_bytes) {
  PackageDatabases dbs;
  // The status file first, then status.d in path order: a package listed in
  // both is the same installation, kept once.
  std::vector<const MergedEntry *> found;
  for (const MergedEntry &e : tree)
    if (e.node.type == EntryType::file && is_package_db(e.path))
      found.push_back(&e);
  std::stable_partition(found.begin(), found.end(),
                        [](const MergedEntry *e) { return e->path == kDpkgStatus; });
  std::unordered_set<std::string> dpkg_seen;
  for (const MergedEntry *e : found) {
    auto where = [&] { return "cannot read the package database /" + e->path + " of " + name; };
    if (e->content_truncated)
      return fail(Errc::unsupported,
                  where() + ": larger than " + std::to_string(max_bytes) + " bytes");
    std::string_view text = e->content ? std::string_view(*e->content) : std::string_view();
    bool apk = e->path == kApkInstalled;
    auto pkgs = apk ? parse_apk_installed(text) : parse_dpkg_status(text);
    if (!pkgs)
      return wrap(pkgs, where());
    (apk ? dbs.apk : dbs.dpkg) = true;
    for (Package &p : *pkgs) {
      if (!apk) {
        if (!dpkg_seen.insert(p.name + ":" + p.arch).second)
          continue;
      }
      dbs.packages.push_back(std::move(p));
    }
  }
  return dbs;
}

struct Side {
  const std::vector<AuditLayerInput> *layers;
  const std::string *name;
  std::vector<size_t> scan_index; // per layer: index into the unique scans, or npos
  std::vector<MergedEntry> tree;
};

} // namespace

Result<DiffResult> diff_images(const std::vector<AuditLayerInput> &a,
                               const std::vector<AuditLayerInput> &b, const DiffOptions &opt) {
  constexpr size_t npos = static_cast<size_t>(-1);
  Side sides[2] = {{&a, &opt.a_name, {}, {}}, {&b, &opt.b_name, {}, {}}};

  // One scan per distinct layer: images built on one base share most of
  // their layers, and those are then read once for both.
  std::vector<const AuditLayerInput *> unique;
  std::unordered_map<std::string, size_t> by_digest;
  for (Side &s : sides) {
    for (const AuditLayerInput &l : *s.layers) {
      if (!l.open && l.empty_layer) {
        s.scan_index.push_back(npos);
        continue;
      }
      if (!l.digest.empty()) {
        auto [it, fresh] = by_digest.emplace(l.digest, unique.size());
        if (!fresh) {
          s.scan_index.push_back(it->second);
          continue;
        }
      }
      s.scan_index.push_back(unique.size());
      unique.push_back(&l);
    }
  }

  detail::Capture capture{is_package_db, opt.max_db_bytes};
  auto scans = detail::scan_layers(unique, opt.limits, opt.threads, /*sniff_content=*/false,
                                   opt.packages ? &capture : nullptr);

  for (Side &s : sides)
    for (size_t i = 0; i < s.scan_index.size(); ++i) {
      size_t k = s.scan_index[i];
      if (k != npos && !scans[k]) {
        const std::string &digest = (*s.layers)[i].digest;
        return wrap(scans[k], "cannot read " + *s.name + " layer " + std::to_string(i) +
                                  (digest.empty() ? "" : " (" + digest + ")"));
      }
    }

  // The two merges are independent: one on a second thread.
  auto merge = [&](Side &s) {
    std::vector<const detail::LayerScan *> order;
    for (size_t k : s.scan_index)
      if (k != npos)
        order.push_back(&*scans[k]);
    s.tree = detail::merge_final_tree(order);
  };
  unsigned threads =
      opt.threads ? opt.threads : std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  if (threads > 1) {
    std::thread t([&] { merge(sides[1]); });
    merge(sides[0]);
    t.join();
  } else {
    merge(sides[0]);
    merge(sides[1]);
  }
  scans.clear();

  DiffResult out;
  out.a_entries = sides[0].tree.size();
  out.b_entries = sides[1].tree.size();
  if (opt.files)
    out.files = diff_trees(sides[0].tree, sides[1].tree);
  if (opt.packages) {
    auto da = read_databases(sides[0].tree, opt.a_name, opt.max_db_bytes);
    if (!da)
      return tl::unexpected(da.error());
    auto db = read_databases(sides[1].tree, opt.b_name, opt.max_db_bytes);
    if (!db)
      return tl::unexpected(db.error());
    out.packages = diff_packages(da->packages, db->packages);
    out.a_databases = std::move(*da);
    out.b_databases = std::move(*db);
  }
  return out;
}

} // namespace ctk::rt::image
