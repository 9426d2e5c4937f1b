// netinspect: the full snapshot of one namespace: links, routes of every
// table, the bridge forwarding database, neighbours and the sysctls that
// decide forwarding.
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <map>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "ctk/runtime/ns.h"
#include "inspect_internal.h"
#include "internal.h"

namespace ctk::rt::netinspect {

namespace {

using detail::addr_text;
using detail::Cache;

std::string if_name(const std::map<int, std::string> &names, int ifindex) {
  if (ifindex <= 0)
    return {};
  auto it = names.find(ifindex);
  return it != names.end() ? it->second : fmt::format("if{}", ifindex);
}

Result<std::vector<Route>> read_routes(nl_sock *sk, const std::map<int, std::string> &names) {
  nl_cache *raw = nullptr;
  if (int err = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &raw); err < 0)
    return net::detail::nl_fail("cannot list routes", err);
  Cache cache(raw);
  std::vector<Route> out;
  for (nl_object *o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto *r = reinterpret_cast<rtnl_route *>(o);
    Route rt;
    rt.family = rtnl_route_get_family(r);
    if (rt.family != AF_INET && rt.family != AF_INET6)
      continue;
    rt.table = route_table_name(rtnl_route_get_table(r));
    rt.type = route_type_name(rtnl_route_get_type(r));
    nl_addr *dst = rtnl_route_get_dst(r);
    if (!dst || nl_addr_get_prefixlen(dst) == 0)
      rt.dst = "default";
    else
      rt.dst = fmt::format("{}/{}", addr_text(dst), nl_addr_get_prefixlen(dst));
    rt.scope = route_scope_name(rtnl_route_get_scope(r));
    rt.protocol = route_protocol_name(rtnl_route_get_protocol(r));
    rt.metric = static_cast<int>(rtnl_route_get_priority(r));
    rt.prefsrc = addr_text(rtnl_route_get_pref_src(r));
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
      rt.gateway = addr_text(rtnl_route_nh_get_gateway(nh));
      rt.dev = if_name(names, rtnl_route_nh_get_ifindex(nh));
    }
    out.push_back(std::move(rt));
  }
  return out;
}

bool is_multicast(nl_addr *a) {
  const auto *b = static_cast<const unsigned char *>(nl_addr_get_binary_addr(a));
  if (nl_addr_get_family(a) == AF_INET)
    return nl_addr_get_len(a) >= 1 && (b[0] & 0xf0) == 0xe0;
  if (nl_addr_get_family(a) == AF_INET6)
    return nl_addr_get_len(a) >= 1 && b[0] == 0xff;
  return false;
}

std::string fdb_state(int state) {
  if (state & NUD_PERMANENT)
    return "permanent";
  if (state & NUD_NOARP)
    return "static";
  if (state & NUD_STALE)
    return "stale";
  return "dynamic";
}

// libnl's neighbour cache dumps one family: ARP/NDP entries with AF_UNSPEC,
// the bridge forwarding database with AF_BRIDGE.
Result<Cache> neigh_cache(nl_sock *sk, int family) {
  nl_cache *raw = nullptr;
  if (nl_cache_alloc_name("route/neigh", &raw) < 0 || !raw)
    return fail(Errc::internal, "libnl has no route/neigh cache");
  Cache cache(raw);
  nl_cache_set_arg1(cache.get(), family);
  if (int err = nl_cache_refill(sk, cache.get()); err < 0)
    return net::detail::nl_fail(family == AF_BRIDGE ? "cannot list the bridge forwarding database"
                                                    : "cannot list neighbours",
                                err);
  return cache;
}

Result<void> read_neighbours(nl_sock *sk, const std::map<int, std::string> &names, Snapshot &s) {
  {
    auto cache = neigh_cache(sk, AF_UNSPEC);
    if (!cache)
      return tl::unexpected(cache.error());
    for (nl_object *o = nl_cache_get_first(cache->get()); o; o = nl_cache_get_next(o)) {
      auto *n = reinterpret_cast<rtnl_neigh *>(o);
      const int fam = rtnl_neigh_get_family(n);
      if (fam != AF_INET && fam != AF_INET6)
        continue;
      // Multicast groups (NOARP by construction) say nothing about reachability.
      if (nl_addr *dst = rtnl_neigh_get_dst(n); dst && is_multicast(dst))
        continue;
      Neighbour nb;
      nb.family = fam;
      nb.address = addr_text(rtnl_neigh_get_dst(n));
      nb.mac = addr_text(rtnl_neigh_get_lladdr(n));
      nb.dev = if_name(names, rtnl_neigh_get_ifindex(n));
      nb.state = neigh_state_name(rtnl_neigh_get_state(n));
      s.neighbours.push_back(std::move(nb));
    }
  }
  // Without the bridge module the AF_BRIDGE dump is refused: no fdb then.
  if (auto cache = neigh_cache(sk, AF_BRIDGE)) {
    for (nl_object *o = nl_cache_get_first(cache->get()); o; o = nl_cache_get_next(o)) {
      auto *n = reinterpret_cast<rtnl_neigh *>(o);
      if (rtnl_neigh_get_family(n) != AF_BRIDGE)
        continue;
      FdbEntry f;
      // A device's own multicast filter entries (NTF_SELF, group bit set)
      // are not forwarding decisions; bridge(8) shows them, we do not.
      nl_addr *ll = rtnl_neigh_get_lladdr(n);
      const bool self = rtnl_neigh_get_flags(n) & NTF_SELF;
      if (self && ll && nl_addr_get_len(ll) > 0 &&
          (static_cast<const unsigned char *>(nl_addr_get_binary_addr(ll))[0] & 1))
        continue;
      f.mac = addr_text(ll);
      f.port = if_name(names, rtnl_neigh_get_ifindex(n));
      f.master = if_name(names, rtnl_neigh_get_master(n));
      const int vlan = rtnl_neigh_get_vlan(n);
      f.vlan = vlan > 0 ? vlan : 0;
      f.state = fdb_state(rtnl_neigh_get_state(n));
      f.self = self;
      s.fdb.push_back(std::move(f));
    }
  }
  return {};
}

// Read on the thread that is in the namespace: /proc/sys/net resolves
// against the reading task's network namespace.
void read_sysctls(Snapshot &s) {
  auto get = [&](const std::string &key, const std::string &rel) {
    auto v = read_file("/proc/sys/" + rel);
    if (v)
      s.sysctls[key] = std::string(trim(*v));
  };
  get("net.ipv4.ip_forward", "net/ipv4/ip_forward");
  get("net.ipv6.conf.all.forwarding", "net/ipv6/conf/all/forwarding");
  get("net.bridge.bridge-nf-call-iptables", "net/bridge/bridge-nf-call-iptables");
  get("net.bridge.bridge-nf-call-ip6tables", "net/bridge/bridge-nf-call-ip6tables");
  std::vector<std::string> conf = {"all", "default"};
  for (const auto &i : s.ifaces)
    conf.push_back(i.name);
  for (const auto &c : conf)
    for (const char *leaf : {"rp_filter", "route_localnet", "forwarding"})
      get(fmt::format("net.ipv4.conf.{}.{}", c, leaf), sysctl_path("net.ipv4.conf", c, leaf));
}

} // namespace

namespace {

// Routes, neighbours, fdb and sysctls of the calling thread's namespace, for
// a snapshot whose links are read.
Result<void> read_rest(Snapshot &s) {
  std::map<int, std::string> names;
  for (const auto &i : s.ifaces)
    names[i.ifindex] = i.name;
  auto sk = net::detail::route_socket();
  if (!sk)
    return tl::unexpected(sk.error());
  auto routes = read_routes(sk->get(), names);
  if (!routes)
    return tl::unexpected(routes.error());
  s.routes = std::move(*routes);
  if (auto n = read_neighbours(sk->get(), names, s); !n)
    return n;
  read_sysctls(s);
  return {};
}

} // namespace

Result<int> rp_filter(int netns_fd, const std::string &iface) {
  std::map<std::string, std::string> sysctls;
  auto r = ns::in_netns(netns_fd, [&]() -> Result<void> {
    for (const std::string &conf : {std::string("all"), iface}) {
      auto v = read_file("/proc/sys/" + sysctl_path("net.ipv4.conf", conf, "rp_filter"));
      if (!v)
        return tl::unexpected(v.error());
      sysctls[fmt::format("net.ipv4.conf.{}.rp_filter", conf)] = *v;
    }
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot read rp_filter of {}", iface)));
  return effective_rp_filter(sysctls, iface);
}

Result<Snapshot> snapshot(const NetnsRef &ref, int netns_fd) {
  Snapshot s;
  s.ns = ref;
  auto r = ns::in_netns(netns_fd, [&]() -> Result<void> {
    auto links = detail::read_links_here();
    if (!links)
      return tl::unexpected(links.error());
    s.ifaces = std::move(*links);
    return read_rest(s);
  });
  if (!r)
    return wrap(r, fmt::format("cannot read the network namespace {}", ref.label));
  return s;
}

Result<std::vector<Snapshot>> snapshot_all(const std::vector<NetnsRef> &all,
                                           std::vector<std::string> *warnings) {
  auto links = read_all_links(all, warnings);
  if (!links)
    return tl::unexpected(links.error());
  std::vector<Snapshot> out;
  for (auto &nl : *links) {
    Snapshot s;
    s.ns = std::move(nl.ns);
    s.ifaces = std::move(nl.ifaces);
    auto fd = open_netns(s.ns);
    Result<void> r = fd ? ns::in_netns(fd->get(), [&] { return read_rest(s); })
                        : Result<void>(tl::unexpected(fd.error()));
    if (!r) {
      if (warnings)
        warnings->push_back(
            r.error()
                .wrap(fmt::format("cannot read the network namespace {}", s.ns.label))
                .message());
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<Snapshot> snapshot(const NetnsRef &ref) {
  auto fd = open_netns(ref);
  if (!fd)
    return tl::unexpected(fd.error());
  return snapshot(ref, fd->get());
}

} // namespace ctk::rt::netinspect
