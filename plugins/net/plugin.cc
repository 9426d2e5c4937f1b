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
#define ENDPOINT_HELP                                                                              \
  "a container (name, ID prefix, docker://NAME, ...), a host PID (pid://N) or an IPv4 address"
const ctk_option_v1 kTraceOptions[] = {
    {"from", 0, 0, CTK_ARG_TARGET, "A", nullptr, "Sender: " ENDPOINT_HELP},
    {"to", 0, 0, CTK_ARG_TARGET, "B", nullptr, "Receiver: " ENDPOINT_HELP " (ADDR:PORT sets --dport)"},
    {"proto", 0, 0, CTK_ARG_STRING, "P", "tcp", "Protocol of the flow: tcp, udp or icmp"},
    {"dport", 0, 0, CTK_ARG_INT, "N", nullptr, "Destination port of the flow (tcp, udp)"},
    {"probe", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Send the flow's packets from inside A's network namespace (TCP SYN, UDP datagram, ICMP echo)"},
    {"count", 0, 0, CTK_ARG_INT, "N", "1",
     "Packets to report (with --probe: packets sent, one after the other's verdict)"},
    {"timeout", 0, 0, CTK_ARG_STRING, "S", "5",
     "Seconds to wait for each packet's verdict (a failed neighbour resolution takes about 3 s)"},
};
const ctk_column_v1 kTraceColumns[] = {
    {"Packet", "PKT", CTK_COL_INT, 0, "Packet number (0: not tied to a probe packet)"},
    {"Time", "TIME", CTK_COL_STRING, 0, "Seconds since the trace started"},
    {"Netns", "NETNS", CTK_COL_STRING, 0, "Network namespace (container, /run/netns name, host)"},
    {"Event", "EVENT", CTK_COL_STRING, 0,
     "hop, rule, policy, sent, answer, fib, link, verdict, summary"},
    {"Where", "WHERE", CTK_COL_STRING, 0, "Device and direction, or family/table/chain and rule handle"},
    {"Verdict", "VERDICT", CTK_COL_STRING, 0, "The rule's verdict, or the packet's end"},
    {"Tuple", "TUPLE", CTK_COL_STRING, 0, "The packet as seen there (shows address translation)"},
    {"Detail", "DETAIL", CTK_COL_STRING, CTK_COL_WIDE, "Rule comment and text, reason, explanation"},
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
