// The exec plugin's command table.
#include "commands.h"

namespace ctk::plugins::exec {
namespace {

template <class T, size_t N> constexpr size_t count(const T (&)[N]) {
  return N;
}

// docker exec's options, in its order, and ctk's --keep-host-fs.
const ctk_option_v1 kExecOptions[] = {
    {"detach", 'd', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Detached mode: run command in the background"},
    {"env", 'e', CTK_OPT_MULTI, CTK_ARG_STRING, "KEY=VALUE", nullptr,
     "Set environment variables (KEY alone: its value here)"},
    {"env-file", 0, CTK_OPT_MULTI, CTK_ARG_PATH, "FILE", nullptr,
     "Read in a file of environment variables"},
    {"interactive", 'i', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Keep STDIN open even if not attached"},
    {"privileged", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Give extended privileges to the command (all capabilities, no seccomp filter, no LSM "
     "label)"},
    {"tty", 't', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Allocate a pseudo-TTY (from the container's own devpts)"},
    {"user", 'u', 0, CTK_ARG_STRING, "USER[:GROUP]", nullptr,
     "Username or UID, optionally with a group or GID, from the container's /etc/passwd and "
     "/etc/group"},
    {"workdir", 'w', 0, CTK_ARG_PATH, "DIR", nullptr, "Working directory inside the container"},
    {"keep-host-fs", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Join every namespace but the mount namespace: the host's files, the target's /proc and "
     "/sys, its root at /target"},
};

const ctk_positional_v1 kExecPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, 0, "Container (any runtime) or host PID"},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_VARIADIC, "Command and arguments"},
};

// util-linux nsenter's options, spelled and ordered as its --help (2.40).
const ctk_option_v1 kNsenterOptions[] = {
    {"all", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "enter all namespaces"},
    {"target", 't', 0, CTK_ARG_TARGET, "PID", nullptr,
     "target process to get namespaces from (or a container of any runtime)"},
    {"mount", 'm', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "enter mount namespace"},
    {"uts", 'u', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr,
     "enter UTS namespace (hostname etc)"},
    {"ipc", 'i', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr,
     "enter System V IPC namespace"},
    {"net", 'n', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "enter network namespace"},
    {"pid", 'p', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "enter pid namespace"},
    {"cgroup", 'C', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr,
     "enter cgroup namespace"},
    {"user", 'U', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "enter user namespace"},
    {"time", 'T', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "enter time namespace"},
    {"setuid", 'S', 0, CTK_ARG_INT, "UID", nullptr, "set uid in entered namespace"},
    {"setgid", 'G', 0, CTK_ARG_INT, "GID", nullptr, "set gid in entered namespace"},
    {"preserve-credentials", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "do not touch uids or gids"},
    {"root", 'r', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "DIR", nullptr, "set the root directory"},
    {"wd", 'w', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "DIR", nullptr, "set the working directory"},
    {"wdns", 'W', 0, CTK_ARG_PATH, "DIR", nullptr, "set the working directory in namespace"},
    {"env", 'e', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "inherit environment variables from target process"},
    {"no-fork", 'F', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "do not fork before exec'ing <program>"},
    {"join-cgroup", 'c', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "join the cgroup of the target process"},
};

const ctk_positional_v1 kNsenterPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL,
     "Container or PID, when -t is not given (first word)"},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_OPTIONAL | CTK_POS_VARIADIC,
     "Program and arguments (default: $SHELL, else /bin/sh)"},
};

const ctk_command_v1 kCommands[] = {
    {"exec", "Run a command in a running container", "[OPTIONS] TARGET COMMAND [ARG...]",
     "docker exec's options and meaning, for any runtime's container or a host PID. The command "
     "joins every namespace of the target's init process, its root, working directory, "
     "environment (from /proc/PID/environ; -e overrides), cgroups, capability bounding set, "
     "no_new_privs, seccomp filter and LSM label. Exit status: the command's; 126 not "
     "executable, 127 not found, 125 ctk could not enter. Options end at TARGET.",
     kExecOptions, count(kExecOptions), kExecPositionals, count(kExecPositionals), nullptr, 0,
     CTK_CMD_INTERACTIVE | CTK_CMD_STOP_AT_POSITIONAL, &rt::plugin::entry<run_exec>},
    {"nsenter", "Run a program with namespaces of other processes",
     "[OPTIONS] [TARGET] [PROGRAM [ARG...]]",
     "util-linux nsenter's options and meaning; -t also takes a container of any runtime, and a "
     "TARGET may be given as the first word instead of -t. Namespaces are joined in nsenter's "
     "order (the user namespace first or last, whichever keeps the privilege to join the rest).",
     kNsenterOptions, count(kNsenterOptions), kNsenterPositionals, count(kNsenterPositionals),
     nullptr, 0, CTK_CMD_INTERACTIVE | CTK_CMD_STOP_AT_POSITIONAL, &rt::plugin::entry<run_nsenter>},
};

} // namespace
} // namespace ctk::plugins::exec

CTK_DEFINE_PLUGIN("exec", "Enter containers and processes: exec, nsenter",
                  ctk::plugins::exec::kCommands)
