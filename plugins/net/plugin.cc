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
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL,
     "Only this container's namespace (or a host PID's, or the one holding an address), the "
     "host-side peers of its veths, their bridge and its other ports"},
};
const ctk_option_v1 kTopologyOptions[] = {
    {"tree", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "Namespace -> bridge -> ports -> veth peer -> container, as an indented tree"},
};
const ctk_column_v1 kTopologyColumns[] = {
    {"Netns", "NETNS", CTK_COL_STRING, 0,
     "Network namespace: host, container name(s), \"netns NAME\" (/run/netns) or netns:[inode]"},
    {"Iface", "IFACE", CTK_COL_STRING, 0, "Interface name"},
    {"Kind", "KIND", CTK_COL_STRING, 0, "veth, bridge, device, ..."},
    {"State", "STATE", CTK_COL_STRING, 0, "Operational state; down when set down"},
    {"MTU", "MTU", CTK_COL_INT, 0, "MTU"},
    {"Addresses", "ADDRESSES", CTK_COL_LIST, 0, "Addresses with prefix length"},
    {"Port", "MASTER/PORT STATE", CTK_COL_STRING, 0,
     "The bridge it is a port of, and the port's STP state (forwarding, disabled, ...)"},
    {"Peer", "PEER", CTK_COL_STRING, 0, "A veth's other end: namespace:interface"},
    {"PeerOwner", "PEER OWNER", CTK_COL_STRING, 0, "The container whose namespace holds the peer"},
    {"NetnsInode", "NETNS INODE", CTK_COL_INT, CTK_COL_HIDDEN, "Inode of the namespace"},
    {"NetnsOwner", "NETNS OWNER", CTK_COL_STRING, CTK_COL_HIDDEN,
     "The container owning the namespace (runtime://name)"},
    {"Host", "HOST", CTK_COL_BOOL, CTK_COL_HIDDEN, "The host's (pid 1's, the initial) namespace"},
    {"Ifindex", "IFINDEX", CTK_COL_INT, CTK_COL_HIDDEN, "Interface index"},
    {"MAC", "MAC", CTK_COL_STRING, CTK_COL_HIDDEN, "Link-layer address"},
    {"Up", "UP", CTK_COL_BOOL, CTK_COL_HIDDEN, "Administratively up (IFF_UP)"},
    {"Operstate", "OPERSTATE", CTK_COL_STRING, CTK_COL_HIDDEN, "Operational state (RFC 2863)"},
    {"Master", "MASTER", CTK_COL_STRING, CTK_COL_HIDDEN, "The device it is enslaved to"},
    {"PortState", "PORT STATE", CTK_COL_STRING, CTK_COL_HIDDEN, "Bridge port STP state"},
    {"PeerDetail", "PEER DETAIL", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Netns, NetnsInode, Iface, Ifindex, Master, Container of the veth peer"},
    {"AddressDetail", "ADDRESS DETAIL", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Family, Address, Prefix, Scope of each address"},
    {"Routes", "ROUTES", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Routes through it, every table: Family, Table, Type, Dst, Gateway, Dev, PrefSrc, Scope, "
     "Protocol, Metric"},
    {"Fdb", "FDB", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Bridge forwarding entries on it: MAC, Port, Master, Vlan, State (permanent, static, "
     "dynamic, stale), Self"},
    {"Neighbours", "NEIGHBOURS", CTK_COL_LIST, CTK_COL_HIDDEN,
     "ARP/NDP entries on it: Address, MAC, State"},
    {"Sysctls", "SYSCTLS", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Forwarding sysctls: ip_forward, bridge-nf-call-*, conf.all and conf.IF rp_filter, "
     "route_localnet, forwarding; EffectiveRpFilter"},
    {"NetnsRoutes", "NETNS ROUTES", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Routes of the namespace through no device (blackhole, unreachable, prohibit)"},
};
const ctk_column_v1 kTopologyTreeColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, CTK_COL_WIDE,
     "Namespace, bridge, port, interface, or a veth's peer (\"eth0 in web\"), indented"},
    {"Kind", "KIND", CTK_COL_STRING, 0, "netns, bridge, port, iface, peer"},
    {"State", "STATE", CTK_COL_STRING, 0, "Operational state, and the port state of a port"},
    {"Addresses", "ADDRESSES", CTK_COL_LIST, 0, "Addresses with prefix length"},
    {"Owner", "CONTAINER", CTK_COL_STRING, 0, "The container owning the namespace or the peer"},
    {"Depth", "DEPTH", CTK_COL_INT, CTK_COL_HIDDEN, "Level in the tree, 0 for a namespace"},
    {"Netns", "NETNS", CTK_COL_STRING, CTK_COL_HIDDEN, "Namespace of the interface"},
    {"Iface", "IFACE", CTK_COL_STRING, CTK_COL_HIDDEN, "Interface name"},
};

// ---- net rules ------------------------------------------------------------
const ctk_positional_v1 kRulesPositionals[] = {
    {"TARGET", CTK_ARG_TARGET, CTK_POS_OPTIONAL,
     "Only rules that can touch this container's traffic: all of its own namespace, and those of "
     "the namespace its veth peer is in (the bridge's) that can match its addresses, bridge or "
     "port; without TARGET every rule of the host's and each container's namespace"},
};
const ctk_column_v1 kRulesColumns[] = {
    {"Netns", "NETNS", CTK_COL_STRING, 0, "Network namespace (container name, host, netns NAME)"},
    {"Source", "SOURCE", CTK_COL_STRING, 0, "nft, iptables-nft or iptables-legacy"},
    {"Table", "FAMILY/TABLE", CTK_COL_STRING, 0, "Family and table (ip filter, inet labfw, ...)"},
    {"Chain", "CHAIN (HOOK/PRIO)", CTK_COL_STRING, 0,
     "Chain, with the hook and priority it runs at (a jumped-to chain: its caller's)"},
    {"Position", "#", CTK_COL_INT, 0, "Rule number in its chain (iptables -L --line-numbers)"},
    {"Handle", "HANDLE", CTK_COL_STRING, 0, "nftables rule handle (nft -a); - for legacy iptables"},
    {"Packets", "PKTS", CTK_COL_INT, 0, "Packets counted (empty: the rule has no counter)"},
    {"Bytes", "BYTES", CTK_COL_BYTES, 0, "Bytes counted"},
    {"Rule", "RULE", CTK_COL_STRING, CTK_COL_WIDE,
     "The rule in nft syntax, or iptables syntax for iptables tables; PUBLISHED rows are port "
     "publications: host ADDR:PORT -> container:PORT"},
    {"Verdict", "VERDICT", CTK_COL_STRING, 0,
     "accept, drop, jump CHAIN, dnat to ADDR:PORT, continue (no verdict), ..."},
    {"May", "MAY", CTK_COL_STRING, 0,
     "\"may\": a match ctk cannot evaluate (an opaque compat match, a named set); it may apply"},
    {"Kind", "KIND", CTK_COL_STRING, CTK_COL_HIDDEN, "rule, or publication"},
    {"Comment", "COMMENT", CTK_COL_STRING, CTK_COL_HIDDEN, "The rule's comment"},
    {"Detail", "DETAIL", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "source, family, table, chain, hook, priority, handle, position, packets, bytes, rule, "
     "comment, verdict, may, matches (kind, negated, opaque, values)"},
    {"Publication", "PUBLICATION", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "Proto, HostAddr, HostPort, Container, Addr, Port, Text (publication rows only)"},
};

// ---- net trace ------------------------------------------------------------
#define ENDPOINT_HELP                                                                              \
  "a container (name, ID prefix, docker://NAME, ...), a host PID (pid://N) or an IPv4 or IPv6 "     \
  "address"
const ctk_option_v1 kTraceOptions[] = {
    {"from", 0, 0, CTK_ARG_TARGET, "A", nullptr, "Sender: " ENDPOINT_HELP},
    {"to", 0, 0, CTK_ARG_TARGET, "B", nullptr,
     "Receiver: " ENDPOINT_HELP " (ADDR:PORT or [IPv6]:PORT sets --dport)"},
    {"proto", 0, 0, CTK_ARG_STRING, "P", "tcp", "Protocol of the flow: tcp, udp or icmp"},
    {"dport", 0, 0, CTK_ARG_INT, "N", nullptr, "Destination port of the flow (tcp, udp)"},
    {"probe", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Send the flow's packets from inside A's network namespace (TCP SYN, UDP datagram, ICMP echo)"},
    {"ipv6", '6', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Trace over IPv6 even where both ends have IPv4 (default: the family of addresses given as "
     "such, else IPv4 when both ends have it, else IPv6)"},
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
     "sent, hop, local, rule, policy, drop, consume, arp, ndp, neigh, answer, fib, link, verdict, "
     "summary"},
    {"Where", "WHERE", CTK_COL_STRING, 0, "Device and direction, or family/table/chain and rule handle"},
    {"Verdict", "VERDICT", CTK_COL_STRING, 0, "The rule's verdict, or the packet's end"},
    {"Tuple", "TUPLE", CTK_COL_STRING, 0, "The packet as seen there (shows address translation)"},
    {"Detail", "DETAIL", CTK_COL_STRING, CTK_COL_WIDE, "Rule comment and text, reason, explanation"},
};

const ctk_command_v1 kCommands[] = {
    {"net topology", "Network namespaces, bridges, veths and the containers that own them",
     "[OPTIONS] [TARGET]",
     "One row per interface of every network namespace: the host's, each running container's "
     "(any runtime; pods sharing one are listed once) and /run/netns/*. A veth's peer is named "
     "with its namespace and the container owning it. --format json adds routes (every table), "
     "the bridge forwarding database, neighbours and the forwarding sysctls. With TARGET, only "
     "its namespace and its way to the host: the peers of its veths, their bridge and the "
     "bridge's other ports. --tree shows the same as a tree.",
     kTopologyOptions, count(kTopologyOptions), kTopologyPositionals, count(kTopologyPositionals),
     kTopologyColumns, count(kTopologyColumns), 0, &rt::plugin::entry<run_topology>},
    {"net topology tree", "Network topology as a tree: namespace, bridge, ports, peers",
     "[OPTIONS] [TARGET]", "The view of ctk net topology --tree.", nullptr, 0, kTopologyPositionals,
     count(kTopologyPositionals), kTopologyTreeColumns, count(kTopologyTreeColumns), 0,
     &rt::plugin::entry<run_topology_tree>},
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
