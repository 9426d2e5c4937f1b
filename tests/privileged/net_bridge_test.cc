// The bridge network against the real kernel. Each test moves its thread
// into a fresh network namespace (the test's private "host") and leaves it
// at the end, so the namespace, its bridge, veths and nftables table vanish
// with it even when the test fails; the machine's own interfaces and tables
// are never touched. "Containers" are forked processes in network
// namespaces of their own.
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

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nftables/libnftables.h>

#include <fmt/format.h>

#include "common/privileged.h"
#include "ctk/runtime/netsetup.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::net;

struct Shell {
  int status = -1;
  std::string out;
};
// Runs a command (in the thread's network namespace: fork copies it).
Shell sh(const std::string &cmd) {
  Shell r;
  FILE *f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f)
    return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    r.out.append(buf, n);
  int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return r;
}
Shell sh_in(pid_t pid, const std::string &cmd) {
  return sh("nsenter --net=/proc/" + std::to_string(pid) + "/ns/net " + cmd);
}

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The ruleset of ctk's table as nft prints it, through libnftables (Debian's
// nft command is not required).
std::string nft_text(const std::string &cmd) {
  nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string out;
  if (nft_run_cmd_from_buffer(ctx, cmd.c_str()) == 0)
    out = nft_ctx_get_output_buffer(ctx);
  else
    out = std::string("ERROR: ") + nft_ctx_get_error_buffer(ctx);
  nft_ctx_free(ctx);
  return out;
}

size_t count(const std::string &hay, const std::string &needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1))
    ++n;
  return n;
}

// A forked process: optionally in a network namespace of its own, running
// `body` (default: wait to be killed). Killed and reaped on destruction.
class Proc {
public:
  explicit Proc(bool new_netns, std::function<void()> body = {}) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      char ok = (!new_netns || ::unshare(CLONE_NEWNET) == 0) ? 1 : 0;
      if (body && ok)
        body(); // signals readiness itself through ready_fd()
      else if (::write(p[1], &ok, 1) != 1)
        ::_exit(1);
      if (!body)
        for (;;)
          ::pause();
      ::_exit(0);
    }
    ::close(p[1]);
    if (!body) {
      char ok = 0;
      ready_ = ::read(p[0], &ok, 1) == 1 && ok == 1;
    } else {
      ready_ = pid_ > 0;
    }
    ::close(p[0]);
  }
  ~Proc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Proc(const Proc &) = delete;
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_ && pid_ > 0; }
  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

bool enter_netns_of(pid_t pid) {
  int fd = ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

// A TCP server in the network namespace of `netns_pid` that answers every
// connection with "hello <peer address>\n": the test sees both that the
// connection arrived and from which source address.
std::unique_ptr<Proc> tcp_server(pid_t netns_pid, uint16_t port) {
  int ready[2];
  if (::pipe(ready) != 0)
    return nullptr;
  auto proc = std::make_unique<Proc>(false, [=] {
    ::close(ready[0]);
    if (!enter_netns_of(netns_pid))
      ::_exit(1);
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 || ::listen(s, 16) != 0)
      ::_exit(1);
    char ok = 1;
    if (::write(ready[1], &ok, 1) != 1)
      ::_exit(1);
    for (;;) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      int c = ::accept(s, reinterpret_cast<sockaddr *>(&peer), &len);
      if (c < 0)
        continue;
      char ip[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
      std::string msg = std::string("hello ") + ip + "\n";
      (void)!::write(c, msg.data(), msg.size());
      ::close(c);
    }
  });
  ::close(ready[1]);
  char ok = 0;
  bool started = ::read(ready[0], &ok, 1) == 1 && ok == 1;
  ::close(ready[0]);
  return started ? std::move(proc) : nullptr;
}

// Connects from the calling thread's namespace (or that of `netns_pid`,
// on a child) and returns what the server said, or "" on failure.
std::string tcp_get(const std::string &ip, uint16_t port, pid_t netns_pid = 0) {
  int p[2];
  if (::pipe(p) != 0)
    return "";
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    if (netns_pid && !enter_netns_of(netns_pid))
      ::_exit(1);
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    ::connect(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
    pollfd pf{s, POLLIN, 0};
    if (::poll(&pf, 1, 2000) != 1)
      ::_exit(1);
    char buf[256];
    ssize_t n = ::read(s, buf, sizeof buf);
    if (n > 0)
      (void)!::write(p[1], buf, static_cast<size_t>(n));
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  ::waitpid(child, nullptr, 0);
  return out;
}

class NetBridge : public ::testing::Test {
protected:
  void SetUp() override {
    CTK_REQUIRE_ROOT();
    CTK_REQUIRE(::access("/usr/bin/nsenter", X_OK) == 0, "nsenter (util-linux) is missing");
    CTK_REQUIRE(::access("/usr/sbin/ip", X_OK) == 0 || ::access("/sbin/ip", X_OK) == 0,
                "ip (iproute2) is missing");
    orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(orig_, 0);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    ASSERT_EQ(sh("ip link set lo up").status, 0);
    char tmpl[] = "/tmp/ctk-net-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    opt_.state_dir = dir_ + "/net";
  }
  void TearDown() override {
    procs_.clear(); // their namespaces go with them
    if (orig_ >= 0) {
      // Back to the machine's namespace: the test's own has no process left
      // and disappears with everything in it.
      EXPECT_EQ(::setns(orig_, CLONE_NEWNET), 0);
      ::close(orig_);
    }
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }
  Proc &container() {
    procs_.push_back(std::make_unique<Proc>(true));
    return *procs_.back();
  }
  std::string hosts_file(const std::string &name) {
    std::string path = dir_ + "/hosts-" + name;
    std::ofstream(path) << "127.0.0.1\tlocalhost\n";
    return path;
  }
  std::string rules() { return nft_text("list table ip ctk"); }
  // The host's "uplink": a veth to another machine, 192.0.2.1 <-> 192.0.2.2.
  void wire(Proc &client) {
    ASSERT_EQ(
        sh("ip link add up0 type veth peer name eth0 netns " + std::to_string(client.pid())).status,
        0);
    ASSERT_EQ(sh("ip addr add 192.0.2.1/24 dev up0 && ip link set up0 up").status, 0);
    ASSERT_EQ(sh_in(client.pid(), "sh -c 'ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 "
                                  "up && ip link set lo up'")
                  .status,
              0);
  }

  int orig_ = -1;
  std::string dir_;
  NetworkOptions opt_;
  std::vector<std::unique_ptr<Proc>> procs_;
};

TEST_F(NetBridge, OpenCreatesBridgeAndTableOnce) {
  auto bn = BridgeNetwork::open(opt_);
  ASSERT_TRUE(bn) << bn.error().message();
  auto link = sh("ip -d -o link show ctk0");
  ASSERT_EQ(link.status, 0) << link.out;
  EXPECT_NE(link.out.find("bridge"), std::string::npos) << link.out;
  EXPECT_NE(link.out.find(",UP"), std::string::npos) << link.out;
  EXPECT_NE(sh("ip -4 -o addr show dev ctk0").out.find("10.89.0.1/16"), std::string::npos);
  // A fresh namespace forwards nothing: open turned it on and said so.
  EXPECT_EQ(slurp("/proc/sys/net/ipv4/ip_forward"), "1\n");
  ASSERT_EQ(bn->warnings().size(), 1u);
  EXPECT_NE(bn->warnings()[0].find("ip_forward"), std::string::npos);

  std::string r = rules();
  EXPECT_NE(r.find("ip saddr 10.89.0.0/16 oifname != \"ctk0\" masquerade"), std::string::npos) << r;
  for (const char *hook : {"hook prerouting", "hook output", "hook postrouting", "hook forward"})
    EXPECT_NE(r.find(hook), std::string::npos) << hook << " missing in\n" << r;
  // Opening again (another ctk process) adds nothing.
  auto again = BridgeNetwork::open(opt_);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->warnings().empty());
  EXPECT_EQ(rules(), r);

  // A link of that name that is no bridge is refused, not hijacked.
  NetworkOptions o2 = opt_;
  o2.bridge = "notbr0";
  ASSERT_EQ(sh("ip link add notbr0 type veth peer name notbr1").status, 0);
  auto bad = BridgeNetwork::open(o2);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("notbr0"), std::string::npos) << bad.error().message();
}

// Two containers: addresses and routes inside, ping, names both ways, in
// both start orders, and detach undoing all of it.
TEST_F(NetBridge, TwoContainersReachAndNameEachOther) {
  for (bool web_first : {true, false}) {
    SCOPED_TRACE(web_first ? "web first" : "db first");
    auto bn = BridgeNetwork::open(opt_);
    ASSERT_TRUE(bn) << bn.error().message();
    Proc &cw = container();
    Proc &cd = container();
    ASSERT_TRUE(cw.ready() && cd.ready());
    std::string hw = hosts_file("web"), hd = hosts_file("db");
    AttachRequest rw{
        .id = "aaaa00000000000000000001", .name = "web", .netns_pid = cw.pid(), .hosts_file = hw};
    AttachRequest rd{
        .id = "bbbb00000000000000000002", .name = "db", .netns_pid = cd.pid(), .hosts_file = hd};
    Result<Endpoint> ew, ed;
    if (web_first) {
      ew = bn->attach(rw);
      ed = bn->attach(rd);
    } else {
      ed = bn->attach(rd);
      ew = bn->attach(rw);
    }
    ASSERT_TRUE(ew) << ew.error().message();
    ASSERT_TRUE(ed) << ed.error().message();
    EXPECT_NE(ew->ip, ed->ip);
    EXPECT_EQ(ew->gateway, "10.89.0.1");
    EXPECT_EQ(ew->host_veth, "ctkaaaa00000000");

    auto addr = sh_in(cw.pid(), "ip -4 -o addr show dev eth0");
    EXPECT_NE(addr.out.find(ew->ip + "/16"), std::string::npos) << addr.out;
    auto link = sh_in(cw.pid(), "ip -o link show dev eth0");
    EXPECT_NE(link.out.find(ew->mac), std::string::npos) << link.out;
    auto route = sh_in(cw.pid(), "ip route show default");
    EXPECT_NE(route.out.find("default via 10.89.0.1 dev eth0"), std::string::npos) << route.out;
    EXPECT_NE(sh_in(cw.pid(), "ip -o link show lo").out.find("UP"), std::string::npos);
    auto master = sh("ip -o link show " + ew->host_veth);
    EXPECT_NE(master.out.find("master ctk0"), std::string::npos) << master.out;

    auto ping = sh_in(cw.pid(), "busybox ping -c 1 -W 2 " + ed->ip);
    EXPECT_EQ(ping.status, 0) << ping.out;
    ping = sh_in(cd.pid(), "busybox ping -c 1 -W 2 " + ew->ip);
    EXPECT_EQ(ping.status, 0) << ping.out;

    // Hosts files, rewritten in place: the inode a bind mount holds stays.
    struct stat before {};
    ::stat(hw.c_str(), &before);
    for (const auto &f : {hw, hd}) {
      std::string h = slurp(f);
      EXPECT_EQ(h.rfind("127.0.0.1\tlocalhost\n", 0), 0u) << h;
      EXPECT_EQ(count(h, ew->ip + "\tweb\n"), 1u) << f << ":\n" << h;
      EXPECT_EQ(count(h, ed->ip + "\tdb\n"), 1u) << f << ":\n" << h;
    }

    ASSERT_TRUE(bn->detach(rd.id));
    struct stat after {};
    ::stat(hw.c_str(), &after);
    EXPECT_EQ(before.st_ino, after.st_ino);
    EXPECT_EQ(slurp(hw), "127.0.0.1\tlocalhost\n" + ew->ip + "\tweb\n");
    EXPECT_NE(sh("ip link show " + ed->host_veth).status, 0) << "veth of db is left";
    EXPECT_EQ(sh_in(cd.pid(), "ip -o link show eth0").status, 1);
    std::string ipam = slurp(opt_.state_dir + "/ipam.json");
    EXPECT_EQ(ipam.find(ed->ip), std::string::npos) << ipam;
    EXPECT_NE(ipam.find(ew->ip), std::string::npos) << ipam;
    ASSERT_TRUE(bn->detach(rd.id)) << "a second detach is not an error";
    ASSERT_TRUE(bn->detach(rw.id));
    EXPECT_EQ(slurp(opt_.state_dir + "/endpoints.json"), "{}\n");
    procs_.clear();
  }
}

TEST_F(NetBridge, PublishedPortFromOutsideFromTheHostAndLocalhost) {
  auto bn = BridgeNetwork::open(opt_);
  ASSERT_TRUE(bn) << bn.error().message();
  Proc &c = container();
  Proc &client = container(); // another machine, wired to the host
  ASSERT_TRUE(c.ready() && client.ready());
  ASSERT_NO_FATAL_FAILURE(wire(client));

  auto pm = parse_port("8080:80");
  ASSERT_TRUE(pm);
  auto ep =
      bn->attach({.id = "cccc00000000srv", .name = "srv", .netns_pid = c.pid(), .ports = {*pm}});
  ASSERT_TRUE(ep) << ep.error().message();
  ASSERT_EQ(ep->ports.size(), 1u);
  EXPECT_EQ(ep->ports[0].host_port, 8080);
  ASSERT_FALSE(ep->warnings.empty()); // route_localnet is 0 here
  EXPECT_NE(ep->warnings[0].find("route_localnet"), std::string::npos) << ep->warnings[0];
  auto server = tcp_server(c.pid(), 80);
  ASSERT_TRUE(server);

  // From another machine through prerouting DNAT: the container sees the
  // client's own address (no SNAT of inbound traffic).
  EXPECT_EQ(tcp_get("192.0.2.1", 8080, client.pid()), "hello 192.0.2.2\n");
  // From the host itself, to one of its addresses: output DNAT.
  EXPECT_EQ(tcp_get("192.0.2.1", 8080), "hello 192.0.2.1\n");
  // 127.0.0.1 needs route_localnet (the test's namespace, not the machine's).
  std::ofstream("/proc/sys/net/ipv4/conf/all/route_localnet") << "1\n";
  ASSERT_EQ(slurp("/proc/sys/net/ipv4/conf/all/route_localnet"), "1\n");
  EXPECT_EQ(tcp_get("127.0.0.1", 8080), "hello 10.89.0.1\n");
  // Outgoing: the container reaches the client masqueraded as the host.
  auto out_server = tcp_server(client.pid(), 7000);
  ASSERT_TRUE(out_server);
  EXPECT_EQ(tcp_get("192.0.2.2", 7000, c.pid()), "hello 192.0.2.1\n");

  std::string r = rules();
  EXPECT_EQ(count(r, "comment \"ctk:cccc00000000srv\""), 2u) << r;

  // The same host port again: refused, and nothing of the failed attach stays.
  Proc &c2 = container();
  ASSERT_TRUE(c2.ready());
  auto dup =
      bn->attach({.id = "dddd00000000dup", .name = "dup", .netns_pid = c2.pid(), .ports = {*pm}});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message().find("port 8080/tcp is already published by srv"),
            std::string::npos)
      << dup.error().message();
  // A host process listening on the port: refused too.
  auto host_listener = tcp_server(::getpid(), 9090);
  ASSERT_TRUE(host_listener);
  auto taken = bn->attach({.id = "dddd00000000dup",
                           .name = "dup",
                           .netns_pid = c2.pid(),
                           .ports = {*parse_port("9090:80")}});
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message().find("port 9090/tcp is already in use"), std::string::npos)
      << taken.error().message();
  EXPECT_NE(sh("ip link show ctkdddd00000000").status, 0);
  EXPECT_EQ(slurp(opt_.state_dir + "/ipam.json").find("dddd"), std::string::npos);
  // A random host port is a free one, and published.
  auto rnd = bn->attach({.id = "eeee00000000rnd",
                         .name = "rnd",
                         .netns_pid = c2.pid(),
                         .ports = {*parse_port("80")}});
  ASSERT_TRUE(rnd) << rnd.error().message();
  uint16_t hp = rnd->ports.at(0).host_port;
  EXPECT_NE(hp, 0);
  auto server2 = tcp_server(c2.pid(), 80);
  ASSERT_TRUE(server2);
  EXPECT_EQ(tcp_get("192.0.2.1", hp, client.pid()), "hello 192.0.2.2\n");
  // One container to another's published port through the host's address.
  EXPECT_EQ(tcp_get("192.0.2.1", 8080, c2.pid()), "hello 10.89.0.1\n");

  ASSERT_TRUE(bn->detach("cccc00000000srv"));
  EXPECT_EQ(count(rules(), "ctk:cccc00000000srv"), 0u);
  EXPECT_EQ(tcp_get("192.0.2.1", 8080, client.pid()), "");
  EXPECT_EQ(count(rules(), "ctk:eeee00000000rnd"), 2u) << "another container's rules survive";
  ASSERT_TRUE(bn->detach("eeee00000000rnd"));
  EXPECT_EQ(count(rules(), "ctk:eeee"), 0u);
  EXPECT_EQ(count(rules(), "ctk:network"), 6u) << "the network-wide rules stay";
}

TEST_F(NetBridge, ConcurrentAttachesGetDistinctAddresses) {
  constexpr int kN = 20;
  auto id_of = [](int i) { return fmt::format("{:02d}{}", i, std::string(62, 'f')); };
  std::vector<Proc *> ctrs;
  for (int i = 0; i < kN; ++i) {
    ctrs.push_back(&container());
    ASSERT_TRUE(ctrs.back()->ready());
  }
  // Each worker is a separate process, as concurrent `ctk run`s are; each
  // opens the network itself (the first ones race to create it).
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::vector<pid_t> workers;
  for (int i = 0; i < kN; ++i) {
    pid_t w = ::fork();
    if (w == 0) {
      ::close(p[0]);
      std::string line;
      auto bn = BridgeNetwork::open(opt_);
      if (!bn) {
        line = "ERR " + bn.error().message();
      } else {
        auto ep = bn->attach(
            {.id = id_of(i), .name = "c" + std::to_string(i), .netns_pid = ctrs[i]->pid()});
        line = ep ? ep->ip : "ERR " + ep.error().message();
      }
      line += "\n";
      (void)!::write(p[1], line.data(), line.size()); // < PIPE_BUF: atomic
      ::_exit(0);
    }
    workers.push_back(w);
  }
  ::close(p[1]);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0)
    all.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  for (pid_t w : workers)
    ::waitpid(w, nullptr, 0);
  std::set<std::string> ips;
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(line.rfind("ERR", 0), std::string::npos) << line;
    ips.insert(line);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kN)) << all;
  auto veths = sh("ip -o link show master ctk0");
  EXPECT_EQ(count(veths.out, "master ctk0"), static_cast<size_t>(kN)) << veths.out;
  EXPECT_EQ(count(sh("ip -o link show type bridge").out, "ctk0"), 1u);
  EXPECT_EQ(count(rules(), "masquerade"), 3u) << "network rules added more than once";

  auto bn = BridgeNetwork::open(opt_);
  ASSERT_TRUE(bn);
  // Kill two containers: their endpoints are reported as leftovers.
  ctrs[3]->kill_now();
  ctrs[7]->kill_now();
  // The kernel dismantles a dead namespace (and the veth pairs in it)
  // asynchronously: wait for the host ends to go.
  for (int i = 0; i < 100; ++i) {
    if (sh("ip link show ctk03ffffffffff").status != 0 &&
        sh("ip link show ctk07ffffffffff").status != 0)
      break;
    ::usleep(100 * 1000);
  }
  auto gone = bn->endpoints();
  ASSERT_TRUE(gone) << gone.error().message();
  EXPECT_EQ(std::set<std::string>(gone->begin(), gone->end()),
            (std::set<std::string>{id_of(3), id_of(7)}));
  for (int i = 0; i < kN; ++i)
    ASSERT_TRUE(bn->detach(id_of(i)));
  EXPECT_EQ(count(sh("ip -o link show master ctk0").out, "master ctk0"), 0u);
  EXPECT_NE(slurp(opt_.state_dir + "/ipam.json").find("\"allocated\": {}"), std::string::npos);

  // Two IDs with the same 12-character prefix would share a veth name: the
  // second is refused, and neither its attach nor its cleanup harms the first.
  std::string a = id_of(0), b = id_of(0);
  b.back() = 'e';
  ASSERT_TRUE(bn->attach({.id = a, .netns_pid = ctrs[0]->pid()}));
  auto clash = bn->attach({.id = b, .netns_pid = ctrs[1]->pid()});
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().message().find("is used by container " + a), std::string::npos)
      << clash.error().message();
  ASSERT_TRUE(bn->detach(b));
  EXPECT_EQ(sh("ip link show ctk00ffffffffff").status, 0) << "the first container lost its veth";
  ASSERT_TRUE(bn->detach(a));
  EXPECT_EQ(slurp(opt_.state_dir + "/endpoints.json"), "{}\n");
}

TEST_F(NetBridge, ForeignForwardDropIsDetected) {
  auto bn = BridgeNetwork::open(opt_);
  ASSERT_TRUE(bn) << bn.error().message();
  EXPECT_FALSE(bn->foreign_forward_drop()) << *bn->foreign_forward_drop();
  // ctk's own table never counts, whatever it holds; another table's drop does.
  ASSERT_EQ(
      nft_text("add table inet fw\n"
               "add chain inet fw FORWARD { type filter hook forward priority 0; policy drop; }\n"),
      "");
  auto drop = bn->foreign_forward_drop();
  ASSERT_TRUE(drop);
  EXPECT_NE(drop->find("nftables table inet fw chain FORWARD has policy drop"), std::string::npos)
      << *drop;
  ASSERT_EQ(nft_text("delete table inet fw\n"), "");
  EXPECT_FALSE(bn->foreign_forward_drop());
  // An accepting forward chain of another table is no problem.
  ASSERT_EQ(
      nft_text("add table ip other\n"
               "add chain ip other f { type filter hook forward priority 0; policy accept; }\n"),
      "");
  EXPECT_FALSE(bn->foreign_forward_drop());

  // Legacy iptables (x_tables, invisible to nftables), as docker on an
  // iptables-legacy host sets it.
  CTK_REQUIRE(::access("/usr/sbin/iptables-legacy", X_OK) == 0, "iptables-legacy is missing");
  auto pol = sh("iptables-legacy -P FORWARD DROP");
  ASSERT_EQ(pol.status, 0) << pol.out;
  drop = bn->foreign_forward_drop();
  ASSERT_TRUE(drop);
  EXPECT_NE(drop->find("legacy iptables table filter chain FORWARD has policy DROP"),
            std::string::npos)
      << *drop;
  ASSERT_EQ(sh("iptables-legacy -P FORWARD ACCEPT").status, 0);
  EXPECT_FALSE(bn->foreign_forward_drop());
}

// docker's iptables-nft setup (FORWARD policy DROP, FORWARD jumping to
// DOCKER-USER first), made in the test's namespace with iptables-nft as
// dockerd makes it: traffic of ctk's containers stops at the host, until
// ctk adds its rules to DOCKER-USER.
TEST_F(NetBridge, DockerUserRulesLetTrafficPastDockersDrop) {
  CTK_REQUIRE(::access("/usr/sbin/iptables-nft", X_OK) == 0, "iptables-nft is missing");
  auto bn = BridgeNetwork::open(opt_);
  ASSERT_TRUE(bn) << bn.error().message();
  auto none = bn->allow_in_docker_user();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found) << none.error().message();
  EXPECT_TRUE(bn->remove_from_docker_user());

  Proc &c = container();
  Proc &client = container();
  ASSERT_TRUE(c.ready() && client.ready());
  ASSERT_NO_FATAL_FAILURE(wire(client));
  auto ep = bn->attach({.id = "ffff0000000000000001",
                        .name = "c",
                        .netns_pid = c.pid(),
                        .ports = {*parse_port("8080:80")}});
  ASSERT_TRUE(ep) << ep.error().message();
  auto srv = tcp_server(c.pid(), 80);
  auto out_srv = tcp_server(client.pid(), 7000);
  ASSERT_TRUE(srv && out_srv);
  ASSERT_EQ(tcp_get("192.0.2.2", 7000, c.pid()), "hello 192.0.2.1\n");

  auto ipt = sh("iptables-nft -P FORWARD DROP && iptables-nft -N DOCKER-USER && "
                "iptables-nft -A DOCKER-USER -j RETURN && iptables-nft -I FORWARD -j DOCKER-USER");
  ASSERT_EQ(ipt.status, 0) << ipt.out;
  auto drop = bn->foreign_forward_drop();
  ASSERT_TRUE(drop);
  EXPECT_NE(drop->find("nftables table ip filter chain FORWARD has policy drop"), std::string::npos)
      << *drop;
  EXPECT_EQ(tcp_get("192.0.2.2", 7000, c.pid()), "") << "docker's drop did not apply";
  EXPECT_EQ(tcp_get("192.0.2.1", 8080, client.pid()), "");

  ASSERT_TRUE(bn->allow_in_docker_user());
  ASSERT_TRUE(bn->allow_in_docker_user()) << "a second call adds nothing";
  EXPECT_EQ(tcp_get("192.0.2.2", 7000, c.pid()), "hello 192.0.2.1\n");
  EXPECT_EQ(tcp_get("192.0.2.1", 8080, client.pid()), "hello 192.0.2.2\n");
  // docker's iptables still reads the chain, and sees ctk's rules in its terms.
  auto listed = sh("iptables-nft -S DOCKER-USER");
  ASSERT_EQ(listed.status, 0) << listed.out;
  EXPECT_EQ(count(listed.out, "-j ACCEPT"), 2u) << listed.out;
  EXPECT_NE(listed.out.find("-i ctk0"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("-o ctk0"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("ctk:docker-user"), std::string::npos) << listed.out;

  ASSERT_TRUE(bn->remove_from_docker_user());
  listed = sh("iptables-nft -S DOCKER-USER");
  EXPECT_EQ(count(listed.out, "ACCEPT"), 0u) << listed.out;
  EXPECT_NE(listed.out.find("-A DOCKER-USER -j RETURN"), std::string::npos)
      << "docker's own rule is gone:\n"
      << listed.out;
  EXPECT_EQ(tcp_get("192.0.2.2", 7000, c.pid()), "");
  ASSERT_TRUE(bn->detach("ffff0000000000000001"));
}

} // namespace
