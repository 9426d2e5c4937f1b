// The commands of the layers plugin, one file each, and what they share.
#pragma once

#include <string>

#include "ctk/runtime/image_audit.h"
#include "ctk/runtime/image_source.h"
#include "ctk/runtime/image_store.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::layers {

using rt::plugin::Call;

int run_layers(Call &call);
int run_tree(Call &call);
int run_summary(Call &call);
int run_findings(Call &call);
int run_ci(Call &call);
int run_diff(Call &call);          // cmd_diff.cc
int run_diff_packages(Call &call);

// The audit of the image named by the call's first argument (see open_image).
// Errors name the image.
rt::Result<rt::image::Audit> audit_image(const Call &call);
// The image a reference names, through the one image resolver (ctk's store
// under --root, archives, docker-daemon:, containers-storage:).
rt::Result<rt::image::OpenedImage> open_image(const Call &call, const std::string &ref);

std::string_view entry_type_name(rt::image::EntryType t);
std::string_view status_name(rt::image::FileStatus s);
std::string mode_string(mode_t mode); // "0755"

} // namespace ctk::plugins::layers
