// The commands of the images plugin, one file each, and what they share.
#pragma once

#include "ctk/runtime/image_store.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::images {

using rt::plugin::Call;

int run_load(Call &call);
int run_save(Call &call);
int run_import(Call &call);
int run_images(Call &call);
int run_tag(Call &call);
int run_rmi(Call &call);
int run_history(Call &call);

// The store under the call's --root.
rt::Result<rt::image::Store> open_store(const Call &call);
// Progress reports through the host (a bar on a terminal, nothing on a pipe).
rt::image::ProgressFn progress_of(const Call &call);
// The config's "created" (RFC 3339), or "" when absent.
std::string created_of(const nlohmann::json &config);
// Sum of the blob sizes of an image's layers.
uint64_t image_size(const rt::image::Store &store, const rt::image::Image &img);

} // namespace ctk::plugins::images
