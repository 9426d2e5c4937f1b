// Which network namespaces a traced flow can cross, and the endpoints'
// addresses, from netinspect's view of namespaces, links and veth peers.
#include <arpa/inet.h>
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

Result<std::vector<std::string>> ip_addresses(const Netns &ns, int family) {
  auto links = ni::read_links(ns.fd->get());
  if (!links)
    return tl::unexpected(
        links.error().wrap(fmt::format("cannot read the addresses of {}", ns.label)));
  std::vector<std::string> global, other;
  for (const auto &i : *links)
    for (const auto &a : i.addrs)
      if (a.family == family)
        (a.scope == "global" ? global : other).push_back(a.address);
  global.insert(global.end(), other.begin(), other.end());
  return global;
}

int address_family(std::string_view text) {
  return ni::parse_ip(text).value_or(0);
}

bool usable_address(std::string_view text) {
  std::string s(text);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    uint32_t h = ntohl(a4.s_addr);
    return (h >> 24) != 127 && h != 0 && (h >> 28) != 0xe;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1)
    return false;
  // An IPv4-mapped address is an IPv4 flow seen through an IPv6 socket.
  return !IN6_IS_ADDR_LOOPBACK(&a6) && !IN6_IS_ADDR_UNSPECIFIED(&a6) &&
         !IN6_IS_ADDR_LINKLOCAL(&a6) && !IN6_IS_ADDR_MULTICAST(&a6) && !IN6_IS_ADDR_V4MAPPED(&a6);
}

Result<std::optional<AddressText>> parse_address(std::string_view text) {
  AddressText out;
  std::string_view addr = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    // "[v6]" or "[v6]:PORT": the brackets only make sense around IPv6.
    auto close = text.find(']');
    if (close == std::string_view::npos || address_family(text.substr(1, close - 1)) != AF_INET6)
      return fail(Errc::invalid_argument,
                  fmt::format("invalid address '{}': expected [IPv6] or [IPv6]:PORT", text));
    addr = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return fail(Errc::invalid_argument,
                    fmt::format("invalid address '{}': expected [IPv6] or [IPv6]:PORT", text));
      port = rest.substr(1);
      has_port = true;
    }
  } else if (address_family(text) == 0) {
    // "IPv4:PORT"; a bare IPv6 address has colons of its own and no port.
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || address_family(text.substr(0, colon)) != AF_INET)
      return std::optional<AddressText>();
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  // One spelling for comparisons with what the kernel reports (fd00:77:0::3
  // is fd00:77::3).
  out.family = address_family(addr);
  if (!out.family)
    return std::optional<AddressText>();
  out.address = ni::canonical_ip(out.family, addr);
  if (has_port) {
    unsigned long long p;
    if (!parse_uint(port, p) || p == 0 || p > 65535)
      return fail(Errc::invalid_argument,
                  fmt::format("invalid address '{}': the port must be 1-65535", text));
    out.port = static_cast<uint16_t>(p);
  }
  return std::optional<AddressText>(std::move(out));
}

Result<int> choose_family(const EndFamilies &a, const EndFamilies &b, bool want_v6) {
  auto name = [](int f) { return f == AF_INET6 ? "IPv6" : "IPv4"; };
  if (a.given && b.given && a.given != b.given)
    return fail(Errc::invalid_argument,
                fmt::format("{} {} is {} but {} {} is {}: both ends must be of one family", a.role,
                            a.text, name(a.given), b.role, b.text, name(b.given)));
  int family = a.given ? a.given : b.given;
  if (want_v6) {
    if (family == AF_INET)
      for (const auto *e : {&a, &b})
        if (e->given == AF_INET)
          return fail(Errc::invalid_argument,
                      fmt::format("-6: {} {} is an IPv4 address", e->role, e->text));
    family = AF_INET6;
  }
  if (!family) {
    if (a.v4 && b.v4)
      family = AF_INET;
    else if (a.v6 && b.v6)
      family = AF_INET6;
    else if (!a.v4 && !a.v6)
      family = AF_INET; // a's own error below
    else if (!b.v4 && !b.v6)
      family = AF_INET;
    else
      return fail(Errc::invalid_argument,
                  fmt::format("{} {} has only {} addresses and {} {} only {}: no family in common",
                              a.role, a.text, a.v4 ? "IPv4" : "IPv6", b.role, b.text,
                              b.v4 ? "IPv4" : "IPv6"));
  }
  for (const auto *e : {&a, &b}) {
    bool has = e->given ? e->given == family : (family == AF_INET ? e->v4 : e->v6);
    if (!has) {
      if (family == AF_INET && !e->v6)
        return fail(Errc::not_found, fmt::format("{} {} has no IPv4 or IPv6 address (other than "
                                                 "loopback and link-local)",
                                                 e->role, e->text));
      return fail(want_v6 ? Errc::invalid_argument : Errc::not_found,
                  fmt::format("{} {} has no {} address{}", e->role, e->text, name(family),
                              family == AF_INET6 ? " (global or unique local)" : ""));
    }
  }
  return family;
}

Result<std::optional<Netns>> owner_of_address(const std::string &address,
                                              const std::vector<Netns> &candidates) {
  int family = address_family(address);
  for (const auto &ns : candidates) {
    auto addrs = ip_addresses(ns, family);
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
    return IPPROTO_ICMP; // ICMPv6 for an IPv6 flow (the caller's choice)
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
  case IPPROTO_ICMPV6:
    return "icmpv6";
  default:
    return "ip";
  }
}

bool is_icmp(uint8_t proto) {
  return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

bool is_icmp_error(uint8_t proto, uint8_t type) {
  if (proto == IPPROTO_ICMP)
    return type == 3 || type == 11;
  // destination unreachable, packet too big, time exceeded
  return proto == IPPROTO_ICMPV6 && type >= 1 && type <= 3;
}

uint8_t icmp_echo_request(uint8_t proto) {
  return proto == IPPROTO_ICMPV6 ? 128 : 8;
}
uint8_t icmp_echo_reply(uint8_t proto) {
  return proto == IPPROTO_ICMPV6 ? 129 : 0;
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
      auto addrs = ip_addresses(p.netns, flow.family);
      if (!addrs)
        continue;
      for (const auto &g : gateways)
        if (std::find(addrs->begin(), addrs->end(), g) != addrs->end())
          add(p.netns);
    }
  return out;
}

} // namespace ctk::rt::nettrace
