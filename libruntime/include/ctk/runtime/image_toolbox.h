// The toolbox image ctk debug uses when none is named: busybox, built
// offline from the host's static busybox (Debian's busybox-static), the same
// image scripts/busybox-image.sh makes for the quickstart and the tests.
//
//   auto store = ctk::rt::image::Store::open("/var/lib/ctk");
//   auto img = ctk::rt::image::ensure_busybox_image(*store, {});   // built once
//   // img->names: {"docker.io/library/ctk-debug:busybox"}
#pragma once

#include <string>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

struct BusyboxImageOptions {
  std::string name = "ctk-debug:busybox";
  std::string busybox = "/bin/busybox"; // must be statically linked
};

// The image named `opt.name` in the store; when there is none, builds it: one
// layer with busybox at /bin/busybox and a symlink per applet where
// `busybox --list-full` puts it, /etc/passwd and /etc/group for root and
// nobody, /tmp; imported like `ctk import` does. not_found naming the
// package when busybox is missing, unsupported when it is not static (a
// dynamic one cannot run in an image without a libc).
Result<Image> ensure_busybox_image(Store &store, const BusyboxImageOptions &opt);

// True when `path` is an ELF executable without a program interpreter.
Result<bool> is_static_elf(const std::string &path);

} // namespace ctk::rt::image
