// Which network namespaces a traced flow can cross, and the endpoints'
// addresses. Namespaces are held by descriptor; every look inside one runs on
// an ns::in_netns thread.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/ns.h"
#include "internal.h"

namespace ctk::rt::nettrace {

namespace {

struct CachePut {
  void operator()(nl_cache *c) const { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CachePut>;

Result<Netns> open_ns(const std::string &path, std::string label) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd)
    return wrap(fd, fmt::format("cannot open network namespace {}", path));
  struct stat st {};
  if (fstat(fd->get(), &st) != 0)
    return fail_errno(fmt::format("cannot stat {}", path));
  Netns ns;
  ns.label = std::move(label);
  ns.fd = std::make_shared<UniqueFd>(std::move(*fd));
  ns.inode = st.st_ino;
  return ns;
}

std::string ip4(const void *p) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

// RTM_GETNSID: the id `ns_fd` has inside the calling thread's namespace
// (-1 when none was assigned).
Result<int> nsid_of(int nl, int ns_fd) {
  // Attributes start at the aligned end of the family header.
  alignas(nlmsghdr) char req[NLMSG_SPACE(NLMSG_ALIGN(sizeof(rtgenmsg)) + NLA_HDRLEN + 4)] = {};
  auto *h = reinterpret_cast<nlmsghdr *>(req);
  h->nlmsg_type = RTM_GETNSID;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = 1;
  static_cast<rtgenmsg *>(NLMSG_DATA(h))->rtgen_family = AF_UNSPEC;
  size_t off = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg)));
  auto *a = reinterpret_cast<nlattr *>(req + off);
  a->nla_type = NETNSA_FD;
  a->nla_len = NLA_HDRLEN + sizeof(uint32_t);
  uint32_t v = static_cast<uint32_t>(ns_fd);
  std::memcpy(req + off + NLA_HDRLEN, &v, sizeof v);
  h->nlmsg_len = static_cast<uint32_t>(off + NLA_ALIGN(a->nla_len));
  if (send(nl, req, h->nlmsg_len, 0) < 0)
    return fail_errno("cannot ask for a namespace id");
  alignas(nlmsghdr) char buf[4096];
  ssize_t n = recv(nl, buf, sizeof buf, 0);
  if (n < 0)
    return fail_errno("cannot read a namespace id");
  auto *rh = reinterpret_cast<nlmsghdr *>(buf);
  if (!NLMSG_OK(rh, static_cast<unsigned>(n)) || rh->nlmsg_type == NLMSG_ERROR)
    return -1;
  int len = static_cast<int>(rh->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg))));
  auto *at = reinterpret_cast<nlattr *>(static_cast<char *>(NLMSG_DATA(rh)) + NLMSG_ALIGN(sizeof(rtgenmsg)));
  for (; len >= static_cast<int>(NLA_HDRLEN) && at->nla_len >= NLA_HDRLEN && at->nla_len <= len;
       len -= NLA_ALIGN(at->nla_len),
       at = reinterpret_cast<nlattr *>(reinterpret_cast<char *>(at) + NLA_ALIGN(at->nla_len))) {
    if ((at->nla_type & NLA_TYPE_MASK) == NETNSA_NSID) {
      int32_t id;
      std::memcpy(&id, reinterpret_cast<char *>(at) + NLA_HDRLEN, sizeof id);
      return id;
    }
  }
  return -1;
}

} // namespace

Result<std::vector<Netns>> list_namespaces(const HostPaths &paths) {
  std::vector<Netns> out;
  auto add = [&](const std::string &path, std::string label) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
      return;
    for (const auto &n : out)
      if (n.inode == st.st_ino)
        return;
    if (auto ns = open_ns(path, std::move(label)))
      out.push_back(std::move(*ns));
  };
  // The host: pid 1's namespace, or ours when pid 1's cannot be opened
  // (ctk in a container that sees the host's processes).
  add(paths.proc + "/1/ns/net", "host");
  if (out.empty())
    add(paths.proc + "/self/ns/net", "host");
  std::string run_netns = paths.prefixed("/run/netns");
  if (DIR *d = opendir(run_netns.c_str())) {
    std::vector<std::string> names;
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.emplace_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto &n : names)
      add(run_netns + "/" + n, n);
  }
  DIR *d = opendir(paths.proc.c_str());
  if (!d)
    return fail_errno(fmt::format("cannot list {}", paths.proc));
  while (dirent *e = readdir(d)) {
    unsigned long long pid;
    if (!parse_uint(e->d_name, pid))
      continue;
    std::string path = fmt::format("{}/{}/ns/net", paths.proc, pid);
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
      continue;
    add(path, fmt::format("netns:[{}]", st.st_ino));
  }
  closedir(d);
  return out;
}

Result<Netns> netns_of_pid(pid_t pid, const std::vector<Netns> &known, const HostPaths &paths) {
  auto ns = open_ns(fmt::format("{}/{}/ns/net", paths.proc, pid), fmt::format("pid {}", pid));
  if (!ns)
    return ns;
  for (const auto &k : known)
    if (k.inode == ns->inode && k.label.rfind("netns:", 0) != 0)
      ns->label = k.label;
  return ns;
}

Result<std::vector<std::string>> ipv4_addresses(const Netns &ns) {
  std::vector<std::string> global, other;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    auto sk = net::detail::route_socket();
    if (!sk)
      return tl::unexpected(sk.error());
    nl_cache *c = nullptr;
    if (int err = rtnl_addr_alloc_cache(sk->get(), &c); err < 0)
      return fail(Errc::io, fmt::format("cannot list addresses: {}", nl_geterror(err)));
    Cache cache(c);
    for (nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
      auto *a = reinterpret_cast<rtnl_addr *>(o);
      if (rtnl_addr_get_family(a) != AF_INET)
        continue;
      nl_addr *local = rtnl_addr_get_local(a);
      if (!local)
        continue;
      std::string s = ip4(nl_addr_get_binary_addr(local));
      (rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE ? global : other).push_back(s);
    }
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot read the addresses of {}", ns.label)));
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

Result<std::vector<Peer>> veth_peers(const Netns &ns, const std::vector<Netns> &candidates) {
  struct Raw {
    std::string device;
    int peer_ifindex;
    int nsid;
  };
  std::vector<Raw> raw;
  std::map<int, const Netns *> by_nsid;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    auto sk = net::detail::route_socket();
    if (!sk)
      return tl::unexpected(sk.error());
    nl_cache *c = nullptr;
    if (int err = rtnl_link_alloc_cache(sk->get(), AF_UNSPEC, &c); err < 0)
      return fail(Errc::io, fmt::format("cannot list links: {}", nl_geterror(err)));
    Cache cache(c);
    for (nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
      auto *l = reinterpret_cast<rtnl_link *>(o);
      int32_t nsid = -1;
      if (!rtnl_link_is_veth(l) || rtnl_link_get_link_netnsid(l, &nsid) < 0 || nsid < 0)
        continue;
      raw.push_back({rtnl_link_get_name(l), rtnl_link_get_link(l), nsid});
    }
    if (raw.empty())
      return {};
    UniqueFd nl(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl)
      return fail_errno("cannot open a netlink socket");
    for (const auto &cand : candidates) {
      if (cand.inode == ns.inode)
        continue;
      auto id = nsid_of(nl.get(), cand.fd->get());
      if (id && *id >= 0)
        by_nsid.emplace(*id, &cand);
    }
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot read the veths of {}", ns.label)));
  std::vector<Peer> out;
  for (const auto &v : raw) {
    auto it = by_nsid.find(v.nsid);
    if (it == by_nsid.end())
      continue;
    Peer p;
    p.device = v.device;
    p.netns = *it->second;
    // The peer's name, read in its namespace by index.
    (void)ns::in_netns(p.netns.fd->get(), [&]() -> Result<void> {
      char name[IF_NAMESIZE] = {};
      if (if_indextoname(static_cast<unsigned>(v.peer_ifindex), name))
        p.peer_device = name;
      return {};
    });
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Netns>> path_namespaces(const Endpoint &a, const Endpoint &b, const Flow &flow,
                                           const std::vector<Netns> &candidates) {
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
  for (const auto &ns : first) {
    auto peers = veth_peers(ns, candidates);
    if (!peers)
      return tl::unexpected(peers.error());
    for (const auto &p : *peers)
      if (add(p.netns))
        middle.push_back(p.netns);
  }
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
  if (gateways.empty())
    return out;
  for (const auto &m : middle) {
    auto peers = veth_peers(m, candidates);
    if (!peers)
      continue;
    for (const auto &p : *peers) {
      auto addrs = ipv4_addresses(p.netns);
      if (!addrs)
        continue;
      for (const auto &g : gateways)
        if (std::find(addrs->begin(), addrs->end(), g) != addrs->end())
          add(p.netns);
    }
  }
  return out;
}

} // namespace ctk::rt::nettrace
