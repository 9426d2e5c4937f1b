// Which network namespaces a traced flow can cross, and the endpoints'
// addresses, from netinspect's view of namespaces, links and veth peers.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>

#include <fmt/format.h>

#include "ctk/runtime/net_trace.h"

namespace ctk::rt::nettrace {

namespace ni = netinspect;

namespace {

// "netns NAME" is how netinspect names /run/netns entries; a trace names
// the namespace alone.
std::string label_of(const std::string &label) {
  return label.rfind("netns ", 0) == 0 ? label.substr(6) : label;
}

Result<Netns> open_ref(const ni::NetnsRef &ref) {
  auto fd = ni::open_netns(ref);
  if (!fd)
    return tl::unexpected(fd.error());
  Netns ns;
  ns.label = label_of(ref.label);
  ns.fd = std::make_shared<UniqueFd>(std::move(*fd));
  ns.inode = ref.inode;
  ns.path = ref.path;
  return ns;
}

ni::NetnsRef ref_of(const Netns &ns) {
  ni::NetnsRef r;
  r.inode = ns.inode;
  r.label = ns.label;
  r.path = ns.path;
  return r;
}

} // namespace

Result<std::vector<Netns>> list_namespaces(discovery::Resolver &r, const HostPaths &paths) {
  auto refs = ni::list_namespaces(r, paths);
  if (!refs)
    return tl::unexpected(refs.error());
  std::vector<Netns> out;
  for (const auto &ref : *refs)
    if (auto ns = open_ref(ref))
      out.push_back(std::move(*ns)); // one that went away meanwhile is no candidate
  return out;
}

Result<Netns> netns_of(const ni::Endpoint &e, const std::vector<Netns> &known) {
  for (const auto &k : known)
    if (k.inode == e.netns_inode)
      return k;
  if (!e.netns)
    return fail(Errc::not_found, fmt::format("{} has no network namespace of its own", e.label));
  int fd = fcntl(e.netns.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return fail_errno("cannot duplicate a namespace descriptor");
  Netns ns;
  ns.label = label_of(e.label);
  ns.fd = std::make_shared<UniqueFd>(fd);
  ns.inode = e.netns_inode;
  ns.path = e.netns_path;
  return ns;
}

Result<std::vector<std::string>> ipv4_addresses(const Netns &ns) {
  auto links = ni::read_links(ns.fd->get());
  if (!links)
    return tl::unexpected(
        links.error().wrap(fmt::format("cannot read the addresses of {}", ns.label)));
  std::vector<std::string> global, other;
  for (const auto &i : *links)
    for (const auto &a : i.addrs)
      if (a.family == AF_INET)
        (a.scope == "global" ? global : other).push_back(a.address);
  global.insert(global.end(), other.begin(), other.end());
  return global;
}

Result<std::optional<Netns>> owner_of_address(const std::string &address,
                                              const std::vector<Netns> &candidates) {
  for (const auto &ns : candidates) {
    auto addrs = ipv4_addresses(ns);
    if (!addrs)
      continue; // a namespace that went away while we looked
    if (std::find(addrs->begin(), addrs->end(), address) != addrs->end())
      return std::optional<Netns>(ns);
  }
  return std::optional<Netns>();
}

Result<uint8_t> parse_proto(std::string_view text) {
  if (text == "tcp")
    return IPPROTO_TCP;
  if (text == "udp")
    return IPPROTO_UDP;
  if (text == "icmp")
    return IPPROTO_ICMP;
  return fail(Errc::invalid_argument,
              fmt::format("invalid protocol '{}': expected tcp, udp or icmp", text));
}

const char *proto_name(uint8_t proto) {
  switch (proto) {
  case IPPROTO_TCP:
    return "tcp";
  case IPPROTO_UDP:
    return "udp";
  case IPPROTO_ICMP:
    return "icmp";
  default:
    return "ip";
  }
}

Result<std::map<uint64_t, std::vector<Peer>>> veth_peers(const std::vector<Netns> &candidates) {
  std::vector<ni::NetnsRef> refs;
  for (const auto &c : candidates)
    refs.push_back(ref_of(c));
  auto links = ni::read_all_links(refs);
  if (!links)
    return tl::unexpected(links.error());
  std::map<uint64_t, Netns> by_inode;
  for (const auto &c : candidates)
    by_inode.emplace(c.inode, c);
  // Peers in namespaces outside the candidates come back as extra entries.
  for (const auto &nl : *links)
    if (!by_inode.count(nl.ns.inode))
      if (auto ns = open_ref(nl.ns))
        by_inode.emplace(nl.ns.inode, std::move(*ns));
  std::map<uint64_t, std::vector<Peer>> out;
  for (const auto &nl : *links)
    for (const auto &i : nl.ifaces) {
      if (!i.peer || !i.peer->netns_inode || i.peer->netns_inode == nl.ns.inode)
        continue;
      auto it = by_inode.find(i.peer->netns_inode);
      if (it == by_inode.end())
        continue;
      out[nl.ns.inode].push_back({i.name, i.peer->name, it->second});
    }
  return out;
}

Result<std::vector<Netns>> path_namespaces(const Endpoint &a, const Endpoint &b, const Flow &flow,
                                           const std::vector<Netns> &candidates) {
  std::vector<Netns> all = candidates;
  for (const auto *e : {&a, &b})
    if (e->netns && std::none_of(all.begin(), all.end(),
                                 [&](const Netns &n) { return n.inode == e->netns->inode; }))
      all.push_back(*e->netns);
  auto peers = veth_peers(all);
  if (!peers)
    return tl::unexpected(peers.error());
  auto peers_of = [&](const Netns &ns) {
    auto it = peers->find(ns.inode);
    return it == peers->end() ? std::vector<Peer>{} : it->second;
  };
  std::vector<Netns> out;
  auto add = [&](const Netns &ns) {
    for (const auto &n : out)
      if (n.inode == ns.inode)
        return false;
    out.push_back(ns);
    return true;
  };
  std::vector<Netns> first;
  for (const auto *e : {&a, &b})
    if (e->netns)
      first.push_back(*e->netns);
  for (const auto &ns : first)
    add(ns);
  // Depth one: the other ends of A's and B's veths (a bridge's namespace,
  // the host for docker and podman).
  std::vector<Netns> middle;
  for (const auto &ns : first)
    for (const auto &p : peers_of(ns))
      if (add(p.netns))
        middle.push_back(p.netns);
  // Routers: a gateway the FIB names in A's namespace or in the middle ones
  // lives in a namespace beside the middle ones (a router on the bridge).
  std::vector<std::string> gateways;
  std::vector<Netns> asked = middle;
  if (a.netns)
    asked.insert(asked.begin(), *a.netns);
  for (const auto &ns : asked) {
    auto fib = fib_lookup(ns, flow.dst);
    if (fib && !fib->gateway.empty())
      gateways.push_back(fib->gateway);
  }
  for (const auto &m : middle)
    for (const auto &p : peers_of(m)) {
      auto addrs = ipv4_addresses(p.netns);
      if (!addrs)
        continue;
      for (const auto &g : gateways)
        if (std::find(addrs->begin(), addrs->end(), g) != addrs->end())
          add(p.netns);
    }
  return out;
}

} // namespace ctk::rt::nettrace
