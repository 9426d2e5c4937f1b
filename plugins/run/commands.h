// The commands that run and control ctk's containers (run, ps, start, stop,
// kill, rm, wait), one file each, and what they share. The record-reading
// lifecycle commands are declared in life_commands.h.
#pragma once

#include "ctk/runtime/container.h"
#include "ctk/runtime/image_store.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::run {

using rt::plugin::Call;

int run_run(Call &call);
int run_ps(Call &call);
int run_start(Call &call);
int run_stop(Call &call);
int run_kill(Call &call);
int run_rm(Call &call);
int run_wait(Call &call);

rt::container::Paths container_paths(const Call &call);
// A ctk container's ID from a name, ID, ID prefix or ctk://NAME.
rt::Result<std::string> find_ctk(const Call &call, std::string_view target);
// Runs a started container in the foreground: copies input (-i, -t), passes
// signals and the window size, and returns the container's exit status.
int attach_foreground(Call &call, rt::container::Started &started, bool tty, bool interactive);
// Registers `c` (a hostname "<id>" becomes the short ID), starts it with
// `so` and, unless detached, attaches to it: run's and debug's common end.
// A start that fails removes the container again.
int create_and_run(Call &call, rt::container::ContainerConfig &c, rt::container::StartOptions &so);
// The image's defaults in a container's config (docker's: Env, Entrypoint,
// Cmd, WorkingDir, User) and its IDs.
rt::Result<void> apply_image(rt::image::Store &store, const rt::image::Image &img,
                             rt::container::ContainerConfig &c);

} // namespace ctk::plugins::run
