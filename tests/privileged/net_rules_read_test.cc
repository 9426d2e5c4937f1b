// netrules::read and the tracer's legacy counters against the kernel, in a
// network namespace the test creates (ip netns add) and deletes: a legacy
// drop that a packet hits is named by the counter it advanced; an nftables
// rule is found again by its handle; reading creates no legacy table.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/net_rules.h"

namespace {

using namespace ctk::rt;

int run(const std::string &cmd) {
  int st = std::system(("(" + cmd + ") >/dev/null 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

struct Netns {
  std::string name = "ctkrules" + std::to_string(::getpid());
  std::string in() const { return "nsenter --net=/run/netns/" + name + " "; }
  ~Netns() { run("ip netns delete " + name); }
};

std::string legacy_tables(const Netns &ns) {
  std::string out;
  FILE *f = ::popen((ns.in() + "cat /proc/net/ip_tables_names 2>/dev/null").c_str(), "r");
  if (!f)
    return "?";
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  ::pclose(f);
  return out;
}

} // namespace

TEST(NetRulesRead, LegacyCounterNamesTheDropAndNftHandleFindsTheRule) {
  CTK_REQUIRE_ROOT();
  CTK_REQUIRE(run("command -v iptables-legacy && command -v nft && command -v bash") == 0,
              "iptables-legacy, nft and bash are needed (packages iptables, nftables)");
  Netns ns;
  ASSERT_EQ(run("ip netns add " + ns.name), 0);
  ASSERT_EQ(run("ip -n " + ns.name + " link set lo up"), 0);
  auto fd = open_fd("/run/netns/" + ns.name, O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();

  // Nothing legacy yet, and reading (twice) does not create a table.
  auto none = netrules::legacy_counters(fd->get());
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->rules.empty());
  auto empty = netrules::read(fd->get());
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_EQ(legacy_tables(ns), "");

  ASSERT_EQ(run(ns.in() + "iptables-legacy -A OUTPUT -d 127.0.0.9 -p udp -j DROP"), 0);
  ASSERT_EQ(run(ns.in() + "nft add table inet t \\; add chain inet t c '{ type filter hook output "
                          "priority -10; }' \\; add rule inet t c udp dport 9 counter comment "
                          "'\"seen\"'"),
            0);
  auto before = netrules::legacy_counters(fd->get());
  ASSERT_TRUE(before) << before.error().message();
  ASSERT_EQ(before->rules.size(), 4u); // the rule and the INPUT, FORWARD, OUTPUT policies
  EXPECT_EQ(legacy_tables(ns), "filter\n"); // the one the rule made, nothing else
  // Three datagrams the legacy rule drops (sendto may report EPERM: fine).
  run(ns.in() + "bash -c 'for i in 1 2 3; do echo x >/dev/udp/127.0.0.9/9; done'");
  auto after = netrules::legacy_counters(fd->get());
  ASSERT_TRUE(after) << after.error().message();
  auto hit = netrules::counters_advanced(*before, *after);
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].text, "-A OUTPUT -d 127.0.0.9/32 -p udp -j DROP");
  EXPECT_EQ(hit[0].chain, "OUTPUT");
  EXPECT_EQ(hit[0].position, 1);
  EXPECT_EQ(hit[0].packets, 3u);

  auto rs = netrules::read(fd->get());
  ASSERT_TRUE(rs) << rs.error().message();
  const netrules::Rule *seen = nullptr;
  for (const auto &r : rs->rules)
    if (r.table == "t")
      seen = &r;
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->packets, 3u); // at priority -10, before legacy's filter (0) drops them
  const auto *found = netrules::find_rule(*rs, "inet", "t", "c", seen->handle);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->comment, "seen");
  EXPECT_EQ(found->text.rfind("udp dport 9 counter packets 3 bytes ", 0), 0u) << found->text;
  EXPECT_EQ(found->hook, "output");
  EXPECT_EQ(found->priority, -10);
}
