// netinspect's pure parts: address parsing, kernel constant names, the
// focused view of a target and the tree.
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <gtest/gtest.h>

#include "ctk/runtime/net_inspect.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::netinspect;

TEST(NetInspectAddr, ParsesBothFamiliesOnly) {
  EXPECT_EQ(parse_ip("10.77.0.2"), AF_INET);
  EXPECT_EQ(parse_ip("fd00::2"), AF_INET6);
  EXPECT_EQ(parse_ip("::ffff:10.0.0.1"), AF_INET6);
  EXPECT_FALSE(parse_ip(""));
  EXPECT_FALSE(parse_ip("web"));
  EXPECT_FALSE(parse_ip("10.77.0.2/24")); // a prefix is not an address
  EXPECT_FALSE(parse_ip("10.77.0"));
  EXPECT_FALSE(parse_ip("256.1.1.1"));
  EXPECT_FALSE(parse_ip("[fd00::2]"));
  EXPECT_FALSE(parse_ip("1234")); // a bare number is a PID target, not an address
  EXPECT_FALSE(parse_ip(std::string(100, '1')));
}

TEST(NetInspectAddr, Canonical) {
  EXPECT_EQ(canonical_ip(AF_INET6, "FD00:0:0::0002"), "fd00::2");
  EXPECT_EQ(canonical_ip(AF_INET, "10.77.0.2"), "10.77.0.2");
  EXPECT_EQ(canonical_ip(AF_INET, "nonsense"), "nonsense");
  EXPECT_EQ(cidr(IfAddr{AF_INET, "10.77.0.2", 24, "global"}), "10.77.0.2/24");
}

TEST(NetInspectNames, KernelConstants) {
  EXPECT_EQ(port_state_name(BR_STATE_DISABLED), "disabled");
  EXPECT_EQ(port_state_name(BR_STATE_FORWARDING), "forwarding");
  EXPECT_EQ(port_state_name(BR_STATE_BLOCKING), "blocking");
  EXPECT_EQ(port_state_name(9), "state 9");
  EXPECT_EQ(operstate_name(6), "up");
  EXPECT_EQ(operstate_name(2), "down");
  EXPECT_EQ(operstate_name(3), "lowerlayerdown");
  EXPECT_EQ(operstate_name(0), "unknown");
  EXPECT_EQ(operstate_name(42), "state 42");
  EXPECT_EQ(route_type_name(RTN_UNICAST), "unicast");
  EXPECT_EQ(route_type_name(RTN_BLACKHOLE), "blackhole");
  EXPECT_EQ(route_type_name(RTN_UNREACHABLE), "unreachable");
  EXPECT_EQ(route_type_name(RTN_PROHIBIT), "prohibit");
  EXPECT_EQ(route_table_name(RT_TABLE_MAIN), "main");
  EXPECT_EQ(route_table_name(RT_TABLE_LOCAL), "local");
  EXPECT_EQ(route_table_name(100), "100");
  EXPECT_EQ(route_scope_name(RT_SCOPE_LINK), "link");
  EXPECT_EQ(route_scope_name(RT_SCOPE_UNIVERSE), "universe");
  EXPECT_EQ(route_protocol_name(RTPROT_KERNEL), "kernel");
  EXPECT_EQ(route_protocol_name(RTPROT_BOOT), "boot");
  EXPECT_EQ(route_protocol_name(99), "99");
}

TEST(NetInspectNames, NeighbourStateMostTellingFirst) {
  EXPECT_EQ(neigh_state_name(NUD_REACHABLE), "reachable");
  EXPECT_EQ(neigh_state_name(NUD_FAILED), "failed");
  EXPECT_EQ(neigh_state_name(NUD_PERMANENT | NUD_NOARP), "permanent");
  EXPECT_EQ(neigh_state_name(NUD_STALE), "stale");
  EXPECT_EQ(neigh_state_name(0), "none");
}

TEST(NetInspectNames, SysctlPathKeepsDotsOfInterfaceNames) {
  EXPECT_EQ(sysctl_path("net.ipv4.conf", "eth0.100", "rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter");
  EXPECT_EQ(sysctl_path("net.ipv4.ip_forward", "", ""), "net/ipv4/ip_forward");
}

TEST(NetInspectNames, EffectiveRpFilterIsTheStricterOfAllAndTheInterface) {
  std::map<std::string, std::string> s = {{"net.ipv4.conf.all.rp_filter", "0\n"},
                                          {"net.ipv4.conf.eth0.100.rp_filter", "2"}};
  EXPECT_EQ(effective_rp_filter(s, "eth0.100"), 2);
  s["net.ipv4.conf.all.rp_filter"] = "1";
  EXPECT_EQ(effective_rp_filter(s, "eth1"), 1); // no entry for eth1: conf.all decides
  EXPECT_EQ(effective_rp_filter({}, "eth0"), 0);
}

discovery::Container ctr(std::string name, std::string id,
                         discovery::Runtime rt = discovery::Runtime::docker) {
  discovery::Container c;
  c.runtime = rt;
  c.name = std::move(name);
  c.id = std::move(id);
  c.pid = 42;
  return c;
}

TEST(NetInspectLabels, ContainersSharingANamespace) {
  EXPECT_EQ(containers_label({ctr("web", "aaaa"), ctr("sidecar", "bbbb")}), "web,sidecar");
  EXPECT_EQ(containers_label({ctr("", "0123456789abcdef0123")}), "0123456789ab");
  EXPECT_EQ(containers_label({ctr("web", "a"), ctr("web", "a")}), "web");
  EXPECT_EQ(container_ref(ctr("web", "a")), "docker://web");
  EXPECT_EQ(container_ref(ctr("", "0123456789abcdef", discovery::Runtime::ctk)),
            "ctk://0123456789ab");
  EXPECT_EQ(container_ref(std::nullopt), "");
}

TEST(NetInspectEndpoint, AddressesOfInterfacesOrTheBareOne) {
  Endpoint e;
  e.requested = IfAddr{AF_INET, "10.9.9.9", 32, "global"};
  ASSERT_EQ(e.addresses().size(), 1u);
  EXPECT_EQ(e.addresses()[0].address, "10.9.9.9");
  Iface i;
  i.addrs = {{AF_INET, "10.77.0.2", 24, "global"}, {AF_INET6, "fe80::1", 64, "link"}};
  e.ifaces.push_back(i);
  ASSERT_EQ(e.addresses().size(), 2u);
  EXPECT_EQ(e.addresses()[1].address, "fe80::1");
}

// A lab: host (eth0), br (bridge br0, ports va vb vx, plus a loose veth vr),
// a (eth0 <-> va), b (eth0 <-> vb), x (eth0 <-> vx), rt (eth0 <-> vr).
Iface link(int idx, std::string name, std::string kind, int master = 0) {
  Iface i;
  i.ifindex = idx;
  i.name = std::move(name);
  i.kind = std::move(kind);
  i.up = true;
  i.operstate = "up";
  i.master_ifindex = master;
  if (master) {
    i.master = "br0";
    i.port_state = "forwarding";
  }
  return i;
}
Snapshot ns(uint64_t inode, std::string label, std::vector<Iface> ifs,
            std::optional<discovery::Container> c = std::nullopt) {
  Snapshot s;
  s.ns.inode = inode;
  s.ns.label = std::move(label);
  s.ns.container = std::move(c);
  s.ifaces = std::move(ifs);
  return s;
}
void pair(Snapshot &x, int xi, Snapshot &y, int yi) {
  auto find = [](Snapshot &s, int idx) -> Iface & {
    for (auto &i : s.ifaces)
      if (i.ifindex == idx)
        return i;
    throw std::runtime_error("no such ifindex");
  };
  Iface &a = find(x, xi), &b = find(y, yi);
  a.peer = PeerRef{y.ns.inode,       b.ifindex,  b.name,        b.master,
                   b.master_ifindex, y.ns.label, y.ns.container};
  b.peer = PeerRef{x.ns.inode,       a.ifindex,  a.name,        a.master,
                   a.master_ifindex, x.ns.label, x.ns.container};
}

std::vector<Snapshot> lab() {
  auto host = ns(1, "host", {link(1, "lo", ""), link(2, "eth0", "")});
  host.ns.host = true;
  auto br = ns(2, "netns br",
               {link(1, "lo", ""), link(2, "br0", "bridge"), link(3, "va", "veth", 2),
                link(4, "vb", "veth", 2), link(5, "vx", "veth", 2), link(6, "vr", "veth")});
  br.ifaces[3].port_state = "disabled";
  br.ifaces[3].up = false;
  auto a = ns(3, "web", {link(1, "lo", ""), link(2, "eth0", "veth")}, ctr("web", "aaa"));
  a.ifaces[1].addrs = {{AF_INET, "10.77.0.2", 24, "global"}};
  auto b = ns(4, "db", {link(1, "lo", ""), link(2, "eth0", "veth")}, ctr("db", "bbb"));
  auto x = ns(5, "netns x", {link(1, "lo", ""), link(2, "eth0", "veth")});
  auto rt = ns(6, "netns rt", {link(1, "lo", ""), link(2, "eth0", "veth")});
  pair(a, 2, br, 3);
  pair(b, 2, br, 4);
  pair(x, 2, br, 5);
  pair(rt, 2, br, 6);
  return {host, br, a, b, x, rt};
}

std::vector<std::string> names(const Snapshot &s) {
  std::vector<std::string> out;
  for (const auto &i : s.ifaces)
    out.push_back(i.name);
  return out;
}

TEST(NetInspectFocus, TargetItsPeerTheBridgeAndItsOtherPorts) {
  auto f = focus(lab(), 3);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].ns.label, "web"); // the target first
  EXPECT_EQ(names(f[0]), (std::vector<std::string>{"lo", "eth0"}));
  EXPECT_EQ(f[1].ns.label, "netns br");
  // The bridge and every port, not the loose veth vr nor lo.
  EXPECT_EQ(names(f[1]), (std::vector<std::string>{"br0", "va", "vb", "vx"}));
}

TEST(NetInspectTree, FocusedPeersLookedUpInTheWholeSet) {
  const auto all = lab();
  const auto f = focus(all, 3);
  std::string alone, looked_up;
  for (const auto &r : tree_rows(f))
    if (r.name == "eth0 in db")
      alone = r.state;
  for (const auto &r : tree_rows(f, &all))
    if (r.name == "eth0 in db")
      looked_up = r.state;
  EXPECT_EQ(alone, ""); // db's namespace is not in the focused set
  EXPECT_EQ(looked_up, "up");
}

TEST(NetInspectFocus, UnknownInodeIsEmpty) {
  EXPECT_TRUE(focus(lab(), 99).empty());
}

TEST(NetInspectTree, NamespaceBridgePortsPeers) {
  auto rows = tree_rows(lab());
  std::vector<std::string> got;
  for (const auto &r : rows)
    got.push_back(std::string(r.depth * 2, ' ') + r.kind + " " + r.name + " [" + r.state + "] " +
                  r.owner);
  std::vector<std::string> want = {
      "netns host [] ",
      "  iface eth0 [up] ",
      "netns netns br [] ",
      "  bridge br0 [up] ",
      "    port va [up, forwarding] ",
      "      peer eth0 in web [up] docker://web",
      "    port vb [down, disabled] ",
      "      peer eth0 in db [up] docker://db",
      "    port vx [up, forwarding] ",
      "      peer eth0 in netns x [up] ",
      "  iface vr [up] ",
      "    peer eth0 in netns rt [up] ",
      "netns web [] docker://web",
      "  iface eth0 [up] ",
      "    peer va in netns br [up, forwarding] ",
      "netns db [] docker://db",
      "  iface eth0 [up] ",
      "    peer vb in netns br [down, disabled] ",
      "netns netns x [] ",
      "  iface eth0 [up] ",
      "    peer vx in netns br [up, forwarding] ",
      "netns netns rt [] ",
      "  iface eth0 [up] ",
      "    peer vr in netns br [up] ",
  };
  EXPECT_EQ(got, want);
  // Addresses of a peer come from its own namespace.
  for (const auto &r : rows) {
    if (r.kind == "peer" && r.name == "eth0 in web") {
      EXPECT_EQ(r.addresses, (std::vector<std::string>{"10.77.0.2/24"}));
    }
  }
}

} // namespace
