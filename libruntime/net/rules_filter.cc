// Which rules can touch a container's traffic, its port publications, and
// the tracer's look-ups (a rule by handle, legacy counters that advanced).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_rules.h"

namespace ctk::rt::netrules {

std::string_view source_name(Source s) {
  switch (s) {
  case Source::nft:
    return "nft";
  case Source::iptables_nft:
    return "iptables-nft";
  case Source::iptables_legacy:
    return "iptables-legacy";
  }
  return "?";
}

std::string_view match_kind_name(Match::Kind k) {
  switch (k) {
  case Match::Kind::saddr:
    return "saddr";
  case Match::Kind::daddr:
    return "daddr";
  case Match::Kind::iif:
    return "iif";
  case Match::Kind::oif:
    return "oif";
  case Match::Kind::l4proto:
    return "l4proto";
  case Match::Kind::sport:
    return "sport";
  case Match::Kind::dport:
    return "dport";
  case Match::Kind::ct_state:
    return "ct_state";
  case Match::Kind::xt:
    return "xt";
  case Match::Kind::other:
    return "other";
  }
  return "?";
}

bool Rule::may() const {
  return std::any_of(matches.begin(), matches.end(), [](const Match &m) { return m.opaque; });
}

namespace {

struct Addr {
  int family = 0; // AF_INET, AF_INET6
  std::array<unsigned char, 16> bytes{};
};

std::optional<Addr> parse_addr(std::string_view s) {
  std::string t(s);
  Addr a;
  if (::inet_pton(AF_INET, t.c_str(), a.bytes.data()) == 1)
    a.family = AF_INET;
  else if (::inet_pton(AF_INET6, t.c_str(), a.bytes.data()) == 1)
    a.family = AF_INET6;
  else
    return std::nullopt;
  return a;
}

size_t addr_len(const Addr &a) {
  return a.family == AF_INET ? 4 : 16;
}

// Does "10.77.0.0/24", "10.77.0.3", "10.77.0.1-10.77.0.9" cover `a`? A value
// that is not an address (a name nft printed) may: nullopt.
std::optional<bool> covers(std::string_view value, const Addr &a) {
  if (auto dash = value.find('-'); dash != std::string_view::npos) {
    auto lo = parse_addr(value.substr(0, dash)), hi = parse_addr(value.substr(dash + 1));
    if (!lo || !hi)
      return std::nullopt;
    if (lo->family != a.family)
      return false;
    size_t n = addr_len(a);
    return std::memcmp(lo->bytes.data(), a.bytes.data(), n) <= 0 &&
           std::memcmp(a.bytes.data(), hi->bytes.data(), n) <= 0;
  }
  auto slash = value.find('/');
  auto net = parse_addr(value.substr(0, slash));
  if (!net)
    return std::nullopt;
  if (net->family != a.family)
    return false;
  long long len = static_cast<long long>(addr_len(a)) * 8;
  if (slash != std::string_view::npos && !parse_int(value.substr(slash + 1), len))
    return std::nullopt;
  for (long long bit = 0; bit < len && bit < static_cast<long long>(addr_len(a)) * 8; ++bit) {
    unsigned mask = 0x80u >> (bit % 8);
    if ((net->bytes[bit / 8] & mask) != (a.bytes[bit / 8] & mask))
      return false;
  }
  return true;
}

// "veth*" (nft) and "veth+" (iptables) name every interface starting "veth".
bool name_covers(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && (pattern.back() == '*' || pattern.back() == '+'))
    return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == name;
}

// Can the match hold for one of `candidates`? No candidates known: it may.
bool satisfiable(const Match &m, const std::vector<std::string> &candidates, bool address) {
  if (m.opaque || candidates.empty())
    return true;
  for (const auto &c : candidates) {
    bool any = false, unknown = false;
    std::optional<Addr> a = address ? parse_addr(c) : std::nullopt;
    for (const auto &v : m.values) {
      if (address) {
        if (!a) {
          unknown = true;
          continue;
        }
        auto hit = covers(v, *a);
        unknown |= !hit.has_value();
        any |= hit.value_or(false);
      } else {
        any |= name_covers(v, c);
      }
    }
    if (unknown || any != m.negated)
      return true;
  }
  return false;
}

enum Dir : unsigned { kOut = 1, kIn = 2 }; // out: the container sends; in: it receives

bool is_dnat(const Rule &r) {
  return r.verdict.starts_with("dnat") || r.verdict == "DNAT";
}

// Before destination NAT (prerouting and output at or before dstnat) a
// packet for the container still carries a published address.
bool before_dnat(const Rule &r) {
  return (r.hook == "prerouting" || r.hook == "output") && r.priority <= -100;
}

unsigned directions(const Rule &r, const Scope &scope, unsigned allowed,
                    const std::vector<std::string> &published) {
  if (scope.everything)
    return allowed;
  // An ip6 address match on a v4-only container (or the reverse) never
  // holds, whichever side the container is on.
  for (const auto &m : r.matches)
    if ((m.kind == Match::Kind::saddr || m.kind == Match::Kind::daddr) && !m.negated && !m.opaque &&
        !scope.addresses.empty() && !m.values.empty()) {
      bool some_fits = false;
      for (const auto &v : m.values) {
        auto a = parse_addr(v.substr(0, v.find_first_of("/-")));
        some_fits |= !a || std::any_of(scope.addresses.begin(), scope.addresses.end(),
                                       [&](const std::string &mine) {
                                         auto b = parse_addr(mine);
                                         return !b || b->family == a->family;
                                       });
      }
      if (!some_fits)
        return 0;
    }
  unsigned out = 0;
  for (unsigned d : {kOut, kIn}) {
    if (!(allowed & d))
      continue;
    bool ok = true;
    for (const auto &m : r.matches) {
      if (m.kind == Match::Kind::saddr && d == kOut)
        ok &= satisfiable(m, scope.addresses, true);
      else if (m.kind == Match::Kind::daddr && d == kIn) {
        if (before_dnat(r)) {
          // Its own address or one it is published on; any local address
          // (0.0.0.0) cannot be told apart here.
          if (std::find(published.begin(), published.end(), "0.0.0.0") == published.end()) {
            auto all = scope.addresses;
            all.insert(all.end(), published.begin(), published.end());
            ok &= satisfiable(m, all, true);
          }
        } else {
          ok &= satisfiable(m, scope.addresses, true);
        }
      } else if ((m.kind == Match::Kind::iif && d == kOut) ||
                 (m.kind == Match::Kind::oif && d == kIn))
        ok &= satisfiable(m, m.port ? scope.ports : scope.interfaces, false);
    }
    // A DNAT to someone else never makes traffic for this container.
    if (d == kIn && is_dnat(r) && !r.nat_addr.empty() && !scope.addresses.empty() &&
        std::find(scope.addresses.begin(), scope.addresses.end(), r.nat_addr) ==
            scope.addresses.end())
      ok = false;
    if (ok)
      out |= d;
  }
  return out;
}

bool family_fits(std::string_view family, const Scope &scope) {
  if (scope.everything || scope.addresses.empty())
    return true;
  bool v4 = false, v6 = false;
  for (const auto &a : scope.addresses)
    (a.find(':') != std::string::npos ? v6 : v4) = true;
  if (family == "ip")
    return v4;
  if (family == "ip6")
    return v6;
  return true;
}

int hook_rank(std::string_view hook) {
  static const char *kOrder[] = {"ingress", "prerouting",  "input", "forward",
                                 "output",  "postrouting", "egress"};
  for (int i = 0; i < 7; ++i)
    if (hook == kOrder[i])
      return i;
  return 7;
}

// iptables-save syntax whose every condition the parser decided on: only
// addresses, interfaces and comments before the target. Anything else (a
// protocol, a state, an addrtype, an option the parser passes over) may not
// hold. Native nft rules never qualify: their parser skips statements it
// does not know (limit, fib, numgen), which may not hold either.
bool only_decided_conditions(const Rule &r) {
  if (r.source == Source::nft)
    return false;
  static const std::set<std::string_view> kDecided = {
      "-A", "-s", "--source", "-d", "--destination", "-i", "--in-interface",
      "-o", "--out-interface", "!", "--comment"};
  std::string_view t = r.text;
  bool value = false; // the next word is an option's value
  for (size_t i = 0; i < t.size();) {
    if (t[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = i;
    if (t[i] == '"') { // a quoted comment, with \" inside
      for (end = i + 1; end < t.size() && t[end] != '"'; ++end)
        if (t[end] == '\\')
          ++end;
      end = std::min(end + 1, t.size());
    } else {
      end = std::min(t.find(' ', i), t.size());
    }
    std::string_view w = t.substr(i, end - i);
    i = end;
    if (value) {
      value = false;
      continue;
    }
    if (w == "-j" || w == "--jump" || w == "-g" || w == "--goto")
      return true; // the target's own options change what it does, not whether
    if (w == "-m" || w == "--match") {
      auto next = t.substr(i);
      next.remove_prefix(std::min(next.find_first_not_of(' '), next.size()));
      if (!next.starts_with("comment ") && next != "comment")
        return false;
      value = true;
      continue;
    }
    if (!kDecided.count(w))
      return false;
    value = w != "!";
  }
  return true;
}

// Does the rule match every packet of the container that goes direction d?
// Then a terminal verdict (accept, drop, a NAT) means no later rule sees
// them: CNI's per-container nat chain accepts the network's own traffic
// before its masquerade, which another container's traffic never reaches.
bool certain(const Rule &r, const Scope &scope, unsigned d) {
  if (scope.everything || r.may() || !only_decided_conditions(r))
    return false;
  // After source NAT a packet no longer carries the container's address.
  const bool after_snat = r.hook == "postrouting" && r.priority > 100;
  for (const auto &m : r.matches) {
    const bool addr = (m.kind == Match::Kind::saddr && d == kOut && !after_snat) ||
                      (m.kind == Match::Kind::daddr && d == kIn && !before_dnat(r));
    const bool iface = (m.kind == Match::Kind::iif && d == kOut) ||
                       (m.kind == Match::Kind::oif && d == kIn);
    if ((!addr && !iface) || m.opaque || m.values.empty())
      return false;
    const auto &cands = addr ? scope.addresses : m.port ? scope.ports : scope.interfaces;
    if (cands.empty())
      return false;
    for (const auto &c : cands) {
      bool hit = false;
      if (addr) {
        auto a = parse_addr(c);
        if (!a)
          return false;
        for (const auto &v : m.values) {
          auto h = covers(v, *a);
          if (!h)
            return false;
          hit |= *h;
        }
      } else {
        for (const auto &v : m.values)
          hit |= name_covers(v, c);
      }
      if (hit == m.negated)
        return false;
    }
  }
  return true;
}

unsigned certain_dirs(const Rule &r, const Scope &scope, unsigned dirs) {
  unsigned out = 0;
  for (unsigned d : {kOut, kIn})
    if ((dirs & d) && certain(r, scope, d))
      out |= d;
  return out;
}

// Verdicts after which the packet leaves the table at this hook.
bool ends_table(const Rule &r) {
  return r.verdict == "accept" || r.verdict == "drop" || r.verdict.starts_with("reject") ||
         r.verdict == "masquerade" || r.verdict == "redirect" || r.verdict.starts_with("snat") ||
         is_dnat(r);
}

std::vector<std::string> published_addrs(const Ruleset &rs, const Scope &scope) {
  std::vector<std::string> out;
  for (const auto &p : publications(rs, scope.addresses))
    out.push_back(p.host_addr);
  return out;
}

} // namespace

Applies applies(const Rule &r, const Scope &scope) {
  if (!family_fits(r.family, scope))
    return Applies::no;
  if (!directions(r, scope, kOut | kIn, published_addrs(Ruleset{{}, {r}, {}}, scope)))
    return Applies::no;
  return r.may() ? Applies::may : Applies::yes;
}

std::vector<Rule> relevant(const Ruleset &rs, const Scope &scope) {
  using Key = std::tuple<Source, std::string, std::string, std::string>;
  std::map<Key, std::vector<const Rule *>> by_chain;
  for (const auto &r : rs.rules)
    by_chain[{r.source, r.family, r.table, r.chain}].push_back(&r);
  const auto published = published_addrs(rs, scope);
  std::vector<const Chain *> bases;
  for (const auto &c : rs.chains)
    if (c.base() && family_fits(c.family, scope) &&
        (c.device.empty() || scope.everything || scope.interfaces.empty() ||
         std::find(scope.ports.begin(), scope.ports.end(), c.device) != scope.ports.end() ||
         std::find(scope.interfaces.begin(), scope.interfaces.end(), c.device) !=
             scope.interfaces.end()))
      bases.push_back(&c);
  std::stable_sort(bases.begin(), bases.end(), [](const Chain *a, const Chain *b) {
    return std::make_tuple(hook_rank(a->hook), a->priority) <
           std::make_tuple(hook_rank(b->hook), b->priority);
  });
  std::vector<Rule> out;
  std::set<Key> on_path; // a jump back into a chain being listed is a loop
  // Returns the directions whose every packet the chain certainly took out
  // of the table (an accept, drop or NAT they all meet): later rules of the
  // callers do not see them.
  std::function<unsigned(const Chain &, const Key &, unsigned, int)> walk =
      [&](const Chain &base, const Key &key, unsigned allowed, int depth) -> unsigned {
        auto it = by_chain.find(key);
        if (it == by_chain.end() || depth > 16 || on_path.count(key))
          return 0;
        on_path.insert(key);
        unsigned ended = 0;
        for (const Rule *r : it->second) {
          unsigned d = directions(*r, scope, allowed, published);
          if (!d)
            continue;
          Rule copy = *r;
          copy.hook = base.hook; // where the kernel runs it, for a chain reached by jump
          copy.priority = base.priority;
          const unsigned sure = certain_dirs(copy, scope, d);
          out.push_back(std::move(copy));
          unsigned gone = 0; // directions no later rule of this chain sees
          if (!r->jump.empty()) {
            gone = walk(base, {r->source, r->family, r->table, r->jump}, d, depth + 1) & sure;
            ended |= gone;
            if (r->is_goto)
              gone |= sure; // the callee returns to our caller
          } else if (ends_table(*r)) {
            gone = sure;
            ended |= sure;
          } else if (r->verdict == "return") {
            gone = sure;
          }
          allowed &= ~gone;
          if (!allowed)
            break;
        }
        on_path.erase(key);
        return ended;
      };
  for (const Chain *c : bases)
    walk(*c, {c->source, c->family, c->table, c->name}, kOut | kIn, 0);
  return out;
}

std::vector<Publication> publications(const Ruleset &rs,
                                      const std::vector<std::string> &addresses) {
  std::vector<Publication> out;
  for (const auto &r : rs.rules) {
    if (!is_dnat(r) || r.nat_addr.empty() ||
        std::find(addresses.begin(), addresses.end(), r.nat_addr) == addresses.end())
      continue;
    Publication p;
    p.addr = r.nat_addr;
    p.port = r.nat_port;
    for (const auto &m : r.matches) {
      if (m.negated || m.values.empty())
        continue;
      if (m.kind == Match::Kind::daddr && p.host_addr.empty()) {
        p.host_addr = m.values[0];
        auto slash = p.host_addr.find('/');
        if (slash != std::string::npos &&
            (p.host_addr.substr(slash) == "/32" || p.host_addr.substr(slash) == "/128"))
          p.host_addr.resize(slash);
      } else if (m.kind == Match::Kind::dport && p.host_port.empty()) {
        p.host_port = fmt::format("{}", fmt::join(m.values, ","));
      } else if (m.kind == Match::Kind::l4proto && p.proto.empty()) {
        p.proto = m.values[0];
      }
    }
    if (p.host_addr.empty())
      p.host_addr = r.nat_addr.find(':') != std::string::npos ? "::" : "0.0.0.0";
    if (p.port.empty())
      p.port = p.host_port;
    p.rule = r;
    out.push_back(std::move(p));
  }
  if (out.empty())
    return out;
  // A DNAT sits in a chain reached by jump (docker's DOCKER): the hook and
  // priority it runs at are the first base chain's that reaches it.
  Scope all;
  all.everything = true;
  auto reached = relevant(rs, all);
  for (auto &p : out) {
    auto it = std::find_if(reached.begin(), reached.end(), [&](const Rule &r) {
      return r.source == p.rule.source && r.family == p.rule.family && r.table == p.rule.table &&
             r.chain == p.rule.chain && r.position == p.rule.position;
    });
    if (it != reached.end()) {
      p.rule.hook = it->hook;
      p.rule.priority = it->priority;
    }
  }
  return out;
}

std::string to_string(const Publication &p) {
  auto hostport = [](const std::string &a, const std::string &port) {
    return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + port;
  };
  return fmt::format("{}{}{} -> {}", p.proto, p.proto.empty() ? "" : " ",
                     hostport(p.host_addr, p.host_port.empty() ? "*" : p.host_port),
                     hostport(p.addr, p.port.empty() ? "*" : p.port));
}

const Rule *find_rule(const Ruleset &rs, std::string_view family, std::string_view table,
                      std::string_view chain, uint64_t handle) {
  for (const auto &r : rs.rules)
    if (r.source != Source::iptables_legacy && r.handle == handle && r.family == family &&
        r.table == table && r.chain == chain)
      return &r;
  return nullptr;
}

LegacyCounters legacy_counters_from(const Ruleset &legacy) {
  LegacyCounters c;
  for (const auto &r : legacy.rules)
    if (r.source == Source::iptables_legacy)
      c.rules[{r.family, r.table, r.chain, r.position}] = r;
  for (const auto &ch : legacy.chains) {
    if (ch.source != Source::iptables_legacy || !ch.base() || !ch.packets)
      continue;
    Rule r;
    r.source = ch.source;
    r.family = ch.family;
    r.table = ch.table;
    r.chain = ch.name;
    r.hook = ch.hook;
    r.priority = ch.priority;
    r.position = 0;
    r.packets = ch.packets;
    r.bytes = ch.bytes;
    r.verdict = ch.policy;
    std::string upper = ch.policy;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    r.text = fmt::format("-P {} {}", ch.name, upper);
    c.rules[{r.family, r.table, r.chain, 0}] = std::move(r);
  }
  return c;
}

std::vector<Rule> counters_advanced(const LegacyCounters &before, const LegacyCounters &after) {
  std::vector<Rule> out;
  for (const auto &[key, r] : after.rules) {
    uint64_t was = 0;
    if (auto it = before.rules.find(key); it != before.rules.end()) {
      // A different rule at this number (the chain changed): count from zero.
      if (it->second.text == r.text)
        was = it->second.packets.value_or(0);
    }
    uint64_t now = r.packets.value_or(0);
    if (now > was) {
      Rule d = r;
      d.packets = now - was;
      out.push_back(std::move(d));
    }
  }
  return out;
}

nlohmann::ordered_json to_json(const Rule &r) {
  nlohmann::ordered_json j;
  j["source"] = source_name(r.source);
  j["family"] = r.family;
  j["table"] = r.table;
  j["chain"] = r.chain;
  j["hook"] = r.hook;
  j["priority"] = r.priority;
  if (r.source == Source::iptables_legacy)
    j["handle"] = nullptr;
  else
    j["handle"] = r.handle;
  j["position"] = r.position;
  j["packets"] = r.packets ? nlohmann::ordered_json(*r.packets) : nlohmann::ordered_json();
  j["bytes"] = r.bytes ? nlohmann::ordered_json(*r.bytes) : nlohmann::ordered_json();
  j["rule"] = r.text;
  j["comment"] = r.comment;
  j["verdict"] = r.verdict;
  j["may"] = r.may();
  auto &ms = j["matches"] = nlohmann::ordered_json::array();
  for (const auto &m : r.matches) {
    nlohmann::ordered_json mj;
    mj["kind"] = match_kind_name(m.kind);
    mj["negated"] = m.negated;
    mj["opaque"] = m.opaque;
    if (m.port)
      mj["port"] = true;
    mj["values"] = m.values;
    ms.push_back(std::move(mj));
  }
  return j;
}

} // namespace ctk::rt::netrules
