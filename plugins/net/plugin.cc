// The net plugin: container networking across runtimes.
//
//   ctk net topology [TARGET]      namespaces, bridges, veths and their owners, addresses, routes
//   ctk net rules [TARGET]         the netfilter rules that can touch a container's traffic
//   ctk net trace --from A --to B  a packet's path hop by hop, the rule that decided it, the drop reason
#include "commands.h"

namespace ctk::plugins::net {
namespace {

template <class T, size_t N> constexpr size_t count(const T (&)[N]) {
  return N;
}

#define TARGET_HELP                                                                                \
  "A container (name, ID prefix, docker://NAME, podman://NAME, containerd://NS/ID, crio://ID) "    \
  "or a host PID (pid://N or N)"

// ---- net topology ---------------------------------------------------------
const ctk_positional_v1 kTopologyPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL, "Only this container's namespace and its path to the host"},
};
const ctk_column_v1 kTopologyColumns[] = {
    {"Namespace", "NETNS", CTK_COL_STRING, 0, "Network namespace (container name, or host)"},
};

// ---- net rules ------------------------------------------------------------
const ctk_positional_v1 kRulesPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL, "Only rules that can touch this container's traffic"},
};
const ctk_column_v1 kRulesColumns[] = {
    {"Table", "TABLE", CTK_COL_STRING, 0, "Family and table"},
};

// ---- net trace ------------------------------------------------------------
const ctk_option_v1 kTraceOptions[] = {
    {"from", 0, 0, CTK_ARG_STRING, "A", nullptr, "Sender: a container, a host PID or an address"},
    {"to", 0, 0, CTK_ARG_STRING, "B", nullptr, "Receiver: a container, a host PID or an address"},
};
const ctk_column_v1 kTraceColumns[] = {
    {"Time", "TIME", CTK_COL_STRING, 0, "When it was seen"},
};

const ctk_command_v1 kCommands[] = {
    {"net topology", "Network namespaces, bridges, veths and the containers that own them",
     "[OPTIONS] [TARGET]", "", nullptr, 0, kTopologyPositionals, count(kTopologyPositionals),
     kTopologyColumns, count(kTopologyColumns), 0, &rt::plugin::entry<run_topology>},
    {"net rules", "The netfilter rules that can touch a container's traffic, with counters",
     "[OPTIONS] [TARGET]", "", nullptr, 0, kRulesPositionals, count(kRulesPositionals),
     kRulesColumns, count(kRulesColumns), 0, &rt::plugin::entry<run_rules>},
    {"net trace", "Follow packets from A to B: each hop, the rule that decided, the drop reason",
     "--from A --to B [OPTIONS]", "", kTraceOptions, count(kTraceOptions), nullptr, 0,
     kTraceColumns, count(kTraceColumns), CTK_CMD_STREAM, &rt::plugin::entry<run_trace>},
};

} // namespace
} // namespace ctk::plugins::net

CTK_DEFINE_PLUGIN("net", "Container networking: topology, netfilter rules, packet tracing",
                  ctk::plugins::net::kCommands)
