// ctk net trace's timeline: the events of nftables tracing (one reader per
// namespace) and of the kernel tracer, matched to the packet they belong to,
// put in order and emitted; rules named from the namespace's ruleset.
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "trace.h"

namespace ctk::plugins::net::trace {

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
    fwd = o.skbs.count(ev.skb) || skb_forward(ev);
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
  // With a probe: its own port only, and for TCP the handshake as ctk's
  // nftables rules see it: the SYN forward, the SYN-ACK or RST back. A RST
  // from A is the reset of the previous probe's connection (Probe::send).
  const bool out = ev.saddr == flow_.src && ev.sport == *flow_.sport;
  const bool back = ev.daddr == flow_.src && ev.dport == *flow_.sport;
  if (!out && !back)
    return false;
  if (ev.proto != IPPROTO_TCP)
    return true;
  return out ? (ev.tcp_flags & 0x02) != 0 : (ev.tcp_flags & 0x06) != 0;
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

} // namespace ctk::plugins::net::trace
