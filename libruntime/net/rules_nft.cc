// nftables' JSON listing (libnftables 1.0.6) to the rule model, and the
// merge of iptables-nft's own listing for the tables it manages.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_rules.h"

namespace ctk::rt::netrules {

using nlohmann::json;

namespace {

// A right-hand side as strings: "10.77.0.0/24", "80", "1000-2000", or the
// elements of an anonymous set. A named set ("@blocked") cannot be known
// from the listing of the rule alone: opaque.
bool values_of(const json &right, std::vector<std::string> &out) {
  if (right.is_string()) {
    std::string v = right.get<std::string>();
    if (!v.empty() && v[0] == '@')
      return false;
    out.push_back(v);
    return true;
  }
  if (right.is_number_integer()) {
    out.push_back(std::to_string(right.get<long long>()));
    return true;
  }
  if (right.is_array()) { // ct state flags: ["established", "related"]
    for (const auto &e : right)
      if (!values_of(e, out))
        return false;
    return true;
  }
  if (!right.is_object())
    return false;
  if (right.contains("prefix")) {
    const auto &p = right["prefix"];
    out.push_back(fmt::format("{}/{}", p.value("addr", ""), p.value("len", 0)));
    return true;
  }
  if (right.contains("range") && right["range"].is_array() && right["range"].size() == 2) {
    std::vector<std::string> ends;
    if (!values_of(right["range"][0], ends) || !values_of(right["range"][1], ends))
      return false;
    out.push_back(ends[0] + "-" + ends[1]);
    return true;
  }
  if (right.contains("set")) {
    const auto &set = right["set"];
    if (!set.is_array())
      return values_of(set, out);
    for (const auto &e : set)
      if (!values_of(e, out))
        return false;
    return true;
  }
  return false;
}

Match match_of(const json &m, std::string &implied_proto) {
  Match out;
  const std::string op = m.value("op", "==");
  out.negated = op == "!=";
  const json &left = m.value("left", json::object());
  if (left.contains("payload")) {
    const auto &p = left["payload"];
    std::string proto = p.value("protocol", ""), field = p.value("field", "");
    if ((proto == "ip" || proto == "ip6") && (field == "saddr" || field == "daddr"))
      out.kind = field == "saddr" ? Match::Kind::saddr : Match::Kind::daddr;
    else if (field == "sport" || field == "dport") {
      out.kind = field == "sport" ? Match::Kind::sport : Match::Kind::dport;
      if (proto != "th")
        implied_proto = proto;
    } else if ((proto == "ip" && field == "protocol") || (proto == "ip6" && field == "nexthdr"))
      out.kind = Match::Kind::l4proto;
  } else if (left.contains("meta")) {
    std::string key = left["meta"].value("key", "");
    if (key == "iifname" || key == "iif")
      out.kind = Match::Kind::iif;
    else if (key == "oifname" || key == "oif")
      out.kind = Match::Kind::oif;
    else if (key == "l4proto")
      out.kind = Match::Kind::l4proto;
  } else if (left.contains("ct") && left["ct"].value("key", "") == "state") {
    out.kind = Match::Kind::ct_state;
  }
  if (!values_of(m.value("right", json()), out.values)) {
    out.values.clear();
    // Only a condition ctk decides by can make a rule uncertain.
    out.opaque = out.kind != Match::Kind::other;
  }
  return out;
}

std::string addr_port(const json &stmt) {
  std::vector<std::string> a, p;
  bool ok = stmt.contains("addr") && values_of(stmt["addr"], a) && a.size() == 1;
  std::string s = ok ? a[0] : std::string();
  if (stmt.contains("port") && values_of(stmt["port"], p) && p.size() == 1)
    s += (s.find(':') != std::string::npos ? "]:" : ":") + p[0];
  if (s.find("]:") != std::string::npos)
    s = "[" + s;
  return s;
}

void add_statement(Rule &r, const json &e) {
  if (!e.is_object() || e.empty())
    return;
  const std::string key = e.begin().key();
  const json &v = e.begin().value();
  std::string implied;
  if (key == "match") {
    r.matches.push_back(match_of(v, implied));
    if (!implied.empty()) {
      Match p;
      p.kind = Match::Kind::l4proto;
      p.values = {implied};
      r.matches.push_back(p);
    }
  } else if (key == "counter" && v.is_object()) {
    r.packets = v.value("packets", uint64_t{0});
    r.bytes = v.value("bytes", uint64_t{0});
  } else if (key == "xt") {
    const std::string name = v.value("name", "");
    if (v.value("type", "") == "target") {
      r.verdict = name; // DNAT, MASQUERADE, ... without arguments
    } else {
      Match m;
      m.kind = name == "comment" ? Match::Kind::other : Match::Kind::xt; // a comment always holds
      m.opaque = m.kind == Match::Kind::xt;
      m.values = {name};
      r.matches.push_back(m);
    }
  } else if (key == "jump" || key == "goto") {
    r.jump = v.value("target", "");
    r.is_goto = key == "goto";
    r.verdict = key + " " + r.jump;
  } else if (key == "accept" || key == "drop" || key == "return" || key == "continue" ||
             key == "reject" || key == "queue" || key == "masquerade" || key == "redirect" ||
             key == "notrack") {
    r.verdict = key;
  } else if (key == "dnat" || key == "snat") {
    r.verdict = key;
    if (v.is_object()) {
      std::vector<std::string> a, p;
      if (v.contains("addr") && values_of(v["addr"], a) && a.size() == 1)
        r.nat_addr = a[0];
      if (v.contains("port") && values_of(v["port"], p) && p.size() == 1)
        r.nat_port = p[0];
      std::string to = addr_port(v);
      if (!to.empty())
        r.verdict += " to " + to;
    }
  }
}

// "table ip filter { # handle 2" / "chain FORWARD { # handle 2" / a rule
// line ending in "# handle N": each rule's text by (family table chain handle).
using TextKey = std::tuple<std::string, std::string, std::string, uint64_t>;
std::map<TextKey, std::string> rule_texts(std::string_view text) {
  std::map<TextKey, std::string> out;
  std::string family, table, chain;
  for (auto raw : split_lines(text)) {
    auto line = trim(raw);
    auto words = split(line, ' ');
    if (line.starts_with("table ") && words.size() >= 3) {
      family = std::string(words[1]);
      table = std::string(words[2]);
      continue;
    }
    if (line.starts_with("chain ") && words.size() >= 2) {
      chain = std::string(words[1]);
      continue;
    }
    auto h = line.rfind(" # handle ");
    if (h == std::string_view::npos || chain.empty())
      continue;
    unsigned long long handle = 0;
    if (!parse_uint(trim(line.substr(h + 10)), handle))
      continue;
    // Two spaces where nft printed nothing for an xt comment: one.
    std::string rule(trim(line.substr(0, h)));
    for (size_t p; (p = rule.find("  ")) != std::string::npos;)
      rule.erase(p, 1);
    out[{family, table, chain, handle}] = std::move(rule);
  }
  return out;
}

} // namespace

Result<Ruleset> parse_nft(const json &listing, std::string_view text) {
  if (!listing.is_object() || !listing.contains("nftables") || !listing["nftables"].is_array())
    return fail(Errc::parse, "nftables listing has no \"nftables\" array");
  Ruleset rs;
  auto texts = rule_texts(text);
  std::map<std::tuple<std::string, std::string, std::string>, size_t> chain_at;
  std::map<std::tuple<std::string, std::string, std::string>, int> positions;
  try {
    for (const auto &item : listing["nftables"]) {
      if (item.contains("chain")) {
        const auto &c = item["chain"];
        Chain ch;
        ch.family = c.value("family", "");
        ch.table = c.value("table", "");
        ch.name = c.value("name", "");
        ch.type = c.value("type", "");
        ch.hook = c.value("hook", "");
        ch.policy = c.value("policy", "");
        ch.device = c.contains("dev") && c["dev"].is_string() ? c["dev"].get<std::string>() : "";
        ch.priority = c.contains("prio") && c["prio"].is_number_integer() ? c["prio"].get<int>() : 0;
        chain_at[{ch.family, ch.table, ch.name}] = rs.chains.size();
        rs.chains.push_back(std::move(ch));
      } else if (item.contains("rule")) {
        const auto &j = item["rule"];
        Rule r;
        r.family = j.value("family", "");
        r.table = j.value("table", "");
        r.chain = j.value("chain", "");
        r.handle = j.value("handle", uint64_t{0});
        r.comment = j.value("comment", "");
        r.position = ++positions[{r.family, r.table, r.chain}];
        if (auto it = chain_at.find({r.family, r.table, r.chain}); it != chain_at.end()) {
          r.hook = rs.chains[it->second].hook;
          r.priority = rs.chains[it->second].priority;
        }
        for (const auto &e : j.value("expr", json::array()))
          add_statement(r, e);
        // Bridge and netdev chains see the port a frame came in on.
        if (r.family == "bridge" || r.family == "netdev")
          for (auto &m : r.matches)
            m.port = m.kind == Match::Kind::iif || m.kind == Match::Kind::oif;
        if (auto t = texts.find({r.family, r.table, r.chain, r.handle}); t != texts.end())
          r.text = t->second;
        rs.rules.push_back(std::move(r));
      }
    }
  } catch (const json::exception &e) {
    return fail(Errc::parse, fmt::format("cannot read nftables listing: {}", e.what()));
  }
  // Rules are listed per table after all its chains; keep them in chain
  // listing order so a chain's rules stay together.
  std::stable_sort(rs.rules.begin(), rs.rules.end(), [&](const Rule &a, const Rule &b) {
    auto ia = chain_at.find({a.family, a.table, a.chain});
    auto ib = chain_at.find({b.family, b.table, b.chain});
    size_t pa = ia == chain_at.end() ? SIZE_MAX : ia->second;
    size_t pb = ib == chain_at.end() ? SIZE_MAX : ib->second;
    return pa < pb;
  });
  return rs;
}

void merge_iptables_nft(Ruleset &nft, const Ruleset &save) {
  // Tables iptables-nft listed are its own: their chains and rules take its source.
  std::set<std::pair<std::string, std::string>> tables;
  for (const auto &c : save.chains)
    tables.insert({c.family, c.table});
  for (auto &c : nft.chains)
    if (tables.count({c.family, c.table}))
      c.source = Source::iptables_nft;
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::vector<const Rule *>> theirs;
  for (const auto &r : save.rules)
    theirs[{r.family, r.table, r.chain}].push_back(&r);
  std::map<Key, std::vector<Rule *>> ours;
  for (auto &r : nft.rules)
    if (tables.count({r.family, r.table})) {
      r.source = Source::iptables_nft;
      ours[{r.family, r.table, r.chain}].push_back(&r);
    }
  for (auto &[key, rules] : ours) {
    auto it = theirs.find(key);
    size_t n = it == theirs.end() ? 0 : it->second.size();
    if (n != rules.size()) {
      // Changed between the two listings, or rules iptables cannot show:
      // nft's form stays, with its opaque matches.
      nft.warnings.push_back(fmt::format(
          "chain {} {} {}: nftables lists {} rules, iptables-nft-save {}; compat matches stay "
          "opaque",
          std::get<0>(key), std::get<1>(key), std::get<2>(key), rules.size(), n));
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      Rule &r = *rules[i];
      const Rule &s = *it->second[i];
      r.text = s.text;
      r.matches = s.matches;
      r.verdict = s.verdict;
      r.jump = s.jump;
      r.is_goto = s.is_goto;
      r.nat_addr = s.nat_addr;
      r.nat_port = s.nat_port;
      if (r.comment.empty())
        r.comment = s.comment;
      if (!r.packets) {
        r.packets = s.packets;
        r.bytes = s.bytes;
      }
    }
  }
}

} // namespace ctk::rt::netrules
