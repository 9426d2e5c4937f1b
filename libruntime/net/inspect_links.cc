// netinspect: the links of a namespace (libnl-route) and veth peers resolved
// across namespaces through RTM_GETNSID.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "ctk/runtime/ns.h"
#include "inspect_internal.h"
#include "internal.h"

namespace ctk::rt::netinspect {

namespace detail {

std::string addr_text(nl_addr *a) {
  if (!a)
    return {};
  const int fam = nl_addr_get_family(a);
  if (fam == AF_INET || fam == AF_INET6) {
    char out[INET6_ADDRSTRLEN];
    if (::inet_ntop(fam, nl_addr_get_binary_addr(a), out, sizeof out))
      return out;
    return {};
  }
  // Link-layer addresses: colon-separated hex, as ip(8).
  const auto *b = static_cast<const unsigned char *>(nl_addr_get_binary_addr(a));
  std::string s;
  for (unsigned i = 0; i < nl_addr_get_len(a); i++)
    s += fmt::format("{}{:02x}", i ? ":" : "", b[i]);
  return s;
}

Result<uint64_t> fd_inode(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return fail_errno("cannot stat a network namespace descriptor");
  return static_cast<uint64_t>(st.st_ino);
}

Result<std::vector<Iface>> read_links_here() {
  auto sk = net::detail::route_socket();
  if (!sk)
    return tl::unexpected(sk.error());
  nl_cache *raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sk->get(), AF_UNSPEC, &raw); err < 0)
    return net::detail::nl_fail("cannot list links", err);
  Cache links(raw);
  std::vector<Iface> out;
  std::map<int, size_t> by_index;
  for (nl_object *o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
    auto *l = reinterpret_cast<rtnl_link *>(o);
    Iface i;
    i.ifindex = rtnl_link_get_ifindex(l);
    if (const char *n = rtnl_link_get_name(l))
      i.name = n;
    if (const char *t = rtnl_link_get_type(l))
      i.kind = t;
    i.mac = detail::addr_text(rtnl_link_get_addr(l));
    i.operstate = operstate_name(rtnl_link_get_operstate(l));
    i.mtu = static_cast<int>(rtnl_link_get_mtu(l));
    i.up = rtnl_link_get_flags(l) & IFF_UP;
    i.master_ifindex = rtnl_link_get_master(l);
    if (i.kind == "veth") {
      i.link_ifindex = rtnl_link_get_link(l);
      int32_t id = -1;
      if (rtnl_link_get_link_netnsid(l, &id) == 0)
        i.link_netnsid = id;
    }
    by_index[i.ifindex] = out.size();
    out.push_back(std::move(i));
  }
  for (auto &i : out)
    if (i.master_ifindex)
      if (auto it = by_index.find(i.master_ifindex); it != by_index.end())
        i.master = out[it->second].name;

  // Port states come with IFLA_PROTINFO in the AF_BRIDGE dump only. A
  // namespace without the bridge module loaded answers EOPNOTSUPP: no ports.
  raw = nullptr;
  if (rtnl_link_alloc_cache(sk->get(), AF_BRIDGE, &raw) == 0) {
    Cache bridged(raw);
    for (nl_object *o = nl_cache_get_first(bridged.get()); o; o = nl_cache_get_next(o)) {
      auto *l = reinterpret_cast<rtnl_link *>(o);
      auto it = by_index.find(rtnl_link_get_ifindex(l));
      if (it == by_index.end() || !out[it->second].master_ifindex)
        continue;
      if (int st = rtnl_link_bridge_get_port_state(l); st >= 0)
        out[it->second].port_state = port_state_name(st);
    }
  }

  raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sk->get(), &raw); err < 0)
    return net::detail::nl_fail("cannot list addresses", err);
  Cache addrs(raw);
  for (nl_object *o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
    auto *a = reinterpret_cast<rtnl_addr *>(o);
    auto it = by_index.find(rtnl_addr_get_ifindex(a));
    if (it == by_index.end())
      continue;
    IfAddr ia;
    ia.family = rtnl_addr_get_family(a);
    ia.address = detail::addr_text(rtnl_addr_get_local(a));
    ia.prefix = rtnl_addr_get_prefixlen(a);
    const int scope = rtnl_addr_get_scope(a);
    ia.scope = scope == RT_SCOPE_UNIVERSE ? "global" : route_scope_name(scope);
    if (!ia.address.empty())
      out[it->second].addrs.push_back(std::move(ia));
  }
  return out;
}

} // namespace detail

namespace {

// The id the calling thread's namespace has given to the namespace of
// `target_fd`, -1 when it has none. RTM_GETNSID only looks the id up; it
// never assigns one. libnl has no call for it, so this is a plain request.
Result<int> nsid_of(int target_fd) {
  UniqueFd sk(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sk)
    return fail_errno("cannot open a route netlink socket");
  struct {
    nlmsghdr nh;
    rtgenmsg g;
    char pad[3];
    nlattr attr;
    uint32_t fd;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETNSID;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.g.rtgen_family = AF_UNSPEC;
  req.attr.nla_len = NLA_HDRLEN + sizeof(uint32_t);
  req.attr.nla_type = NETNSA_FD;
  req.fd = static_cast<uint32_t>(target_fd);
  static_assert(offsetof(decltype(req), attr) == NLMSG_LENGTH(NLMSG_ALIGN(sizeof(rtgenmsg))));
  if (::send(sk.get(), &req, sizeof req, 0) < 0)
    return fail_errno("cannot ask for a namespace id");
  alignas(nlmsghdr) char buf[1024];
  const ssize_t n = ::recv(sk.get(), buf, sizeof buf, 0);
  if (n < 0)
    return fail_errno("cannot read a namespace id");
  auto *nh = reinterpret_cast<nlmsghdr *>(buf);
  if (!NLMSG_OK(nh, static_cast<unsigned>(n)))
    return fail(Errc::parse, "short RTM_GETNSID reply");
  if (nh->nlmsg_type == NLMSG_ERROR) {
    auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(nh));
    return fail_errno("cannot ask for a namespace id", -e->error);
  }
  if (nh->nlmsg_type != RTM_NEWNSID)
    return fail(Errc::parse, fmt::format("unexpected reply {} to RTM_GETNSID", nh->nlmsg_type));
  int len = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(sizeof(rtgenmsg));
  auto *a = reinterpret_cast<nlattr *>(static_cast<char *>(NLMSG_DATA(nh)) +
                                       NLMSG_ALIGN(sizeof(rtgenmsg)));
  for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN &&
         a->nla_len <= static_cast<unsigned>(len);
       len -= NLA_ALIGN(a->nla_len),
       a = reinterpret_cast<nlattr *>(reinterpret_cast<char *>(a) + NLA_ALIGN(a->nla_len)))
    if ((a->nla_type & NLA_TYPE_MASK) == NETNSA_NSID && a->nla_len >= NLA_HDRLEN + 4) {
      int32_t id = 0;
      std::memcpy(&id, reinterpret_cast<char *>(a) + NLA_HDRLEN, sizeof id);
      return id;
    }
  return -1;
}

struct Opened {
  NetnsRef ref;
  UniqueFd fd;
};

// What one namespace reports: its links and, for the ids its veths name,
// which of the candidate namespaces (index into `cands`) each id is.
struct Report {
  std::vector<Iface> ifaces;
  std::map<int, size_t> nsid_to;
};

Result<Report> read_one(const Opened &self, const std::vector<Opened> &cands) {
  Report rep;
  auto r = ns::in_netns(self.fd.get(), [&]() -> Result<void> {
    auto links = detail::read_links_here();
    if (!links)
      return tl::unexpected(links.error());
    rep.ifaces = std::move(*links);
    std::set<int> wanted;
    for (const auto &i : rep.ifaces)
      if (i.link_netnsid >= 0)
        wanted.insert(i.link_netnsid);
    for (size_t c = 0; c < cands.size() && rep.nsid_to.size() < wanted.size(); c++) {
      if (&cands[c] == &self)
        continue;
      auto id = nsid_of(cands[c].fd.get());
      if (id && *id >= 0 && wanted.count(*id))
        rep.nsid_to[*id] = c;
    }
    return {};
  });
  if (!r)
    return tl::unexpected(r.error());
  return rep;
}

// Network namespaces of processes that none of `known` is: where a veth's
// peer lives when its namespace belongs to no container and has no name.
std::vector<Opened> other_namespaces(const std::set<uint64_t> &known) {
  std::vector<Opened> out;
  std::set<uint64_t> seen = known;
  DIR *d = ::opendir("/proc");
  if (!d)
    return out;
  while (dirent *e = ::readdir(d)) {
    long long pid = 0;
    if (!parse_int(e->d_name, pid) || pid <= 0)
      continue;
    const std::string path = fmt::format("/proc/{}/ns/net", pid);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || seen.count(st.st_ino))
      continue;
    auto fd = open_fd(path, O_RDONLY);
    if (!fd)
      continue;
    seen.insert(st.st_ino);
    Opened o;
    o.ref.inode = st.st_ino;
    o.ref.label = fmt::format("netns:[{}]", st.st_ino);
    o.ref.pid = static_cast<pid_t>(pid);
    o.ref.path = path;
    o.fd = std::move(*fd);
    out.push_back(std::move(o));
  }
  ::closedir(d);
  return out;
}

} // namespace

Result<UniqueFd> open_netns(const NetnsRef &ns) {
  auto fd = open_fd(ns.path, O_RDONLY);
  if (!fd)
    return wrap(fd, fmt::format("cannot open the network namespace of {}", ns.label));
  return fd;
}

Result<std::vector<Iface>> read_links(int netns_fd) {
  std::vector<Iface> out;
  auto r = ns::in_netns(netns_fd, [&]() -> Result<void> {
    auto l = detail::read_links_here();
    if (!l)
      return tl::unexpected(l.error());
    out = std::move(*l);
    return {};
  });
  if (!r)
    return tl::unexpected(r.error());
  return out;
}

Result<std::vector<NsLinks>> read_all_links(const std::vector<NetnsRef> &all,
                                            std::vector<std::string> *warnings) {
  std::vector<Opened> cands;
  std::set<uint64_t> known;
  for (const auto &ns : all) {
    auto fd = open_netns(ns);
    if (!fd) {
      // A container that stopped since it was listed: not an error of ours.
      if (warnings)
        warnings->push_back(fd.error().message());
      continue;
    }
    cands.push_back({ns, std::move(*fd)});
    known.insert(ns.inode);
  }
  std::vector<Report> reports;
  std::vector<size_t> ok;
  for (size_t i = 0; i < cands.size(); i++) {
    auto rep = read_one(cands[i], cands);
    if (!rep) {
      if (warnings)
        warnings->push_back(
            rep.error().wrap(fmt::format("cannot read links of {}", cands[i].ref.label)).message());
      continue;
    }
    reports.push_back(std::move(*rep));
    ok.push_back(i);
  }

  // Ids no known namespace answered to: their peers live elsewhere (a test
  // harness's unnamed namespace, a sandbox of a runtime ctk does not know).
  bool missing = false;
  for (const auto &rep : reports)
    for (const auto &i : rep.ifaces)
      if (i.link_netnsid >= 0 && !rep.nsid_to.count(i.link_netnsid))
        missing = true;
  if (missing) {
    auto extra = other_namespaces(known);
    if (!extra.empty()) {
      const size_t base = cands.size();
      for (auto &e : extra)
        cands.push_back(std::move(e));
      // Ask again, now with the extra candidates, only where something is missing.
      for (size_t k = 0; k < reports.size(); k++) {
        auto &rep = reports[k];
        std::set<int> want;
        for (const auto &i : rep.ifaces)
          if (i.link_netnsid >= 0 && !rep.nsid_to.count(i.link_netnsid))
            want.insert(i.link_netnsid);
        if (want.empty())
          continue;
        (void)ns::in_netns(cands[ok[k]].fd.get(), [&]() -> Result<void> {
          for (size_t c = base; c < cands.size() && !want.empty(); c++)
            if (auto id = nsid_of(cands[c].fd.get()); id && want.count(*id)) {
              rep.nsid_to[*id] = c;
              want.erase(*id);
            }
          return {};
        });
      }
      // Read the links of the extra namespaces that turned out to matter.
      std::set<size_t> used;
      for (const auto &rep : reports)
        for (const auto &[id, c] : rep.nsid_to)
          if (c >= base)
            used.insert(c);
      for (size_t c : used)
        if (auto links = read_links(cands[c].fd.get())) {
          Report rep;
          rep.ifaces = std::move(*links);
          reports.push_back(std::move(rep));
          ok.push_back(c);
        }
    }
  }

  // (namespace index, ifindex) -> the interface, to fill each peer.
  std::map<std::pair<size_t, int>, const Iface *> index;
  for (size_t k = 0; k < reports.size(); k++)
    for (const auto &i : reports[k].ifaces)
      index[{ok[k], i.ifindex}] = &i;
  std::vector<NsLinks> out;
  for (size_t k = 0; k < reports.size(); k++) {
    NsLinks nl;
    nl.ns = cands[ok[k]].ref;
    nl.ifaces = reports[k].ifaces;
    for (auto &i : nl.ifaces) {
      if (i.kind != "veth" || i.link_ifindex <= 0)
        continue;
      PeerRef p;
      p.ifindex = i.link_ifindex;
      size_t where = ok[k];
      if (i.link_netnsid >= 0) {
        auto it = reports[k].nsid_to.find(i.link_netnsid);
        if (it == reports[k].nsid_to.end()) {
          p.netns_label = fmt::format("netns id {}", i.link_netnsid);
          i.peer = std::move(p);
          continue;
        }
        where = it->second;
      }
      const NetnsRef &pn = cands[where].ref;
      p.netns_inode = pn.inode;
      p.netns_label = pn.label;
      p.container = pn.container;
      if (auto it = index.find({where, i.link_ifindex}); it != index.end()) {
        p.name = it->second->name;
        p.master = it->second->master;
        p.master_ifindex = it->second->master_ifindex;
      }
      i.peer = std::move(p);
    }
    out.push_back(std::move(nl));
  }
  return out;
}

} // namespace ctk::rt::netinspect
