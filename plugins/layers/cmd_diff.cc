// ctk diff IMAGE IMAGE: what changed from the first image to the second,
// path by path (A/D/C as docker diff), and `ctk diff packages` (or
// `ctk diff --packages`): the packages added, removed, upgraded and
// downgraded according to the dpkg and apk databases the images carry.
#include <fmt/format.h>

#include <thread>

#include "commands.h"
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

} // namespace

int run_diff(Call &call) {
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
