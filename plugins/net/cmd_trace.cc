// ctk net trace --from A --to B: one timeline per packet. Where the packet
// went (the hooks of ctk's tracing tables, namespace and device), each
// netfilter rule that matched with its verdict (nftables tracing), and the
// end: delivered, dropped (by which rule), no route, or no verdict.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/net_rules.h"
#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/net_trace_bpf.h"

namespace ctk::plugins::net {
namespace {

namespace nt = rt::nettrace;
namespace ni = rt::netinspect;
using Clock = std::chrono::steady_clock;

// Whether a link has carrier, from its operational state.
bool has_carrier(const ni::Iface &l) {
  return l.operstate != "down" && l.operstate != "lowerlayerdown" && l.operstate != "notpresent";
}

// An endpoint: "10.77.0.3", "10.77.0.1:8080", a container target or a pid.
// Namespaces nearest to `from` first (itself, its veth peers, theirs), then
// the rest: the same address (10.77.0.1 on every lab's bridge, 172.17.0.1 on
// docker0 and a test's docker) is looked for where A's packets go.
std::vector<nt::Netns> nearest_first(const std::optional<nt::Netns> &from,
                                     const std::vector<nt::Netns> &known) {
  if (!from)
    return known;
  std::vector<nt::Netns> all = known;
  all.push_back(*from);
  auto peers = nt::veth_peers(all);
  std::vector<nt::Netns> out{*from};
  auto add = [&](const nt::Netns &ns) {
    for (const auto &o : out)
      if (o.inode == ns.inode)
        return;
    out.push_back(ns);
  };
  for (size_t depth = 0, begin = 0; peers && depth < 2; ++depth) {
    size_t end = out.size();
    for (size_t i = begin; i < end; ++i)
      if (auto it = peers->find(out[i].inode); it != peers->end())
        for (const auto &p : it->second)
          add(p.netns);
    begin = end;
  }
  for (const auto &k : known)
    add(k);
  return out;
}

// An endpoint as resolved before the flow's family is chosen: an address
// given as such, or the usable addresses of a container's or PID's
// namespace of both families.
struct Resolved {
  nt::Endpoint ep;
  nt::EndFamilies families;
  std::vector<std::string> v4, v6;
};

// An endpoint: "10.77.0.3", "10.77.0.1:8080", "fd00:77::3",
// "[fd00:77::3]:8080" (looked for near `near`), or a container target or
// a PID through netinspect's resolver.
rt::Result<Resolved> resolve_endpoint(std::string_view role, const std::string &text,
                                      const std::vector<nt::Netns> &known,
                                      rt::discovery::Resolver &resolver,
                                      const std::optional<nt::Netns> &near = std::nullopt) {
  Resolved out;
  out.families.role = std::string(role);
  out.families.text = text;
  nt::Endpoint &ep = out.ep;
  auto parsed = nt::parse_address(text);
  if (!parsed)
    return rt::wrap(parsed, fmt::format("invalid {}", role));
  if (*parsed) {
    const auto &addr = (*parsed)->address;
    if (!nt::usable_address(addr)) {
      bool loopback = addr == "::1" || addr.rfind("127.", 0) == 0;
      std::string why = loopback ? "a loopback address is in every network namespace; name a "
                                   "container or a PID"
                                 : "a link-local, multicast or unspecified address names no one "
                                   "host; name a container, a PID or a global address";
      return rt::fail(rt::Errc::invalid_argument,
                      fmt::format("invalid {} '{}': {}", role, text, why));
    }
    ep.port = (*parsed)->port;
    ep.address = addr;
    ep.label = addr;
    out.families.given = (*parsed)->family;
    auto owner = nt::owner_of_address(addr, nearest_first(near, known));
    if (!owner)
      return tl::unexpected(owner.error());
    ep.netns = *owner;
    return out;
  }
  if (auto target = rt::discovery::parse_target(text); !target)
    return rt::wrap(target, fmt::format("invalid {}", role));
  auto e = rt::netinspect::resolve_endpoint(resolver, text, {});
  if (!e)
    return rt::wrap(e, fmt::format("cannot resolve {}", role));
  if (e->container) {
    // "The host" is pid 1's namespace, and the one ctk itself runs in
    // (ctk run --net host from inside a namespace shares that one).
    struct stat self {};
    bool ours = stat("/proc/self/ns/net", &self) == 0 && self.st_ino == e->netns_inode;
    if (e->host_netns || ours)
      return rt::fail(rt::Errc::invalid_argument,
                      fmt::format("{} {} shares the host's network namespace: there is no "
                                  "container network to trace",
                                  role, text));
  }
  auto ns = nt::netns_of(*e, known);
  if (!ns)
    return rt::wrap(ns, fmt::format("cannot open the network namespace of {} {}", role, text));
  if (e->container)
    ns->label = e->label;
  ep.label = ns->label;
  for (const auto &a : e->addresses())
    if (nt::usable_address(a.address))
      (a.family == AF_INET ? out.v4 : out.v6).push_back(a.address);
  out.families.v4 = !out.v4.empty();
  out.families.v6 = !out.v6.empty();
  ep.netns = std::move(*ns);
  return out;
}

// An address with a port: "10.77.0.3:80", "[fd00:77::3]:80".
std::string with_port(const std::string &addr, uint16_t port) {
  return addr.find(':') != std::string::npos ? fmt::format("[{}]:{}", addr, port)
                                             : fmt::format("{}:{}", addr, port);
}

std::string tuple_of(const nt::NftEvent &e) {
  if (e.saddr.empty())
    return {};
  if (e.proto == IPPROTO_TCP || e.proto == IPPROTO_UDP)
    return fmt::format("{} {} > {}", nt::proto_name(e.proto), with_port(e.saddr, e.sport),
                       with_port(e.daddr, e.dport));
  const char *icmp = nt::proto_name(e.proto);
  if (nt::is_icmp_error(e.proto, e.icmp_type)) {
    bool v6 = e.proto == IPPROTO_ICMPV6;
    return fmt::format("{} {} > {} {}", icmp, e.saddr, e.daddr,
                       e.icmp_type == (v6 ? 1 : 3) ? "unreachable"
                       : v6 && e.icmp_type == 2    ? "packet-too-big"
                                                   : "time-exceeded");
  }
  if (nt::is_icmp(e.proto))
    return fmt::format("{} {} > {} {} id {}", icmp, e.saddr, e.daddr,
                       e.icmp_type == nt::icmp_echo_request(e.proto) ? "echo-request"
                       : e.icmp_type == nt::icmp_echo_reply(e.proto)
                           ? "echo-reply"
                           : fmt::format("type {}", e.icmp_type),
                       e.sport);
  return fmt::format("{} > {} proto {}", e.saddr, e.daddr, e.proto);
}

// What one packet's timeline found.
struct Outcome {
  std::optional<nt::NftEvent> drop;       // the rule (or policy) that dropped it
  std::string drop_base;                  // the base chain it was dropped under
  std::optional<nt::NftEvent> delivered;  // ctk's marker at the end of input
  std::optional<nt::NftEvent> last_hop;   // the last place it was seen going forward
  bool reply = false;                     // a packet of B's seen coming back
  std::string icmp_error_from;            // who sent an ICMP error back to A
  std::optional<nt::NftEvent> translated; // the first event after a DNAT changed the destination
  std::optional<nt::SkbEvent> kdrop;      // the kernel freed the packet: reason and place
  std::optional<nt::SkbEvent> consumed;   // consumed (by the transport layer) in B's namespace
  std::optional<nt::SkbEvent> klast;      // the last device the packet was seen at, forward
  std::set<uint64_t> skbs;                // forward skbs of this packet
  std::map<uint64_t, uint64_t> skb_ns;    // skb -> the namespace it was last seen in
  std::optional<std::string> answer;      // what the probe's socket said
  // A next hop whose neighbour entry failed (ARP or neighbour discovery got
  // no answer): netns inode, and the words for the summary.
  std::optional<std::pair<uint64_t, std::string>> neigh_failed;
};

class Trace {
public:
  Trace(Call &call, nt::Endpoint a, nt::Endpoint b, nt::Flow flow, std::vector<nt::Netns> path)
      : call_(call), a_(std::move(a)), b_(std::move(b)), flow_(std::move(flow)),
        path_(std::move(path)), start_(Clock::now()) {}

  int run(std::optional<nt::Probe> probe, long long count, double timeout);

  // Set up by run_trace: one reader per namespace, ctk's table name, and
  // the kernel tracer (absent when BPF is not available: a warning says so).
  std::vector<nt::NftraceReader> readers_;
  std::string table_;
  std::optional<nt::SkbTracer> bpf_;
  std::map<uint64_t, std::string> labels_; // namespace inode -> label
  std::vector<nt::NftEvent> pending_nft_;
  std::vector<nt::SkbEvent> pending_skb_;
  uint64_t cur_ts_ = 0;

private:
  std::string now() const {
    return fmt::format("{:.3f}", std::chrono::duration<double>(Clock::now() - start_).count());
  }
  void emit(long long pkt, const std::string &netns, const std::string &event,
            const std::string &where, const std::string &verdict, const std::string &tuple,
            const std::string &detail, uint64_t ts_ns = 0) {
    // Kernel events carry their own time (CLOCK_MONOTONIC, as steady_clock).
    std::string when = now();
    if (!ts_ns)
      ts_ns = cur_ts_;
    if (ts_ns) {
      auto start =
          std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
      when = fmt::format("{:.3f}", (static_cast<double>(ts_ns) - static_cast<double>(start)) / 1e9);
    }
    auto r = call_.record();
    r.field("Packet", pkt).field("Time", when).field("Netns", netns).field("Event", event);
    r.field("Where", where).field("Verdict", verdict).field("Tuple", tuple).field("Detail", detail);
  }
  void event(long long pkt, nt::NftEvent &ev, Outcome &o);
  void skb_event(long long pkt, const nt::SkbEvent &ev, Outcome &o);
  void flush(long long pkt, Outcome &o);
  bool wanted(const nt::SkbEvent &ev, const Outcome &o) const;
  bool skb_forward(const nt::SkbEvent &ev) const {
    nt::NftEvent t;
    t.saddr = ev.saddr;
    t.proto = ev.proto;
    t.sport = ev.sport;
    return forward(t);
  }
  std::string label_of(uint64_t inode) const {
    auto it = labels_.find(inode);
    return it != labels_.end() ? it->second : fmt::format("netns:[{}]", inode);
  }
  bool forward(const nt::NftEvent &ev) const {
    if (flow_.sport)
      return ev.proto == flow_.proto && ev.sport == *flow_.sport && ev.saddr == flow_.src;
    return ev.saddr == flow_.src;
  }
  int finish(long long pkt, const Outcome &o, double timeout);
  void explain_timeout(long long pkt, const Outcome &o);
  std::vector<std::string> causes_in(long long pkt, const Outcome &o, const std::string &only);
  void explain_no_route(long long pkt, const rt::Error &why);
  std::string where_of(const nt::NftEvent &ev) const;

  Call &call_;
  nt::Endpoint a_, b_;
  nt::Flow flow_;
  std::vector<nt::Netns> path_;
  // Each namespace's rules, read when a trace event first names one there.
  std::map<uint64_t, rt::netrules::Ruleset> rulesets_;
  void name_rule(const nt::Netns &ns, nt::NftEvent &ev);
  std::map<std::string, nt::NftEvent> headers_;
  // iptables-legacy counters before the packet, for namespaces with legacy tables.
  std::vector<std::pair<size_t, rt::netrules::LegacyCounters>> legacy_before_;
  Clock::time_point start_;
};

std::string Trace::where_of(const nt::NftEvent &ev) const {
  std::string io;
  if (!ev.iif.empty())
    io += "in " + ev.iif;
  if (!ev.oif.empty())
    io += (io.empty() ? "out " : ", out ") + ev.oif;
  return io;
}

void Trace::event(long long pkt, nt::NftEvent &ev, Outcome &o) {
  const nt::Netns *ns = nullptr;
  for (const auto &r : readers_)
    if (r.netns().label == ev.ns_label)
      ns = &r.netns();
  // The kernel sends a packet's headers with its first event in a hook only;
  // later events of the same traversal (same id) take them from there.
  auto key = fmt::format("{}/{}", ev.ns_label, ev.id);
  std::string base = ev.chain; // the base chain of this hook traversal
  if (!ev.saddr.empty()) {
    headers_[key] = ev;
  } else if (auto it = headers_.find(key); it != headers_.end()) {
    if (ev.iif.empty() && ev.oif.empty()) {
      ev.iif = it->second.iif;
      ev.oif = it->second.oif;
    }
    base = it->second.chain;
    ev.saddr = it->second.saddr;
    ev.daddr = it->second.daddr;
    ev.proto = it->second.proto;
    ev.sport = it->second.sport;
    ev.dport = it->second.dport;
    ev.icmp_type = it->second.icmp_type;
  } else {
    return; // a packet that inherited nftrace without matching ctk's rules
  }
  call_.log(CTK_LOG_DEBUG, fmt::format("nftrace {} id {:08x} {} {} {} {} handle {} verdict {} {}",
                                       ev.ns_label, ev.id, ev.type, ev.family, ev.table, ev.chain,
                                       ev.handle, ev.verdict, tuple_of(ev)));
  // A "rule" event without a handle marks the end of a chain's rules (the
  // policy event follows): nothing matched there.
  if (ev.type == "rule" && ev.handle == 0)
    return;
  bool fwd = forward(ev);
  std::string dir = fwd ? "->" : "<-";
  if (ev.table == table_) {
    // ctk's own chains: where the packet is, never a verdict of its own.
    if (ev.type != "rule")
      return;
    if (ev.chain == "in") {
      if (fwd && !o.delivered)
        o.delivered = ev;
      emit(pkt, ev.ns_label, "local", fmt::format("{} input", where_of(ev)), "", tuple_of(ev),
           "passed every input filter: handed to the local socket layer");
      return;
    }
    bool icmp_error = !fwd && nt::is_icmp_error(ev.proto, ev.icmp_type);
    if (fwd)
      o.last_hop = ev;
    else if (icmp_error) {
      if (o.icmp_error_from.empty())
        o.icmp_error_from = ev.saddr;
    } else
      o.reply = true;
    if (bpf_)
      return; // the kernel tracer shows the hops, with devices on both sides
    std::string hook = ev.chain == "out" ? "output" : "prerouting";
    emit(pkt, ev.ns_label, "hop",
         fmt::format("{} {} {}", dir, ev.family == "bridge" ? "bridge" : hook, where_of(ev)), "",
         tuple_of(ev), "");
    return;
  }
  if (ns)
    name_rule(*ns, ev);
  std::string where = fmt::format("{} {} {}", ev.family, ev.table, ev.chain);
  if (ev.type == "rule")
    where += fmt::format(" rule {}", ev.handle);
  else
    where += " " + ev.type;
  std::string detail;
  if (!ev.comment.empty())
    detail = fmt::format("\"{}\" ", ev.comment);
  detail += ev.rule_text;
  std::string io = where_of(ev);
  if (!io.empty())
    detail = detail.empty() ? io : fmt::format("{} [{}]", detail, io);
  emit(pkt, ev.ns_label, ev.type, where, ev.verdict, tuple_of(ev), detail);
  if (fwd && !o.translated && !ev.daddr.empty() &&
      (ev.daddr != flow_.dst ||
       (flow_.dport && ev.dport != *flow_.dport && !nt::is_icmp(ev.proto))))
    o.translated = ev;
  if (ev.verdict == "drop" && !o.drop) {
    o.drop = ev;
    o.drop_base = base;
  }
  if (!fwd && ev.verdict != "drop" && !nt::is_icmp_error(ev.proto, ev.icmp_type))
    o.reply = true;
}

void Trace::skb_event(long long pkt, const nt::SkbEvent &in, Outcome &o) {
  nt::SkbEvent ev = in;
  // Frees may not know their namespace: the skb's last one is it.
  if (ev.netns_inode)
    o.skb_ns[ev.skb] = ev.netns_inode;
  else if (auto it = o.skb_ns.find(ev.skb); it != o.skb_ns.end())
    ev.netns_inode = it->second;
  std::string netns = label_of(ev.netns_inode);
  std::string tuple;
  // Neighbour discovery is IPv6's ARP: a solicitation (who-has TARGET,
  // tell SOURCE) and an advertisement (TARGET is-at, to DESTINATION).
  const bool ndp = ev.kind == nt::SkbEventKind::arp && ev.family == AF_INET6;
  if (ndp) {
    tuple = ev.arp_op == 2
                ? fmt::format("ndp advert {} is-at {} > {}", ev.saddr, ev.lladdr, ev.daddr)
                : fmt::format("ndp solicit who-has {} ? tell {}", ev.daddr, ev.saddr);
  } else if (ev.kind == nt::SkbEventKind::arp) {
    tuple = fmt::format("arp {} {} ? tell {}", ev.arp_op == 2 ? "reply" : "who-has", ev.daddr,
                        ev.saddr);
  } else if (ev.kind != nt::SkbEventKind::neigh && !ev.saddr.empty()) {
    nt::NftEvent t;
    t.saddr = ev.saddr;
    t.daddr = ev.daddr;
    t.proto = ev.proto;
    t.sport = ev.sport;
    t.dport = nt::is_icmp(ev.proto) ? ev.icmp_type : ev.dport;
    t.icmp_type = ev.icmp_type;
    tuple = tuple_of(t);
  }
  bool is_packet = ev.kind != nt::SkbEventKind::arp && ev.kind != nt::SkbEventKind::neigh;
  bool fwd = false;
  if (is_packet) {
    nt::NftEvent t;
    t.saddr = ev.saddr;
    t.proto = ev.proto;
    t.sport = ev.sport;
    fwd = o.skbs.count(ev.skb) || forward(t);
    bool icmp_error = nt::is_icmp_error(ev.proto, ev.icmp_type);
    if (fwd)
      o.skbs.insert(ev.skb);
    else if (!icmp_error && ev.kind != nt::SkbEventKind::drop)
      o.reply = true;
  }
  std::string where = ev.ifname;
  std::string detail;
  switch (ev.kind) {
  case nt::SkbEventKind::receive:
    where = (fwd ? "-> in " : "<- in ") + ev.ifname;
    break;
  case nt::SkbEventKind::queue:
  case nt::SkbEventKind::xmit:
    where = fmt::format("{} {} {}", fwd ? "->" : "<-",
                        ev.kind == nt::SkbEventKind::queue ? "queue" : "out", ev.ifname);
    break;
  case nt::SkbEventKind::drop:
    detail = fmt::format("{} at {}", ev.reason_name, ev.location_sym);
    break;
  case nt::SkbEventKind::consume:
    detail = fmt::format("consumed at {}", ev.location_sym);
    break;
  case nt::SkbEventKind::neigh:
    where = fmt::format("neigh {} {}", ev.daddr, ev.ifname);
    detail = fmt::format("{} ({}){}", ev.neigh_state, ev.neigh_event,
                         ev.lladdr.empty() ? "" : " " + ev.lladdr);
    if (ev.neigh_state.find("FAILED") != std::string::npos && !o.neigh_failed)
      o.neigh_failed.emplace(ev.netns_inode,
                             fmt::format("neighbour {} on {} FAILED (no answer to {})", ev.daddr,
                                         ev.ifname,
                                         ev.family == AF_INET6 ? "neighbour discovery" : "ARP"));
    break;
  case nt::SkbEventKind::arp:
    where =
        fmt::format("{} {} {}", ndp ? "ndp" : "arp",
                    ev.hop == nt::SkbEventKind::receive ? "in" : nt::kind_name(ev.hop), ev.ifname);
    break;
  }
  const char *kind = ndp ? "ndp" : nt::kind_name(ev.kind);
  emit(pkt, netns,
       kind == std::string("receive") || kind == std::string("xmit") || kind == std::string("queue")
           ? "hop"
           : kind,
       where, ev.kind == nt::SkbEventKind::drop ? "dropped" : "", tuple, detail, ev.ts_ns);
  if (!is_packet)
    return;
  if (fwd && (ev.kind == nt::SkbEventKind::receive || ev.kind == nt::SkbEventKind::xmit))
    o.klast = ev;
  // OTHERHOST is a flooded copy reaching a host it was not for (a bridge
  // floods while it has not learnt the destination): not the packet's end.
  if (fwd && ev.kind == nt::SkbEventKind::drop && !o.kdrop && ev.reason_name != "OTHERHOST")
    o.kdrop = ev;
  // Consumed by a transport protocol (tcp_*, udp_*, icmp_*, ping_*, raw_*)
  // in B's namespace, or wherever a translation sent it.
  auto transport = [](const std::string &loc) {
    for (const char *p : {"tcp", "udp", "icmp", "ping", "raw"})
      if (loc.find(p) != std::string::npos)
        return true;
    return false;
  };
  bool at_b = b_.netns && ev.netns_inode == b_.netns->inode;
  bool translated_there = o.translated && ev.daddr == o.translated->daddr &&
                          !(a_.netns && ev.netns_inode == a_.netns->inode);
  if (fwd && ev.kind == nt::SkbEventKind::consume && (at_b || translated_there) &&
      transport(ev.location_sym) && !o.consumed)
    o.consumed = ev;
  if (ev.kind == nt::SkbEventKind::consume || ev.kind == nt::SkbEventKind::drop) {
    o.skbs.erase(ev.skb); // the address will be reused for another packet
    o.skb_ns.erase(ev.skb);
  }
}

bool Trace::wanted(const nt::SkbEvent &ev, const Outcome &o) const {
  if (ev.kind == nt::SkbEventKind::arp || ev.kind == nt::SkbEventKind::neigh)
    return true;
  if (o.skbs.count(ev.skb))
    return true;
  if (nt::is_icmp(ev.proto))
    return true;    // echo ids are not reported; errors always matter
  if (!flow_.sport) // no probe: connection attempts of the flow, as ctk's nftables rules
    return ev.proto != IPPROTO_TCP || (ev.tcp_flags & 0x06) != 0;
  // With a probe: its own port only, and for TCP the handshake (SYN, SYN-ACK
  // or RST), as ctk's nftables rules do.
  bool ours = (ev.saddr == flow_.src && ev.sport == *flow_.sport) ||
              (ev.daddr == flow_.src && ev.dport == *flow_.sport);
  if (!ours)
    return false;
  return ev.proto != IPPROTO_TCP || (ev.tcp_flags & 0x06) != 0;
}

void Trace::flush(long long pkt, Outcome &o) {
  if (pending_nft_.empty() && pending_skb_.empty())
    return;
  std::vector<nt::SkbEvent> skbs = std::move(pending_skb_);
  pending_skb_.clear();
  std::stable_sort(skbs.begin(), skbs.end(),
                   [](const auto &x, const auto &y) { return x.ts_ns < y.ts_ns; });
  // Each hook traversal of netfilter (events with one id in one namespace)
  // goes after the kernel's "in" event of that namespace and direction, or
  // before its first event there (a locally sent packet): netfilter runs
  // between a packet's arrival and its departure.
  std::vector<std::vector<size_t>> after(skbs.size() + 1);
  std::vector<std::vector<size_t>> before_(skbs.size() + 1);
  std::map<std::string, std::pair<bool, size_t>> slot; // ns/id -> (after?, index)
  std::vector<bool> used(skbs.size(), false);
  std::map<std::string, bool> group_fwd;
  for (size_t i = 0; i < pending_nft_.size(); ++i) {
    const auto &ev = pending_nft_[i];
    auto key = fmt::format("{}/{}", ev.ns_label, ev.id);
    if (!ev.saddr.empty() && !group_fwd.count(key))
      group_fwd[key] = forward(ev);
    auto it = slot.find(key);
    if (it == slot.end()) {
      bool fwd = group_fwd.count(key) ? group_fwd[key] : true;
      size_t where = skbs.size();
      bool is_after = true;
      for (size_t k = 0; k < skbs.size(); ++k) {
        const auto &e = skbs[k];
        if (label_of(e.netns_inode) != ev.ns_label || e.kind == nt::SkbEventKind::arp ||
            e.kind == nt::SkbEventKind::neigh || skb_forward(e) != fwd)
          continue;
        if (e.kind == nt::SkbEventKind::receive && used[k])
          continue;
        where = k;
        is_after = e.kind == nt::SkbEventKind::receive;
        if (is_after)
          used[k] = true;
        break;
      }
      it = slot.emplace(key, std::make_pair(is_after, where)).first;
    }
    (it->second.first ? after : before_)[it->second.second].push_back(i);
  }
  auto nft = [&](const std::vector<size_t> &list) {
    // Leftovers (no kernel event to sit by) keep the path order.
    std::vector<std::pair<long, size_t>> order;
    for (size_t i : list) {
      long rank = 0;
      for (size_t k = 0; k < path_.size(); ++k)
        if (path_[k].label == pending_nft_[i].ns_label)
          rank = static_cast<long>(k);
      bool fwd = pending_nft_[i].saddr.empty() || forward(pending_nft_[i]);
      order.emplace_back(fwd ? rank : 1000 - rank, i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto &x, const auto &y) { return x.first < y.first; });
    for (const auto &[rank, i] : order)
      event(pkt, pending_nft_[i], o);
  };
  // Netfilter's events take the time of the kernel event they sit by.
  for (size_t k = 0; k < skbs.size(); ++k) {
    cur_ts_ = skbs[k].ts_ns;
    nft(before_[k]);
    // Filtered here, in order: an skb followed earlier in this batch stays
    // followed after a translation changed its addresses.
    if (wanted(skbs[k], o))
      skb_event(pkt, skbs[k], o);
    nft(after[k]);
  }
  nft(before_[skbs.size()]);
  nft(after[skbs.size()]);
  cur_ts_ = 0;
  pending_nft_.clear();
}

void Trace::name_rule(const nt::Netns &ns, nt::NftEvent &ev) {
  if (ev.type != "rule" || ev.handle == 0)
    return;
  auto it = rulesets_.find(ns.inode);
  if (it == rulesets_.end()) {
    auto rs = rt::netrules::read(ns.fd->get());
    if (!rs) {
      call_.warn(fmt::format("cannot name the rules of {}: {}", ns.label, rs.error().message()));
      rs = rt::netrules::Ruleset{};
    }
    it = rulesets_.emplace(ns.inode, std::move(*rs)).first;
  }
  if (const auto *r =
          rt::netrules::find_rule(it->second, ev.family, ev.table, ev.chain, ev.handle)) {
    ev.comment = r->comment;
    ev.rule_text = r->text;
  }
}

void Trace::explain_no_route(long long pkt, const rt::Error &why) {
  const auto &ns = *a_.netns;
  auto fib = nt::fib_lookup(ns, flow_.dst, flow_.src);
  std::string fdesc = fib ? fib->describe() : fib.error().message();
  emit(pkt, ns.label, "fib", fmt::format("route to {}", flow_.dst),
       fib && fib->error ? "no route" : "", "", fdesc);
  if (auto links = ni::read_links(ns.fd->get()))
    for (const auto &l : *links)
      if (l.name != "lo")
        emit(pkt, ns.label, "link", l.name, l.up ? (has_carrier(l) ? "up" : "no carrier") : "down",
             "", "");
  emit(pkt, ns.label, "verdict", "", "no route", "",
       fmt::format("no packet left: {}", why.message()));
  emit(pkt, "", "summary", "", "NO ROUTE", "",
       fmt::format("NO ROUTE in netns {} (sender): {} {}: {}", ns.label,
                   nt::proto_name(flow_.proto), flow_.dst, fdesc));
}

std::vector<std::string> Trace::causes_in(long long pkt, const Outcome &o,
                                          const std::string &only) {
  // The places a packet may have died without a netfilter verdict: a link
  // or bridge port that is down, and the FIB (forwarding, rp_filter) where
  // it was last seen. `only` limits it to one namespace.
  std::vector<std::string> causes;
  for (const auto &ns : path_) {
    if (!only.empty() && ns.label != only)
      continue;
    auto links = ni::read_links(ns.fd->get());
    if (!links)
      continue;
    for (const auto &l : *links) {
      if (l.name == "lo")
        continue;
      bool port_blocked =
          !l.master.empty() && !l.port_state.empty() && l.port_state != "forwarding";
      if (l.up && has_carrier(l) && !port_blocked)
        continue;
      std::string state = !l.up ? "down" : !has_carrier(l) ? "no carrier" : "port " + l.port_state;
      std::string what = l.master.empty() ? l.name
                                          : fmt::format("{} (port of {}, {})", l.name, l.master,
                                                        l.port_state.empty() ? "?" : l.port_state);
      emit(pkt, ns.label, "link", l.name, state, "", what);
      causes.push_back(fmt::format("{} {} in netns {}", what, state, ns.label));
    }
  }
  // Where it was last seen coming in: from the kernel tracer, else from
  // ctk's prerouting chain.
  std::string ns_label, iif, saddr = flow_.src, daddr = flow_.dst;
  if (o.klast && o.klast->kind == nt::SkbEventKind::receive) {
    ns_label = label_of(o.klast->netns_inode);
    iif = o.klast->ifname;
    saddr = o.klast->saddr;
    daddr = o.klast->daddr;
  } else if (o.last_hop && !o.last_hop->iif.empty()) {
    ns_label = o.last_hop->ns_label;
    iif = o.last_hop->iif;
    saddr = o.last_hop->saddr;
    daddr = o.last_hop->daddr;
  }
  if (!only.empty() && ns_label != only)
    ns_label.clear();
  for (const auto &ns : path_) {
    if (ns_label.empty() || ns.label != ns_label)
      continue;
    auto fib = nt::fib_lookup(ns, daddr, saddr, iif);
    if (!fib)
      continue;
    emit(pkt, ns.label, "fib", fmt::format("from {} in {}", saddr, iif),
         fib->error ? "no route" : "", "", fib->describe());
    // A forwarding lookup that fails for a source the namespace cannot
    // route back to, with rp_filter on, is the reverse-path filter.
    // IPv6 has no rp_filter (an rpfilter rule of netfilter names itself).
    rt::Result<int> rpf = flow_.family == AF_INET ? ni::rp_filter(ns.fd->get(), iif) : 0;
    auto back = nt::fib_lookup(ns, saddr);
    if ((fib->error == EXDEV || fib->error == EINVAL) && rpf && *rpf > 0) {
      std::string route_back = back ? back->describe() : back.error().message();
      emit(pkt, ns.label, "fib", fmt::format("route back to {}", saddr),
           back && back->error ? "no route" : "", "", route_back);
      causes.push_back(fmt::format("netns {} drops source {} arriving on {}: reverse path filter "
                                   "(rp_filter={}; route back: {})",
                                   ns.label, saddr, iif, *rpf, route_back));
    } else if (fib->error) {
      causes.push_back(fmt::format("netns {} has no route to {} ({})", ns.label, daddr,
                                   std::strerror(fib->error)));
    }
  }
  return causes;
}

void Trace::explain_timeout(long long pkt, const Outcome &o) {
  auto causes = causes_in(pkt, o, "");
  std::string seen = o.last_hop ? fmt::format("last seen in netns {} ({})", o.last_hop->ns_label,
                                              where_of(*o.last_hop))
                                : "never seen by netfilter";
  std::string why = o.answer ? fmt::format("; the sender's socket says: {}", *o.answer) : "";
  emit(pkt, "", "verdict", "", "no verdict", "", seen + why);
  emit(pkt, "", "summary", "", "NO VERDICT", "",
       fmt::format("NO VERDICT (timeout): {}{}{}", seen,
                   causes.empty() ? "" : "; probable cause: " + causes.front(), why));
}

int Trace::finish(long long pkt, const Outcome &o, double timeout) {
  if (o.drop) {
    const auto &d = *o.drop;
    std::string rule =
        d.type == "policy"
            ? fmt::format("{} {} {} policy drop", d.family, d.table, d.chain)
            : fmt::format("{} {} {} rule {}{}", d.family, d.table, d.chain, d.handle,
                          d.comment.empty() ? "" : fmt::format(" \"{}\"", d.comment));
    std::string place = where_of(d);
    if (!d.iif.empty() && d.iif == d.oif)
      place = fmt::format("bridge {}", d.iif);
    std::string hook = o.drop_base.empty() || o.drop_base == d.chain
                           ? d.chain
                           : fmt::format("{} -> {}", o.drop_base, d.chain);
    std::string kernel =
        o.kdrop ? fmt::format("; the kernel: {} at {}", o.kdrop->reason_name, o.kdrop->location_sym)
                : "";
    emit(pkt, d.ns_label, "verdict", "", "dropped", tuple_of(d),
         rule + " (NETFILTER_DROP)" + kernel);
    emit(pkt, "", "summary", "", "DROPPED", "",
         fmt::format("DROPPED in netns {} ({}{}{}): {} (NETFILTER_DROP)", d.ns_label, place,
                     place.empty() ? "" : ", ", hook, rule));
    return 0;
  }
  bool answered =
      o.answer && (*o.answer == "connected" || *o.answer == "refused" || *o.answer == "reply");
  bool netfilter = !o.kdrop || o.kdrop->reason_name == "NETFILTER_DROP";
  if (!o.delivered && !o.consumed && !answered && netfilter) {
    // iptables-legacy, which nftables tracing cannot see: a DROP whose
    // counter the packet advanced.
    for (const auto &[i, before] : legacy_before_) {
      const auto &ns = path_[i];
      auto after = rt::netrules::legacy_counters(ns.fd->get());
      if (!after)
        continue;
      for (const auto &c : rt::netrules::counters_advanced(before, *after)) {
        if (c.verdict != "drop" && c.verdict.rfind("reject", 0) != 0)
          continue;
        // Position 0 is the chain's policy: the packet reached its end.
        std::string which = c.position ? fmt::format("rule {}", c.position) : "policy";
        std::string rule = fmt::format("iptables-legacy {} {} {}", c.table, c.chain, which);
        emit(pkt, ns.label, "rule", fmt::format("legacy {} {} {}", c.table, c.chain, which),
             c.verdict, "", fmt::format("{} (counter +{})", c.text, c.packets.value_or(0)));
        emit(pkt, ns.label, "verdict", "", "dropped", "", rule + " (NETFILTER_DROP)");
        std::string seen =
            o.last_hop && o.last_hop->ns_label == ns.label ? where_of(*o.last_hop) : "";
        emit(pkt, "", "summary", "", "DROPPED", "",
             fmt::format(
                 "DROPPED in netns {} ({}{}{}): {} \"{}\" (NETFILTER_DROP; named by its counter)",
                 ns.label, seen, seen.empty() ? "" : ", ", c.chain, rule, c.text));
        return 0;
      }
    }
  }
  if (o.kdrop) {
    // The kernel freed the packet for a reason of its own (or for a
    // netfilter verdict no trace named).
    const auto &k = *o.kdrop;
    std::string netns = label_of(k.netns_inode);
    std::string dev = o.klast && o.klast->netns_inode == k.netns_inode ? o.klast->ifname : k.ifname;
    std::vector<std::string> causes = causes_in(pkt, o, netns);
    // The packet waited for a next hop that never answered.
    if (o.neigh_failed && o.neigh_failed->first == k.netns_inode)
      causes.insert(causes.begin(), o.neigh_failed->second);
    emit(pkt, netns, "verdict", "", "dropped", "",
         fmt::format("{} at {}", k.reason_name, k.location_sym));
    emit(pkt, "", "summary", "", "DROPPED", "",
         fmt::format("DROPPED in netns {}{}: {} at {}{}", netns,
                     dev.empty() ? "" : fmt::format(" ({})", dev), k.reason_name, k.location_sym,
                     causes.empty() ? "" : "; " + causes.front()));
    return 0;
  }
  if ((o.delivered || o.consumed) && (o.reply || answered)) {
    nt::NftEvent d;
    if (o.delivered) {
      d = *o.delivered;
    } else {
      d.ns_label = label_of(o.consumed->netns_inode);
      d.iif = o.klast && o.klast->netns_inode == o.consumed->netns_inode ? o.klast->ifname
                                                                         : o.consumed->ifname;
      d.saddr = o.consumed->saddr;
      d.daddr = o.consumed->daddr;
      d.proto = o.consumed->proto;
      d.sport = o.consumed->sport;
      d.dport = o.consumed->dport;
    }
    std::string nat = o.translated
                          ? fmt::format(" (translated to {}:{} in netns {})", o.translated->daddr,
                                        o.translated->dport, o.translated->ns_label)
                          : "";
    std::string how = o.answer ? fmt::format(", the sender's socket: {}", *o.answer) : "";
    emit(pkt, d.ns_label, "verdict", "", "delivered", tuple_of(d), "reply seen" + how);
    emit(pkt, "", "summary", "", "DELIVERED", "",
         fmt::format("DELIVERED to netns {} ({}){}, reply seen{}", d.ns_label, where_of(d), nat,
                     how));
    return 0;
  }
  // A socket error that an ICMP message caused (not a timeout of our own).
  bool icmp_answer =
      o.answer && !answered && (!o.icmp_error_from.empty() || o.answer->rfind("icmp", 0) == 0);
  if (icmp_answer) {
    // An ICMP error came back: the hop that sent it is where the packet ended.
    std::string from =
        !o.icmp_error_from.empty() ? o.icmp_error_from : o.answer->substr(o.answer->rfind(' ') + 1);
    for (const auto &ns : path_) {
      auto addrs = nt::ip_addresses(ns, flow_.family);
      if (!addrs || std::find(addrs->begin(), addrs->end(), from) == addrs->end())
        continue;
      auto fib = nt::fib_lookup(ns, flow_.dst, flow_.src);
      std::string fdesc = fib ? fib->describe() : fib.error().message();
      emit(pkt, ns.label, "fib", fmt::format("route to {}", flow_.dst),
           fib && fib->error ? "no route" : "", "", fdesc);
      emit(pkt, ns.label, "verdict", "", "dropped", "", *o.answer);
      emit(pkt, "", "summary", "", "DROPPED", "",
           fmt::format("DROPPED in netns {} (router {}): {} {}; it answered with an ICMP error "
                       "(the sender's socket: {})",
                       ns.label, from, fib && fib->error ? "no route to" : "cannot forward to",
                       flow_.dst, *o.answer));
      return 0;
    }
    emit(pkt, "", "verdict", "", "error", "", *o.answer);
    emit(pkt, "", "summary", "", "ERROR", "", fmt::format("NOT DELIVERED: {}", *o.answer));
    return 0;
  }
  if (answered) {
    // The far end answered, but the packet left the traced flow on the way
    // (a translation changed its source too, as docker's hairpin masquerade
    // does), so where it was consumed was not seen: not "delivered".
    std::string nat = o.translated
                          ? fmt::format("translated to {}:{} in netns {}; ", o.translated->daddr,
                                        o.translated->dport, o.translated->ns_label)
                          : "";
    emit(pkt, "", "verdict", "", "answered", "", fmt::format("the sender's socket: {}", *o.answer));
    emit(pkt, "", "summary", "", "ANSWERED", "",
         fmt::format(
             "ANSWERED ({}): {}the reply came back, but where the packet was consumed was not "
             "traced (it left the traced addresses after {})",
             *o.answer, nat, o.last_hop ? "netns " + o.last_hop->ns_label : "the sender"));
    return 0;
  }
  (void)timeout;
  explain_timeout(pkt, o);
  return 0;
}

int Trace::run(std::optional<nt::Probe> probe, long long count, double timeout) {
  std::vector<nt::NftEvent> events;
  for (long long pkt = probe ? 1 : 0; pkt <= (probe ? count : 0); ++pkt) {
    Outcome o;
    legacy_before_.clear();
    for (size_t i = 0; i < path_.size(); ++i) {
      auto c = rt::netrules::legacy_counters(path_[i].fd->get());
      if (!c)
        call_.warn(c.error().message());
      else if (!c->rules.empty())
        legacy_before_.emplace_back(i, std::move(*c));
    }
    if (probe) {
      auto sent = probe->send();
      if (!sent) {
        explain_no_route(pkt, sent.error());
        return 0;
      }
      emit(pkt, a_.netns->label, "sent", "", "", "",
           fmt::format("{} {} -> {}", nt::proto_name(flow_.proto),
                       nt::is_icmp(flow_.proto) ? fmt::format("{} id {}", flow_.src, *flow_.sport)
                                                : with_port(flow_.src, *flow_.sport),
                       flow_.dport ? with_port(flow_.dst, *flow_.dport) : flow_.dst));
    }
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(timeout));
    // A short wait for late events after an answer or a drop; max() = not settling.
    constexpr auto kNotSettling = Clock::time_point::max();
    auto settle = kNotSettling;
    auto last_event = Clock::now();
    long long verdicts = 0;
    while (true) {
      auto until = std::min(settle, deadline);
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0)
        break;
      std::vector<pollfd> fds;
      for (const auto &r : readers_)
        fds.push_back({r.fd(), POLLIN, 0});
      if (probe && !o.answer)
        fds.push_back(
            {probe->fd(), static_cast<short>(flow_.proto == IPPROTO_TCP ? POLLOUT : POLLIN), 0});
      if (bpf_)
        fds.push_back({bpf_->fd(), POLLIN, 0});
      fds.push_back({call_.interrupt_fd(), POLLIN, 0});
      poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 100)));
      if (call_.interrupted()) {
        emit(pkt, "", "summary", "", "INTERRUPTED", "", "interrupted before a verdict");
        return 130;
      }
      size_t before = pending_nft_.size() + pending_skb_.size();
      for (auto &r : readers_)
        if (auto rd = r.read(pending_nft_); !rd)
          call_.warn(rd.error().message());
      if (bpf_)
        if (auto r = bpf_->poll([&](const nt::SkbEvent &e) { pending_skb_.push_back(e); }, 0); !r)
          call_.warn(r.error().message());
      if (pending_nft_.size() + pending_skb_.size() != before)
        last_event = Clock::now();
      // The two sources arrive apart; a quiet moment lets them be merged
      // into one timeline.
      if (Clock::now() - last_event >= std::chrono::milliseconds(40))
        flush(pkt, o);
      if (probe && !o.answer)
        if (auto a = probe->answer()) {
          flush(pkt, o);
          o.answer = a;
          emit(pkt, a_.netns->label, "answer", "", *a, "", "what the sender's socket saw");
          settle = Clock::now() + std::chrono::milliseconds(300);
        }
      if (o.drop && settle == kNotSettling)
        settle = Clock::now() + std::chrono::milliseconds(200);
      bool answered =
          o.answer && (*o.answer == "connected" || *o.answer == "refused" || *o.answer == "reply");
      if (probe && (o.delivered || o.consumed) && (o.reply || answered) && (answered || !o.answer))
        break;
      if (o.kdrop && settle == kNotSettling)
        settle = Clock::now() + std::chrono::milliseconds(200);
      if (!probe && (o.drop || (o.delivered && o.reply))) {
        // Passive: each end is one packet's verdict.
        finish(0, o, timeout);
        o = Outcome{};
        settle = kNotSettling;
        if (++verdicts >= count)
          break;
      }
    }
    flush(pkt, o);
    if (probe || !verdicts)
      finish(pkt, o, timeout);
  }
  uint64_t lost = 0;
  for (const auto &r : readers_)
    lost += r.lost();
  if (bpf_ && bpf_->lost())
    call_.warn(fmt::format(
        "{} kernel trace events were lost (ring buffer full): the timeline may miss hops",
        bpf_->lost()));
  if (lost)
    call_.warn(fmt::format("{} nftables trace message batches were lost (socket overrun): the "
                           "timeline may miss rules",
                           lost));
  return 0;
}

} // namespace

int run_trace(Call &call) {
  auto from = call.get("from");
  auto to = call.get("to");
  if (!from || !to)
    return call.fail("net trace: --from A and --to B are required", 2);
  auto proto = nt::parse_proto(call.get("proto").value_or("tcp"));
  if (!proto)
    return call.fail(proto.error(), 2);
  auto dport = call.get_int("dport");
  if (!dport)
    return call.fail(dport.error(), 2);
  if (*dport && (**dport < 1 || **dport > 65535))
    return call.fail(fmt::format("invalid --dport {}: expected 1-65535", **dport), 2);
  if (*dport && *proto == IPPROTO_ICMP)
    return call.fail("--dport does not apply to --proto icmp", 2);
  auto count = call.get_int("count");
  if (!count)
    return call.fail(count.error(), 2);
  long long n = count->value_or(1);
  if (n < 1)
    return call.fail(fmt::format("invalid --count {}: expected 1 or more", n), 2);
  double timeout = 5;
  if (auto t = call.get("timeout")) {
    char *end = nullptr;
    timeout = std::strtod(t->c_str(), &end);
    if (t->empty() || *end || !(timeout > 0) || timeout > 3600)
      return call.fail(fmt::format("invalid --timeout '{}': expected seconds, more than 0", *t), 2);
  }
  if (geteuid() != 0)
    return call.fail("net trace: needs root (CAP_NET_ADMIN to add tracing rules in other network "
                     "namespaces, CAP_SYS_ADMIN to enter them)",
                     1);

  rt::discovery::Options ropt;
  ropt.roots.ctk_root = call.root(); // --root/--run-root name ctk's own store
  ropt.roots.ctk_run_root = call.run_root();
  auto resolver = rt::discovery::Resolver::open(std::move(ropt));
  if (!resolver)
    return call.fail(resolver.error());
  auto known = nt::list_namespaces(*resolver);
  if (!known)
    return call.fail(known.error());
  auto ra = resolve_endpoint("--from", *from, *known, *resolver);
  if (!ra)
    return call.fail(ra.error());
  auto rb = resolve_endpoint("--to", *to, *known, *resolver, ra->ep.netns);
  if (!rb)
    return call.fail(rb.error());
  auto family = nt::choose_family(ra->families, rb->families, call.flag("ipv6"));
  if (!family)
    return call.fail(family.error());
  for (auto *r : {&*ra, &*rb})
    if (!r->families.given)
      r->ep.address = (*family == AF_INET ? r->v4 : r->v6).front();
  auto a = std::optional<nt::Endpoint>(std::move(ra->ep));
  auto b = std::optional<nt::Endpoint>(std::move(rb->ep));
  if (b->port && *dport && **dport != *b->port)
    return call.fail(fmt::format("--to {} names port {} but --dport is {}", *to, *b->port, **dport),
                     2);

  nt::Flow flow;
  flow.family = *family;
  flow.src = a->address;
  flow.dst = b->address;
  flow.proto = *proto;
  if (flow.proto == IPPROTO_ICMP && flow.family == AF_INET6)
    flow.proto = IPPROTO_ICMPV6; // --proto icmp of an IPv6 flow
  if (*dport)
    flow.dport = static_cast<uint16_t>(**dport);
  else if (b->port)
    flow.dport = b->port;
  if (nt::is_icmp(flow.proto))
    flow.dport.reset();

  std::optional<nt::Probe> probe;
  if (call.flag("probe")) {
    if (!a->netns)
      return call.fail(
          fmt::format("--probe: no network namespace of this host has {}; --from must be "
                      "a container, a PID or one of their addresses",
                      a->address));
    auto p = nt::Probe::open(*a->netns, flow);
    if (!p)
      return call.fail(p.error(), p.error().code == rt::Errc::invalid_argument ? 2 : 1);
    flow.sport = p->sport();
    probe = std::move(*p);
  }
  if (!a->netns && !b->netns)
    return call.fail(
        fmt::format("neither {} nor {} is in a network namespace of this host", *from, *to));

  auto path = nt::path_namespaces(*a, *b, flow, *known);
  if (!path)
    return call.fail(path.error());
  // Use the endpoints' labels (container names) for their namespaces.
  for (auto &ns : *path)
    for (const auto *e : {&*a, &*b})
      if (e->netns && e->netns->inode == ns.inode)
        ns.label = e->netns->label;
  // A's namespace first, B's last, those between in between: the order a
  // forward packet meets them.
  std::stable_partition(path->begin(), path->end(), [&](const nt::Netns &ns) {
    return a->netns && ns.inode == a->netns->inode;
  });
  std::stable_partition(path->begin(), path->end(), [&](const nt::Netns &ns) {
    return !(b->netns && ns.inode == b->netns->inode);
  });
  // A killed ctk's tables: wherever its record says, and in case a record
  // is missing (a ctk older than records), in the namespaces of this path.
  const std::string records = call.run_root() + "/net-trace";
  auto recorded = nt::remove_stale_records(records);
  if (!recorded)
    return call.fail(recorded.error());
  if (*recorded)
    call.log(CTK_LOG_INFO,
             fmt::format("removed {} stale tracing table(s) a killed ctk left", *recorded));
  for (const auto &ns : *path) {
    auto stale = nt::remove_stale_tables(ns);
    if (!stale)
      return call.fail(stale.error());
    if (*stale)
      call.log(CTK_LOG_INFO,
               fmt::format("removed {} stale tracing table(s) in {}", *stale, ns.label));
  }
  Trace trace(call, *a, *b, flow, *path);
  // Readers first: an event between the table and its reader would be lost.
  for (const auto &ns : *path) {
    auto r = nt::NftraceReader::open(ns);
    if (!r)
      return call.fail(r.error());
    trace.readers_.push_back(std::move(*r));
  }
  auto tables = nt::TraceTables::install(*path, flow, records);
  if (!tables)
    return call.fail(tables.error());
  trace.table_ = tables->name();
  std::string labels;
  for (const auto &ns : *path)
    labels += (labels.empty() ? "" : ", ") + ns.label;
  call.log(CTK_LOG_INFO,
           fmt::format("tracing {} {} -> {} in {}", nt::proto_name(flow.proto), flow.src,
                       flow.dport ? with_port(flow.dst, *flow.dport) : flow.dst, labels));
  for (const auto &k : *known)
    trace.labels_[k.inode] = k.label;
  for (const auto &ns : *path)
    trace.labels_[ns.inode] = ns.label;
  // The kernel half: hops through devices and namespaces, drops with the
  // kernel's reason. Without BPF the trace goes on with netfilter's view.
  nt::FlowFilter filter;
  filter.family = flow.family;
  filter.proto = flow.proto;
  filter.side_a = {flow.src};
  filter.side_b = {flow.dst};
  filter.dport = flow.dport.value_or(0);
  filter.arp_addresses = {flow.src, flow.dst};
  if (a->netns)
    if (auto fib = nt::fib_lookup(*a->netns, flow.dst, flow.src); fib && !fib->gateway.empty())
      filter.arp_addresses.push_back(fib->gateway);
  // The kernel follows only as many skbs as --count packets can need (each
  // with its reply, ARP and retransmissions): a busy flow then costs what
  // an unrelated one does once they are seen (tests/bench/net_trace_bench.sh).
  filter.max_packets = static_cast<uint32_t>(std::min<long long>(n * 16, UINT32_MAX));
  if (auto tracer = nt::SkbTracer::start(filter))
    trace.bpf_.emplace(std::move(*tracer));
  else
    call.warn(fmt::format("no kernel tracer ({}): hops and drop reasons come from netfilter alone",
                          tracer.error().message()));
  int status = trace.run(std::move(probe), n, timeout);
  if (auto r = tables->remove(); !r)
    return call.fail(r.error());
  return status;
}

} // namespace ctk::plugins::net
