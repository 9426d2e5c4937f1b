// The probe that sends a traced flow's packets from the sender's namespace,
// and what explains a packet that cannot exist: the FIB's answer.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <random>

#include <fmt/format.h>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/ns.h"

namespace ctk::rt::nettrace {

namespace {

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78 // linux/in6.h; glibc's netinet/in.h lacks it
#endif

std::string ip_text(int family, const void *p) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, p, buf, sizeof buf);
  return buf;
}
std::string ip4(const void *p) {
  return ip_text(AF_INET, p);
}

// An IPv4 or IPv6 address with its port as a socket address.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = 0;
  const void *addr() const {
    return family == AF_INET
               ? static_cast<const void *>(&reinterpret_cast<const sockaddr_in &>(ss).sin_addr)
               : &reinterpret_cast<const sockaddr_in6 &>(ss).sin6_addr;
  }
  size_t addr_len() const { return family == AF_INET ? sizeof(in_addr) : sizeof(in6_addr); }
  sockaddr *get() { return reinterpret_cast<sockaddr *>(&ss); }
  uint16_t port() const {
    return ntohs(family == AF_INET ? reinterpret_cast<const sockaddr_in &>(ss).sin_port
                                   : reinterpret_cast<const sockaddr_in6 &>(ss).sin6_port);
  }
};

Result<SockAddr> parse_ip(const std::string &text, uint16_t port = 0) {
  SockAddr a;
  auto *in = reinterpret_cast<sockaddr_in *>(&a.ss);
  auto *in6 = reinterpret_cast<sockaddr_in6 *>(&a.ss);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    a.family = in->sin_family = AF_INET;
    in->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
    a.family = in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
  } else {
    return fail(Errc::invalid_argument, fmt::format("invalid IP address '{}'", text));
  }
  return a;
}

void put_attr(char *buf, size_t &len, uint16_t type, const void *data, size_t size) {
  auto *a = reinterpret_cast<nlattr *>(buf + len);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
  std::memcpy(buf + len + NLA_HDRLEN, data, size);
  len += NLA_ALIGN(a->nla_len);
}

uint16_t checksum(const void *data, size_t len) {
  const auto *p = static_cast<const uint8_t *>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1)
    sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

} // namespace

std::string FibResult::describe() const {
  if (error)
    return fmt::format("no route ({})", std::strerror(error));
  if (type != "unicast" && type != "local")
    return fmt::format("route type {}", type);
  std::string s = type == "local" ? "local" : (gateway.empty() ? "direct" : "via " + gateway);
  if (!device.empty())
    s += " dev " + device;
  if (!prefsrc.empty())
    s += " src " + prefsrc;
  return s;
}

Result<FibResult> fib_lookup(const Netns &ns, const std::string &dst,
                             const std::optional<std::string> &src,
                             const std::optional<std::string> &iif) {
  auto d = parse_ip(dst);
  if (!d)
    return tl::unexpected(d.error());
  std::optional<SockAddr> s;
  if (src) {
    auto p = parse_ip(*src);
    if (!p)
      return tl::unexpected(p.error());
    if (p->family != d->family)
      return fail(Errc::invalid_argument,
                  fmt::format("cannot look up {} from {}: not of one family", dst, *src));
    s = *p;
  }
  const int family = d->family;
  const auto bits = static_cast<unsigned char>(d->addr_len() * 8);
  FibResult out;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    UniqueFd nl(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl)
      return fail_errno("cannot open a netlink socket");
    alignas(nlmsghdr) char req[256] = {};
    auto *h = reinterpret_cast<nlmsghdr *>(req);
    h->nlmsg_type = RTM_GETROUTE;
    h->nlmsg_flags = NLM_F_REQUEST;
    h->nlmsg_seq = 1;
    auto *rt = static_cast<rtmsg *>(NLMSG_DATA(h));
    rt->rtm_family = static_cast<unsigned char>(family);
    rt->rtm_dst_len = bits;
    size_t len = NLMSG_LENGTH(sizeof(rtmsg));
    put_attr(req, len, RTA_DST, d->addr(), d->addr_len());
    if (s) {
      put_attr(req, len, RTA_SRC, s->addr(), s->addr_len());
      rt->rtm_src_len = bits;
    }
    if (iif) {
      uint32_t idx = if_nametoindex(iif->c_str());
      if (idx == 0)
        return fail(Errc::not_found, fmt::format("no device {}", *iif));
      put_attr(req, len, RTA_IIF, &idx, sizeof idx);
    }
    h->nlmsg_len = static_cast<uint32_t>(len);
    if (send(nl.get(), req, len, 0) < 0)
      return fail_errno("cannot send a route lookup");
    alignas(nlmsghdr) char buf[8192];
    ssize_t n = recv(nl.get(), buf, sizeof buf, 0);
    if (n < 0)
      return fail_errno("cannot read a route lookup");
    auto *rh = reinterpret_cast<nlmsghdr *>(buf);
    if (!NLMSG_OK(rh, static_cast<unsigned>(n)))
      return fail(Errc::parse, "truncated route lookup answer");
    if (rh->nlmsg_type == NLMSG_ERROR) {
      auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(rh));
      out.error = -e->error;
      out.type = "unreachable";
      return {};
    }
    auto *rm = static_cast<rtmsg *>(NLMSG_DATA(rh));
    out.type = netinspect::route_type_name(rm->rtm_type);
    int alen = static_cast<int>(RTM_PAYLOAD(rh));
    for (auto *a = RTM_RTA(rm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
      if (a->rta_type == RTA_GATEWAY)
        out.gateway = ip_text(family, RTA_DATA(a));
      else if (a->rta_type == RTA_PREFSRC)
        out.prefsrc = ip_text(family, RTA_DATA(a));
      else if (a->rta_type == RTA_OIF) {
        char name[IF_NAMESIZE] = {};
        if (if_indextoname(*static_cast<uint32_t *>(RTA_DATA(a)), name))
          out.device = name;
      }
    }
    // The kernel answers a lookup that hits an unreachable/prohibit route
    // with an error; one that names such a type is the same thing.
    if (out.type == "unreachable")
      out.error = EHOSTUNREACH;
    else if (out.type == "prohibit")
      out.error = EACCES;
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot look up {} in {}", dst, ns.label)));
  return out;
}

namespace {

// The probe's socket, opened in `ns` and bound to the flow's source and
// `port` (0: any). A socket stays in the namespace it was made in.
Result<UniqueFd> probe_socket(const Netns &ns, const Flow &flow, uint16_t port) {
  auto src = parse_ip(flow.src, port);
  if (!src)
    return tl::unexpected(src.error());
  const bool v6 = src->family == AF_INET6;
  UniqueFd fd;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    int type = flow.proto == IPPROTO_TCP   ? SOCK_STREAM
               : flow.proto == IPPROTO_UDP ? SOCK_DGRAM
                                           : SOCK_RAW;
    // An ICMP probe of an IPv6 flow is ICMPv6 whatever the caller said.
    int proto = flow.proto;
    if (is_icmp(flow.proto))
      proto = v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
    fd = UniqueFd(socket(src->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto));
    if (!fd)
      return fail_errno(fmt::format("cannot open a {} socket", proto_name(flow.proto)));
    int one = 1;
    if (flow.proto == IPPROTO_TCP) {
      // One SYN: no retransmission beyond the first, so a dropped SYN is one packet.
      setsockopt(fd.get(), IPPROTO_TCP, TCP_SYNCNT, &one, sizeof one);
      // The next probe binds the same port again (see send()).
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    // FREEBIND: the source may be an address the sender has but routes oddly (rp_filter tests).
    if (v6) {
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
      // A UDP socket hears a router's ICMPv6 error (no route, unreachable)
      // only with RECVERR: recv() then fails with its errno.
      if (flow.proto == IPPROTO_UDP)
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
    } else {
      setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    }
    if (bind(fd.get(), src->get(), src->len) != 0)
      return fail_errno(port ? fmt::format("cannot bind the probe to port {} of {}", port, flow.src)
                             : fmt::format("cannot bind the probe to {}", flow.src));
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot prepare the probe in {}", ns.label)));
  return fd;
}

} // namespace

Result<Probe> Probe::open(const Netns &ns, const Flow &flow) {
  if (auto src = parse_ip(flow.src); !src)
    return tl::unexpected(src.error());
  if (!is_icmp(flow.proto) && !flow.dport)
    return fail(Errc::invalid_argument, fmt::format("a {} probe needs a destination port (--dport)",
                                                    proto_name(flow.proto)));
  Probe p;
  p.flow_ = flow;
  p.ns_ = ns;
  auto fd = probe_socket(ns, flow, 0);
  if (!fd)
    return tl::unexpected(fd.error());
  p.fd_ = std::move(*fd);
  if (is_icmp(flow.proto)) {
    std::random_device rd;
    p.sport_ = static_cast<uint16_t>(rd() % 60000 + 1024);
    return p;
  }
  SockAddr bound;
  bound.len = sizeof bound.ss;
  if (getsockname(p.fd_.get(), bound.get(), &bound.len) != 0)
    return fail_errno("cannot read the probe's port");
  bound.family = bound.ss.ss_family;
  p.sport_ = bound.port();
  return p;
}

Result<void> Probe::send() {
  auto dst = parse_ip(flow_.dst, flow_.dport.value_or(0));
  if (!dst)
    return tl::unexpected(dst.error());
  const bool v6 = dst->family == AF_INET6;
  auto what = fmt::format("{} {} -> {}", proto_name(flow_.proto), flow_.src,
                          !flow_.dport ? flow_.dst
                          : v6         ? fmt::format("[{}]:{}", flow_.dst, *flow_.dport)
                                       : fmt::format("{}:{}", flow_.dst, *flow_.dport));
  if (flow_.proto == IPPROTO_TCP) {
    if (connected_once_) {
      // Each probe is a new connection's SYN from the same port (the one the
      // tracing rules match): the last one is reset, not closed, so the
      // port is not held in TIME_WAIT.
      linger off{1, 0};
      setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &off, sizeof off);
      fd_.reset();
      auto fd = probe_socket(ns_, flow_, sport_);
      if (!fd)
        return tl::unexpected(fd.error());
      fd_ = std::move(*fd);
    }
    connected_once_ = true;
    if (connect(fd_.get(), dst->get(), dst->len) != 0 && errno != EINPROGRESS)
      return fail_errno(fmt::format("cannot send {}", what));
    return {};
  }
  if (flow_.proto == IPPROTO_UDP) {
    static const char kPayload[] = "ctk net trace probe\n";
    if (sendto(fd_.get(), kPayload, sizeof kPayload - 1, 0, dst->get(), dst->len) < 0)
      return fail_errno(fmt::format("cannot send {}", what));
    return {};
  }
  // The echo header has one layout in ICMP and ICMPv6 (type, code,
  // checksum, id, sequence); the kernel sums ICMPv6 itself (the sum covers
  // a pseudo-header it knows).
  struct {
    icmphdr h;
    char data[24];
  } pkt{};
  pkt.h.type = v6 ? 128 : ICMP_ECHO;
  pkt.h.un.echo.id = htons(sport_);
  pkt.h.un.echo.sequence = htons(++seq_);
  std::memcpy(pkt.data, "ctk net trace probe....", sizeof pkt.data);
  if (!v6)
    pkt.h.checksum = checksum(&pkt, sizeof pkt);
  if (sendto(fd_.get(), &pkt, sizeof pkt, 0, dst->get(), dst->len) < 0)
    return fail_errno(fmt::format("cannot send {}", what));
  return {};
}

std::optional<std::string> Probe::answer() {
  if (flow_.proto == IPPROTO_TCP) {
    pollfd p{fd_.get(), POLLOUT, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLOUT | POLLERR | POLLHUP)))
      return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0)
      return "connected";
    if (err == ECONNREFUSED)
      return "refused";
    return std::string(std::strerror(err));
  }
  char buf[1500];
  for (;;) {
    SockAddr from;
    from.len = sizeof from.ss;
    ssize_t n = recvfrom(fd_.get(), buf, sizeof buf, 0, from.get(), &from.len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return std::nullopt;
      if (errno == ECONNREFUSED)
        return "refused";
      return std::string(std::strerror(errno));
    }
    if (flow_.proto == IPPROTO_UDP)
      return "reply";
    if (from.ss.ss_family == AF_INET6) {
      // A raw ICMPv6 socket gets the ICMPv6 message without the IPv6
      // header, and every one of the namespace's: ours are the echo replies
      // with our id, and errors quoting our request (4 unused bytes, then
      // the request's IPv6 header and ICMPv6 header).
      if (n < 8)
        continue;
      auto *u = reinterpret_cast<const uint8_t *>(buf);
      uint8_t type = u[0], code = u[1];
      auto id_at = [&](size_t off) { return static_cast<uint16_t>(u[off] << 8 | u[off + 1]); };
      if (type == 129 && id_at(4) == sport_)
        return "reply";
      if (type >= 1 && type <= 3) {
        constexpr size_t kInner = 8 + sizeof(ip6_hdr);
        if (n < static_cast<ssize_t>(kInner + 8) || u[8 + 6] != IPPROTO_ICMPV6 ||
            id_at(kInner + 4) != sport_)
          continue;
        from.family = AF_INET6;
        return fmt::format("icmpv6 {} from {}",
                           type == 3   ? "time exceeded"
                           : type == 2 ? "packet too big"
                           : code == 0 ? "no route"
                           : code == 1 ? "administratively prohibited"
                           : code == 3 ? "address unreachable"
                           : code == 4 ? "port unreachable"
                                       : "destination unreachable",
                           ip_text(AF_INET6, from.addr()));
      }
      continue;
    }
    // A raw ICMP socket sees every ICMP message of the namespace: ours are
    // the echo replies with our id, and errors quoting our request.
    if (n < static_cast<ssize_t>(sizeof(iphdr)))
      continue;
    auto *ip = reinterpret_cast<iphdr *>(buf);
    size_t hl = ip->ihl * 4u;
    if (n < static_cast<ssize_t>(hl + sizeof(icmphdr)))
      continue;
    auto *ic = reinterpret_cast<icmphdr *>(buf + hl);
    if (ic->type == ICMP_ECHOREPLY && ntohs(ic->un.echo.id) == sport_)
      return "reply";
    if (ic->type == ICMP_DEST_UNREACH || ic->type == ICMP_TIME_EXCEEDED) {
      size_t inner = hl + sizeof(icmphdr);
      if (n < static_cast<ssize_t>(inner + sizeof(iphdr) + 8))
        continue;
      auto *iip = reinterpret_cast<iphdr *>(buf + inner);
      auto *iic = reinterpret_cast<icmphdr *>(buf + inner + iip->ihl * 4u);
      if (n < static_cast<ssize_t>(inner + iip->ihl * 4u + 8) || ntohs(iic->un.echo.id) != sport_)
        continue;
      return fmt::format("icmp {} from {}",
                         ic->type == ICMP_TIME_EXCEEDED  ? "time exceeded"
                         : ic->code == ICMP_HOST_UNREACH ? "host unreachable"
                         : ic->code == ICMP_NET_UNREACH  ? "network unreachable"
                                                         : "destination unreachable",
                         ip4(&ip->saddr));
    }
  }
}

} // namespace ctk::rt::nettrace
