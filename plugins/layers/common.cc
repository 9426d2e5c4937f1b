#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::layers {
namespace img = rt::image;

rt::Result<img::Audit> audit_image(const Call &call) {
  const std::string ref = call.args().at(0);
  auto image = open_image(call, ref);
  if (!image)
    return tl::unexpected(image.error());
  auto a = img::audit_layers(img::audit_inputs(*image), {});
  if (!a)
    return rt::wrap(a, "cannot audit image " + ref);
  return a;
}

rt::Result<img::OpenedImage> open_image(const Call &call, const std::string &ref) {
  img::SourceOptions opt;
  opt.ctk_root = call.root();
  opt.cancelled = [&call] { return call.interrupted(); };
  // docker's and podman's stores are where discovery finds them (daemon
  // command lines, CONTAINERS_STORAGE_CONF, a stopped dockerd's data root
  // through its containers); that costs a /proc walk, so only for them.
  if (ref.starts_with("docker-daemon:") || ref.starts_with("containers-storage:")) {
    auto roots = rt::discovery::detect_roots({});
    if (!roots)
      return rt::wrap(roots, "cannot open image " + ref);
    opt.roots = std::move(*roots);
  }
  return img::open_image(ref, opt);
}

std::string_view entry_type_name(img::EntryType t) {
  switch (t) {
  case img::EntryType::file:
    return "file";
  case img::EntryType::dir:
    return "dir";
  case img::EntryType::symlink:
    return "symlink";
  case img::EntryType::hardlink:
    return "hardlink";
  case img::EntryType::chardev:
    return "chardev";
  case img::EntryType::blockdev:
    return "blockdev";
  case img::EntryType::fifo:
    return "fifo";
  }
  return "unknown";
}

std::string_view status_name(img::FileStatus s) {
  switch (s) {
  case img::FileStatus::added:
    return "added";
  case img::FileStatus::modified:
    return "modified";
  case img::FileStatus::deleted:
    return "deleted";
  case img::FileStatus::unchanged:
    break;
  }
  return "unchanged";
}

std::string mode_string(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

} // namespace ctk::plugins::layers
