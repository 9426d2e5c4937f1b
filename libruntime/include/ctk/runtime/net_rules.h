// The netfilter rules of a network namespace (nftables in every family,
// iptables-nft and the legacy iptables tables that already exist), and which
// of them can touch a container's traffic.
//
//   auto rs = ctk::rt::netrules::read(netns_fd);          // everything, in chain order
//   netrules::Scope scope{.addresses = {"10.77.0.3"}, .interfaces = {"br0"}, .ports = {"vb"}};
//   for (const auto &r : netrules::relevant(*rs, scope)) ...   // hooks in order, jumps followed
//   for (const auto &p : netrules::publications(*rs, {"10.77.0.3"})) ...  // host:8080 -> :80
//
// libnftables 1.0.6 lists the compat (`xt`) expressions of iptables-nft
// without their arguments; for tables iptables-nft manages, the arguments
// come from `iptables-nft-save -c` run in the namespace, matched to nft's
// rules by chain and position. A match that stays opaque is "may match".
// Legacy tables are read only when /proc/thread-self/net/ip_tables_names
// lists them: asking for a table that does not exist creates it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"

namespace ctk::rt::netrules {

enum class Source { nft, iptables_nft, iptables_legacy };
std::string_view source_name(Source s); // "nft", "iptables-nft", "iptables-legacy"

// One condition of a rule, reduced to what decides relevance.
struct Match {
  enum class Kind {
    saddr, // values: "10.77.0.0/24", "10.77.0.3" (no prefix = host)
    daddr,
    iif, // values: interface names; "veth*" (nft) and "veth+" (iptables) are prefixes
    oif,
    l4proto, // values: "tcp", "udp", "icmp", ...
    sport,   // values: "80", "1000-2000"
    dport,
    ct_state, // values: "established", "related", "new", ...
    xt,       // an iptables-nft compat match nft could not show: values {name}
    other,    // understood well enough to show, not used to decide
  };
  Kind kind = Kind::other;
  bool negated = false;
  bool opaque = false; // cannot be evaluated: the rule "may match"
  bool port = false;   // iif/oif of a bridge port (physdev, bridge family), not an L3 device
  std::vector<std::string> values;
};
std::string_view match_kind_name(Match::Kind k);

struct Rule {
  Source source = Source::nft;
  std::string family; // ip, ip6, inet, arp, bridge, netdev
  std::string table;
  std::string chain;
  std::string hook; // the base chain's hook, empty for a chain reached by jump
  int priority = 0;
  uint64_t handle = 0;                    // nft handle; 0 for legacy
  int position = 0;                       // 1-based within its chain (the iptables rule number)
  std::optional<uint64_t> packets, bytes; // only where a counter exists
  std::string text;                       // nft syntax, or iptables syntax ("-A CHAIN ...")
  std::string comment;
  std::string verdict; // accept, drop, reject, jump X, goto X, return, dnat to A:P, masquerade, ...
  std::string jump;    // the chain a jump or goto enters, else empty
  bool is_goto = false;
  std::vector<Match> matches;
  // NAT target (dnat/DNAT): address and port, when given.
  std::string nat_addr, nat_port;
  bool may() const; // an opaque match decides it: "may match"
};

struct Chain {
  Source source = Source::nft;
  std::string family, table, name;
  std::string type, hook, policy; // empty for a regular chain
  std::string device;             // netdev/inet ingress chains
  int priority = 0;
  // The policy's counters (iptables-save's ":FORWARD DROP [12:720]"): the
  // packets that reached the end of a base chain.
  std::optional<uint64_t> packets, bytes;
  bool base() const { return !hook.empty(); }
};

struct Ruleset {
  std::vector<Chain> chains;         // in listing order
  std::vector<Rule> rules;           // chains in listing order, rules in chain order
  std::vector<std::string> warnings; // a source that could not be read, an unmerged chain
};

// ---- parsers (pure; fixtures in tests/fixtures/netrules) -----------------
// `list ruleset` as JSON (with handles); `text` is the same listing in nft
// syntax (used for each rule's text, which translates many xt expressions).
Result<Ruleset> parse_nft(const nlohmann::json &listing, std::string_view text = {});
// iptables-save -c output of one family ("ip" or "ip6").
Result<Ruleset> parse_iptables_save(std::string_view text, Source source, std::string_view family);
// Gives the rules of tables iptables-nft manages their iptables form:
// matched by chain and position, only where a chain has the same number of
// rules in both listings (else a warning and nft's form stays).
void merge_iptables_nft(Ruleset &nft, const Ruleset &save);

// ---- reading a namespace ---------------------------------------------------
// Everything in the namespace of `netns_fd` (a /proc/PID/ns/net or netns
// file). A missing iptables binary or an unreadable source is a warning in
// the result; failing to enter the namespace or to read nftables is an error.
Result<Ruleset> read(int netns_fd);

// ---- relevance ---------------------------------------------------------------
// The traffic of one container as a namespace sees it: its addresses, the
// L3 interfaces it passes in that namespace (the bridge, in the bridge's
// namespace: IP hooks see the bridge as iif/oif) and the bridge ports (the
// host-side veth, which physdev and bridge-family rules see).
struct Scope {
  std::vector<std::string> addresses;
  std::vector<std::string> interfaces;
  std::vector<std::string> ports;
  bool everything = false; // the container's own namespace: every rule is its traffic's
};
enum class Applies { no, yes, may };
// Whether the rule's matches can hold for traffic to or from the scope.
Applies applies(const Rule &r, const Scope &scope);
// Relevant rules in evaluation order: base chains by hook, then priority;
// a jump's target chain is listed after the jumping rule (once per path,
// cycles cut). Chains reached from no relevant rule are left out, and so
// are the rules after an accept, drop or NAT that every packet of the scope
// meets in one direction, for that direction (only rules in iptables syntax
// whose conditions are all addresses, interfaces and comments count).
std::vector<Rule> relevant(const Ruleset &rs, const Scope &scope);

// ---- port publications -------------------------------------------------------
struct Publication {
  std::string proto;      // tcp, udp, or "" when the rule names none
  std::string host_addr;  // "0.0.0.0" (any local address) when the rule names none
  std::string host_port;  // "8080", "1000-2000"
  std::string addr, port; // the container side (port = host_port when the rule keeps it)
  Rule rule;
};
// DNAT rules (nft dnat, iptables DNAT --to-destination) whose target is one
// of `addresses`.
std::vector<Publication> publications(const Ruleset &rs, const std::vector<std::string> &addresses);
// "tcp 0.0.0.0:8080 -> 10.77.0.3:80"
std::string to_string(const Publication &p);

// ---- for the tracer --------------------------------------------------------
// The rule an nftrace event names.
const Rule *find_rule(const Ruleset &rs, std::string_view family, std::string_view table,
                      std::string_view chain, uint64_t handle);

// Packet counters of every legacy iptables rule (v4 and v6), keyed by
// family, table, chain and rule number; read only from existing tables.
struct LegacyKey {
  std::string family, table, chain;
  int position = 0;
  auto operator<=>(const LegacyKey &) const = default;
};
struct LegacyCounters {
  // Each with packets/bytes. A base chain's policy is position 0, as the
  // rule "-P CHAIN POLICY" with the policy as its verdict.
  std::map<LegacyKey, Rule> rules;
};
Result<LegacyCounters> legacy_counters(int netns_fd);
LegacyCounters legacy_counters_from(const Ruleset &legacy); // from parsed legacy rules
// The rules whose packet counter advanced from `before` to `after`, with the
// packets added in `packets` (new rules count from zero).
std::vector<Rule> counters_advanced(const LegacyCounters &before, const LegacyCounters &after);

// The whole model as JSON (for --format json and fixtures).
nlohmann::ordered_json to_json(const Rule &r);

} // namespace ctk::rt::netrules
