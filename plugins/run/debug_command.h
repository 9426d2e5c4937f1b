// ctk debug (cmd_debug.cc): a toolbox container beside another container,
// or beside an image. The run plugin's command table takes it with
// CTK_DEBUG_COMMAND, as it takes the lifecycle commands (life_commands.h).
#pragma once

#include "ctk/runtime/plugin.h"

namespace ctk::plugins::run::debug {

using rt::plugin::Call;

int run_debug(Call &call); // cmd_debug.cc

inline const ctk_option_v1 kDebugOptions[] = {
    {"image", 0, 0, CTK_ARG_IMAGE, "IMAGE", "ctk-debug:busybox",
     "Toolbox image (the default is built from the host's busybox-static on first use)"},
    {"share", 0, 0, CTK_ARG_STRING, "pid,net,ipc", "pid,net,ipc",
     "Namespaces of the target to join (comma-separated; none: only /target)"},
    {"read-only", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Mount the target's root at /target read-only"},
    {"rm", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Remove the debug container when it exits"},
    {"name", 0, 0, CTK_ARG_STRING, "NAME", nullptr, "Name of the debug container"},
    {"privileged", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Every capability, no seccomp, nothing masked"},
};
inline const ctk_positional_v1 kDebugPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, 0,
     "Container of any runtime (web, docker://web, podman://db, pid://N) or a ctk image"},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_OPTIONAL | CTK_POS_VARIADIC,
     "Command and arguments (default: the image's, else sh)"},
};

} // namespace ctk::plugins::run::debug

#define CTK_DEBUG_COMMAND                                                                          \
  {"debug", "Start a toolbox container beside a container or an image",                           \
   "[--image IMAGE] [--share pid,net,ipc] [--read-only] [--rm] TARGET [COMMAND [ARG...]]",        \
   "A container from IMAGE that joins TARGET's pid, net (and uts) and ipc namespaces, with "      \
   "TARGET's root filesystem at /target, so a container without a shell can be inspected. "       \
   "TARGET may be an image instead: its layers are mounted at /target (writes go to the debug "   \
   "container's own upper dir). Interactive (-ti) when stdin is a terminal; exits with the "      \
   "command's status. Options end at TARGET.",                                                      \
   ::ctk::plugins::run::debug::kDebugOptions, std::size(::ctk::plugins::run::debug::kDebugOptions), \
   ::ctk::plugins::run::debug::kDebugPositionals,                                                 \
   std::size(::ctk::plugins::run::debug::kDebugPositionals), nullptr, 0,                          \
   CTK_CMD_INTERACTIVE | CTK_CMD_STOP_AT_POSITIONAL,                                              \
   &::ctk::rt::plugin::entry<::ctk::plugins::run::debug::run_debug>}
