// The flow tracer (bpf/nettrace.bpf.c, SkbTracer) against the real kernel.
// Each test builds three network namespaces held by forked processes, so
// they vanish with everything in them (veths, nftables tables) when the
// holders are killed, even if the test fails:
//
//   a (10.78.1.2) --veth-- r (10.78.1.1 | 10.78.2.1, forwarding) --veth-- b (10.78.2.2)
//
// Packets are sent from forked children that join a's namespace; the
// machine's own namespace and tables are never touched.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/net_trace_bpf.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::nettrace;

int run(const std::string &cmd, std::string *out = nullptr) {
  FILE *f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f)
    return -1;
  char buf[4096];
  size_t n;
  std::string text;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  if (out)
    *out = text;
  int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

// A process in a new network namespace, waiting to be killed.
class Holder {
public:
  Holder() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      char ok = ::unshare(CLONE_NEWNET) == 0 ? 1 : 0;
      (void)!::write(p[1], &ok, 1);
      for (;;)
        ::pause();
    }
    ::close(p[1]);
    char ok = 0;
    ready_ = pid_ > 0 && ::read(p[0], &ok, 1) == 1 && ok == 1;
    ::close(p[0]);
  }
  ~Holder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Holder(const Holder &) = delete;
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  std::string path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
  uint64_t inode() const {
    struct stat st {};
    if (::stat(("/proc/" + std::to_string(pid_) + "/ns/net").c_str(), &st) != 0)
      return 0;
    return st.st_ino;
  }
  // A shell command in this namespace.
  int sh(const std::string &cmd, std::string *out = nullptr) const {
    return run("nsenter --net=/proc/" + std::to_string(pid_) + "/ns/net sh -c '" + cmd + "'", out);
  }

private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// Runs fn in a forked child in the network namespace `ns` (a path);
// returns its exit code.
int in_child(const std::string &ns, const std::function<int()> &fn) {
  pid_t c = ::fork();
  if (c == 0) {
    int fd = ::open(ns.c_str(), O_RDONLY);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
      ::_exit(100);
    ::_exit(fn());
  }
  int st = 0;
  ::waitpid(c, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

sockaddr_in addr4(const char *ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

int send_udp(const std::string &ns, const char *ip, uint16_t port) {
  return in_child(ns, [=] {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto sa = addr4(ip, port);
    return ::sendto(s, "ping", 4, 0, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 4 ? 0 : 1;
  });
}

// A TCP connection attempt (SYN); waits up to 1 s for its outcome.
int send_syn(const std::string &ns, const char *ip, uint16_t port) {
  return in_child(ns, [=] {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    auto sa = addr4(ip, port);
    ::connect(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
    pollfd pf{s, POLLOUT, 0};
    ::poll(&pf, 1, 1000);
    return 0;
  });
}

// A TCP listener on `port` in b, so a SYN gets a SYN-ACK.
class Listener {
public:
  Listener(const Holder &h, uint16_t port) {
    int p[2];
    if (::pipe(p) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(("/proc/" + std::to_string(h.pid()) + "/ns/net").c_str(), O_RDONLY);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
        ::_exit(1);
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      auto sa = addr4("0.0.0.0", port);
      char ok = ::bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0 && ::listen(s, 8) == 0;
      (void)!::write(p[1], &ok, 1);
      for (;;)
        ::pause();
    }
    ::close(p[1]);
    char ok = 0;
    ready_ = ::read(p[0], &ok, 1) == 1 && ok == 1;
    ::close(p[0]);
  }
  ~Listener() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }

private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

std::string describe(const SkbEvent &e) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s/%s ns=%llu %s %s:%u -> %s:%u proto=%u flags=%#x %s %s",
                kind_name(e.kind), kind_name(e.hop), static_cast<unsigned long long>(e.netns_inode),
                e.ifname.c_str(), e.saddr.c_str(), e.sport, e.daddr.c_str(), e.dport, e.proto,
                e.tcp_flags, e.reason_name.c_str(), e.location_sym.c_str());
  return buf;
}

// Collects events until `done` says so or `ms` pass.
std::vector<SkbEvent> collect(SkbTracer &t, int ms,
                              const std::function<bool(const std::vector<SkbEvent> &)> &done) {
  std::vector<SkbEvent> got;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    auto r = t.poll([&](const SkbEvent &e) { got.push_back(e); }, 50);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    if (done && done(got))
      break;
  }
  return got;
}

std::string dump(const std::vector<SkbEvent> &evs) {
  std::string s;
  for (const auto &e : evs)
    s += describe(e) + "\n";
  return s;
}

class NetTraceBpf : public ::testing::Test {
protected:
  void SetUp() override {
    CTK_REQUIRE_ROOT();
    CTK_REQUIRE(::access("/usr/bin/nsenter", X_OK) == 0, "nsenter (util-linux) is missing");
    CTK_REQUIRE(::access("/usr/sbin/ip", X_OK) == 0 || ::access("/sbin/ip", X_OK) == 0,
                "ip (iproute2) is missing");
    CTK_REQUIRE(::access("/sys/kernel/btf/vmlinux", R_OK) == 0, "the kernel has no BTF");
    a_ = std::make_unique<Holder>();
    r_ = std::make_unique<Holder>();
    b_ = std::make_unique<Holder>();
    ASSERT_TRUE(a_->ready() && r_->ready() && b_->ready());
    const std::string rp = std::to_string(r_->pid());
    // Interface names are per namespace; these are created in a's and b's
    // and their peers moved into r's.
    ASSERT_EQ(a_->sh("ip link add eth0 type veth peer name ra netns " + rp), 0);
    ASSERT_EQ(b_->sh("ip link add eth0 type veth peer name rb netns " + rp), 0);
    ASSERT_EQ(a_->sh("ip link set lo up && ip addr add 10.78.1.2/24 dev eth0 && "
                     "ip link set eth0 up && ip route add default via 10.78.1.1"),
              0);
    ASSERT_EQ(b_->sh("ip link set lo up && ip addr add 10.78.2.2/24 dev eth0 && "
                     "ip link set eth0 up && ip route add default via 10.78.2.1"),
              0);
    ASSERT_EQ(r_->sh("ip link set lo up && ip addr add 10.78.1.1/24 dev ra && "
                     "ip addr add 10.78.2.1/24 dev rb && ip link set ra up && ip link set rb up && "
                     "echo 1 > /proc/sys/net/ipv4/ip_forward"),
              0);
  }
  void TearDown() override {
    a_.reset();
    r_.reset();
    b_.reset();
  }

  FlowFilter flow(uint8_t proto, uint16_t dport) const {
    FlowFilter f;
    f.proto = proto;
    f.side_a = {"10.78.1.2"};
    f.side_b = {"10.78.2.2"};
    f.dport = dport;
    f.arp_addresses = {"10.78.1.2", "10.78.1.1", "10.78.2.1", "10.78.2.2"};
    return f;
  }

  std::unique_ptr<Holder> a_, r_, b_;
};

bool has(const std::vector<SkbEvent> &evs, const std::function<bool(const SkbEvent &)> &p) {
  for (const auto &e : evs)
    if (p(e))
      return true;
  return false;
}

TEST_F(NetTraceBpf, UdpDatagramIsFollowedHopByHopThroughNamespaces) {
  auto t = SkbTracer::start(flow(IPPROTO_UDP, 5353));
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_udp(a_->path(), "10.78.2.2", 5353), 0);
  const uint64_t na = a_->inode(), nr = r_->inode(), nb = b_->inode();
  auto fwd = [](const SkbEvent &e) {
    return e.kind != SkbEventKind::arp && e.kind != SkbEventKind::neigh && e.saddr == "10.78.1.2" &&
           e.daddr == "10.78.2.2" && e.dport == 5353 && e.proto == IPPROTO_UDP;
  };
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) {
      return fwd(e) && e.kind == SkbEventKind::drop && e.netns_inode == nb;
    });
  });
  SCOPED_TRACE(dump(evs));
  // a: queued and sent on eth0; r: received on ra, queued and sent on rb;
  // b: received on eth0, then dropped there (no socket on 5353).
  auto at = [&](SkbEventKind k, uint64_t ns, const char *dev) {
    return has(evs, [&](const SkbEvent &e) {
      return fwd(e) && e.kind == k && e.netns_inode == ns && e.ifname == dev;
    });
  };
  EXPECT_TRUE(at(SkbEventKind::queue, na, "eth0"));
  EXPECT_TRUE(at(SkbEventKind::xmit, na, "eth0"));
  EXPECT_TRUE(at(SkbEventKind::receive, nr, "ra"));
  EXPECT_TRUE(at(SkbEventKind::queue, nr, "rb"));
  EXPECT_TRUE(at(SkbEventKind::xmit, nr, "rb"));
  EXPECT_TRUE(at(SkbEventKind::receive, nb, "eth0"));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return fwd(e) && e.kind == SkbEventKind::drop && e.netns_inode == nb &&
           e.reason_name == "NO_SOCKET" && e.location_sym.find("udp") != std::string::npos;
  }));
  // One skb from a's queue to b's drop: it is followed by pointer.
  std::set<uint64_t> skbs;
  for (const auto &e : evs)
    if (fwd(e))
      skbs.insert(e.skb);
  EXPECT_EQ(skbs.size(), 1u);
  // b's ICMP port unreachable is an ICMP error between the sides: it counts.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.proto == IPPROTO_ICMP && e.icmp_type == 3 && e.saddr == "10.78.2.2" &&
           e.daddr == "10.78.1.2";
  }));
  // The fresh namespaces resolve their next hops first: a's ARP request for
  // its gateway and the neighbour entry that follows.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::arp && e.arp_op == 1 && e.saddr == "10.78.1.2" &&
           e.daddr == "10.78.1.1" && e.netns_inode == na && e.hop == SkbEventKind::queue;
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::neigh && e.daddr == "10.78.1.1" && e.netns_inode == na &&
           e.neigh_state == "REACHABLE" && !e.lladdr.empty();
  }));
  EXPECT_EQ(t->lost(), 0u);
}

TEST_F(NetTraceBpf, TcpSynAndItsReplyAreFollowed) {
  Listener srv(*b_, 80);
  ASSERT_TRUE(srv.ready());
  auto t = SkbTracer::start(flow(IPPROTO_TCP, 80));
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_syn(a_->path(), "10.78.2.2", 80), 0);
  const uint64_t na = a_->inode(), nb = b_->inode();
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) {
      return e.kind == SkbEventKind::receive && e.netns_inode == na && e.sport == 80 &&
             e.tcp_flags == 0x12;
    });
  });
  SCOPED_TRACE(dump(evs));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::queue && e.netns_inode == na && e.ifname == "eth0" &&
           e.saddr == "10.78.1.2" && e.daddr == "10.78.2.2" && e.dport == 80 && e.tcp_flags == 0x02;
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::receive && e.netns_inode == nb && e.dport == 80 &&
           e.tcp_flags == 0x02;
  }));
  // The SYN-ACK, from b back to a (the reply direction matches by source port).
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::queue && e.netns_inode == nb && e.saddr == "10.78.2.2" &&
           e.sport == 80 && e.daddr == "10.78.1.2" && e.tcp_flags == 0x12;
  }));
}

TEST_F(NetTraceBpf, NftablesDropNamesNetfilterDrop) {
  ASSERT_EQ(
      r_->sh("nft add table inet ctktest && "
             "nft add chain inet ctktest ctkfwd \"{ type filter hook forward priority 0; }\" && "
             "nft add rule inet ctktest ctkfwd ip daddr 10.78.2.2 tcp dport 80 drop"),
      0);
  auto t = SkbTracer::start(flow(IPPROTO_TCP, 80));
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_syn(a_->path(), "10.78.2.2", 80), 0);
  const uint64_t nr = r_->inode(), nb = b_->inode();
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [](const SkbEvent &e) { return e.kind == SkbEventKind::drop; });
  });
  SCOPED_TRACE(dump(evs));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::drop && e.netns_inode == nr && e.ifname == "ra" &&
           e.reason_name == "NETFILTER_DROP" && e.dport == 80 &&
           // netfilter code: nf_hook_slow, or nft_do_chain on 6.18
           (e.location_sym.rfind("nf_", 0) == 0 || e.location_sym.rfind("nft_", 0) == 0);
  }));
  EXPECT_FALSE(has(evs, [&](const SkbEvent &e) { return e.netns_inode == nb; }));
}

TEST_F(NetTraceBpf, UnrelatedFlowsProduceNoEvents) {
  Listener srv(*b_, 81);
  ASSERT_TRUE(srv.ready());
  auto t = SkbTracer::start(flow(IPPROTO_TCP, 80));
  ASSERT_TRUE(t) << t.error().message();
  // Resolve the neighbours first, so ARP does not count below.
  ASSERT_EQ(send_syn(a_->path(), "10.78.2.2", 81), 0);
  collect(*t, 300, {});
  ASSERT_EQ(send_udp(a_->path(), "10.78.2.2", 80), 0); // wrong protocol
  ASSERT_EQ(send_syn(a_->path(), "10.78.2.2", 81), 0); // wrong port
  ASSERT_EQ(send_syn(a_->path(), "10.78.1.1", 80), 0); // wrong address
  auto quiet = collect(*t, 500, {});
  SCOPED_TRACE(dump(quiet));
  EXPECT_FALSE(has(quiet, [](const SkbEvent &e) {
    return e.kind != SkbEventKind::arp && e.kind != SkbEventKind::neigh;
  }));
  // ...while the traced flow, right after, is seen: the tracer was working.
  ASSERT_EQ(send_syn(a_->path(), "10.78.2.2", 80), 0);
  auto evs = collect(*t, 2000, [](const auto &got) {
    return has(got, [](const SkbEvent &e) { return e.kind == SkbEventKind::receive; });
  });
  EXPECT_TRUE(has(evs, [](const SkbEvent &e) { return e.dport == 80 && e.proto == IPPROTO_TCP; }))
      << dump(evs);
}

TEST_F(NetTraceBpf, DnatIsFollowedAcrossTheRewrite) {
  Listener srv(*b_, 80);
  ASSERT_TRUE(srv.ready());
  ASSERT_EQ(r_->sh("nft add table ip ctknat && "
                   "nft add chain ip ctknat pre \"{ type nat hook prerouting priority -100; }\" && "
                   "nft add rule ip ctknat pre ip daddr 10.78.1.1 tcp dport 8080 "
                   "dnat to 10.78.2.2:80"),
            0);
  // A published port: a sees only r's address and port 8080.
  FlowFilter f;
  f.proto = IPPROTO_TCP;
  f.side_a = {"10.78.1.2"};
  f.side_b = {"10.78.1.1"};
  f.dport = 8080;
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_syn(a_->path(), "10.78.1.1", 8080), 0);
  const uint64_t na = a_->inode(), nr = r_->inode(), nb = b_->inode();
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) {
      return e.kind == SkbEventKind::receive && e.netns_inode == na && e.tcp_flags == 0x12;
    });
  });
  SCOPED_TRACE(dump(evs));
  // The SYN before translation (received by r), then the same skb after it.
  uint64_t syn = 0;
  for (const auto &e : evs)
    if (e.kind == SkbEventKind::receive && e.netns_inode == nr && e.daddr == "10.78.1.1" &&
        e.dport == 8080)
      syn = e.skb;
  ASSERT_NE(syn, 0u);
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.skb == syn && e.kind == SkbEventKind::queue && e.netns_inode == nr &&
           e.ifname == "rb" && e.daddr == "10.78.2.2" && e.dport == 80;
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.skb == syn && e.kind == SkbEventKind::receive && e.netns_inode == nb &&
           e.daddr == "10.78.2.2" && e.dport == 80;
  }));
  // The reply: untranslated in b (learned from the rewrite), translated
  // back by r before it reaches a.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::queue && e.netns_inode == nb && e.saddr == "10.78.2.2" &&
           e.sport == 80 && e.tcp_flags == 0x12;
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::receive && e.netns_inode == na && e.saddr == "10.78.1.1" &&
           e.sport == 8080 && e.tcp_flags == 0x12;
  }));
}

TEST_F(NetTraceBpf, ManyAddressesAreMatchedThroughTheMap) {
  // Past NETTRACE_FAST_ADDRS (16) the addresses live in a hash map.
  FlowFilter f = flow(IPPROTO_UDP, 5353);
  for (int i = 10; i < 40; i++)
    f.side_b.push_back("10.79.0." + std::to_string(i));
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_udp(a_->path(), "10.78.2.2", 5353), 0);
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) { return e.kind == SkbEventKind::drop; });
  });
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::receive && e.netns_inode == b_->inode() && e.dport == 5353;
  })) << dump(evs);
}

TEST_F(NetTraceBpf, MaxPacketsBoundsWhatIsFollowed) {
  ASSERT_EQ(send_udp(a_->path(), "10.78.2.2", 5353), 0); // neighbours resolved before tracing
  FlowFilter f = flow(IPPROTO_UDP, 5353);
  f.arp_addresses.clear();
  f.max_packets = 2;
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(send_udp(a_->path(), "10.78.2.2", 5353), 0);
  auto evs = collect(*t, 500, {});
  std::set<uint64_t> skbs;
  for (const auto &e : evs)
    skbs.insert(e.skb);
  EXPECT_EQ(skbs.size(), 2u) << dump(evs);
  // Each followed packet is reported to its end.
  EXPECT_EQ(std::count_if(evs.begin(), evs.end(),
                          [](const SkbEvent &e) {
                            return e.kind == SkbEventKind::drop || e.kind == SkbEventKind::consume;
                          }),
            2)
      << dump(evs);
}

TEST_F(NetTraceBpf, BadFilterIsRefused) {
  FlowFilter f;
  f.side_a = {"10.78.1.300"};
  auto t = SkbTracer::start(f);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::invalid_argument);
  EXPECT_NE(t.error().message().find("10.78.1.300"), std::string::npos);
  f.side_a = {"10.78.1.2"};
  f.proto = IPPROTO_ICMP;
  f.dport = 80;
  EXPECT_FALSE(SkbTracer::start(f));
}

// The scenarios of tests/common/netlab.sh: a bridge with br_netfilter, a
// router, docker-style DNAT with masquerade.
class NetTraceLab : public ::testing::Test {
protected:
  void SetUp() override {
    CTK_REQUIRE_ROOT();
    CTK_REQUIRE(::access("/sys/kernel/btf/vmlinux", R_OK) == 0, "the kernel has no BTF");
    CTK_REQUIRE(run("command -v python3 && command -v nft && command -v iptables-nft && "
                    "command -v nsenter") == 0,
                "python3, nft, iptables-nft or nsenter is missing (scripts/install-deps.sh)");
    p_ = "ntb" + std::to_string(::getpid());
    std::string out;
    up_ = true;
    ASSERT_EQ(lab("netlab_up " + p_, &out), 0) << out;
  }
  void TearDown() override {
    if (up_)
      lab("netlab_down " + p_);
  }
  int lab(const std::string &cmd, std::string *out = nullptr) {
    return run("bash -c '. " CTK_SOURCE_DIR "/tests/common/netlab.sh && " + cmd + "'", out);
  }
  std::string ns(const char *who) const { return "/run/netns/" + p_ + "-" + who; }
  uint64_t inode(const char *who) const {
    struct stat st {};
    return ::stat(ns(who).c_str(), &st) == 0 ? st.st_ino : 0;
  }

  std::string p_;
  bool up_ = false;
};

TEST_F(NetTraceLab, NftDropInTheBridgeForwardHook) {
  ASSERT_EQ(lab("netlab_nft_drop " + p_), 0);
  FlowFilter f;
  f.proto = IPPROTO_TCP;
  f.side_a = {"10.77.0.2"};
  f.side_b = {"10.77.0.3"};
  f.dport = 80;
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_syn(ns("a"), "10.77.0.3", 80), 0);
  auto evs = collect(*t, 3000, [](const auto &got) {
    return has(got, [](const SkbEvent &e) { return e.kind == SkbEventKind::drop; });
  });
  SCOPED_TRACE(dump(evs));
  // Bridged from va towards vb, dropped by br_netfilter's forward hook.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::receive && e.netns_inode == inode("br") && e.ifname == "va";
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::drop && e.netns_inode == inode("br") &&
           e.reason_name == "NETFILTER_DROP" && e.saddr == "10.77.0.2" && e.dport == 80;
  }));
  EXPECT_FALSE(has(evs, [&](const SkbEvent &e) { return e.netns_inode == inode("b"); }));
}

TEST_F(NetTraceLab, NoRouteAtTheRouterIsADropThereAndAnIcmpErrorBack) {
  FlowFilter f;
  f.proto = IPPROTO_UDP;
  f.side_a = {"10.77.0.2"};
  f.side_b = {"10.79.0.5"};
  f.dport = 5353;
  f.arp_addresses = {"10.77.0.2", "10.77.0.254"};
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_udp(ns("a"), "10.79.0.5", 5353), 0);
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) {
      return e.proto == IPPROTO_ICMP && e.netns_inode == inode("a") &&
             (e.kind == SkbEventKind::consume || e.kind == SkbEventKind::drop);
    });
  });
  SCOPED_TRACE(dump(evs));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::drop && e.netns_inode == inode("rt") && e.daddr == "10.79.0.5" &&
           !e.reason_name.empty() && e.reason_name != "NOT_SPECIFIED";
  }));
  // The router's "net unreachable" comes from an address of neither side:
  // it matches by the datagram it quotes.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.proto == IPPROTO_ICMP && e.icmp_type == 3 && e.saddr == "10.77.0.254" &&
           e.daddr == "10.77.0.2" && e.netns_inode == inode("a");
  }));
}

TEST_F(NetTraceLab, DnatWithMasqueradeIsFollowedAcrossBothRewrites) {
  ASSERT_EQ(lab("netlab_dnat " + p_), 0);
  FlowFilter f;
  f.proto = IPPROTO_TCP;
  f.side_a = {"10.77.0.2"};
  f.side_b = {"10.77.0.1"};
  f.dport = 8080;
  auto t = SkbTracer::start(f);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(send_syn(ns("a"), "10.77.0.1", 8080), 0);
  auto evs = collect(*t, 3000, [&](const auto &got) {
    return has(got, [&](const SkbEvent &e) {
      return e.kind == SkbEventKind::receive && e.netns_inode == inode("a") && e.tcp_flags == 0x12;
    });
  });
  SCOPED_TRACE(dump(evs));
  uint64_t syn = 0;
  for (const auto &e : evs)
    if (e.kind == SkbEventKind::queue && e.netns_inode == inode("a") && e.dport == 8080)
      syn = e.skb;
  ASSERT_NE(syn, 0u);
  // The same skb reaches b with both ends rewritten (DNAT to b:80, and
  // the source masqueraded to the bridge's address).
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.skb == syn && e.kind == SkbEventKind::receive && e.netns_inode == inode("b") &&
           e.saddr == "10.77.0.1" && e.daddr == "10.77.0.3" && e.dport == 80;
  }));
  // b's SYN-ACK to the masqueraded address (learned), and as a receives it.
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::queue && e.netns_inode == inode("b") && e.saddr == "10.77.0.3" &&
           e.sport == 80 && e.tcp_flags == 0x12;
  }));
  EXPECT_TRUE(has(evs, [&](const SkbEvent &e) {
    return e.kind == SkbEventKind::receive && e.netns_inode == inode("a") &&
           e.saddr == "10.77.0.1" && e.sport == 8080 && e.tcp_flags == 0x12;
  }));
}

// Names against bpftool's own dump of the running kernel's BTF.
TEST(NetTraceBpfReasons, DropReasonNamesComeFromTheKernelBtf) {
  CTK_REQUIRE_ROOT();
  CTK_REQUIRE(::access("/sys/kernel/btf/vmlinux", R_OK) == 0, "the kernel has no BTF");
  CTK_REQUIRE(::access("/usr/sbin/bpftool", X_OK) == 0, "bpftool is missing");
  std::string c;
  ASSERT_EQ(run("/usr/sbin/bpftool btf dump file /sys/kernel/btf/vmlinux format c", &c), 0);
  auto start = c.find("\nenum skb_drop_reason {\n");
  ASSERT_NE(start, std::string::npos);
  auto end = c.find("\n};", start);
  std::map<uint32_t, std::string> want;
  size_t pos = c.find('\n', start + 1) + 1;
  while (pos < end) {
    auto eol = c.find('\n', pos);
    std::string line = c.substr(pos, eol - pos);
    pos = eol + 1;
    char name[128];
    unsigned value;
    if (std::sscanf(line.c_str(), " %127[A-Z0-9_] = %u,", name, &value) == 2) {
      std::string n = name;
      for (std::string p : {"SKB_DROP_REASON_", "SKB_"})
        if (n.rfind(p, 0) == 0) {
          n.erase(0, p.size());
          break;
        }
      want.emplace(value, n);
    }
  }
  ASSERT_GT(want.size(), 10u);
  for (const auto &[value, name] : want) {
    auto got = drop_reason_name(value);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, name) << "value " << value;
  }
  uint32_t unknown = want.rbegin()->first + 1000;
  EXPECT_EQ(drop_reason_name(unknown).value_or(""), "reason " + std::to_string(unknown));
}

} // namespace
