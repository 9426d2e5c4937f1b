// ctk net topology [TARGET] [--tree]: every network namespace ctk knows
// (host, containers of every runtime, /run/netns), one record per interface,
// with the veth peer and the container that owns it; routes, fdb,
// neighbours and forwarding sysctls ride along as hidden (JSON) columns.
#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/net_inspect.h"

namespace ctk::plugins::net {
namespace {

namespace ni = rt::netinspect;
using nlohmann::ordered_json;

struct Collected {
  std::vector<ni::Snapshot> all;
  std::vector<ni::Snapshot> shown; // everything, or a target's neighbourhood
};

rt::Result<Collected> collect(Call &call) {
  rt::discovery::Options o;
  o.roots.ctk_root = call.root();
  o.roots.ctk_run_root = call.run_root();
  auto r = rt::discovery::Resolver::open(std::move(o));
  if (!r)
    return tl::unexpected(r.error());
  const auto args = call.args();
  std::optional<ni::Endpoint> target;
  if (!args.empty()) {
    auto e = ni::resolve_endpoint(*r, args[0], {});
    if (!e)
      return tl::unexpected(e.error());
    if (e->pid == 0 && !e->netns.valid())
      return rt::fail(rt::Errc::not_found,
                      fmt::format("no network namespace has the address {}", args[0]));
    target = std::move(*e);
  }
  auto all = ni::list_namespaces(*r, {});
  if (!all)
    return tl::unexpected(all.error());
  if (target && std::none_of(all->begin(), all->end(), [&](const ni::NetnsRef &n) {
        return n.inode == target->netns_inode;
      })) {
    ni::NetnsRef n; // a PID in a namespace nothing else names
    n.inode = target->netns_inode;
    n.label = target->label;
    n.pid = target->pid;
    n.path = target->netns_path;
    n.container = target->container;
    all->push_back(std::move(n));
  }
  for (const auto &w : r->warnings())
    call.log(CTK_LOG_DEBUG, w);
  std::vector<std::string> warnings;
  auto snaps = ni::snapshot_all(*all, &warnings);
  if (!snaps)
    return tl::unexpected(snaps.error());
  for (const auto &w : warnings)
    call.warn(w);
  Collected c;
  c.all = std::move(*snaps);
  c.shown = target ? ni::focus(c.all, target->netns_inode) : c.all;
  return c;
}

ordered_json route_json(const ni::Route &r) {
  return {{"Family", r.family == AF_INET6 ? "inet6" : "inet"},
          {"Table", r.table},
          {"Type", r.type},
          {"Dst", r.dst},
          {"Gateway", r.gateway},
          {"Dev", r.dev},
          {"PrefSrc", r.prefsrc},
          {"Scope", r.scope},
          {"Protocol", r.protocol},
          {"Metric", r.metric}};
}

// Namespace-wide sysctls (not per interface), and the effective rp_filter
// of one interface: the kernel uses max(conf.all, conf.IF).
ordered_json sysctls_json(const ni::Snapshot &s, const std::string &iface) {
  ordered_json out = ordered_json::object();
  const std::string mine = "net.ipv4.conf." + iface + ".";
  for (const auto &[k, v] : s.sysctls) {
    const bool per_if = k.starts_with("net.ipv4.conf.");
    if (!per_if || k.starts_with("net.ipv4.conf.all.") || k.starts_with(mine))
      out[k] = v;
  }
  out["EffectiveRpFilter"] = ni::effective_rp_filter(s.sysctls, iface);
  return out;
}

void emit_iface(Call &call, const ni::Snapshot &s, const ni::Iface &i) {
  auto rec = call.record();
  rec.field("Netns", s.ns.label);
  rec.field("Iface", i.name);
  rec.field("Kind", i.kind.empty() ? "device" : i.kind);
  rec.field("State", i.up ? i.operstate : "down");
  rec.field("MTU", i.mtu);
  ordered_json addrs = ordered_json::array();
  for (const auto &a : i.addrs)
    addrs.push_back(ni::cidr(a));
  rec.field("Addresses", addrs);
  std::string port;
  if (!i.master.empty())
    port = i.port_state.empty() ? i.master : i.master + "/" + i.port_state;
  rec.field("Port", port);
  std::string peer, owner;
  if (i.peer) {
    peer = fmt::format("{}:{}", i.peer->netns_label,
                       i.peer->name.empty() ? fmt::format("if{}", i.peer->ifindex) : i.peer->name);
    owner = ni::container_ref(i.peer->container);
  }
  rec.field("Peer", peer);
  rec.field("PeerOwner", owner);
  // Hidden columns: everything else, for --format json and templates.
  rec.field("NetnsInode", static_cast<unsigned long long>(s.ns.inode));
  rec.field("NetnsOwner", ni::container_ref(s.ns.container));
  rec.field("Host", s.ns.host);
  rec.field("Ifindex", i.ifindex);
  rec.field("MAC", i.mac);
  rec.field("Up", i.up);
  rec.field("Operstate", i.operstate);
  rec.field("Master", i.master);
  rec.field("PortState", i.port_state);
  ordered_json pj = nullptr;
  if (i.peer)
    pj = {{"Netns", i.peer->netns_label}, {"NetnsInode", i.peer->netns_inode},
          {"Iface", i.peer->name},        {"Ifindex", i.peer->ifindex},
          {"Master", i.peer->master},     {"Container", owner}};
  rec.field("PeerDetail", pj);
  ordered_json ajs = ordered_json::array();
  for (const auto &a : i.addrs)
    ajs.push_back({{"Family", a.family == AF_INET6 ? "inet6" : "inet"},
                   {"Address", a.address},
                   {"Prefix", a.prefix},
                   {"Scope", a.scope}});
  rec.field("AddressDetail", ajs);
  ordered_json routes = ordered_json::array();
  for (const auto &r : s.routes)
    if (r.dev == i.name)
      routes.push_back(route_json(r));
  rec.field("Routes", routes);
  ordered_json fdb = ordered_json::array();
  for (const auto &f : s.fdb)
    if (f.port == i.name)
      fdb.push_back({{"MAC", f.mac},
                     {"Port", f.port},
                     {"Master", f.master},
                     {"Vlan", f.vlan},
                     {"State", f.state},
                     {"Self", f.self}});
  rec.field("Fdb", fdb);
  ordered_json neigh = ordered_json::array();
  for (const auto &n : s.neighbours)
    if (n.dev == i.name)
      neigh.push_back({{"Address", n.address}, {"MAC", n.mac}, {"State", n.state}});
  rec.field("Neighbours", neigh);
  rec.field("Sysctls", sysctls_json(s, i.name));
  // Routes through no device (blackhole, unreachable, prohibit) belong to the namespace.
  ordered_json other = ordered_json::array();
  for (const auto &r : s.routes)
    if (r.dev.empty())
      other.push_back(route_json(r));
  rec.field("NetnsRoutes", other);
}

} // namespace

int run_topology(Call &call) {
  auto snaps = collect(call);
  if (!snaps)
    return call.fail(snaps.error());
  for (const auto &s : snaps->shown)
    for (const auto &i : s.ifaces)
      if (i.name != "lo")
        emit_iface(call, s, i);
  return 0;
}

int run_topology_tree(Call &call) {
  auto snaps = collect(call);
  if (!snaps)
    return call.fail(snaps.error());
  for (const auto &row : ni::tree_rows(snaps->shown, &snaps->all)) {
    auto rec = call.record();
    // Indentation carries the tree shape in a table (as ctk layers tree).
    rec.field("Name", std::string(row.depth * 2, ' ') + row.name);
    rec.field("Kind", row.kind);
    rec.field("State", row.state);
    ordered_json addrs = row.addresses;
    rec.field("Addresses", addrs);
    rec.field("Owner", row.owner);
    rec.field("Depth", row.depth);
    rec.field("Netns", row.netns);
    rec.field("Iface", row.iface);
  }
  return 0;
}

} // namespace ctk::plugins::net
