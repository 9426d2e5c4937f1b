// Links, addresses and routes through libnl-route.
#include <net/if.h>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "ctk/runtime/ns.h"
#include "internal.h"

namespace ctk::rt::net::detail {

namespace {

struct LinkPut {
  void operator()(rtnl_link *l) const { rtnl_link_put(l); }
};
using Link = std::unique_ptr<rtnl_link, LinkPut>;
struct AddrPut {
  void operator()(rtnl_addr *a) const { rtnl_addr_put(a); }
};
using Addr = std::unique_ptr<rtnl_addr, AddrPut>;
struct NlAddrPut {
  void operator()(nl_addr *a) const { nl_addr_put(a); }
};
using NlAddr = std::unique_ptr<nl_addr, NlAddrPut>;
struct RoutePut {
  void operator()(rtnl_route *r) const { rtnl_route_put(r); }
};
using Route = std::unique_ptr<rtnl_route, RoutePut>;

Result<NlAddr> parse_addr(const std::string &text) {
  nl_addr *a = nullptr;
  if (int err = nl_addr_parse(text.c_str(), AF_INET, &a); err < 0)
    return nl_fail(fmt::format("invalid address {}", text), err);
  return NlAddr(a);
}

Result<Link> get_link(nl_sock *sk, const std::string &name) {
  rtnl_link *l = nullptr;
  int err = rtnl_link_get_kernel(sk, 0, name.c_str(), &l);
  if (err < 0)
    return nl_fail(fmt::format("cannot find link {}", name), err);
  return Link(l);
}

Result<void> set_up(nl_sock *sk, rtnl_link *orig, const std::string &name) {
  if (rtnl_link_get_flags(orig) & IFF_UP)
    return {};
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sk, orig, change.get(), 0); err < 0)
    return nl_fail(fmt::format("cannot set {} up", name), err);
  return {};
}

// Adding an address that is already there is not an error: open() and a
// retried attach run this again.
Result<void> add_address(nl_sock *sk, int ifindex, const std::string &cidr,
                         const std::string &name) {
  auto local = parse_addr(cidr);
  if (!local)
    return tl::unexpected(local.error());
  Addr a(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_family(a.get(), AF_INET);
  if (int err = rtnl_addr_set_local(a.get(), local->get()); err < 0)
    return nl_fail(fmt::format("cannot add address {} to {}", cidr, name), err);
  if (int err = rtnl_addr_add(sk, a.get(), 0); err < 0 && err != -NLE_EXIST)
    return nl_fail(fmt::format("cannot add address {} to {}", cidr, name), err);
  return {};
}

} // namespace

// libnl returns negative NLE_* codes, not errno.
tl::unexpected<Error> nl_fail(std::string what, int err) {
  Errc code = Errc::io;
  if (err == -NLE_PERM)
    code = Errc::permission_denied;
  else if (err == -NLE_EXIST)
    code = Errc::exists;
  else if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
    code = Errc::not_found;
  else if (err == -NLE_BUSY)
    code = Errc::busy;
  return fail(code, fmt::format("{}: {}", what, nl_geterror(err)));
}

void NlSockFree::operator()(nl_sock *s) const {
  nl_socket_free(s);
}

Result<NlSock> route_socket() {
  NlSock sk(nl_socket_alloc());
  if (!sk)
    return fail(Errc::io, "cannot allocate a netlink socket");
  if (int err = nl_connect(sk.get(), NETLINK_ROUTE); err < 0)
    return nl_fail("cannot open a route netlink socket", err);
  return sk;
}

Result<int> link_index(nl_sock *sk, const std::string &name) {
  auto l = get_link(sk, name);
  if (!l)
    return l.error().code == Errc::not_found ? Result<int>(0) : tl::unexpected(l.error());
  return rtnl_link_get_ifindex(l->get());
}

Result<int> ensure_bridge(nl_sock *sk, const std::string &name, const std::string &gateway,
                          int prefix) {
  auto l = get_link(sk, name);
  if (!l && l.error().code == Errc::not_found) {
    Link br(rtnl_link_bridge_alloc());
    rtnl_link_set_name(br.get(), name.c_str());
    // Another ctk may create it at the same moment: EEXIST is success.
    if (int err = rtnl_link_add(sk, br.get(), NLM_F_CREATE | NLM_F_EXCL);
        err < 0 && err != -NLE_EXIST)
      return nl_fail(fmt::format("cannot create bridge {}", name), err);
    l = get_link(sk, name);
  }
  if (!l)
    return tl::unexpected(l.error());
  if (!rtnl_link_is_bridge(l->get()))
    return fail(
        Errc::exists,
        fmt::format("cannot use {} as ctk's bridge: it is a {} link", name,
                    rtnl_link_get_type(l->get()) ? rtnl_link_get_type(l->get()) : "non-bridge"));
  int index = rtnl_link_get_ifindex(l->get());
  if (auto r = add_address(sk, index, fmt::format("{}/{}", gateway, prefix), name); !r)
    return tl::unexpected(r.error());
  if (auto r = set_up(sk, l->get(), name); !r)
    return tl::unexpected(r.error());
  return index;
}

Result<void> create_veth(nl_sock *sk, const std::string &host_name, int bridge_index, int netns_fd,
                         const std::string &mac) {
  Link veth(rtnl_link_veth_alloc());
  if (!veth)
    return fail(Errc::io, "cannot allocate a veth link");
  rtnl_link_set_name(veth.get(), host_name.c_str());
  rtnl_link_set_master(veth.get(), bridge_index);
  rtnl_link_set_flags(veth.get(), IFF_UP);
  {
    // Created straight in the container's namespace under its final name:
    // no temporary name that could collide with a concurrent attach.
    Link peer(rtnl_link_veth_get_peer(veth.get()));
    rtnl_link_set_name(peer.get(), "eth0");
    rtnl_link_set_ns_fd(peer.get(), netns_fd);
    nl_addr *parsed = nullptr;
    if (int err = nl_addr_parse(mac.c_str(), AF_LLC, &parsed); err < 0)
      return nl_fail(fmt::format("invalid MAC address {}", mac), err);
    NlAddr lladdr(parsed);
    rtnl_link_set_addr(peer.get(), lladdr.get());
  }
  if (int err = rtnl_link_add(sk, veth.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_fail(fmt::format("cannot create veth {}", host_name), err);
  // The kernel applies IFF_UP of a new link, but be sure: a down port
  // silently drops everything.
  auto l = get_link(sk, host_name);
  if (!l)
    return tl::unexpected(l.error());
  return set_up(sk, l->get(), host_name);
}

Result<bool> delete_link(nl_sock *sk, const std::string &name) {
  Link l(rtnl_link_alloc());
  rtnl_link_set_name(l.get(), name.c_str());
  int err = rtnl_link_delete(sk, l.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
    return false;
  if (err < 0)
    return nl_fail(fmt::format("cannot delete link {}", name), err);
  return true;
}

Result<void> configure_inside(int netns_fd, const std::string &ip, int prefix,
                              const std::string &gateway) {
  return ns::in_netns(netns_fd, [&]() -> Result<void> {
    auto sk = route_socket();
    if (!sk)
      return tl::unexpected(sk.error());
    for (const char *name : {"lo", "eth0"}) {
      auto l = get_link(sk->get(), name);
      if (!l)
        return tl::unexpected(l.error());
      if (std::string_view(name) == "eth0") {
        if (auto r = add_address(sk->get(), rtnl_link_get_ifindex(l->get()),
                                 fmt::format("{}/{}", ip, prefix), name);
            !r)
          return r;
      }
      if (auto r = set_up(sk->get(), l->get(), name); !r)
        return r;
    }
    auto l = get_link(sk->get(), "eth0");
    if (!l)
      return tl::unexpected(l.error());
    auto dst = parse_addr("0.0.0.0/0");
    auto gw = parse_addr(gateway);
    if (!dst || !gw)
      return fail(Errc::internal, "cannot build the default route");
    Route r(rtnl_route_alloc());
    rtnl_route_set_family(r.get(), AF_INET);
    rtnl_route_set_dst(r.get(), dst->get());
    rtnl_nexthop *nh = rtnl_route_nh_alloc();
    rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(l->get()));
    rtnl_route_nh_set_gateway(nh, gw->get());
    rtnl_route_add_nexthop(r.get(), nh); // the route owns nh now
    if (int err = rtnl_route_add(sk->get(), r.get(), NLM_F_CREATE); err < 0 && err != -NLE_EXIST)
      return nl_fail(fmt::format("cannot add default route via {}", gateway), err);
    return {};
  });
}

} // namespace ctk::rt::net::detail
