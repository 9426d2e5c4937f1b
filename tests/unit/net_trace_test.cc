// The pure parts of ctk net trace: protocols, the tracing tables' rules (the
// only thing ctk adds to a namespace's netfilter), FIB descriptions and the
// records that lead a later run to a killed trace's tables.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/proc.h"

namespace nt = ctk::rt::nettrace;

TEST(NetTrace, ParseProto) {
  EXPECT_EQ(*nt::parse_proto("tcp"), IPPROTO_TCP);
  EXPECT_EQ(*nt::parse_proto("udp"), IPPROTO_UDP);
  EXPECT_EQ(*nt::parse_proto("icmp"), IPPROTO_ICMP);
  auto bad = nt::parse_proto("sctp");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ctk::rt::Errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "invalid protocol 'sctp': expected tcp, udp or icmp");
  EXPECT_FALSE(nt::parse_proto("TCP")); // nft and iptables spell it in lower case
}

TEST(NetTrace, ProbeRulesFollowTheProbesPort) {
  nt::Flow f;
  f.src = "10.77.0.2";
  f.dst = "10.77.0.3";
  f.proto = IPPROTO_TCP;
  f.dport = 80;
  f.sport = 40000;
  auto text = nt::TraceTables::ruleset(f, "ctk_trace_1", false);
  // The SYN by the probe's own port (it survives a DNAT), and its answer.
  EXPECT_NE(
      text.find(
          "ip saddr 10.77.0.2 tcp sport 40000 tcp flags & (syn | ack) == syn meta nftrace set 1"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "ip daddr 10.77.0.2 tcp dport 40000 tcp flags & (syn | rst) != 0 meta nftrace set 1"),
      std::string::npos)
      << text;
  // First hooks, and the input marker last of all.
  EXPECT_NE(text.find("hook prerouting priority -32768"), std::string::npos);
  EXPECT_NE(text.find("hook output priority -32768"), std::string::npos);
  EXPECT_NE(text.find("hook input priority 32767"), std::string::npos);
  EXPECT_NE(text.find("comment \"ctk: delivered\""), std::string::npos);
  // Tracing never decides: no verdict statement in ctk's rules.
  for (const char *verdict : {" drop", " accept\n", " reject", " jump ", " goto ", " queue"})
    EXPECT_EQ(text.find(verdict), std::string::npos) << verdict << " in:\n" << text;
  EXPECT_EQ(text.find("table bridge"), std::string::npos);
  EXPECT_NE(nt::TraceTables::ruleset(f, "ctk_trace_1", true).find("table bridge ctk_trace_1"),
            std::string::npos);
}

TEST(NetTrace, PassiveRulesMatchBothDirections) {
  nt::Flow f;
  f.src = "10.77.0.2";
  f.dst = "10.77.0.3";
  f.proto = IPPROTO_UDP;
  f.dport = 5353;
  auto text = nt::TraceTables::ruleset(f, "ctk_trace_9", false);
  EXPECT_NE(text.find("ip saddr 10.77.0.2 ip daddr 10.77.0.3 meta l4proto udp udp dport 5353 meta "
                      "nftrace set 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ip saddr 10.77.0.3 ip daddr 10.77.0.2 meta l4proto udp udp sport 5353 meta "
                      "nftrace set 1"),
            std::string::npos)
      << text;
}

TEST(NetTrace, FibDescription) {
  nt::FibResult r;
  r.type = "unicast";
  r.gateway = "10.77.0.254";
  r.device = "eth0";
  EXPECT_EQ(r.describe(), "via 10.77.0.254 dev eth0");
  r.gateway.clear();
  r.prefsrc = "10.77.0.2";
  EXPECT_EQ(r.describe(), "direct dev eth0 src 10.77.0.2");
  nt::FibResult none;
  none.error = ENETUNREACH;
  EXPECT_EQ(none.describe(), "no route (Network is unreachable)");
  nt::FibResult bh;
  bh.type = "blackhole";
  EXPECT_EQ(bh.describe(), "route type blackhole");
}

// Records of killed traces: one whose ctk still runs is kept, a cut-short
// one and one whose namespaces are all gone are deleted (nothing to remove).
TEST(NetTrace, StaleRecords) {
  char tmpl[] = "/tmp/ctk-nt-records.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  EXPECT_EQ(nt::remove_stale_records(dir + "/none").value_or(-1), 0); // no directory yet

  // Ours (pid and start time of this process) with a namespace that exists.
  auto self = ctk::rt::proc::read_process(getpid(), {});
  ASSERT_TRUE(self);
  auto write = [&](const std::string &name, const std::string &text) {
    ASSERT_TRUE(ctk::rt::write_file_atomic(dir + "/" + name, text));
  };
  write("live.json", fmt::format(R"({{"pid":{},"start_time":{},"namespaces":[]}})", getpid(),
                                 self->start_time));
  // The same pid with another start time: a reused pid, the record is stale.
  write("reused.json", fmt::format(R"({{"pid":{},"start_time":{},"namespaces":
      [{{"label":"gone","path":"/run/netns/ctk-no-such-ns-{}","inode":1}}]}})",
                                   getpid(), self->start_time + 1, getpid()));
  write("cut.json", R"({"pid":12)");
  write("other.txt", "not a record");
  auto removed = nt::remove_stale_records(dir);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, 0);
  EXPECT_EQ(access((dir + "/live.json").c_str(), F_OK), 0);
  EXPECT_NE(access((dir + "/reused.json").c_str(), F_OK), 0);
  EXPECT_NE(access((dir + "/cut.json").c_str(), F_OK), 0);
  EXPECT_EQ(access((dir + "/other.txt").c_str(), F_OK), 0);
  std::filesystem::remove_all(dir);
}

// ---- IPv6 ----------------------------------------------------------------------

TEST(NetTrace, ParseAddressWithAndWithoutPort) {
  auto v4 = nt::parse_address("10.77.0.3");
  ASSERT_TRUE(v4 && *v4);
  EXPECT_EQ((*v4)->address, "10.77.0.3");
  EXPECT_EQ((*v4)->family, AF_INET);
  EXPECT_FALSE((*v4)->port);
  auto v4p = nt::parse_address("10.77.0.1:8080");
  ASSERT_TRUE(v4p && *v4p);
  EXPECT_EQ((*v4p)->address, "10.77.0.1");
  EXPECT_EQ((*v4p)->port, 8080);
  auto v6 = nt::parse_address("fd00:77::3");
  ASSERT_TRUE(v6 && *v6);
  EXPECT_EQ((*v6)->address, "fd00:77::3");
  EXPECT_EQ((*v6)->family, AF_INET6);
  EXPECT_FALSE((*v6)->port);
  // A bare IPv6 address's last group is never a port: fd00::3:80 is an address.
  auto tail = nt::parse_address("fd00::3:80");
  ASSERT_TRUE(tail && *tail);
  EXPECT_EQ((*tail)->address, "fd00::3:80");
  EXPECT_FALSE((*tail)->port);
  auto v6p = nt::parse_address("[fd00:77::3]:8080");
  ASSERT_TRUE(v6p && *v6p);
  EXPECT_EQ((*v6p)->address, "fd00:77::3");
  EXPECT_EQ((*v6p)->family, AF_INET6);
  EXPECT_EQ((*v6p)->port, 8080);
  auto bracketed = nt::parse_address("[fd00:77::3]");
  ASSERT_TRUE(bracketed && *bracketed);
  EXPECT_FALSE((*bracketed)->port);
  // One spelling, the kernel's, whatever the user typed.
  auto canon = nt::parse_address("FD00:0077:0:0::0003");
  ASSERT_TRUE(canon && *canon);
  EXPECT_EQ((*canon)->address, "fd00:77::3");
}

TEST(NetTrace, ParseAddressLeavesTargetsAlone) {
  for (const char *target : {"web", "pid://4242", "docker://web", "4242", "3f2a1b", "web:80"}) {
    auto r = nt::parse_address(target);
    ASSERT_TRUE(r) << target;
    EXPECT_FALSE(*r) << target;
  }
}

TEST(NetTrace, ParseAddressRejectsBadPortsAndBrackets) {
  for (const char *bad :
       {"[10.0.0.1]:80", "[fd00::3", "[fd00::3]80", "[fd00::3]:", "[fd00::3]:0", "[fd00::3]:65536",
        "10.0.0.1:0", "10.0.0.1:99999", "10.0.0.1:http", "[web]:80"}) {
    auto r = nt::parse_address(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ctk::rt::Errc::invalid_argument) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(nt::parse_address("[fd00::3]:0").error().message(),
            "invalid address '[fd00::3]:0': the port must be 1-65535");
}

TEST(NetTrace, UsableAddresses) {
  for (const char *ok : {"10.77.0.2", "172.17.0.2", "fd00:77::2", "2001:db8::1"})
    EXPECT_TRUE(nt::usable_address(ok)) << ok;
  for (const char *no : {"127.0.0.1", "127.1.2.3", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1",
                         "ff02::1", "::ffff:10.0.0.1", "web", ""})
    EXPECT_FALSE(nt::usable_address(no)) << no;
  EXPECT_EQ(nt::address_family("fd00::1"), AF_INET6);
  EXPECT_EQ(nt::address_family("10.0.0.1"), AF_INET);
  EXPECT_EQ(nt::address_family("web"), 0);
}

namespace {
nt::EndFamilies end(const char *role, const char *text, int given, bool v4, bool v6) {
  nt::EndFamilies e;
  e.role = role;
  e.text = text;
  e.given = given;
  e.v4 = v4;
  e.v6 = v6;
  return e;
}
} // namespace

TEST(NetTrace, FamilyChoice) {
  // Containers with both families: IPv4, as a docker user expects; -6 forces IPv6.
  auto both_a = end("--from", "web", 0, true, true), both_b = end("--to", "db", 0, true, true);
  EXPECT_EQ(*nt::choose_family(both_a, both_b, false), AF_INET);
  EXPECT_EQ(*nt::choose_family(both_a, both_b, true), AF_INET6);
  // IPv6 only on one side: IPv6 when the other has it too.
  auto v6_b = end("--to", "db", 0, false, true);
  EXPECT_EQ(*nt::choose_family(both_a, v6_b, false), AF_INET6);
  // Addresses given as such decide.
  auto addr6 = end("--to", "fd00:77::3", AF_INET6, false, false);
  EXPECT_EQ(*nt::choose_family(both_a, addr6, false), AF_INET6);
  auto addr4 = end("--from", "10.77.0.2", AF_INET, false, false);
  EXPECT_EQ(*nt::choose_family(addr4, both_b, false), AF_INET);
  EXPECT_EQ(*nt::choose_family(addr4, end("--to", "10.77.0.3", AF_INET, false, false), false),
            AF_INET);
}

TEST(NetTrace, FamilyChoiceErrorsNameTheSide) {
  auto mixed = nt::choose_family(end("--from", "10.77.0.2", AF_INET, false, false),
                                 end("--to", "fd00:77::3", AF_INET6, false, false), false);
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().code, ctk::rt::Errc::invalid_argument);
  EXPECT_EQ(mixed.error().message(), "--from 10.77.0.2 is IPv4 but --to fd00:77::3 is IPv6: both "
                                     "ends must be of one family");
  auto no6 = nt::choose_family(end("--from", "pid://1", 0, true, true),
                               end("--to", "pid://2", 0, true, false), true);
  ASSERT_FALSE(no6);
  EXPECT_EQ(no6.error().message(), "--to pid://2 has no IPv6 address (global or unique local)");
  auto forced4 = nt::choose_family(end("--from", "10.77.0.2", AF_INET, false, false),
                                   end("--to", "pid://2", 0, true, true), true);
  ASSERT_FALSE(forced4);
  EXPECT_EQ(forced4.error().message(), "-6: --from 10.77.0.2 is an IPv4 address");
  // An address given as IPv6 and a container with IPv4 only.
  auto no6b = nt::choose_family(end("--from", "pid://1", 0, true, false),
                                end("--to", "fd00:77::3", AF_INET6, false, false), false);
  ASSERT_FALSE(no6b);
  EXPECT_EQ(no6b.error().message(), "--from pid://1 has no IPv6 address (global or unique local)");
  auto disjoint = nt::choose_family(end("--from", "a", 0, true, false),
                                    end("--to", "b", 0, false, true), false);
  ASSERT_FALSE(disjoint);
  EXPECT_EQ(disjoint.error().message(),
            "--from a has only IPv4 addresses and --to b only IPv6: no family in common");
  auto none = nt::choose_family(end("--from", "a", 0, false, false),
                                end("--to", "b", 0, true, true), false);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(),
            "--from a has no IPv4 or IPv6 address (other than loopback and link-local)");
}

TEST(NetTrace, Ipv6ProbeRules) {
  nt::Flow f;
  f.family = AF_INET6;
  f.src = "fd00:77::2";
  f.dst = "fd00:77::3";
  f.proto = IPPROTO_TCP;
  f.dport = 80;
  f.sport = 40000;
  auto text = nt::TraceTables::ruleset(f, "ctk_trace_1", true);
  EXPECT_NE(text.find("ip6 saddr fd00:77::2 tcp sport 40000 tcp flags & (syn | ack) == syn meta "
                      "nftrace set 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ip6 daddr fd00:77::2 tcp dport 40000 tcp flags & (syn | rst) != 0 meta "
                      "nftrace set 1"),
            std::string::npos)
      << text;
  // ICMPv6 errors about the flow come back to the sender.
  EXPECT_NE(text.find("ip6 daddr fd00:77::2 icmpv6 type { destination-unreachable, "
                      "packet-too-big, time-exceeded } meta nftrace set 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("ip saddr"), std::string::npos) << text;
  EXPECT_EQ(text.find(" icmp type"), std::string::npos) << text;
  f.proto = IPPROTO_ICMPV6;
  f.dport.reset();
  text = nt::TraceTables::ruleset(f, "ctk_trace_1", false);
  EXPECT_NE(text.find("ip6 saddr fd00:77::2 icmpv6 type echo-request icmpv6 id 40000 meta nftrace "
                      "set 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ip6 daddr fd00:77::2 icmpv6 type echo-reply icmpv6 id 40000 meta nftrace "
                      "set 1"),
            std::string::npos)
      << text;
}

TEST(NetTrace, Ipv6PassiveRules) {
  nt::Flow f;
  f.family = AF_INET6;
  f.src = "fd00:77::2";
  f.dst = "fd00:77::3";
  f.proto = IPPROTO_ICMPV6;
  auto text = nt::TraceTables::ruleset(f, "ctk_trace_9", false);
  // Both directions, without the neighbour discovery between the two.
  for (const char *dir :
       {"ip6 saddr fd00:77::2 ip6 daddr fd00:77::3", "ip6 saddr fd00:77::3 ip6 daddr fd00:77::2"})
    EXPECT_NE(
        text.find(fmt::format("{} meta l4proto ipv6-icmp icmpv6 type != {{ nd-neighbor-solicit, "
                              "nd-neighbor-advert, nd-redirect }} meta nftrace set 1",
                              dir)),
        std::string::npos)
        << text;
}

TEST(NetTrace, IcmpKinds) {
  EXPECT_TRUE(nt::is_icmp(IPPROTO_ICMP));
  EXPECT_TRUE(nt::is_icmp(IPPROTO_ICMPV6));
  EXPECT_FALSE(nt::is_icmp(IPPROTO_TCP));
  EXPECT_TRUE(nt::is_icmp_error(IPPROTO_ICMP, 3));
  EXPECT_TRUE(nt::is_icmp_error(IPPROTO_ICMP, 11));
  EXPECT_FALSE(nt::is_icmp_error(IPPROTO_ICMP, 8));
  EXPECT_TRUE(nt::is_icmp_error(IPPROTO_ICMPV6, 1));
  EXPECT_TRUE(nt::is_icmp_error(IPPROTO_ICMPV6, 2));
  EXPECT_TRUE(nt::is_icmp_error(IPPROTO_ICMPV6, 3));
  EXPECT_FALSE(nt::is_icmp_error(IPPROTO_ICMPV6, 128));
  EXPECT_FALSE(nt::is_icmp_error(IPPROTO_ICMPV6, 135)); // a neighbour solicitation
  EXPECT_FALSE(nt::is_icmp_error(IPPROTO_TCP, 3));
  EXPECT_EQ(nt::icmp_echo_request(IPPROTO_ICMPV6), 128);
  EXPECT_EQ(nt::icmp_echo_reply(IPPROTO_ICMP), 0);
  EXPECT_STREQ(nt::proto_name(IPPROTO_ICMPV6), "icmpv6");
}
