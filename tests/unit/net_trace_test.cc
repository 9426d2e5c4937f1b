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
