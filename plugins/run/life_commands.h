// The lifecycle commands that read a container's record rather than run it:
// inspect, logs, top, port, commit, system check/prune (one file each,
// cmd_<name>.cc). The run plugin's command table takes them with
// CTK_LIFE_COMMANDS:
//
//   #include "life_commands.h"
//   const ctk_command_v1 kCommands[] = {
//       {"run", ...}, {"ps", ...},
//       CTK_LIFE_COMMANDS};
#pragma once

#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/plugin.h"

namespace ctk::plugins::run::life {

using rt::plugin::Call;

int run_inspect(Call &call);      // cmd_inspect.cc
int run_logs(Call &call);         // cmd_logs.cc
int run_top(Call &call);          // cmd_top.cc
int run_port(Call &call);         // cmd_port.cc
int run_commit(Call &call);       // cmd_commit.cc
int run_system_check(Call &call); // cmd_system.cc
int run_system_prune(Call &call);

inline rt::container::Paths paths_of(const Call &call) {
  rt::container::Paths p;
  p.root = call.root();
  p.run_root = call.run_root();
  return p;
}

template <class T, size_t N> constexpr size_t count(const T (&)[N]) { return N; }

// ---- inspect -------------------------------------------------------------------
// One record per container: docker's whole document. The table shows a
// summary; --format json gives docker inspect's JSON array, and templates
// reach any field ({{.State.Pid}}, {{json .Config}}).
inline const ctk_positional_v1 kInspectPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_VARIADIC,
     "Containers: ctk names or IDs (others through the resolver: docker://web, pid://N)"},
};
inline const ctk_column_v1 kInspectColumns[] = {
    {"Id", "CONTAINER ID", CTK_COL_ID, CTK_COL_QUIET, "Full container ID"},
    {"Name", "NAME", CTK_COL_STRING, 0, "Name, with docker's leading /"},
    {"State.Status", "STATUS", CTK_COL_STRING, 0, "created, running, exited"},
    {"State.Pid", "PID", CTK_COL_INT, 0, "Host PID of the container's PID 1 (0 when stopped)"},
    {"Config.Image", "IMAGE", CTK_COL_STRING, 0, "Image as the user named it"},
    {"NetworkSettings.IPAddress", "IP", CTK_COL_STRING, 0, "Address on the bridge"},
    {"Created", "CREATED", CTK_COL_TIMESTAMP, CTK_COL_HIDDEN, "Creation time (RFC 3339)"},
    {"Path", "PATH", CTK_COL_STRING, CTK_COL_HIDDEN, "The command's executable"},
    {"Args", "ARGS", CTK_COL_LIST, CTK_COL_HIDDEN, "The command's arguments"},
    {"State", "STATE", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Status, Running, Paused, Restarting, OOMKilled, Dead, Pid, ExitCode, Error, StartedAt, "
     "FinishedAt"},
    {"Image", "IMAGE ID", CTK_COL_ID, CTK_COL_HIDDEN, "Image ID (config digest)"},
    {"ResolvConfPath", "RESOLV.CONF", CTK_COL_STRING, CTK_COL_HIDDEN, "Host path"},
    {"HostnamePath", "HOSTNAME PATH", CTK_COL_STRING, CTK_COL_HIDDEN, "Host path"},
    {"HostsPath", "HOSTS PATH", CTK_COL_STRING, CTK_COL_HIDDEN, "Host path"},
    {"LogPath", "LOG PATH", CTK_COL_STRING, CTK_COL_HIDDEN, "The json-file log"},
    {"RestartCount", "RESTARTS", CTK_COL_INT, CTK_COL_HIDDEN, "Always 0"},
    {"Driver", "DRIVER", CTK_COL_STRING, CTK_COL_HIDDEN, "overlay"},
    {"Platform", "PLATFORM", CTK_COL_STRING, CTK_COL_HIDDEN, "linux"},
    {"HostConfig", "HOST CONFIG", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "NetworkMode, PortBindings, AutoRemove, CapAdd, CapDrop, Privileged, ReadonlyRootfs, "
     "Memory, NanoCpus, PidsLimit, ..."},
    {"GraphDriver", "GRAPH DRIVER", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Name, Data{LowerDir, UpperDir, WorkDir, MergedDir}"},
    {"Mounts", "MOUNTS", CTK_COL_OBJECT, CTK_COL_HIDDEN, "[{Type, Source, Destination, Mode, RW}]"},
    {"Config", "CONFIG", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Hostname, User, Env, Cmd, Entrypoint, Image, WorkingDir, Labels, Tty, OpenStdin, ..."},
    {"NetworkSettings", "NETWORK", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "IPAddress, Gateway, MacAddress, Ports{\"80/tcp\": [{HostIp, HostPort}]}, Networks"},
};

// ---- logs --------------------------------------------------------------------
inline const ctk_option_v1 kLogsOptions[] = {
    {"follow", 'f', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Keep printing new lines until the container exits (or ^C)"},
    {"tail", 'n', 0, CTK_ARG_STRING, "N", "all", "Only the last N lines"},
    {"timestamps", 't', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Prefix each line with its RFC 3339 time"},
    {"since", 0, 0, CTK_ARG_STRING, "TIME", nullptr,
     "Only lines from TIME on: RFC 3339, unix seconds, or a duration ago (10m, 1h30m)"},
};
inline const ctk_positional_v1 kContainerPositional[] = {
    {"CONTAINER", CTK_ARG_CONTAINER, 0, "ctk container name or ID (prefix)"},
};

// ---- top ---------------------------------------------------------------------
inline const ctk_positional_v1 kTopPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, 0,
     "Container of any runtime: ctk name/ID, docker://web, podman://db, pid://N"},
};
inline const ctk_column_v1 kTopColumns[] = {
    {"User", "UID", CTK_COL_STRING, 0, "User name of the real uid (the host's names)"},
    {"PID", "PID", CTK_COL_INT, CTK_COL_QUIET, "Host PID"},
    {"ContainerPID", "CONTAINER PID", CTK_COL_INT, 0, "PID inside the container's PID namespace"},
    {"PPID", "PPID", CTK_COL_INT, 0, "Host PID of the parent"},
    {"State", "STATE", CTK_COL_STRING, 0, "R, S, D, Z, ..."},
    {"Started", "STIME", CTK_COL_TIMESTAMP, 0, "Start time (unix seconds)"},
    {"Command", "CMD", CTK_COL_STRING, CTK_COL_WIDE, "Command line ([comm] when empty)"},
    {"UID", "UID NUMBER", CTK_COL_INT, CTK_COL_HIDDEN, "Real uid"},
    {"NSpid", "NSPID", CTK_COL_LIST, CTK_COL_HIDDEN, "The whole NSpid chain, host first"},
};

// ---- port --------------------------------------------------------------------
inline const ctk_positional_v1 kPortPositionals[] = {
    {"CONTAINER", CTK_ARG_CONTAINER, 0, "ctk container name or ID (prefix)"},
    {"PRIVATE_PORT", CTK_ARG_STRING, CTK_POS_OPTIONAL, "PORT[/PROTO] inside the container"},
};
inline const ctk_column_v1 kPortColumns[] = {
    {"Port", "PORT", CTK_COL_STRING, 0, "Container port/protocol: 80/tcp"},
    {"Binding", "BINDING", CTK_COL_STRING, 0, "Host address and port: 0.0.0.0:8080"},
    {"HostIp", "HOST IP", CTK_COL_STRING, CTK_COL_HIDDEN, "Host address (0.0.0.0 = all)"},
    {"HostPort", "HOST PORT", CTK_COL_STRING, CTK_COL_HIDDEN, "Host port"},
    {"Mapping", "MAPPING", CTK_COL_STRING, CTK_COL_HIDDEN,
     "docker port's line: 80/tcp -> 0.0.0.0:8080"},
};

// ---- commit ------------------------------------------------------------------
inline const ctk_option_v1 kCommitOptions[] = {
    {"author", 'a', 0, CTK_ARG_STRING, "AUTHOR", nullptr, "Author (\"Name <mail>\")"},
    {"message", 'm', 0, CTK_ARG_STRING, "TEXT", nullptr, "Comment of the history entry"},
    {"change", 'c', CTK_OPT_MULTI, CTK_ARG_STRING, "INSTRUCTION", nullptr,
     "Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, "
     "WORKDIR (repeatable)"},
    {"pause", 'p', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_STRING, "true|false", "true",
     "Freeze a running container during the commit (--pause=false: do not)"},
};
inline const ctk_positional_v1 kCommitPositionals[] = {
    {"CONTAINER", CTK_ARG_CONTAINER, 0, "ctk container name or ID (prefix); may be stopped"},
    {"NAME", CTK_ARG_STRING, CTK_POS_OPTIONAL, "NAME[:TAG] of the new image"},
};
inline const ctk_column_v1 kCommitColumns[] = {
    {"ID", "IMAGE ID", CTK_COL_STRING, CTK_COL_QUIET, "New image ID: sha256:<config digest>"},
    {"Name", "NAME", CTK_COL_STRING, CTK_COL_HIDDEN, "Its name, when given"},
    {"Layer", "LAYER", CTK_COL_STRING, CTK_COL_HIDDEN, "Digest of the new layer blob (gzip)"},
    {"DiffID", "DIFF ID", CTK_COL_STRING, CTK_COL_HIDDEN, "Digest of the uncompressed layer"},
    {"LayerSize", "LAYER SIZE", CTK_COL_BYTES, CTK_COL_HIDDEN, "Compressed size of the layer"},
};

// ---- system ------------------------------------------------------------------
inline const ctk_column_v1 kSystemColumns[] = {
    {"Kind", "KIND", CTK_COL_STRING, 0, "mount, cgroup, network, state"},
    {"ID", "ID", CTK_COL_ID, 0, "Container ID it belonged to"},
    {"What", "WHAT", CTK_COL_STRING, CTK_COL_WIDE, "The leftover, and why it is one"},
    {"Action", "ACTION", CTK_COL_STRING, CTK_COL_HIDDEN, "prune: what was done"},
};

} // namespace ctk::plugins::run::life

// The entries, for the run plugin's command table.
#define CTK_LIFE_COMMANDS                                                                          \
  {"inspect", "Show the full record of containers (docker inspect's document)", "TARGET...",      \
   "One document per container with docker's keys (State.Pid, NetworkSettings.IPAddress, "        \
   "Config, Mounts, HostConfig, GraphDriver), so --format strings written for docker work; "     \
   "--format json prints docker inspect's JSON array. The table is a summary.",                   \
   nullptr, 0, ::ctk::plugins::run::life::kInspectPositionals,                                    \
   ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kInspectPositionals),              \
   ::ctk::plugins::run::life::kInspectColumns,                                                    \
   ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kInspectColumns), 0,               \
   &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_inspect>},                            \
      {"logs", "Print a container's output", "[-f] [--tail N] [-t] [--since TIME] CONTAINER",     \
       "From the json-file log the monitor keeps: stdout lines to stdout, stderr lines to "       \
       "stderr. Works after the container exited.",                                                \
       ::ctk::plugins::run::life::kLogsOptions,                                                   \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kLogsOptions),                 \
       ::ctk::plugins::run::life::kContainerPositional, 1, nullptr, 0, CTK_CMD_NO_OUTPUT,         \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_logs>},                           \
      {"top", "Show the processes of a container", "TARGET",                                       \
       "Every process in the container (its cgroup, or its PID namespace), with the host PID "    \
       "and the PID inside the container. Any runtime's container.",                               \
       nullptr, 0, ::ctk::plugins::run::life::kTopPositionals, 1,                                  \
       ::ctk::plugins::run::life::kTopColumns,                                                    \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kTopColumns), 0,               \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_top>},                            \
      {"port", "Show a container's published ports", "CONTAINER [PRIVATE_PORT[/PROTO]]",          \
       "One row per binding; --format '{{.Mapping}}' prints docker port's lines.", nullptr, 0,    \
       ::ctk::plugins::run::life::kPortPositionals, 2, ::ctk::plugins::run::life::kPortColumns,   \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kPortColumns), 0,              \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_port>},                           \
      {"commit", "Create an image from a container's changes",                                    \
       "[-a AUTHOR] [-m TEXT] [-c INSTRUCTION]... CONTAINER [NAME[:TAG]]",                        \
       "The container's upper directory becomes a new gzip layer (OCI whiteouts) over its "       \
       "image's layers, with a history entry; --change edits the config as docker's. Works on "   \
       "stopped containers.",                                                                      \
       ::ctk::plugins::run::life::kCommitOptions,                                                 \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kCommitOptions),               \
       ::ctk::plugins::run::life::kCommitPositionals, 2,                                          \
       ::ctk::plugins::run::life::kCommitColumns,                                                 \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kCommitColumns), 0,            \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_commit>},                         \
      {"system check", "List what dead containers left behind",                                   \
       nullptr,                                                                                    \
       "Overlay mounts of stopped containers, state of containers whose monitor died, network "   \
       "endpoints of gone containers (veth, address, nftables rules), empty "                     \
       "/ctk cgroups no container owns, cgroups of dead containers. Exits 1 when there is any.",  \
       nullptr, 0, nullptr, 0, ::ctk::plugins::run::life::kSystemColumns,                         \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kSystemColumns), 0,            \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_system_check>},                   \
      {"system prune", "Remove what dead containers left behind", nullptr,                        \
       "What system check lists: unmounts, removes cgroups, detaches network endpoints, marks "   \
       "dead containers exited "                                                                 \
       "(removing --rm ones), and prints what it removed.",                                        \
       nullptr, 0, nullptr, 0, ::ctk::plugins::run::life::kSystemColumns,                         \
       ::ctk::plugins::run::life::count(::ctk::plugins::run::life::kSystemColumns), 0,            \
       &::ctk::rt::plugin::entry<::ctk::plugins::run::life::run_system_prune>}
