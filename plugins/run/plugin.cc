// The run plugin: ctk's own containers, docker's commands and flags.
//
//   ctk run --rm -ti busybox sh          ctk run -d --name web -p 8080:80 app
//   ctk ps -a       ctk stop web         ctk kill -s HUP web      ctk rm -f web
//   ctk start web   ctk wait web         (inspect, logs, top, port, commit, system: life_commands.h)
//
// Add a command: a cmd_<name>.cc with its run function (commands.h), and an
// entry in kCommands below.
#include "commands.h"
#include "debug_command.h"
#include "life_commands.h"

namespace ctk::plugins::run {
namespace {

template <class T, size_t N> constexpr size_t count(const T (&)[N]) { return N; }

const ctk_option_v1 kRunOptions[] = {
    {"tty", 't', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Allocate a pseudo-terminal"},
    {"interactive", 'i', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Keep stdin open"},
    {"detach", 'd', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Run in the background and print the container ID"},
    {"rm", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Remove the container when it exits (even if ctk was killed meanwhile)"},
    {"name", 0, 0, CTK_ARG_STRING, "NAME", nullptr, "Container name (unique)"},
    {"env", 'e', CTK_OPT_MULTI, CTK_ARG_STRING, "K=V", nullptr,
     "Set an environment variable (K alone: ctk's value)"},
    {"env-file", 0, CTK_OPT_MULTI, CTK_ARG_PATH, "FILE", nullptr, "Read K=V lines from FILE"},
    {"workdir", 'w', 0, CTK_ARG_STRING, "DIR", nullptr, "Working directory in the container"},
    {"user", 'u', 0, CTK_ARG_STRING, "USER[:GROUP]", nullptr,
     "User (name in the image's /etc/passwd, or numeric uid[:gid])"},
    {"hostname", 'h', 0, CTK_ARG_STRING, "NAME", nullptr, "Container hostname (default: short ID)"},
    {"volume", 'v', CTK_OPT_MULTI, CTK_ARG_STRING, "HOST:CTR[:ro]", nullptr,
     "Bind-mount a host path"},
    {"tmpfs", 0, CTK_OPT_MULTI, CTK_ARG_STRING, "PATH[:OPTS]", nullptr, "Mount a tmpfs"},
    {"publish", 'p', CTK_OPT_MULTI, CTK_ARG_STRING, "[IP:]HOST:CTR[/udp]", nullptr,
     "Publish a container port (bridge network)"},
    {"net", 0, 0, CTK_ARG_STRING, "bridge|host|none|container:TARGET", nullptr,
     "Network (default bridge)"},
    {"network", 0, 0, CTK_ARG_STRING, "bridge|host|none|container:TARGET", nullptr,
     "Same as --net"},
    {"pid", 0, 0, CTK_ARG_STRING, "host|container:TARGET", nullptr, "PID namespace"},
    {"ipc", 0, 0, CTK_ARG_STRING, "host|container:TARGET", nullptr, "IPC namespace"},
    {"uts", 0, 0, CTK_ARG_STRING, "host", nullptr, "UTS namespace"},
    {"privileged", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Every capability, no seccomp, nothing masked"},
    {"cap-add", 0, CTK_OPT_MULTI, CTK_ARG_STRING, "CAP", nullptr, "Add a capability (or ALL)"},
    {"cap-drop", 0, CTK_OPT_MULTI, CTK_ARG_STRING, "CAP", nullptr, "Drop a capability (or ALL)"},
    {"read-only", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Mount the root filesystem read-only"},
    {"init", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Run tini-static as PID 1 (forwards signals, reaps zombies)"},
    {"memory", 'm', 0, CTK_ARG_STRING, "BYTES", nullptr, "Memory limit (64m, 1g)"},
    {"cpus", 0, 0, CTK_ARG_STRING, "N", nullptr, "CPU limit in cores (0.5)"},
    {"pids-limit", 0, 0, CTK_ARG_INT, "N", nullptr, "Maximum number of processes"},
    {"entrypoint", 0, 0, CTK_ARG_STRING, "CMD", nullptr, "Override the image's entrypoint"},
    {"security-opt", 0, CTK_OPT_MULTI, CTK_ARG_STRING, "OPT", nullptr,
     "seccomp=FILE|unconfined, no-new-privileges"},
    {"label", 'l', CTK_OPT_MULTI, CTK_ARG_STRING, "K=V", nullptr, "Set a label"},
    {"allow-docker-forward", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Add ACCEPT rules for ctk's bridge to docker's DOCKER-USER chain, so docker's FORWARD "
     "policy DROP lets the container's traffic pass (removed with the bridge's last container)"},
};
const ctk_positional_v1 kRunPositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0, "Image name or ID"},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_OPTIONAL | CTK_POS_VARIADIC,
     "Command and arguments (default: the image's)"},
};

const ctk_option_v1 kPsOptions[] = {
    {"all", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Show stopped containers too"},
    {"latest", 'l', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Show the latest created container"},
    {"last", 'n', 0, CTK_ARG_INT, "N", nullptr, "Show the N latest created containers"},
    {"filter", 'f', CTK_OPT_MULTI, CTK_ARG_STRING, "KEY=VALUE", nullptr,
     "name=PART, id=PREFIX, status=running|exited|created"},
    {"runtime", 0, CTK_OPT_SHOWS_EXTRA, CTK_ARG_STRING, "ctk|all|docker|podman|...", "ctk",
     "Whose containers: all lists every runtime the resolver finds"},
};
const ctk_column_v1 kPsColumns[] = {
    {"ID", "CONTAINER ID", CTK_COL_ID, CTK_COL_QUIET, "Container ID"},
    {"Image", "IMAGE", CTK_COL_STRING, 0, "Image as the user named it"},
    {"Command", "COMMAND", CTK_COL_STRING, 0, "Entrypoint and command"},
    {"CreatedAt", "CREATED", CTK_COL_TIMESTAMP, 0, "When it was created"},
    {"Status", "STATUS", CTK_COL_STRING, 0, "Up 3 seconds, Exited (0) 2 seconds ago"},
    {"Ports", "PORTS", CTK_COL_STRING, 0, "Published ports"},
    {"Names", "NAMES", CTK_COL_STRING, 0, "Name"},
    {"Runtime", "RUNTIME", CTK_COL_STRING, CTK_COL_EXTRA, "Runtime (shown with --runtime)"},
    {"Pid", "PID", CTK_COL_INT, CTK_COL_EXTRA, "Host PID of PID 1, 0 when not running (shown with --runtime)"},
    {"State", "STATE", CTK_COL_STRING, CTK_COL_HIDDEN, "created, running, exited"},
    {"ExitCode", "EXIT CODE", CTK_COL_INT, CTK_COL_HIDDEN, "Exit code of the last run"},
};

const ctk_positional_v1 kContainers[] = {
    {"CONTAINER", CTK_ARG_CONTAINER, CTK_POS_VARIADIC, "ctk container names or IDs"},
};
const ctk_option_v1 kStopOptions[] = {
    {"time", 't', 0, CTK_ARG_INT, "SECONDS", "10", "Seconds to wait before SIGKILL"},
};
const ctk_option_v1 kKillOptions[] = {
    {"signal", 's', 0, CTK_ARG_STRING, "SIG", "KILL", "Signal (name or number)"},
};
const ctk_option_v1 kRmOptions[] = {
    {"force", 'f', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Kill a running container first"},
};
const ctk_option_v1 kStartOptions[] = {
    {"attach", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Attach output and wait; the exit code is the container's"},
    {"interactive", 'i', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Attach stdin"},
};

const ctk_command_v1 kCommands[] = {
    {"run", "Run a command in a new container", "[OPTIONS] IMAGE [COMMAND [ARG...]]",
     "docker run's flags. Without -d, ctk waits and exits with the container's status (125: "
     "ctk could not start it, 126: the command cannot be executed, 127: not found). Options end "
     "at IMAGE: what follows is the container's command.",
     kRunOptions, count(kRunOptions), kRunPositionals, count(kRunPositionals), nullptr, 0,
     CTK_CMD_INTERACTIVE | CTK_CMD_STOP_AT_POSITIONAL, &rt::plugin::entry<run_run>},
    {"ps", "List containers", "[-a] [-l] [-n N] [-q] [--filter K=V] [--runtime all]",
     "ctk's running containers (-a: all) newest first, with docker ps's columns.", kPsOptions,
     count(kPsOptions), nullptr, 0, kPsColumns, count(kPsColumns), 0, &rt::plugin::entry<run_ps>},
    {"start", "Start stopped containers", "[-a] [-i] CONTAINER...",
     "Runs the container's command again over the same upper directory.", kStartOptions,
     count(kStartOptions), kContainers, count(kContainers), nullptr, 0, CTK_CMD_INTERACTIVE,
     &rt::plugin::entry<run_start>},
    {"stop", "Stop running containers", "[-t SECONDS] CONTAINER...",
     "SIGTERM to PID 1, SIGKILL after the timeout; returns once the exit is recorded.",
     kStopOptions, count(kStopOptions), kContainers, count(kContainers), nullptr, 0,
     CTK_CMD_INTERACTIVE, &rt::plugin::entry<run_stop>},
    {"kill", "Send a signal to containers", "[-s SIGNAL] CONTAINER...", nullptr, kKillOptions,
     count(kKillOptions), kContainers, count(kContainers), nullptr, 0, CTK_CMD_INTERACTIVE,
     &rt::plugin::entry<run_kill>},
    {"rm", "Remove containers", "[-f] CONTAINER...",
     "Removes the container's directories, name, cgroup and network endpoint.", kRmOptions,
     count(kRmOptions), kContainers, count(kContainers), nullptr, 0, CTK_CMD_INTERACTIVE,
     &rt::plugin::entry<run_rm>},
    {"wait", "Wait for containers to exit and print their exit codes", "CONTAINER...", nullptr,
     nullptr, 0, kContainers, count(kContainers), nullptr, 0, CTK_CMD_INTERACTIVE,
     &rt::plugin::entry<run_wait>},
    CTK_DEBUG_COMMAND,
    CTK_LIFE_COMMANDS};

} // namespace
} // namespace ctk::plugins::run

CTK_DEFINE_PLUGIN("run", "ctk's containers: run, ps, start, stop, kill, rm, wait, inspect, logs",
                  ctk::plugins::run::kCommands)
