// Network inspection: the namespaces ctk knows about, their interfaces with
// veth peers resolved across namespaces, and a full snapshot of one
// namespace (routes, bridge fdb, neighbours, forwarding sysctls). Read-only:
// nothing here changes a link, an address or a sysctl.
//
//   namespace ni = ctk::rt::netinspect;
//   auto r = *discovery::Resolver::open({});
//   auto all = ni::list_namespaces(r, {});          // host, every running container, /run/netns/*
//   auto web = ni::resolve_endpoint(r, "web", {});  // or "pid://4242", "10.77.0.3", "fd00::2"
//   for (const auto &i : web->ifaces)               // eth0 -> peer "host:veth1a2b" on docker0
//     if (i.peer) use(i.name, i.peer->netns_label, i.peer->name, i.peer->master);
//   auto snap = ni::snapshot(all->front());         // links, routes, fdb, neighbours, sysctls
//
// All per-namespace work runs through ns::in_netns (a thread that setns()es),
// so the caller's thread never changes namespace.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "ctk/runtime/core.h"
#include "ctk/runtime/discovery.h"

namespace ctk::rt::netinspect {

struct IfAddr {
  int family = 0;      // AF_INET or AF_INET6
  std::string address; // "10.77.0.2", "fd00::2"
  int prefix = 0;      // 24
  std::string scope;   // "global", "link", "host"
};

// The other end of a veth, as seen in its own namespace.
struct PeerRef {
  uint64_t netns_inode = 0; // 0 when its namespace is none ctk could open
  int ifindex = 0;
  std::string name;
  std::string master; // its bridge, when enslaved
  int master_ifindex = 0;
  std::string netns_label; // "host", a container name, "netns NAME" (/run/netns), "netns:[inode]"
  std::optional<discovery::Container> container; // the container owning that namespace
};

struct Iface {
  int ifindex = 0;
  std::string name;
  std::string kind; // "veth", "bridge", "vxlan", ... ; "" for a plain device
  std::string mac;
  std::string operstate; // "up", "down", "lowerlayerdown", "unknown", ...
  int mtu = 0;
  bool up = false; // IFF_UP (administrative)
  std::string master;
  int master_ifindex = 0;
  std::string port_state; // bridge port STP state ("forwarding", "disabled", ...) when enslaved
  std::vector<IfAddr> addrs;
  std::optional<PeerRef> peer;
  // Raw veth peer as the kernel reports it (IFLA_LINK, IFLA_LINK_NETNSID);
  // link_netnsid is -1 when the peer is in the same namespace.
  int link_ifindex = 0;
  int link_netnsid = -1;
};

// One network namespace ctk knows about.
struct NetnsRef {
  uint64_t inode = 0;
  std::string label; // "host", "web" (several: "web,db"), "netns NAME", "netns:[inode]"
  pid_t pid = 0;     // a process in it (0 for a /run/netns entry with no process)
  std::string path;  // /proc/PID/ns/net or /run/netns/NAME
  std::optional<discovery::Container> container; // the container that made it (created first)
  std::vector<discovery::Container>
      containers; // every container in it (pods share one), oldest first
  bool host = false;
};

// The host's (pid 1's) namespace, every running container's of every runtime
// (deduplicated by inode: containers sharing one namespace, as pods do, are
// listed once with all names in the label) and /run/netns/*. Host first, then
// containers, then named namespaces, each group sorted by label.
Result<std::vector<NetnsRef>> list_namespaces(discovery::Resolver &r, const HostPaths &paths);

// The interfaces of one namespace (lo included), addresses attached, bridge
// port states filled; peers are not resolved (see resolve_peers).
Result<std::vector<Iface>> read_links(int netns_fd);

// Opens the namespace of a NetnsRef (its path), O_RDONLY|O_CLOEXEC.
Result<UniqueFd> open_netns(const NetnsRef &ns);

// The links of several namespaces with every veth peer resolved: the
// IFLA_LINK_NETNSID a namespace reports is mapped to one of `all` by asking
// that namespace (RTM_GETNSID with NETNSA_FD) for the id of each candidate.
// Namespaces that cannot be read are skipped and named in `warnings`.
// Peers in a namespace outside `all` (one no container, /run/netns entry or
// the host owns) are found by a walk over /proc/*/ns/net and come back as
// extra entries labelled "netns:[inode]".
struct NsLinks {
  NetnsRef ns;
  std::vector<Iface> ifaces;
};
Result<std::vector<NsLinks>> read_all_links(const std::vector<NetnsRef> &all,
                                            std::vector<std::string> *warnings = nullptr);

struct Endpoint {
  std::string label;
  std::optional<discovery::Container> container;
  // A process in the namespace; 0 for a bare address found in no namespace,
  // and for a /run/netns namespace found by address (no process is looked for).
  pid_t pid = 0;
  UniqueFd netns; // open namespace fd; invalid only for a bare address
  uint64_t netns_inode = 0;
  bool host_netns = false;
  std::string netns_path;          // what netns was opened from
  std::vector<Iface> ifaces;       // all but lo, with peers resolved
  std::optional<IfAddr> requested; // the address TEXT named, when it was one
  // Every address of the interfaces (or just `requested` for a bare address).
  std::vector<IfAddr> addresses() const;
};

// TEXT: a container target of any runtime or a host PID (through the one
// resolver; a PID in no container is used as is), or an IPv4/IPv6 address:
// the namespace among list_namespaces() that has it, else an Endpoint
// carrying only that address (pid 0). An address in containers' namespaces
// is taken from them before named namespaces before the host; found in
// several namespaces of the same kind it is ambiguous (the message lists
// them). Errors: not_found naming TEXT; invalid_argument for a stopped
// container ("container web is not running").
Result<Endpoint> resolve_endpoint(discovery::Resolver &r, std::string_view text,
                                  const HostPaths &paths);

// ---- the full snapshot of one namespace ----------------------------------
struct Route {
  int family = 0;
  std::string table; // "main", "local", "default" or the number
  std::string type;  // "unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit", ...
  std::string dst;   // "default" or "10.77.0.0/24"
  std::string gateway; // "" when directly connected
  std::string dev;     // output device name
  std::string prefsrc;
  std::string scope;    // "universe", "link", "host"
  std::string protocol; // "kernel", "boot", "static", ...
  int metric = 0;
};

struct FdbEntry {
  std::string mac;
  std::string port;   // the device it was learnt on / configured for
  std::string master; // the bridge
  int vlan = 0;
  std::string state; // "permanent", "static", "dynamic", "stale"
  bool self = false; // the device's own entry (NTF_SELF), not the bridge's
};

struct Neighbour {
  int family = 0;
  std::string address;
  std::string mac;
  std::string dev;
  std::string state; // "reachable", "stale", "failed", "permanent", "incomplete", ...
};

struct Snapshot {
  NetnsRef ns;
  std::vector<Iface> ifaces; // every link, lo included
  std::vector<Route> routes; // every table
  std::vector<FdbEntry> fdb;
  std::vector<Neighbour> neighbours;
  // net.ipv4.ip_forward, net.ipv4.conf.{all,default,IF}.rp_filter and
  // .route_localnet, net.ipv6.conf.all.forwarding,
  // net.bridge.bridge-nf-call-{iptables,ip6tables} (absent without br_netfilter).
  std::map<std::string, std::string> sysctls;
};
Result<Snapshot> snapshot(const NetnsRef &ns, int netns_fd);
Result<Snapshot> snapshot(const NetnsRef &ns);
// Snapshots of every namespace of `all` (and of unlisted namespaces that
// hold veth peers, labelled "netns:[inode]"), veth peers resolved. A
// namespace that cannot be read (its container stopped meanwhile) is left
// out and named in `warnings`.
Result<std::vector<Snapshot>> snapshot_all(const std::vector<NetnsRef> &all,
                                           std::vector<std::string> *warnings = nullptr);

// ---- views of snapshots (pure) --------------------------------------------
// Only what concerns the namespace `inode`: all of its interfaces; for each
// of its veths the peer, the bridge the peer is on and that bridge's other
// ports. Namespaces left with no interface are dropped; the focused one
// comes first.
std::vector<Snapshot> focus(const std::vector<Snapshot> &all, uint64_t inode);

// The topology as a tree: namespace -> bridge -> ports -> veth peer (and the
// container owning it); interfaces on no bridge under their namespace. lo is
// left out. A peer's state and addresses are looked up in `lookup` when
// given (the unfocused snapshots), else in `snaps`.
struct TreeRow {
  int depth = 0;
  std::string kind;  // "netns", "bridge", "port", "iface", "peer"
  std::string name;  // namespace label, interface name, or "eth0 in web" for a peer
  std::string state; // operstate, and the port state for ports ("up, forwarding")
  std::vector<std::string> addresses; // "10.77.0.2/24"
  std::string owner; // "docker://web": the container owning the namespace (or the peer's)
  std::string netns; // namespace label of the interface
  std::string iface; // interface name ("" for a namespace row)
};
std::vector<TreeRow> tree_rows(const std::vector<Snapshot> &snaps,
                               const std::vector<Snapshot> *lookup = nullptr);

// "docker://web" (the name, else the short ID); "" without a container.
std::string container_ref(const std::optional<discovery::Container> &c);
// "10.77.0.2/24".
std::string cidr(const IfAddr &a);

// ---- pure helpers (unit tested) -------------------------------------------
// "10.77.0.2" or "fd00::2" (no prefix, no brackets) -> family; nullopt otherwise.
std::optional<int> parse_ip(std::string_view text);
// Canonical text of an address of `family` (inet_ntop form: "fd00::2").
std::string canonical_ip(int family, std::string_view text);
// Label of a set of containers sharing one namespace: names (short IDs for
// unnamed ones) joined by ",", in the given order, duplicates removed.
std::string containers_label(const std::vector<discovery::Container> &cs);
// Bridge port STP states (BR_STATE_*): 0 "disabled", 1 "listening", 2 "learning",
// 3 "forwarding", 4 "blocking".
std::string port_state_name(int state);
// IF_OPER_* names as ip(8) prints them, lower case.
std::string operstate_name(int state);
// RTN_* route types, RT_TABLE_* names, RT_SCOPE_* names, RTPROT_* names.
std::string route_type_name(int type);
std::string route_table_name(uint32_t table);
std::string route_scope_name(int scope);
std::string route_protocol_name(int proto);
// NUD_* neighbour state flags as one word (the most significant one).
std::string neigh_state_name(int state);
// The sysctl path under /proc/sys for a dotted name with an interface part:
// ("net.ipv4.conf", "eth0.100", "rp_filter") -> "net/ipv4/conf/eth0.100/rp_filter".
std::string sysctl_path(std::string_view prefix, std::string_view iface, std::string_view leaf);

// The reverse-path filter mode that applies to packets arriving on `iface`:
// the kernel uses max(net.ipv4.conf.all.rp_filter, conf.IFACE.rp_filter)
// (0 off, 1 strict, 2 loose). From sysctls keyed as Snapshot::sysctls are.
int effective_rp_filter(const std::map<std::string, std::string> &sysctls, const std::string &iface);
// The same, read in the namespace of `netns_fd`.
Result<int> rp_filter(int netns_fd, const std::string &iface);

} // namespace ctk::rt::netinspect
