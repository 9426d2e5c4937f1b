// netinspect: views of snapshots (a target's neighbourhood, the tree).
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_inspect.h"

namespace ctk::rt::netinspect {

std::string container_ref(const std::optional<discovery::Container> &c) {
  if (!c)
    return {};
  return fmt::format("{}://{}", discovery::runtime_name(c->runtime),
                     c->name.empty() ? c->id.substr(0, 12) : c->name);
}

std::string cidr(const IfAddr &a) {
  return fmt::format("{}/{}", a.address, a.prefix);
}

std::vector<Snapshot> focus(const std::vector<Snapshot> &all, uint64_t inode) {
  // (namespace inode, ifindex) of every interface to keep.
  std::set<std::pair<uint64_t, int>> keep;
  std::set<std::pair<uint64_t, int>> bridges;
  for (const auto &s : all) {
    if (s.ns.inode != inode)
      continue;
    for (const auto &i : s.ifaces) {
      keep.insert({inode, i.ifindex});
      if (i.peer && i.peer->netns_inode) {
        keep.insert({i.peer->netns_inode, i.peer->ifindex});
        if (i.peer->master_ifindex)
          bridges.insert({i.peer->netns_inode, i.peer->master_ifindex});
      }
      // The target itself may hold a bridge (a router container): its ports are its own.
    }
  }
  for (const auto &b : bridges)
    keep.insert(b);
  for (const auto &s : all)
    for (const auto &i : s.ifaces)
      if (i.master_ifindex && bridges.count({s.ns.inode, i.master_ifindex}))
        keep.insert({s.ns.inode, i.ifindex});

  std::vector<Snapshot> out;
  for (const auto &s : all) {
    Snapshot f = s;
    f.ifaces.clear();
    for (const auto &i : s.ifaces)
      if (keep.count({s.ns.inode, i.ifindex}))
        f.ifaces.push_back(i);
    if (f.ifaces.empty())
      continue;
    if (s.ns.inode == inode)
      out.insert(out.begin(), std::move(f));
    else
      out.push_back(std::move(f));
  }
  return out;
}

namespace {

TreeRow iface_row(const Snapshot &s, const Iface &i, int depth, const char *kind) {
  TreeRow r;
  r.depth = depth;
  r.kind = kind;
  r.name = i.name;
  r.state = i.up ? i.operstate : "down";
  if (!i.port_state.empty())
    r.state += ", " + i.port_state;
  for (const auto &a : i.addrs)
    r.addresses.push_back(cidr(a));
  r.netns = s.ns.label;
  r.iface = i.name;
  return r;
}

void add_peer(std::vector<TreeRow> &rows, const Snapshot &s, const Iface &i, int depth,
              const std::map<std::pair<uint64_t, int>, const Iface *> &index) {
  if (!i.peer)
    return;
  const auto &p = *i.peer;
  TreeRow r;
  r.depth = depth;
  r.kind = "peer";
  r.name = fmt::format("{} in {}", p.name.empty() ? fmt::format("if{}", p.ifindex) : p.name,
                       p.netns_label);
  r.netns = p.netns_label;
  r.iface = p.name;
  r.owner = container_ref(p.container);
  if (auto it = index.find({p.netns_inode, p.ifindex}); it != index.end()) {
    const Iface &pi = *it->second;
    r.state = pi.up ? pi.operstate : "down";
    if (!pi.port_state.empty())
      r.state += ", " + pi.port_state;
    for (const auto &a : pi.addrs)
      r.addresses.push_back(cidr(a));
  }
  if (p.netns_inode == s.ns.inode)
    r.name = p.name; // a pair inside one namespace
  rows.push_back(std::move(r));
}

} // namespace

std::vector<TreeRow> tree_rows(const std::vector<Snapshot> &snaps) {
  std::map<std::pair<uint64_t, int>, const Iface *> index;
  for (const auto &s : snaps)
    for (const auto &i : s.ifaces)
      index[{s.ns.inode, i.ifindex}] = &i;
  std::vector<TreeRow> rows;
  for (const auto &s : snaps) {
    TreeRow ns;
    ns.kind = "netns";
    ns.name = s.ns.label;
    ns.netns = s.ns.label;
    ns.owner = container_ref(s.ns.container);
    rows.push_back(std::move(ns));
    for (const auto &i : s.ifaces) {
      if (i.name == "lo" || i.master_ifindex)
        continue; // ports go under their bridge
      const bool bridge = i.kind == "bridge";
      rows.push_back(iface_row(s, i, 1, bridge ? "bridge" : "iface"));
      if (bridge) {
        for (const auto &port : s.ifaces)
          if (port.master_ifindex == i.ifindex) {
            rows.push_back(iface_row(s, port, 2, "port"));
            add_peer(rows, s, port, 3, index);
          }
      } else {
        add_peer(rows, s, i, 2, index);
      }
    }
    // Ports of a bridge that is not in the list (a focused view keeps a
    // bridge with its ports, so this is a master of another kind: bond, vrf).
    for (const auto &i : s.ifaces)
      if (i.master_ifindex && !std::any_of(s.ifaces.begin(), s.ifaces.end(), [&](const Iface &m) {
            return m.ifindex == i.master_ifindex && m.kind == "bridge" && m.master_ifindex == 0;
          })) {
        rows.push_back(iface_row(s, i, 1, "iface"));
        add_peer(rows, s, i, 2, index);
      }
  }
  return rows;
}

} // namespace ctk::rt::netinspect
