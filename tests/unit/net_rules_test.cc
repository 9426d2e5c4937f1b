// netrules on captured listings: tests/fixtures/netrules holds libnftables'
// JSON and text of one namespace (an inet drop rule, iptables-nft filter and
// nat tables with compat matches, native nat rules, an inet6 rule), the
// iptables-nft-save output of the same namespace, a legacy save, and a
// docker-shaped legacy save.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ctk/runtime/net_rules.h"

using namespace ctk::rt;
using namespace ctk::rt::netrules;

namespace {

std::string fixture(const std::string &name) {
  auto text = read_file(std::string(CTK_FIXTURES_DIR) + "/netrules/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : std::string();
}

Ruleset nft_fixture(bool merged) {
  auto rs = parse_nft(nlohmann::json::parse(fixture("ruleset.json")), fixture("ruleset.nft"));
  EXPECT_TRUE(rs) << rs.error().message();
  if (merged) {
    auto v4 = parse_iptables_save(fixture("iptables-nft-save.txt"), Source::iptables_nft, "ip");
    auto v6 = parse_iptables_save(fixture("ip6tables-nft-save.txt"), Source::iptables_nft, "ip6");
    EXPECT_TRUE(v4 && v6);
    merge_iptables_nft(*rs, *v4);
    merge_iptables_nft(*rs, *v6);
  }
  return *rs;
}

const Rule *by_text(const std::vector<Rule> &rules, std::string_view needle) {
  for (const auto &r : rules)
    if (r.text.find(needle) != std::string::npos)
      return &r;
  return nullptr;
}

Ruleset docker_fixture() {
  auto rs = parse_iptables_save(fixture("docker-legacy-save.txt"), Source::iptables_legacy, "ip");
  EXPECT_TRUE(rs) << rs.error().message();
  return *rs;
}

} // namespace

TEST(NetRules, NftJsonGivesChainsHooksCountersAndText) {
  auto rs = nft_fixture(false);
  const Rule *drop = find_rule(rs, "inet", "labfw", "forward", 2);
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(drop->source, Source::nft);
  EXPECT_EQ(drop->hook, "forward");
  EXPECT_EQ(drop->priority, 0);
  EXPECT_EQ(drop->verdict, "drop");
  EXPECT_EQ(drop->comment, "drop a-b");
  EXPECT_EQ(drop->packets, 0u);
  EXPECT_EQ(drop->text,
            "ip saddr 10.77.0.2 ip daddr 10.77.0.3 tcp dport 80 counter packets 0 bytes 0 drop "
            "comment \"drop a-b\"");
  EXPECT_FALSE(drop->may());
  // A rule without a counter has none (not zero).
  const Rule *dnat = find_rule(rs, "ip", "nt", "pre", 3);
  ASSERT_NE(dnat, nullptr);
  EXPECT_FALSE(dnat->packets);
  EXPECT_EQ(dnat->verdict, "dnat to 10.77.0.3:80");
  EXPECT_EQ(dnat->hook, "prerouting");
  EXPECT_EQ(dnat->priority, -100);
  // Unknown handle: nothing.
  EXPECT_EQ(find_rule(rs, "inet", "labfw", "forward", 99), nullptr);
}

TEST(NetRules, CompatMatchesAreOpaqueUntilMergedWithIptablesNftSave) {
  auto raw = nft_fixture(false);
  const Rule *physdev = find_rule(raw, "ip", "filter", "FORWARD", 6);
  ASSERT_NE(physdev, nullptr);
  EXPECT_TRUE(physdev->may()); // xt physdev: no arguments in the JSON
  const Rule *dnat = find_rule(raw, "ip", "nat", "DOCKER", 4);
  ASSERT_NE(dnat, nullptr);
  EXPECT_EQ(dnat->verdict, "DNAT");
  EXPECT_TRUE(dnat->nat_addr.empty());

  auto rs = nft_fixture(true);
  EXPECT_TRUE(rs.warnings.empty()) << rs.warnings.front();
  physdev = find_rule(rs, "ip", "filter", "FORWARD", 6);
  ASSERT_NE(physdev, nullptr);
  EXPECT_EQ(physdev->source, Source::iptables_nft);
  EXPECT_FALSE(physdev->may());
  EXPECT_EQ(physdev->text, "-A FORWARD -m physdev --physdev-in va -j ACCEPT");
  ASSERT_EQ(physdev->matches.size(), 1u);
  EXPECT_TRUE(physdev->matches[0].port);
  dnat = find_rule(rs, "ip", "nat", "DOCKER", 4);
  ASSERT_NE(dnat, nullptr);
  EXPECT_EQ(dnat->nat_addr, "10.77.0.3");
  EXPECT_EQ(dnat->nat_port, "80");
  EXPECT_EQ(dnat->verdict, "dnat to 10.77.0.3:80");
  EXPECT_EQ(dnat->handle, 4u); // nft's handle kept for the tracer
  const Rule *ct = find_rule(rs, "ip", "filter", "FORWARD", 5);
  ASSERT_NE(ct, nullptr);
  auto st = std::find_if(ct->matches.begin(), ct->matches.end(),
                         [](const Match &m) { return m.kind == Match::Kind::ct_state; });
  ASSERT_NE(st, ct->matches.end());
  EXPECT_EQ(st->values, (std::vector<std::string>{"related", "established"}));
  // A table iptables-nft does not manage stays nft's.
  EXPECT_EQ(find_rule(rs, "inet", "labfw", "forward", 2)->source, Source::nft);
  // The xt comment's text comes from the save.
  const Rule *pub = find_rule(rs, "ip", "nat", "PREROUTING", 5);
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(pub->comment, "pub");
}

TEST(NetRules, MergeRefusesChainsWhoseRuleCountsDiffer) {
  auto rs = nft_fixture(false);
  auto v4 = parse_iptables_save(fixture("iptables-nft-save.txt"), Source::iptables_nft, "ip");
  ASSERT_TRUE(v4);
  // A rule added between the two listings: positions no longer line up.
  v4->rules.erase(std::remove_if(v4->rules.begin(), v4->rules.end(),
                                 [](const Rule &r) { return r.chain == "FORWARD"; }),
                  v4->rules.end());
  merge_iptables_nft(rs, *v4);
  ASSERT_FALSE(rs.warnings.empty());
  EXPECT_NE(rs.warnings[0].find("FORWARD"), std::string::npos);
  EXPECT_TRUE(find_rule(rs, "ip", "filter", "FORWARD", 6)->may());
}

TEST(NetRules, RelevanceKeepsRulesForTheContainerAndDropsOthers) {
  auto rs = nft_fixture(true);
  Scope b{{"10.77.0.3"}, {"br0"}, {"vb"}};
  auto mine = relevant(rs, b);
  EXPECT_NE(by_text(mine, "drop comment \"drop a-b\""), nullptr);
  EXPECT_NE(by_text(mine, "-A DOCKER-USER -s 10.77.0.2/32 -d 10.77.0.3/32"), nullptr);
  EXPECT_NE(by_text(mine, "--to-destination 10.77.0.3:80"), nullptr);
  // Another container on the same bridge: the a->b rules cannot touch it.
  Scope other{{"10.77.0.9"}, {"br0"}, {"vx"}};
  auto theirs = relevant(rs, other);
  EXPECT_EQ(by_text(theirs, "drop comment \"drop a-b\""), nullptr);
  EXPECT_EQ(by_text(theirs, "-A DOCKER-USER -s 10.77.0.2/32"), nullptr);
  // docker's DNAT skips traffic from the bridge; a DNAT on the gateway's
  // address does rewrite the other container's traffic to it.
  EXPECT_EQ(by_text(theirs, "--dport 8080 -j DNAT"), nullptr);
  EXPECT_NE(by_text(theirs, "--dport 8081 -m comment --comment pub -j DNAT"), nullptr);
  // physdev-in va is a's port, not vx: but traffic from a to it passes it.
  EXPECT_NE(by_text(theirs, "--physdev-in va"), nullptr);
  // IPv6-only rules (ip6 family, inet with ip6 addresses) do not touch a v4-only container.
  EXPECT_EQ(by_text(mine, "ip6 daddr fd00::/64"), nullptr);
  EXPECT_EQ(
      std::count_if(mine.begin(), mine.end(), [](const Rule &r) { return r.family == "ip6"; }), 0);
  // Everything in the container's own namespace.
  Scope own;
  own.everything = true;
  EXPECT_EQ(relevant(rs, own).size(), rs.rules.size()); // each chain is a base chain or jumped to
}

TEST(NetRules, JumpsAreFollowedInOrderWithTheCallersDirection) {
  auto rs = docker_fixture();
  Scope web{{"172.17.0.2"}, {"docker0"}, {"veth2"}};
  auto mine = relevant(rs, web);
  std::vector<std::string> texts;
  for (const auto &r : mine)
    texts.push_back(r.table + " " + r.text);
  auto at = [&](std::string_view t) {
    return std::find(texts.begin(), texts.end(), std::string(t)) - texts.begin();
  };
  const auto n = static_cast<long>(texts.size());
  // prerouting before forward before postrouting; a jump's chain right after it.
  EXPECT_LT(at("nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"),
            at("nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination "
               "172.17.0.2:80"));
  EXPECT_EQ(at("filter -A FORWARD -j DOCKER-USER") + 1,
            at("filter -A DOCKER-USER -s 172.17.0.3/32 -m comment --comment \"no db \\\"out\\\"\" "
               "-j DROP"));
  EXPECT_LT(at("filter -A FORWARD -i docker0 -o docker0 -j ACCEPT"),
            at("nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"));
  EXPECT_LT(at("nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"), n);
  // The other container's DNAT and ACCEPT are not this one's.
  EXPECT_EQ(at("nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination "
               "172.17.0.3:5432"),
            n);
  EXPECT_EQ(at("filter -A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport "
               "5432 -j ACCEPT"),
            n);
  EXPECT_LT(at("filter -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport "
               "80 -j ACCEPT"),
            n);
  // Isolation: the docker0 drop in stage 2 is reached (traffic from br-1234 to web).
  EXPECT_LT(at("filter -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP"), n);
  // An ipset match cannot be evaluated: may match, never "does not".
  const Rule *set = by_text(mine, "--match-set blocked");
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->may());
  EXPECT_EQ(applies(*set, web), Applies::may);
  // A rule reached by jump carries the hook of its base chain.
  EXPECT_EQ(set->hook, "forward");
  // The comment with escaped quotes.
  const Rule *drop = by_text(mine, "no db");
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(drop->comment, "no db \"out\"");
  EXPECT_EQ(drop->packets, 1u);
  EXPECT_EQ(drop->bytes, 60u);
  EXPECT_EQ(drop->position, 1);
}

TEST(NetRules, PublicationsFromDnatRules) {
  auto docker = publications(docker_fixture(), {"172.17.0.2"});
  ASSERT_EQ(docker.size(), 1u);
  EXPECT_EQ(docker[0].proto, "tcp");
  EXPECT_EQ(docker[0].host_addr, "0.0.0.0");
  EXPECT_EQ(docker[0].host_port, "8080");
  EXPECT_EQ(docker[0].addr, "172.17.0.2");
  EXPECT_EQ(docker[0].port, "80");
  EXPECT_EQ(docker[0].rule.chain, "DOCKER");
  EXPECT_EQ(docker[0].rule.hook, "prerouting"); // reached from PREROUTING first
  EXPECT_EQ(docker[0].rule.priority, -100);

  auto rs = nft_fixture(true);
  auto pubs = publications(rs, {"10.77.0.3"});
  std::vector<std::string> got;
  for (const auto &p : pubs)
    got.push_back(to_string(p));
  EXPECT_EQ(got, (std::vector<std::string>{"tcp 0.0.0.0:8080 -> 10.77.0.3:80",
                                           "tcp 10.77.0.1:8081 -> 10.77.0.3:80",
                                           "tcp 10.77.0.1:9090 -> 10.77.0.3:80",
                                           "tcp 0.0.0.0:1000-2000 -> 10.77.0.3:1000-2000"}));
  EXPECT_TRUE(publications(rs, {"10.77.0.2"}).empty());
}

TEST(NetRules, LegacyCountersNameTheRuleThatAdvanced) {
  auto rs = parse_iptables_save(fixture("iptables-legacy-save.txt"), Source::iptables_legacy, "ip");
  ASSERT_TRUE(rs);
  auto before = legacy_counters_from(*rs);
  ASSERT_EQ(before.rules.size(), 5u); // two rules and the three policies
  auto after = before;
  after.rules[{"ip", "filter", "FORWARD", 1}].packets = 3;
  auto hit = counters_advanced(before, after);
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].text,
            "-A FORWARD -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -m tcp --dport 80 -j DROP");
  EXPECT_EQ(hit[0].verdict, "drop");
  EXPECT_EQ(hit[0].packets, 3u);
  EXPECT_TRUE(counters_advanced(before, before).empty());
  // The mark match is opaque, and the legacy rule has no handle.
  EXPECT_TRUE((before.rules[{"ip", "filter", "FORWARD", 2}].may()));
  EXPECT_TRUE(to_json(hit[0])["handle"].is_null());
}

TEST(NetRules, LegacyPolicyCountersNameAPolicyDrop) {
  auto rs = parse_iptables_save("*filter\n:INPUT ACCEPT [5:300]\n:FORWARD DROP [7:420]\n"
                                ":DOCKER - [0:0]\n[0:0] -A FORWARD -j DOCKER\nCOMMIT\n",
                                Source::iptables_legacy, "ip");
  ASSERT_TRUE(rs);
  auto before = legacy_counters_from(*rs);
  const auto &policy = before.rules[{"ip", "filter", "FORWARD", 0}];
  EXPECT_EQ(policy.text, "-P FORWARD DROP");
  EXPECT_EQ(policy.verdict, "drop");
  EXPECT_EQ(policy.packets, 7u);
  EXPECT_EQ(policy.bytes, 420u);
  EXPECT_FALSE((before.rules.count({"ip", "filter", "DOCKER", 0}))); // a user chain has no policy
  auto after = before;
  after.rules[{"ip", "filter", "FORWARD", 0}].packets = 8;
  auto hit = counters_advanced(before, after);
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].position, 0);
  EXPECT_EQ(hit[0].packets, 1u);
}

TEST(NetRules, MalformedInputIsAnErrorNamingTheLine) {
  auto bad =
      parse_iptables_save("*filter\n:FORWARD ACCEPT [0:0]\n[x:1] -A FORWARD -j DROP\nCOMMIT\n",
                          Source::iptables_legacy, "ip");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("line 3"), std::string::npos);
  auto no_table = parse_iptables_save("-A FORWARD -j DROP\n", Source::iptables_legacy, "ip");
  ASSERT_FALSE(no_table);
  EXPECT_FALSE(parse_nft(nlohmann::json::object()));
}

// A real dockerd 20.10 (iptables-nft, --userland-proxy=false) with web
// (172.17.0.2, -p 8080:80), db (172.17.0.3) and a user's DOCKER-USER drop:
// libnftables' JSON hides addrtype, conntrack and DNAT's arguments, the
// save restores every one of them.
TEST(NetRules, RealDockerRulesetMergesCompletely) {
  auto rs = parse_nft(nlohmann::json::parse(fixture("docker-ruleset.json")),
                      fixture("docker-ruleset.nft"));
  ASSERT_TRUE(rs);
  size_t opaque_before = std::count_if(rs->rules.begin(), rs->rules.end(), [](const Rule &r) {
    return r.may() || r.verdict == "DNAT";
  });
  EXPECT_GE(opaque_before, 4u); // addrtype x3, conntrack, DNAT
  auto save =
      parse_iptables_save(fixture("docker-iptables-nft-save.txt"), Source::iptables_nft, "ip");
  ASSERT_TRUE(save);
  merge_iptables_nft(*rs, *save);
  EXPECT_TRUE(rs->warnings.empty());
  EXPECT_EQ(
      std::count_if(rs->rules.begin(), rs->rules.end(), [](const Rule &r) { return r.may(); }), 0);
  auto pubs = publications(*rs, {"172.17.0.2"});
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(to_string(pubs[0]), "tcp 0.0.0.0:8080 -> 172.17.0.2:80");
  EXPECT_TRUE(publications(*rs, {"172.17.0.3"}).empty());
  Scope db{{"172.17.0.3"}, {"docker0"}, {"vethdb"}};
  auto rules = relevant(*rs, db);
  EXPECT_EQ(by_text(rules, "-A DOCKER -d 172.17.0.2/32"), nullptr); // web's accept
  EXPECT_NE(by_text(rules, "-A DOCKER-USER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j DROP"),
            nullptr); // db -> web:80 meets it
  Scope web{{"172.17.0.2"}, {"docker0"}, {"vethweb"}};
  EXPECT_NE(by_text(relevant(*rs, web), "-A DOCKER -d 172.17.0.2/32"), nullptr);
}

// podman 4 with CNI (iptables-nft-save of its namespace): a (10.88.0.2) and
// b (10.88.0.3, -p 8080:80) on cni-podman0. portmap's DNAT sits in a
// per-container CNI-DN-<hash> chain behind CNI-HOSTPORT-DNAT's multiport
// jump; the bridge plugin's per-container nat chain accepts the network's
// own traffic before it masquerades the rest.
TEST(NetRules, PodmanCniChainsAndPortmapPublication) {
  auto rs =
      parse_iptables_save(fixture("podman-cni-iptables-nft-save.txt"), Source::iptables_nft, "ip");
  ASSERT_TRUE(rs) << rs.error().message();
  auto pubs = publications(*rs, {"10.88.0.3"});
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(to_string(pubs[0]), "tcp 0.0.0.0:8080 -> 10.88.0.3:80");
  EXPECT_EQ(pubs[0].rule.chain, "CNI-DN-244b2691fed398abdc9ef");
  EXPECT_EQ(pubs[0].rule.hook, "prerouting"); // PREROUTING -> CNI-HOSTPORT-DNAT -> CNI-DN-...
  EXPECT_TRUE(publications(*rs, {"10.88.0.2"}).empty());

  Scope b{{"10.88.0.3"}, {"cni-podman0"}, {"vethaa74c299"}};
  auto mine = relevant(*rs, b);
  // The firewall plugin's accepts for b, and a's (they match a <-> b traffic).
  EXPECT_NE(by_text(mine, "-A CNI-FORWARD -s 10.88.0.3/32 -j ACCEPT"), nullptr);
  EXPECT_NE(by_text(mine, "-A CNI-FORWARD -s 10.88.0.2/32 -j ACCEPT"), nullptr);
  // b's own nat chain: the accept for the network, then the masquerade of
  // what b sends elsewhere.
  EXPECT_NE(by_text(mine, "-A CNI-244b2691fed398abdc9efb98 -d 10.88.0.0/16"), nullptr);
  EXPECT_NE(by_text(mine, "-A CNI-244b2691fed398abdc9efb98 ! -d 224.0.0.0/4"), nullptr);
  // a's chain sees a's packets to b, which its first rule accepts: a's
  // masquerade never touches b's traffic.
  EXPECT_NE(by_text(mine, "-A CNI-76a38978047e74ebfef601b2 -d 10.88.0.0/16"), nullptr);
  EXPECT_EQ(by_text(mine, "-A CNI-76a38978047e74ebfef601b2 ! -d 224.0.0.0/4"), nullptr);
  // portmap's mark match is not decided: may.
  const Rule *masq = by_text(mine, "-A CNI-HOSTPORT-MASQ -m mark");
  ASSERT_NE(masq, nullptr);
  EXPECT_TRUE(masq->may());
  // Everything, in b's own namespace: each rule at least once (portmap's
  // chains run from PREROUTING and from OUTPUT, so twice).
  Scope own;
  own.everything = true;
  std::set<std::pair<std::string, int>> listed;
  for (const auto &r : relevant(*rs, own))
    listed.insert({r.table + " " + r.chain, r.position});
  EXPECT_EQ(listed.size(), rs->rules.size());
}

// An accept every packet of the container meets ends the table for it:
// later rules of the chain and of its callers are not its traffic's, in
// that direction only; a condition ctk does not decide (a protocol, a
// state, an option it passes over) never ends anything.
TEST(NetRules, CertainAcceptHidesLaterRulesInItsDirectionOnly) {
  auto rs = parse_iptables_save("*filter\n"
                                ":FORWARD ACCEPT [0:0]\n"
                                ":X - [0:0]\n"
                                "-A FORWARD -j X\n"
                                "-A FORWARD -s 10.1.0.5/32 -o eth9 -j DROP\n"
                                "-A FORWARD -d 10.1.0.5/32 -j DROP\n"
                                "-A X -s 10.1.0.0/24 -p tcp -j ACCEPT\n"
                                "-A X -s 10.1.0.0/24 -m addrtype --src-type LOCAL -j ACCEPT\n"
                                "-A X -s 10.1.0.0/24 -m comment --comment \"a -p \\\"x\\\"\" -j ACCEPT\n"
                                "-A X -s 10.1.0.5/32 -o eth9 -j LOG\n"
                                "COMMIT\n",
                                Source::iptables_nft, "ip");
  ASSERT_TRUE(rs) << rs.error().message();
  auto texts = [&](const Scope &s) {
    std::vector<std::string> out;
    for (const auto &r : relevant(*rs, s))
      out.push_back(r.text);
    return out;
  };
  // X's third accept takes every packet c sends (the comment's "-p" is
  // quoted); what c sends to eth9 meets no later rule. What it receives goes on.
  EXPECT_EQ(texts(Scope{{"10.1.0.5"}, {"br0"}, {"v5"}}),
            (std::vector<std::string>{
                "-A FORWARD -j X",
                "-A X -s 10.1.0.0/24 -p tcp -j ACCEPT",
                "-A X -s 10.1.0.0/24 -m addrtype --src-type LOCAL -j ACCEPT",
                "-A X -s 10.1.0.0/24 -m comment --comment \"a -p \\\"x\\\"\" -j ACCEPT",
                "-A FORWARD -d 10.1.0.5/32 -j DROP",
            }));
  // A second address outside 10.1.0.0/24: not every packet is accepted.
  auto two = texts(Scope{{"10.1.0.5", "10.3.0.1"}, {"br0"}, {"v5"}});
  EXPECT_NE(std::find(two.begin(), two.end(), "-A X -s 10.1.0.5/32 -o eth9 -j LOG"), two.end());
  EXPECT_NE(std::find(two.begin(), two.end(), "-A FORWARD -s 10.1.0.5/32 -o eth9 -j DROP"),
            two.end());
}
