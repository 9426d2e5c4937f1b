// iptables-save (-c) output to the rule model: iptables-nft's tables (for
// the arguments nftables' JSON leaves out) and legacy iptables' tables.
#include <algorithm>
#include <charconv>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_rules.h"

namespace ctk::rt::netrules {

namespace {

// Words of a saved rule; iptables-save quotes with "..." and escapes \" inside.
std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ')
      ++i;
    if (i >= line.size())
      break;
    std::string w;
    bool quoted = false;
    for (; i < line.size() && (quoted || line[i] != ' '); ++i) {
      if (line[i] == '"') {
        quoted = !quoted;
      } else if (line[i] == '\\' && i + 1 < line.size()) {
        w += line[++i];
      } else {
        w += line[i];
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

// Where the kernel runs a built-in chain of each table (netfilter_ipv4.h's
// NF_IP_PRI_*): the same numbers nftables uses for its priorities.
int table_priority(std::string_view table, std::string_view chain) {
  if (table == "raw")
    return -300;
  if (table == "mangle")
    return -150;
  if (table == "nat")
    return chain == "PREROUTING" || chain == "OUTPUT" ? -100 : 100;
  if (table == "security")
    return 50;
  return 0;
}

std::string hook_of(std::string_view chain) {
  static const std::pair<const char *, const char *> kHooks[] = {{"PREROUTING", "prerouting"},
                                                                 {"INPUT", "input"},
                                                                 {"FORWARD", "forward"},
                                                                 {"OUTPUT", "output"},
                                                                 {"POSTROUTING", "postrouting"}};
  for (auto [name, hook] : kHooks)
    if (chain == name)
      return hook;
  return "";
}

std::string lower(std::string s) {
  for (auto &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "1000:2000" -> "1000-2000"; "80,443" -> {"80", "443"}.
std::vector<std::string> ports_of(std::string_view v) {
  std::vector<std::string> out;
  for (auto p : split(v, ',')) {
    std::string s(p);
    std::replace(s.begin(), s.end(), ':', '-');
    out.push_back(s);
  }
  return out;
}

// The matches iptables decides by, or shows in full without deciding; any
// other module is an opaque condition ("may match").
const std::set<std::string> kKnownModules = {"tcp",       "udp",       "icmp",  "icmp6",
                                             "comment",   "conntrack", "state", "addrtype",
                                             "multiport", "physdev"};

// Options that take no value (so the next word is an option, not theirs).
const std::set<std::string> kFlags = {
    "--physdev-is-in", "--physdev-is-out", "--physdev-is-bridged", "--random", "--random-fully",
    "--persistent",    "--limit-iface-in", "--limit-iface-out",    "--syn"};

void parse_rule(Rule &r, const std::vector<std::string> &w, const std::set<std::string> &chains) {
  bool neg = false;
  std::string target;
  auto add = [&](Match::Kind k, std::vector<std::string> values) {
    Match m;
    m.kind = k;
    m.negated = neg;
    m.values = std::move(values);
    r.matches.push_back(std::move(m));
    neg = false;
  };
  for (size_t i = 2; i < w.size(); ++i) { // w[0] = "-A", w[1] = chain
    const std::string &o = w[i];
    const bool has_value = i + 1 < w.size();
    const std::string v = has_value ? w[i + 1] : "";
    if (o == "!") {
      neg = true;
      continue;
    }
    if ((o == "-s" || o == "--source") && has_value) {
      add(Match::Kind::saddr, {v});
    } else if ((o == "-d" || o == "--destination") && has_value) {
      add(Match::Kind::daddr, {v});
    } else if ((o == "-i" || o == "--in-interface") && has_value) {
      add(Match::Kind::iif, {v});
    } else if ((o == "-o" || o == "--out-interface") && has_value) {
      add(Match::Kind::oif, {v});
    } else if ((o == "--physdev-in" || o == "--physdev-out") && has_value) {
      add(o == "--physdev-in" ? Match::Kind::iif : Match::Kind::oif, {v});
      r.matches.back().port = true;
    } else if ((o == "-p" || o == "--protocol") && has_value) {
      add(Match::Kind::l4proto, {lower(v)});
    } else if ((o == "--dport" || o == "--destination-port" || o == "--dports" ||
                o == "--destination-ports") &&
               has_value) {
      add(Match::Kind::dport, ports_of(v));
    } else if ((o == "--sport" || o == "--source-port" || o == "--sports" ||
                o == "--source-ports") &&
               has_value) {
      add(Match::Kind::sport, ports_of(v));
    } else if ((o == "--ctstate" || o == "--state") && has_value) {
      std::vector<std::string> states;
      for (auto s : split(v, ','))
        states.push_back(lower(std::string(s)));
      add(Match::Kind::ct_state, states);
    } else if (o == "--comment" && has_value) {
      r.comment = v;
    } else if (o == "-m" || o == "--match") {
      if (has_value && !kKnownModules.count(v)) {
        Match m;
        m.kind = Match::Kind::xt;
        m.opaque = true;
        m.values = {v};
        r.matches.push_back(std::move(m));
      }
      neg = false;
    } else if ((o == "-j" || o == "--jump" || o == "-g" || o == "--goto") && has_value) {
      target = v;
      r.is_goto = o == "-g" || o == "--goto";
    } else if (o == "--to-destination" && has_value) {
      // "10.77.0.3:80", "10.77.0.3", "[fd00::3]:80", "fd00::3"
      if (v.starts_with("[")) {
        auto close = v.find(']');
        r.nat_addr = v.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        if (close != std::string::npos && v.compare(close, 2, "]:") == 0)
          r.nat_port = v.substr(close + 2);
      } else if (auto colon = v.find(':'); colon != std::string::npos && v.rfind(':') == colon) {
        r.nat_addr = v.substr(0, colon);
        r.nat_port = v.substr(colon + 1);
      } else {
        r.nat_addr = v;
      }
    } else if (o.starts_with("-") && !kFlags.count(o) && has_value && !w[i + 1].starts_with("-") &&
               w[i + 1] != "!") {
      neg = false;
      ++i; // another option's value: shown in the text, not decided on
      continue;
    } else {
      neg = false;
      continue;
    }
    if (has_value)
      ++i;
  }
  if (target.empty())
    r.verdict = "";
  else if (chains.count(target)) {
    r.jump = target;
    r.verdict = std::string(r.is_goto ? "goto " : "jump ") + target;
  } else if (target == "DNAT" && !r.nat_addr.empty()) {
    r.verdict = "dnat to " +
                (r.nat_addr.find(':') != std::string::npos ? "[" + r.nat_addr + "]" : r.nat_addr) +
                (r.nat_port.empty() ? "" : ":" + r.nat_port);
  } else {
    r.verdict = lower(target);
  }
}

} // namespace

Result<Ruleset> parse_iptables_save(std::string_view text, Source source, std::string_view family) {
  Ruleset rs;
  std::string table;
  std::set<std::string> chains;
  std::map<std::string, int> positions;
  std::vector<std::pair<std::string_view, int>> pending; // rule lines of the current table
  int lineno = 0;
  auto flush = [&]() -> Result<void> {
    for (auto [line, at] : pending) {
      std::optional<uint64_t> packets, bytes;
      std::string_view rest = line;
      if (rest.starts_with("[")) { // -c: "[packets:bytes] -A ..."
        auto close = rest.find(']');
        auto colon = rest.find(':');
        unsigned long long p = 0, b = 0;
        if (close == std::string_view::npos || colon > close ||
            !parse_uint(rest.substr(1, colon - 1), p) ||
            !parse_uint(rest.substr(colon + 1, close - colon - 1), b))
          return fail(Errc::parse, fmt::format("iptables-save line {}: bad counters", at));
        packets = p;
        bytes = b;
        rest = trim(rest.substr(close + 1));
      }
      auto w = words_of(rest);
      if (w.size() < 2 || w[0] != "-A")
        return fail(Errc::parse, fmt::format("iptables-save line {}: expected -A CHAIN", at));
      Rule r;
      r.source = source;
      r.family = std::string(family);
      r.table = table;
      r.chain = w[1];
      r.hook = hook_of(r.chain);
      r.priority = table_priority(table, r.chain);
      r.position = ++positions[r.chain];
      r.packets = packets;
      r.bytes = bytes;
      r.text = std::string(rest);
      parse_rule(r, w, chains);
      rs.rules.push_back(std::move(r));
    }
    pending.clear();
    return {};
  };
  for (auto raw : split_lines(text)) {
    ++lineno;
    auto line = trim(raw);
    if (line.empty() || line[0] == '#')
      continue;
    if (line[0] == '*') {
      table = std::string(line.substr(1));
      chains.clear();
      positions.clear();
    } else if (line[0] == ':') { // ":FORWARD ACCEPT [0:0]" or ":DOCKER - [0:0]"
      auto w = split(line.substr(1), ' ');
      if (w.size() < 2)
        return fail(Errc::parse, fmt::format("iptables-save line {}: bad chain line", lineno));
      Chain c;
      c.source = source;
      c.family = std::string(family);
      c.table = table;
      c.name = std::string(w[0]);
      if (w[1] != "-") {
        c.policy = lower(std::string(w[1]));
        c.hook = hook_of(c.name);
        c.type = table == "nat" ? "nat" : table == "mangle" ? "route" : "filter";
        c.priority = table_priority(table, c.name);
        // "[packets:bytes]" after the policy (iptables-save -c).
        if (w.size() >= 3 && w[2].size() > 2 && w[2].front() == '[' && w[2].back() == ']') {
          auto counts = w[2].substr(1, w[2].size() - 2);
          auto colon = counts.find(':');
          uint64_t pk = 0, by = 0;
          if (colon != std::string_view::npos &&
              std::from_chars(counts.data(), counts.data() + colon, pk).ec == std::errc{} &&
              std::from_chars(counts.data() + colon + 1, counts.data() + counts.size(), by).ec ==
                  std::errc{}) {
            c.packets = pk;
            c.bytes = by;
          }
        }
      }
      chains.insert(c.name);
      rs.chains.push_back(std::move(c));
    } else if (line == "COMMIT") {
      if (auto r = flush(); !r)
        return tl::unexpected(r.error());
    } else if (!table.empty()) {
      pending.emplace_back(line, lineno);
    } else {
      return fail(Errc::parse, fmt::format("iptables-save line {}: rule outside a table", lineno));
    }
  }
  if (auto r = flush(); !r)
    return tl::unexpected(r.error());
  // Rules grouped by chain, chains in listing order (iptables-save already
  // prints them so; kept stable for the merge by position).
  std::vector<std::string> order;
  for (const auto &c : rs.chains)
    order.push_back(c.table + "\n" + c.name);
  std::stable_sort(rs.rules.begin(), rs.rules.end(), [&](const Rule &a, const Rule &b) {
    auto pa = std::find(order.begin(), order.end(), a.table + "\n" + a.chain) - order.begin();
    auto pb = std::find(order.begin(), order.end(), b.table + "\n" + b.chain) - order.begin();
    return pa < pb;
  });
  return rs;
}

} // namespace ctk::rt::netrules
