// nftables tracing for one flow: ctk's temporary tables that set nftrace on
// the flow's packets, and the reader of NFT_MSG_TRACE events over nfnetlink.
// (Rules are named from the events by netrules::find_rule.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/ns.h"
#include "ctk/runtime/proc.h"
#include "internal.h"

namespace ctk::rt::nettrace {

namespace {

constexpr std::string_view kPrefix = "ctk_trace_";

Result<std::string> nft_in(const Netns &ns, const std::string &commands) {
  std::string out;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    auto t = net::detail::nft_list_text(commands); // any commands: their output, if any
    if (!t)
      return tl::unexpected(t.error());
    out = std::move(*t);
    return {};
  });
  if (!r)
    return tl::unexpected(r.error());
  return out;
}

// "table inet ctk_trace_123" lines of `list tables`: (family, name).
std::vector<std::pair<std::string, std::string>> trace_tables(const std::string &listing) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto line : split_lines(listing)) {
    auto words = split(trim(line), ' ');
    if (words.size() >= 3 && words[0] == "table" && words[2].rfind(kPrefix, 0) == 0)
      out.emplace_back(std::string(words[1]), std::string(words[2]));
  }
  return out;
}

// nftables 1.0.6 has no "destroy": adding an existing table is a no-op,
// so add-then-delete removes it whether or not it was there, in one transaction.
std::string drop_table(const std::string &family, const std::string &name) {
  return fmt::format("add table {0} {1}\ndelete table {0} {1}\n", family, name);
}

bool has_bridge(const Netns &ns) {
  auto links = netinspect::read_links(ns.fd->get());
  if (!links)
    return false;
  for (const auto &l : *links)
    if (!l.master.empty())
      return true;
  return false;
}

std::string family_name(int f) {
  switch (f) {
  case NFPROTO_IPV4:
    return "ip";
  case NFPROTO_IPV6:
    return "ip6";
  case NFPROTO_INET:
    return "inet";
  case NFPROTO_BRIDGE:
    return "bridge";
  case NFPROTO_ARP:
    return "arp";
  case NFPROTO_NETDEV:
    return "netdev";
  default:
    return fmt::format("family{}", f);
  }
}

std::string verdict_name(int32_t code, const std::string &chain) {
  switch (code) {
  case NF_ACCEPT:
    return "accept";
  case NF_DROP:
    return "drop";
  case NF_STOLEN:
    return "stolen";
  case NF_QUEUE:
    return "queue";
  case NF_REPEAT:
    return "repeat";
  case NFT_CONTINUE:
    return "continue";
  case NFT_BREAK:
    return "break";
  case NFT_JUMP:
    return "jump " + chain;
  case NFT_GOTO:
    return "goto " + chain;
  case NFT_RETURN:
    return "return";
  default:
    // A queue verdict carries its number in the high bits.
    if ((code & NF_VERDICT_MASK) == NF_QUEUE)
      return "queue";
    return fmt::format("verdict {}", code);
  }
}

struct Attr {
  const char *data = nullptr;
  size_t len = 0;
};

// Walks nlattrs into a table indexed by type.
template <size_t N> void parse_attrs(const char *p, size_t len, Attr (&out)[N]) {
  while (len >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > len)
      return;
    unsigned type = a.nla_type & NLA_TYPE_MASK;
    if (type < N)
      out[type] = {p + NLA_HDRLEN, static_cast<size_t>(a.nla_len - NLA_HDRLEN)};
    size_t step = NLA_ALIGN(a.nla_len);
    if (step >= len)
      return;
    p += step;
    len -= step;
  }
}

uint32_t be32(const Attr &a) {
  uint32_t v = 0;
  if (a.len >= 4)
    std::memcpy(&v, a.data, 4);
  return ntohl(v);
}
uint64_t be64(const Attr &a) {
  uint64_t v = 0;
  if (a.len >= 8)
    std::memcpy(&v, a.data, 8);
  return be64toh(v);
}
std::string str(const Attr &a) {
  if (!a.data)
    return {};
  return std::string(a.data, strnlen(a.data, a.len));
}

// The tuple of a trace event from the headers the kernel copied: the
// network header (IPv4, or IPv6 with its extension headers: the kernel
// copies up to the transport header) and the transport header.
void decode_headers(const Attr &nh, const Attr &th, NftEvent &ev) {
  const auto *b = reinterpret_cast<const uint8_t *>(nh.data);
  if (nh.len >= sizeof(iphdr) && (b[0] >> 4) == 4) {
    iphdr ip;
    std::memcpy(&ip, nh.data, sizeof ip);
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ip.saddr, s, sizeof s);
    inet_ntop(AF_INET, &ip.daddr, d, sizeof d);
    ev.saddr = s;
    ev.daddr = d;
    ev.proto = ip.protocol;
  } else if (nh.len >= sizeof(ip6_hdr) && (b[0] >> 4) == 6) {
    ip6_hdr ip6;
    std::memcpy(&ip6, nh.data, sizeof ip6);
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &ip6.ip6_src, s, sizeof s);
    inet_ntop(AF_INET6, &ip6.ip6_dst, d, sizeof d);
    ev.saddr = s;
    ev.daddr = d;
    // Hop-by-hop, routing, destination options: (next, length in 8-byte
    // units past the first 8). A fragment header is 8 bytes.
    uint8_t next = ip6.ip6_nxt;
    size_t off = sizeof ip6;
    while ((next == 0 || next == 43 || next == 60 || next == 44) && off + 8 <= nh.len) {
      uint8_t after = b[off];
      off += next == 44 ? 8 : (static_cast<size_t>(b[off + 1]) + 1) * 8;
      next = after;
    }
    ev.proto = next;
  } else {
    return;
  }
  if (th.len >= 8) {
    const auto *t = reinterpret_cast<const uint8_t *>(th.data);
    if (is_icmp(ev.proto)) {
      ev.icmp_type = t[0];
      ev.dport = t[0];
      ev.sport = static_cast<uint16_t>(t[4] << 8 | t[5]);
    } else {
      ev.sport = static_cast<uint16_t>(t[0] << 8 | t[1]);
      ev.dport = static_cast<uint16_t>(t[2] << 8 | t[3]);
    }
  }
}

} // namespace

// ---- tables --------------------------------------------------------------------

std::string TraceTables::ruleset(const Flow &flow, const std::string &name, bool bridge) {
  const bool v6 = flow.family == AF_INET6;
  const char *ip = v6 ? "ip6" : "ip";
  const char *icmp = v6 ? "icmpv6" : "icmp";
  // nft's name of the protocol for meta l4proto (/etc/protocols spelling).
  std::string p = proto_name(flow.proto);
  std::string l4 = flow.proto == IPPROTO_ICMPV6 ? "ipv6-icmp" : p;
  std::vector<std::string> fwd, rev;
  if (flow.sport) {
    // The probe's own port (echo id) picks its packets out, before and after
    // any address translation on the way.
    if (is_icmp(flow.proto)) {
      fwd.push_back(fmt::format("{0} saddr {1} {2} type echo-request {2} id {3}", ip, flow.src,
                                icmp, *flow.sport));
      rev.push_back(fmt::format("{0} daddr {1} {2} type echo-reply {2} id {3}", ip, flow.src, icmp,
                                *flow.sport));
    } else if (flow.proto == IPPROTO_TCP) {
      // The SYN and its answer (SYN-ACK or RST): the handshake's later
      // segments would only repeat the path.
      fwd.push_back(fmt::format("{} saddr {} tcp sport {} tcp flags & (syn | ack) == syn", ip,
                                flow.src, *flow.sport));
      rev.push_back(fmt::format("{} daddr {} tcp dport {} tcp flags & (syn | rst) != 0", ip,
                                flow.src, *flow.sport));
    } else {
      fwd.push_back(fmt::format("{} saddr {} {} sport {}", ip, flow.src, p, *flow.sport));
      rev.push_back(fmt::format("{} daddr {} {} dport {}", ip, flow.src, p, *flow.sport));
    }
    rev.push_back(fmt::format("{} daddr {} {} type {{ {} }}", ip, flow.src, icmp,
                              v6 ? "destination-unreachable, packet-too-big, time-exceeded"
                                 : "destination-unreachable, time-exceeded"));
  } else {
    std::string port = flow.dport ? fmt::format(" {} dport {}", p, *flow.dport) : "";
    std::string rport = flow.dport ? fmt::format(" {} sport {}", p, *flow.dport) : "";
    // TCP: connection attempts (SYN) and their answers, as with a probe.
    if (flow.proto == IPPROTO_TCP) {
      port += " tcp flags & (syn | ack) == syn";
      rport += " tcp flags & (syn | rst) != 0";
    }
    // Neighbour discovery between the two is unicast ICMPv6 too, but no
    // packet of the flow.
    if (flow.proto == IPPROTO_ICMPV6)
      port = rport = " icmpv6 type != { nd-neighbor-solicit, nd-neighbor-advert, nd-redirect }";
    fwd.push_back(fmt::format("{0} saddr {1} {0} daddr {2} meta l4proto {3}{4}", ip, flow.src,
                              flow.dst, l4, port));
    rev.push_back(fmt::format("{0} saddr {1} {0} daddr {2} meta l4proto {3}{4}", ip, flow.dst,
                              flow.src, l4, rport));
  }
  std::string rules;
  for (const auto &m : fwd)
    rules += fmt::format("    {} meta nftrace set 1\n", m);
  for (const auto &m : rev)
    rules += fmt::format("    {} meta nftrace set 1\n", m);
  // Chains at the first hooks; "input" last of all marks local delivery (a
  // traced rule there means every input filter let the packet through).
  std::string out = fmt::format(
      "table inet {} {{\n"
      "  chain pre {{ type filter hook prerouting priority -32768; policy accept;\n{}  }}\n"
      "  chain out {{ type filter hook output priority -32768; policy accept;\n{}  }}\n"
      "  chain in {{ type filter hook input priority 32767; policy accept;\n",
      name, rules, rules);
  for (const auto &m : fwd)
    out += fmt::format("    {} comment \"ctk: delivered\"\n", m);
  out += "  }\n}\n";
  if (bridge)
    out += fmt::format(
        "table bridge {} {{\n"
        "  chain pre {{ type filter hook prerouting priority -32768; policy accept;\n{}  }}\n"
        "}}\n",
        name, rules);
  return out;
}

namespace {

// /proc/PID/stat's starttime, 0 when PID does not exist: with the PID it
// tells a ctk that still runs from a reused PID.
uint64_t start_time_of(pid_t pid) {
  proc::ScanOptions opt;
  opt.fields = proc::kStartTime;
  auto p = proc::read_process(pid, opt);
  return p ? p->start_time : 0;
}

// <record_dir>/PID.json: {"pid", "start_time", "namespaces": [{"label", "path", "inode"}]}.
Result<std::string> write_record(const std::string &dir, const std::vector<Netns> &namespaces) {
  if (auto r = make_dirs(dir, 0700); !r)
    return wrap(r, fmt::format("cannot create {}", dir));
  nlohmann::json j;
  j["pid"] = getpid();
  j["start_time"] = start_time_of(getpid());
  j["namespaces"] = nlohmann::json::array();
  for (const auto &ns : namespaces)
    j["namespaces"].push_back({{"label", ns.label}, {"path", ns.path}, {"inode", ns.inode}});
  std::string path = fmt::format("{}/{}.json", dir, getpid());
  if (auto r = write_file_atomic(path, j.dump() + "\n", 0600); !r)
    return wrap(r, "cannot record the tracing tables");
  return path;
}

} // namespace

namespace {

// The commands that delete the ctk_trace_<pid> tables of `listing` (a
// `list tables`) whose pid is gone, or is `reused` (a record showed that
// pid's ctk is gone although the pid lives); *count says how many.
std::string drops_of_the_gone(const std::string &listing, pid_t reused, int *count) {
  std::string cmds;
  for (const auto &[family, name] : trace_tables(listing)) {
    unsigned long long pid;
    if (!parse_uint(std::string_view(name).substr(kPrefix.size()), pid) || pid > INT32_MAX)
      continue;
    bool gone = static_cast<pid_t>(pid) == reused ||
                (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
    if (static_cast<pid_t>(pid) == getpid() || !gone)
      continue; // ours, or a live trace of another ctk
    cmds += drop_table(family, name);
    ++*count;
  }
  return cmds;
}

// In `ns`: the tables of the gone (see drops_of_the_gone) deleted, then
// `then` run, in one visit and one transaction. Returns how many were deleted.
Result<int> sweep_and_run(const Netns &ns, pid_t reused, const std::string &then) {
  int removed = 0;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    auto listing = net::detail::nft_list_text("list tables");
    if (!listing)
      return wrap(listing, "cannot list the tables");
    std::string cmds = drops_of_the_gone(*listing, reused, &removed) + then;
    if (cmds.empty())
      return {};
    auto done = net::detail::nft_list_text(cmds);
    if (!done)
      return tl::unexpected(done.error());
    return {};
  });
  if (!r)
    return tl::unexpected(r.error());
  return removed;
}

} // namespace

Result<TraceTables> TraceTables::install(const std::vector<Netns> &namespaces, const Flow &flow,
                                         const std::string &record_dir) {
  TraceTables t;
  t.name_ = fmt::format("{}{}", kPrefix, getpid());
  // The record first: a ctk killed at any later point leaves a way back.
  if (!record_dir.empty()) {
    auto rec = write_record(record_dir, namespaces);
    if (!rec)
      return tl::unexpected(rec.error());
    t.record_ = std::move(*rec);
  }
  for (const auto &ns : namespaces) {
    bool bridge = has_bridge(ns);
    // Delete first: a table of a previous run of this pid would add rules twice.
    std::string cmds = drop_table("inet", t.name_) + (bridge ? drop_table("bridge", t.name_) : "") +
                       ruleset(flow, t.name_, bridge);
    // A killed ctk's tables go in the same visit (its record leads
    // remove_stale_records there too, but a namespace it could not reopen
    // is found here when a trace crosses it again).
    auto r = sweep_and_run(ns, 0, cmds);
    if (!r) {
      (void)t.remove();
      return tl::unexpected(
          r.error().wrap(fmt::format("cannot install the tracing table in {}", ns.label)));
    }
    t.stale_removed_ += *r;
    t.installed_.emplace_back(ns, bridge);
  }
  return t;
}

TraceTables &TraceTables::operator=(TraceTables &&o) noexcept {
  if (this != &o) {
    (void)remove();
    name_ = std::move(o.name_);
    record_ = std::exchange(o.record_, {});
    stale_removed_ = o.stale_removed_;
    installed_ = std::move(o.installed_);
  }
  return *this;
}

TraceTables::~TraceTables() {
  (void)remove();
}

Result<void> TraceTables::remove() {
  Result<void> first;
  for (const auto &[ns, bridge] : installed_) {
    std::string cmds = drop_table("inet", name_);
    if (bridge)
      cmds += drop_table("bridge", name_);
    auto r = nft_in(ns, cmds);
    if (!r && first)
      first = tl::unexpected(
          r.error().wrap(fmt::format("cannot remove the tracing table in {}", ns.label)));
  }
  installed_.clear();
  // Kept if a table stayed: once this process is gone the next run retries.
  if (first && !record_.empty())
    ::unlink(record_.c_str());
  record_.clear();
  return first;
}

Result<int> remove_stale_records(const std::string &record_dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(record_dir, ec);
  if (ec)
    return ec == std::errc::no_such_file_or_directory
               ? Result<int>(0)
               : fail(Errc::io, fmt::format("cannot read {}: {}", record_dir, ec.message()));
  int removed = 0;
  for (const auto &entry : it) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".json")
      continue;
    auto text = read_file(path);
    if (!text)
      continue; // removed by another run meanwhile
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("pid")) {
      ::unlink(path.c_str()); // a record cut short by a crash; nothing to go by
      continue;
    }
    auto pid = j.value("pid", 0);
    auto start = j.value("start_time", uint64_t{0});
    if (pid > 0 && start && start_time_of(pid) == start)
      continue; // that ctk still runs
    bool complete = true;
    for (const auto &n : j.value("namespaces", nlohmann::json::array())) {
      Netns ns;
      ns.label = n.value("label", "");
      ns.path = n.value("path", "");
      ns.inode = n.value("inode", uint64_t{0});
      auto fd = open_fd(ns.path, O_RDONLY);
      struct stat st {};
      if (!fd || ::fstat(fd->get(), &st) != 0 || st.st_ino != ns.inode)
        continue; // the namespace is gone, and its tables with it
      ns.fd = std::make_shared<UniqueFd>(std::move(*fd));
      auto r = sweep_and_run(ns, static_cast<pid_t>(pid), "");
      if (!r) {
        complete = false;
        continue;
      }
      removed += *r;
    }
    if (complete)
      ::unlink(path.c_str());
  }
  return removed;
}

// ---- reader --------------------------------------------------------------------

namespace {
// Interface names of a namespace by index, read once when the reader opens.
std::map<uint32_t, std::string> &ifnames_of(uint64_t inode) {
  static std::map<uint64_t, std::map<uint32_t, std::string>> all;
  return all[inode];
}
} // namespace

Result<NftraceReader> NftraceReader::open(const Netns &ns) {
  UniqueFd fd;
  auto &names = ifnames_of(ns.inode);
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    fd = UniqueFd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER));
    if (!fd)
      return fail_errno("cannot open an nfnetlink socket");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (bind(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0)
      return fail_errno("cannot bind an nfnetlink socket");
    int group = NFNLGRP_NFTRACE;
    if (setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
      return fail_errno("cannot join the nftables trace group");
    // Room for bursts; FORCE passes rmem_max as root.
    int size = 4 << 20;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (struct if_nameindex *list = if_nameindex()) {
      for (auto *i = list; i->if_index; ++i)
        names[i->if_index] = i->if_name;
      if_freenameindex(list);
    }
    return {};
  });
  if (!r)
    return tl::unexpected(
        r.error().wrap(fmt::format("cannot read nftables traces in {}", ns.label)));
  return NftraceReader(ns, std::move(fd));
}

Result<void> NftraceReader::read(std::vector<NftEvent> &out) {
  if (buf_.empty())
    buf_.resize(64 * 1024);
  auto &names = ifnames_of(ns_.inode);
  auto ifname = [&](const Attr &a) -> std::string {
    if (!a.data)
      return {};
    uint32_t idx = be32(a);
    auto it = names.find(idx);
    return it != names.end() ? it->second : fmt::format("if{}", idx);
  };
  for (;;) {
    ssize_t n = recv(fd_.get(), buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return {};
      if (errno == ENOBUFS) {
        ++lost_; // the socket overran: events were dropped by the kernel
        continue;
      }
      if (errno == EINTR)
        continue;
      return fail_errno(fmt::format("cannot read nftables traces in {}", ns_.label));
    }
    size_t len = static_cast<size_t>(n);
    for (auto *h = reinterpret_cast<nlmsghdr *>(buf_.data()); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE))
        continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg)))
        continue;
      auto *g = static_cast<nfgenmsg *>(NLMSG_DATA(h));
      Attr at[NFTA_TRACE_MAX + 1] = {};
      const char *p = static_cast<char *>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
      parse_attrs(p, h->nlmsg_len - NLMSG_LENGTH(sizeof(nfgenmsg)), at);
      NftEvent ev;
      ev.ns_label = ns_.label;
      ev.family = family_name(g->nfgen_family);
      ev.id = be32(at[NFTA_TRACE_ID]);
      switch (be32(at[NFTA_TRACE_TYPE])) {
      case NFT_TRACETYPE_POLICY:
        ev.type = "policy";
        break;
      case NFT_TRACETYPE_RETURN:
        ev.type = "return";
        break;
      case NFT_TRACETYPE_RULE:
        ev.type = "rule";
        break;
      default:
        ev.type = "other";
      }
      ev.table = str(at[NFTA_TRACE_TABLE]);
      ev.chain = str(at[NFTA_TRACE_CHAIN]);
      ev.handle = be64(at[NFTA_TRACE_RULE_HANDLE]);
      if (at[NFTA_TRACE_VERDICT].data) {
        Attr v[NFTA_VERDICT_MAX + 1] = {};
        parse_attrs(at[NFTA_TRACE_VERDICT].data, at[NFTA_TRACE_VERDICT].len, v);
        ev.verdict = verdict_name(static_cast<int32_t>(be32(v[NFTA_VERDICT_CODE])),
                                  str(v[NFTA_VERDICT_CHAIN]));
      } else if (at[NFTA_TRACE_POLICY].data) {
        ev.verdict = verdict_name(static_cast<int32_t>(be32(at[NFTA_TRACE_POLICY])), "");
      }
      ev.iif = ifname(at[NFTA_TRACE_IIF]);
      ev.oif = ifname(at[NFTA_TRACE_OIF]);
      decode_headers(at[NFTA_TRACE_NETWORK_HEADER], at[NFTA_TRACE_TRANSPORT_HEADER], ev);
      out.push_back(std::move(ev));
    }
  }
}

} // namespace ctk::rt::nettrace
