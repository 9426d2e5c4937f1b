// ctk net rules [TARGET]: the netfilter rules that can touch a container's
// traffic, with counters, chain order and hook priority. With TARGET: every
// rule of its own namespace, and the rules of the namespace its veth peers
// live in (the bridge's) that can apply to its addresses, bridge and ports,
// jumps followed; its port publications first. Without: every rule of the
// host's and each container's namespace, and the publications to any
// container.
#include <sys/socket.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/net_inspect.h"
#include "ctk/runtime/net_rules.h"

namespace ctk::plugins::net {
namespace {

namespace ni = rt::netinspect;
namespace nr = rt::netrules;
using nlohmann::ordered_json;

// One namespace to read, and what of it to show.
struct Place {
  std::string label;
  rt::UniqueFd fd;
  std::optional<nr::Scope> scope; // nullopt: every rule
};

std::string chain_cell(const nr::Rule &r) {
  if (r.hook.empty())
    return r.chain;
  return fmt::format("{} ({}/{})", r.chain, r.hook, r.priority);
}

// The fields every row has; `text` is the RULE cell.
void rule_fields(rt::plugin::Record &rec, std::string_view kind, const std::string &netns, const nr::Rule &r,
                 const std::string &text, const std::string &verdict) {
  rec.field("Kind", kind);
  rec.field("Netns", netns);
  rec.field("Source", nr::source_name(r.source));
  rec.field("Table", r.family + " " + r.table);
  rec.field("Chain", chain_cell(r));
  rec.field("Position", r.position);
  rec.field("Handle",
            r.source == nr::Source::iptables_legacy ? std::string("-") : std::to_string(r.handle));
  rec.field("Packets", r.packets);
  rec.field("Bytes", r.bytes);
  rec.field("Rule", text);
  rec.field("Verdict", verdict);
  rec.field("May", r.may() ? "may" : "");
  rec.field("Comment", r.comment);
  rec.field("Detail", ordered_json(nr::to_json(r)));
}

void emit_rule(Call &call, const std::string &netns, const nr::Rule &r) {
  auto rec = call.record();
  rule_fields(rec, "rule", netns, r, r.text, r.verdict.empty() ? "continue" : r.verdict);
}

void emit_publication(Call &call, const std::string &netns, const nr::Publication &p,
                      const std::string &who) {
  const auto &r = p.rule;
  auto hostport = [](const std::string &a, const std::string &port) {
    return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + port;
  };
  std::string ref = r.source == nr::Source::iptables_legacy
                        ? fmt::format("{} {} {} #{}", r.family, r.table, r.chain, r.position)
                        : fmt::format("{} {} {} handle {}", r.family, r.table, r.chain, r.handle);
  std::string text = fmt::format("host {}{} → {}:{} (rule {})", hostport(p.host_addr, p.host_port),
                                 p.proto.empty() ? "" : "/" + p.proto, who, p.port, ref);
  auto rec = call.record();
  rule_fields(rec, "publication", netns, r, "PUBLISHED " + text, r.verdict);
  rec.field("Publication", ordered_json{{"Proto", p.proto},
                                        {"HostAddr", p.host_addr},
                                        {"HostPort", p.host_port},
                                        {"Container", who},
                                        {"Addr", p.addr},
                                        {"Port", p.port},
                                        {"Text", text}});
}

std::vector<std::string> addresses_of(const std::vector<ni::Iface> &ifaces) {
  std::vector<std::string> out;
  for (const auto &i : ifaces)
    if (i.name != "lo")
      for (const auto &a : i.addrs)
        if (a.scope != "link" && a.scope != "host")
          out.push_back(a.address);
  return out;
}

std::string who_of(const std::optional<rt::discovery::Container> &c, const std::string &label) {
  return c ? ni::containers_label({*c}) : label;
}

// The namespaces of a TARGET: its own (every rule), and each namespace one
// of its veth peers is in, scoped to its addresses, the peer and its bridge.
rt::Result<std::vector<Place>> places_of_target(Call &call, rt::discovery::Resolver &r,
                                                const std::string &text,
                                                std::vector<std::string> &addrs, std::string &who) {
  auto e = ni::resolve_endpoint(r, text, {});
  if (!e)
    return tl::unexpected(e.error());
  if (e->pid == 0 && !e->netns.valid())
    return rt::fail(rt::Errc::not_found,
                    fmt::format("no network namespace has the address {}", text));
  if (e->host_netns)
    return rt::fail(rt::Errc::invalid_argument,
                    fmt::format("{} has no network namespace of its own (it uses the host's): "
                                "every rule of the host applies; run ctk net rules without TARGET",
                                text));
  auto all = ni::list_namespaces(r, {});
  if (!all)
    return tl::unexpected(all.error());
  addrs = addresses_of(e->ifaces);
  who = who_of(e->container, e->label);
  std::vector<Place> out;
  Place own;
  own.label = e->label;
  own.fd = std::move(e->netns);
  nr::Scope everything;
  everything.everything = true;
  own.scope = everything;
  out.push_back(std::move(own));
  // Host-side namespaces by inode, with the peer ports and bridges in each.
  std::map<uint64_t, nr::Scope> peers;
  for (const auto &i : e->ifaces) {
    if (!i.peer || i.peer->netns_inode == 0 || i.peer->netns_inode == e->netns_inode)
      continue;
    auto &s = peers[i.peer->netns_inode];
    s.addresses = addrs;
    s.ports.push_back(i.peer->name);
    // IP hooks see a bridged packet on the bridge; an unbridged veth is its own L3 device.
    s.interfaces.push_back(i.peer->master.empty() ? i.peer->name : i.peer->master);
  }
  for (auto &[inode, scope] : peers) {
    auto ref = std::find_if(all->begin(), all->end(),
                            [&](const ni::NetnsRef &n) { return n.inode == inode; });
    std::optional<ni::NetnsRef> found;
    if (ref != all->end()) {
      found = *ref;
    } else {
      // A namespace nothing names (no container, no /run/netns entry):
      // read_all_links finds it by its veth peer.
      std::vector<ni::NetnsRef> mine;
      for (const auto &n : *all)
        if (n.inode == e->netns_inode)
          mine.push_back(n);
      if (mine.empty()) {
        ni::NetnsRef n;
        n.inode = e->netns_inode;
        n.label = e->label;
        n.pid = e->pid;
        n.path = e->netns_path;
        mine.push_back(n);
      }
      if (auto links = ni::read_all_links(mine); links)
        for (const auto &l : *links)
          if (l.ns.inode == inode)
            found = l.ns;
    }
    if (!found) {
      call.warn(fmt::format("the namespace netns:[{}] of {}'s veth peer cannot be opened; its "
                            "rules are not shown",
                            inode, who));
      continue;
    }
    auto fd = ni::open_netns(*found);
    if (!fd) {
      call.warn(fd.error().message());
      continue;
    }
    out.push_back(Place{found->label, std::move(*fd), scope});
  }
  return out;
}

// Without TARGET: the host and every container namespace, all rules; the
// addresses of every container for the publications.
rt::Result<std::vector<Place>> places_of_all(Call &call, rt::discovery::Resolver &r,
                                             std::map<std::string, std::string> &addr_owner) {
  auto all = ni::list_namespaces(r, {});
  if (!all)
    return tl::unexpected(all.error());
  std::vector<Place> out;
  for (const auto &n : *all) {
    if (!n.host && !n.container)
      continue; // a /run/netns entry of no container's
    auto fd = ni::open_netns(n);
    if (!fd) {
      call.warn(fd.error().message()); // stopped meanwhile
      continue;
    }
    if (!n.host)
      if (auto links = ni::read_links(fd->get()); links)
        for (const auto &a : addresses_of(*links))
          addr_owner.emplace(a, who_of(n.container, n.label));
    out.push_back(Place{n.label, std::move(*fd), std::nullopt});
  }
  return out;
}

} // namespace

int run_rules(Call &call) {
  rt::discovery::Options o;
  o.roots.ctk_root = call.root();
  o.roots.ctk_run_root = call.run_root();
  auto r = rt::discovery::Resolver::open(std::move(o));
  if (!r)
    return call.fail(r.error());
  const auto args = call.args();
  std::vector<std::string> addrs;
  std::string who;
  std::map<std::string, std::string> addr_owner;
  auto places = args.empty() ? places_of_all(call, *r, addr_owner)
                             : places_of_target(call, *r, args[0], addrs, who);
  if (!places)
    return call.fail(places.error());
  for (const auto &w : r->warnings())
    call.log(CTK_LOG_DEBUG, w);
  if (!args.empty())
    for (const auto &a : addrs)
      addr_owner.emplace(a, who);
  std::vector<std::string> owned;
  for (const auto &[a, _] : addr_owner)
    owned.push_back(a);

  // Read everything first: a namespace that fails is an error before any row.
  std::vector<nr::Ruleset> sets;
  for (auto &p : *places) {
    auto rs = nr::read(p.fd.get());
    if (!rs)
      return call.fail(rs.error().wrap(fmt::format("cannot read the rules of {}", p.label)));
    for (const auto &w : rs->warnings)
      call.warn(fmt::format("{}: {}", p.label, w));
    sets.push_back(std::move(*rs));
  }
  // Publications first, where nobody scrolls past them.
  for (size_t i = 0; i < places->size(); ++i)
    for (const auto &p : nr::publications(sets[i], owned))
      emit_publication(call, (*places)[i].label, p, addr_owner[p.addr]);
  for (size_t i = 0; i < places->size(); ++i) {
    const auto &place = (*places)[i];
    if (!place.scope) {
      for (const auto &rule : sets[i].rules)
        emit_rule(call, place.label, rule);
      continue;
    }
    for (const auto &rule : nr::relevant(sets[i], *place.scope))
      emit_rule(call, place.label, rule);
  }
  return 0;
}

} // namespace ctk::plugins::net
