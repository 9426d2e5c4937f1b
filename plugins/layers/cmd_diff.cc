// ctk diff IMAGE IMAGE: what changed from the first image to the second,
// path by path (A/D/C as docker diff); ctk diff CONTAINER: what a ctk
// container changed in its image (its overlay upper dir), as docker diff; and `ctk diff packages` (or
// `ctk diff --packages`): the packages added, removed, upgraded and
// downgraded according to the dpkg and apk databases the images carry.
#include <fmt/format.h>

#include <sys/stat.h>

#include <thread>

#include "commands.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/image_diff.h"

namespace ctk::plugins::layers {
namespace img = rt::image;
namespace {

struct Opened {
  img::OpenedImage a, b;
};

// Both references are resolved together: an archive is unpacked into a
// temporary store, and two of them are read on two threads.
rt::Result<Opened> open_both(const Call &call, const std::string &ra, const std::string &rb) {
  rt::Result<img::OpenedImage> second = rt::fail(rt::Errc::internal, "not opened");
  std::thread t([&] { second = open_image(call, rb); });
  auto first = open_image(call, ra);
  t.join();
  if (!first)
    return tl::unexpected(first.error());
  if (!second)
    return tl::unexpected(second.error());
  return Opened{std::move(*first), std::move(*second)};
}

rt::Result<img::DiffResult> diff_call(const Call &call, bool files, bool packages) {
  const auto args = call.args();
  if (args.size() != 2)
    return rt::fail(rt::Errc::invalid_argument,
                    fmt::format("diff takes two images, IMAGE IMAGE ({} given)", args.size()));
  auto opened = open_both(call, args[0], args[1]);
  if (!opened)
    return tl::unexpected(opened.error());
  img::DiffOptions opt;
  opt.files = files;
  opt.packages = packages;
  opt.a_name = "image " + args[0];
  opt.b_name = "image " + args[1];
  auto d = img::diff_images(img::audit_inputs(opened->a), img::audit_inputs(opened->b), opt);
  if (!d)
    return rt::wrap(d, fmt::format("cannot diff {} and {}", args[0], args[1]));
  return d;
}

std::string detail_of(const img::FileChange &c) {
  if (c.change != img::FileChangeKind::changed)
    return {};
  std::string out = img::diff_bits_string(c.what);
  if (c.what & img::diff_type)
    out += fmt::format(" ({} -> {})", entry_type_name(c.old_state.type),
                       entry_type_name(c.new_state.type));
  if (c.what & img::diff_link)
    out += fmt::format(" ({} -> {})", c.old_state.link_target, c.new_state.link_target);
  if (c.what & img::diff_owner)
    out += fmt::format(" ({}:{} -> {}:{})", c.old_state.uid, c.old_state.gid, c.new_state.uid,
                       c.new_state.gid);
  return out;
}

// One side of a change as an object; null where the path does not exist.
void side(rt::plugin::Record &r, std::string_view key, bool present, const img::FileState &s) {
  if (!present) {
    r.field(key, nullptr);
    return;
  }
  r.key(key).begin_object();
  r.field("Type", entry_type_name(s.type));
  r.field("Size", static_cast<unsigned long long>(s.size));
  r.field("Mode", mode_string(s.mode));
  r.field("Uid", static_cast<unsigned long long>(s.uid));
  r.field("Gid", static_cast<unsigned long long>(s.gid));
  if (s.type == img::EntryType::symlink || s.type == img::EntryType::hardlink)
    r.field("Target", s.link_target);
  else
    r.field("Target", nullptr);
  r.end_object();
}

std::string_view stat_type(mode_t m) {
  if (S_ISDIR(m))
    return "dir";
  if (S_ISLNK(m))
    return "symlink";
  if (S_ISCHR(m))
    return "chardev";
  if (S_ISBLK(m))
    return "blockdev";
  if (S_ISFIFO(m))
    return "fifo";
  return "file";
}

// ctk diff CONTAINER: the upper dir against the image's unpacked layers.
int run_container_diff(Call &call, const std::string &ref) {
  namespace ct = rt::container;
  ct::Paths paths;
  paths.root = call.root();
  paths.run_root = call.run_root();
  auto id = ct::find_container(paths, ref);
  // One argument that names no container is the two-image form missing its
  // second image: a usage error, as before the container form existed.
  if (!id)
    return call.fail(id.error().wrap("diff takes two images, IMAGE IMAGE, or one ctk container"),
                     id.error().code == rt::Errc::not_found ? 125 : 1);
  auto rec = ct::load_record(paths, *id);
  if (!rec)
    return call.fail(rec.error());
  auto store = img::Store::open(paths.root);
  if (!store)
    return call.fail(store.error());
  // Without its image's layers nothing can be told apart from added: refuse
  // rather than call every file new. Unpacking is a no-op when a run did it.
  auto image = store->resolve(!rec->config.image_manifest.empty() ? rec->config.image_manifest
                                                                  : rec->config.image_id);
  if (!image)
    return call.fail(image.error().wrap("cannot diff container " + ref + ": its image is gone"));
  if (auto u = store->unpack(*image); !u)
    return call.fail(u.error().wrap("cannot diff container " + ref));
  auto lowers = ct::image_lower_dirs(*store, rec->config);
  if (!lowers)
    return call.fail(lowers.error().wrap("cannot diff container " + ref));
  const std::string upper = paths.dir(*id) + "/upper";
  auto changes = ct::upper_changes(upper, *lowers);
  if (!changes)
    return call.fail(changes.error().wrap("cannot diff container " + ref));
  for (const auto &c : *changes) {
    auto r = call.record();
    r.field("Change", std::string(1, c.kind));
    r.field("Path", c.path);
    struct stat st {};
    const bool present = c.kind != 'D' && ::lstat((upper + c.path).c_str(), &st) == 0;
    r.field("Type", present ? stat_type(st.st_mode) : std::string_view());
    r.field("OldSize", nullptr);
    r.field("NewSize", present && S_ISREG(st.st_mode)
                           ? std::optional<unsigned long long>(st.st_size)
                           : std::nullopt);
    r.field("OldMode", nullptr);
    r.field("NewMode", present ? std::optional<std::string>(mode_string(st.st_mode & 07777))
                               : std::nullopt);
    r.field("Detail", "");
    r.field("Kind", c.kind == 'A' ? "added" : c.kind == 'D' ? "removed" : "changed");
  }
  return 0;
}

} // namespace

int run_diff(Call &call) {
  if (const auto args = call.args(); args.size() == 1)
    return run_container_diff(call, args[0]);
  auto d = diff_call(call, /*files=*/true, /*packages=*/false);
  if (!d)
    return call.fail(d.error());
  for (const img::FileChange &c : d->files) {
    const bool had = c.change != img::FileChangeKind::added;
    const bool has = c.change != img::FileChangeKind::removed;
    const img::FileState &now = has ? c.new_state : c.old_state;
    auto r = call.record();
    r.field("Change", std::string(1, img::change_letter(c.change)));
    r.field("Path", "/" + c.path);
    r.field("Type", entry_type_name(now.type));
    r.field("OldSize", had ? std::optional<unsigned long long>(c.old_state.size) : std::nullopt);
    r.field("NewSize", has ? std::optional<unsigned long long>(c.new_state.size) : std::nullopt);
    r.field("OldMode",
            had ? std::optional<std::string>(mode_string(c.old_state.mode)) : std::nullopt);
    r.field("NewMode",
            has ? std::optional<std::string>(mode_string(c.new_state.mode)) : std::nullopt);
    r.field("Detail", detail_of(c));
    r.field("Kind", img::change_name(c.change));
    r.key("What").begin_array();
    for (uint8_t bit = 1; bit != 0 && bit <= img::diff_link; bit <<= 1)
      if (c.what & bit)
        r.str(img::diff_bits_string(bit));
    r.end_array();
    side(r, "Old", had, c.old_state);
    side(r, "New", has, c.new_state);
  }
  return 0;
}

int run_diff_packages(Call &call) {
  auto d = diff_call(call, /*files=*/false, /*packages=*/true);
  if (!d)
    return call.fail(d.error());
  const auto args = call.args();
  if (!d->a_databases.any() && !d->b_databases.any()) {
    call.warn(fmt::format("neither {} nor {} has a package database (/{}, /{}/*, /{})", args[0],
                          args[1], img::kDpkgStatus, img::kDpkgStatusDir, img::kApkInstalled));
    return 0;
  }
  for (int i = 0; i < 2; ++i)
    if (!(i == 0 ? d->a_databases : d->b_databases).any())
      call.warn(fmt::format("{} has no package database: all packages of {} show as {}", args[i],
                            args[1 - i], i == 0 ? "added" : "removed"));
  for (const img::PackageChange &p : d->packages) {
    const bool had = p.change != img::PackageChangeKind::added;
    const bool has = p.change != img::PackageChangeKind::removed;
    auto r = call.record();
    r.field("Change", img::change_name(p.change));
    r.field("Package", p.name);
    r.field("OldVersion", had ? std::optional<std::string>(p.old_version) : std::nullopt);
    r.field("NewVersion", has ? std::optional<std::string>(p.new_version) : std::nullopt);
    r.field("OldSize", had ? std::optional<unsigned long long>(p.old_size) : std::nullopt);
    r.field("NewSize", has ? std::optional<unsigned long long>(p.new_size) : std::nullopt);
    r.field("Manager", img::manager_name(p.manager));
    r.field("Arch", p.arch);
  }
  return 0;
}

} // namespace ctk::plugins::layers
