// ctk net trace's verdicts: how each packet ended (delivered, dropped by a
// rule or by the kernel, answered, no route, no verdict) in one plain line,
// with the FIB's answer, link and bridge-port states and rp_filter as the
// probable causes when nothing else explains it.
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "trace.h"

namespace ctk::plugins::net::trace {

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

void Trace::finish(long long pkt, const Outcome &o) {
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
    return;
  }
  const bool answered = o.answered();
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
        return;
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
    // Delivered to the right host, but no socket there takes it: a closed port.
    if (k.reason_name == "NO_SOCKET" && (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP))
      causes.insert(causes.begin(),
                    fmt::format("no {} socket listens on {}{}", nt::proto_name(k.proto),
                                with_port(k.daddr, k.dport),
                                o.answer ? fmt::format(" (the sender's socket: {})", *o.answer)
                                         : std::string()));
    emit(pkt, netns, "verdict", "", "dropped", "",
         fmt::format("{} at {}", k.reason_name, k.location_sym));
    emit(pkt, "", "summary", "", "DROPPED", "",
         fmt::format("DROPPED in netns {}{}: {} at {}{}", netns,
                     dev.empty() ? "" : fmt::format(" ({})", dev), k.reason_name, k.location_sym,
                     causes.empty() ? "" : "; " + causes.front()));
    return;
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
    return;
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
      return;
    }
    emit(pkt, "", "verdict", "", "error", "", *o.answer);
    emit(pkt, "", "summary", "", "ERROR", "", fmt::format("NOT DELIVERED: {}", *o.answer));
    return;
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
    return;
  }
  explain_timeout(pkt, o);
}

} // namespace ctk::plugins::net::trace
