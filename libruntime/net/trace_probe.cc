// The probe that sends a traced flow's packets from the sender's namespace,
// and what explains a packet that cannot exist: the FIB's answer and the
// state of links and bridge ports.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <random>

#include <fmt/format.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/ns.h"
#include "internal.h"

namespace ctk::rt::nettrace {

namespace {

std::string ip4(const void *p) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

Result<in_addr> parse_ip4(const std::string &text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1)
    return fail(Errc::invalid_argument, fmt::format("invalid IPv4 address '{}'", text));
  return a;
}

void put_attr(char *buf, size_t &len, uint16_t type, const void *data, size_t size) {
  auto *a = reinterpret_cast<nlattr *>(buf + len);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
  std::memcpy(buf + len + NLA_HDRLEN, data, size);
  len += NLA_ALIGN(a->nla_len);
}

const char *route_type(unsigned t) {
  switch (t) {
  case RTN_UNICAST:
    return "unicast";
  case RTN_LOCAL:
    return "local";
  case RTN_BROADCAST:
    return "broadcast";
  case RTN_UNREACHABLE:
    return "unreachable";
  case RTN_BLACKHOLE:
    return "blackhole";
  case RTN_PROHIBIT:
    return "prohibit";
  default:
    return "other";
  }
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
  auto d = parse_ip4(dst);
  if (!d)
    return tl::unexpected(d.error());
  std::optional<in_addr> s;
  if (src) {
    auto p = parse_ip4(*src);
    if (!p)
      return tl::unexpected(p.error());
    s = *p;
  }
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
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = 32;
    size_t len = NLMSG_LENGTH(sizeof(rtmsg));
    put_attr(req, len, RTA_DST, &*d, sizeof(in_addr));
    if (s) {
      put_attr(req, len, RTA_SRC, &*s, sizeof(in_addr));
      rt->rtm_src_len = 32;
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
    out.type = route_type(rm->rtm_type);
    int alen = static_cast<int>(RTM_PAYLOAD(rh));
    for (auto *a = RTM_RTA(rm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
      if (a->rta_type == RTA_GATEWAY)
        out.gateway = ip4(RTA_DATA(a));
      else if (a->rta_type == RTA_PREFSRC)
        out.prefsrc = ip4(RTA_DATA(a));
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

Result<Probe> Probe::open(const Netns &ns, const Flow &flow) {
  auto src = parse_ip4(flow.src);
  if (!src)
    return tl::unexpected(src.error());
  if (flow.proto != IPPROTO_ICMP && !flow.dport)
    return fail(Errc::invalid_argument, fmt::format("a {} probe needs a destination port (--dport)",
                                                    proto_name(flow.proto)));
  Probe p;
  p.flow_ = flow;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    int type = flow.proto == IPPROTO_TCP   ? SOCK_STREAM
               : flow.proto == IPPROTO_UDP ? SOCK_DGRAM
                                           : SOCK_RAW;
    p.fd_ = UniqueFd(socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, flow.proto));
    if (!p.fd_)
      return fail_errno(fmt::format("cannot open a {} socket", proto_name(flow.proto)));
    if (flow.proto == IPPROTO_TCP) {
      // One SYN: no retransmission beyond the first, so a dropped SYN is one packet.
      int one = 1;
      setsockopt(p.fd_.get(), IPPROTO_TCP, TCP_SYNCNT, &one, sizeof one);
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = *src;
    // IP_FREEBIND: the source may be an address the sender has but routes oddly (rp_filter tests).
    int one = 1;
    setsockopt(p.fd_.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    if (bind(p.fd_.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
      return fail_errno(fmt::format("cannot bind the probe to {}", flow.src));
    if (flow.proto == IPPROTO_ICMP) {
      std::random_device rd;
      p.sport_ = static_cast<uint16_t>(rd() % 60000 + 1024);
      return {};
    }
    socklen_t sl = sizeof sa;
    if (getsockname(p.fd_.get(), reinterpret_cast<sockaddr *>(&sa), &sl) != 0)
      return fail_errno("cannot read the probe's port");
    p.sport_ = ntohs(sa.sin_port);
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot prepare the probe in {}", ns.label)));
  return p;
}

Result<void> Probe::send() {
  auto dst = parse_ip4(flow_.dst);
  if (!dst)
    return tl::unexpected(dst.error());
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = *dst;
  sa.sin_port = htons(flow_.dport.value_or(0));
  auto what = fmt::format("{} {} -> {}", proto_name(flow_.proto), flow_.src,
                          flow_.dport ? fmt::format("{}:{}", flow_.dst, *flow_.dport) : flow_.dst);
  if (flow_.proto == IPPROTO_TCP) {
    if (connecting_)
      return {}; // the kernel retransmits the SYN itself
    connecting_ = true;
    if (connect(fd_.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      return fail_errno(fmt::format("cannot send {}", what));
    return {};
  }
  if (flow_.proto == IPPROTO_UDP) {
    static const char kPayload[] = "ctk net trace probe\n";
    if (sendto(fd_.get(), kPayload, sizeof kPayload - 1, 0, reinterpret_cast<sockaddr *>(&sa),
               sizeof sa) < 0)
      return fail_errno(fmt::format("cannot send {}", what));
    return {};
  }
  struct {
    icmphdr h;
    char data[24];
  } pkt{};
  pkt.h.type = ICMP_ECHO;
  pkt.h.un.echo.id = htons(sport_);
  pkt.h.un.echo.sequence = htons(++seq_);
  std::memcpy(pkt.data, "ctk net trace probe....", sizeof pkt.data);
  pkt.h.checksum = checksum(&pkt, sizeof pkt);
  if (sendto(fd_.get(), &pkt, sizeof pkt, 0, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0)
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
    ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return std::nullopt;
      if (errno == ECONNREFUSED)
        return "refused";
      return std::string(std::strerror(errno));
    }
    if (flow_.proto == IPPROTO_UDP)
      return "reply";
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
