// parse_port (docker's -p syntax), subnets and the address allocation file.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "ctk/runtime/netsetup.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::net;

TEST(NetParsePort, DockerForms) {
  auto p = parse_port("8080:80");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->host_ip, "");
  EXPECT_EQ(p->host_port, 8080);
  EXPECT_EQ(p->container_port, 80);
  EXPECT_EQ(p->proto, "tcp");

  p = parse_port("127.0.0.1:8080:80/udp");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->host_ip, "127.0.0.1");
  EXPECT_EQ(p->host_port, 8080);
  EXPECT_EQ(p->container_port, 80);
  EXPECT_EQ(p->proto, "udp");

  p = parse_port("80"); // host port left to ctk
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_port, 0);
  EXPECT_EQ(p->container_port, 80);

  p = parse_port("10.0.0.1::53/udp");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->host_ip, "10.0.0.1");
  EXPECT_EQ(p->host_port, 0);
  EXPECT_EQ(p->container_port, 53);

  p = parse_port("0.0.0.0:443:8443/tcp"); // all addresses, as docker
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_ip, "");
  EXPECT_EQ(p->host_port, 443);
}

TEST(NetParsePort, Rejects) {
  for (const char *bad : {"", ":", "8080:", "x:80", "8080:0", "70000:80", "80/sctp", "80/",
                          "1.2.3:8080:80", ":8080:80", "a:b:c:d", "-1:80", "8080:80/tcp/udp"}) {
    auto p = parse_port(bad);
    EXPECT_FALSE(p) << "'" << bad << "' was accepted";
    if (!p) {
      EXPECT_NE(p.error().message().find("port"), std::string::npos) << p.error().message();
    }
  }
  auto r = parse_port("8000-8010:80-90");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported);
  r = parse_port("[::1]:8080:80");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported);
}

TEST(NetSubnet, ParseAndArithmetic) {
  auto s = parse_subnet("10.89.0.0/16");
  ASSERT_TRUE(s);
  EXPECT_EQ(ip_to_string(s->network), "10.89.0.0");
  EXPECT_EQ(ip_to_string(s->gateway()), "10.89.0.1");
  EXPECT_EQ(ip_to_string(s->broadcast()), "10.89.255.255");
  EXPECT_TRUE(s->contains(*parse_ip("10.89.200.3")));
  EXPECT_FALSE(s->contains(*parse_ip("10.90.0.1")));
  for (const char *bad :
       {"10.89.0.1/16", "10.89.0.0", "10.89.0.0/31", "10.0.0.0/4", "x/16", "10.89.0.0/abc"})
    EXPECT_FALSE(parse_subnet(bad)) << bad;
}

class NetIpamFile : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctk-ipam-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ipam.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(NetIpamFile, AllocatesDistinctAddressesAndPersists) {
  auto subnet = *parse_subnet("10.89.0.0/16");
  std::set<std::string> seen;
  {
    auto f = IpamFile::load(path_, subnet);
    ASSERT_TRUE(f) << f.error().message();
    for (int i = 0; i < 50; ++i) {
      auto ip = f->allocate("c" + std::to_string(i));
      ASSERT_TRUE(ip);
      EXPECT_NE(*ip, subnet.network);
      EXPECT_NE(*ip, subnet.gateway()); // the bridge's own address
      EXPECT_TRUE(seen.insert(ip_to_string(*ip)).second) << ip_to_string(*ip) << " twice";
    }
    EXPECT_EQ(ip_to_string(*f->address_of("c0")), "10.89.0.2");
    // Asking again for the same container gives its address back.
    EXPECT_EQ(*f->allocate("c7"), *f->address_of("c7"));
    ASSERT_TRUE(f->save());
  }
  // A second process (another load) sees the same allocations.
  auto g = IpamFile::load(path_, subnet);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->size(), 50u);
  EXPECT_EQ(ip_to_string(*g->address_of("c49")), "10.89.0.51");
  auto fresh = g->allocate("new");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(seen.count(ip_to_string(*fresh)), 0u);
}

TEST_F(NetIpamFile, ReleasedAddressesAreReusedLastAndExhaustionIsAnError) {
  // /29: network .0, gateway .1, broadcast .7: five container addresses.
  auto subnet = *parse_subnet("192.168.5.0/29");
  auto f = IpamFile::load(path_, subnet);
  ASSERT_TRUE(f);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(f->allocate("c" + std::to_string(i)));
  auto full = f->allocate("c5");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::busy);
  EXPECT_NE(full.error().message().find("no free address"), std::string::npos);

  EXPECT_TRUE(f->release("c1")); // 192.168.5.3
  EXPECT_FALSE(f->release("c1"));
  EXPECT_FALSE(f->address_of("c1"));
  auto again = f->allocate("c5");
  ASSERT_TRUE(again);
  EXPECT_EQ(ip_to_string(*again), "192.168.5.3");

  // Round robin: with room everywhere, the next address follows the last
  // one handed out rather than the lowest free one.
  EXPECT_TRUE(f->release("c0")); // .2
  EXPECT_TRUE(f->release("c4")); // .6
  ASSERT_TRUE(f->save());
  auto g = IpamFile::load(path_, subnet);
  ASSERT_TRUE(g);
  EXPECT_EQ(ip_to_string(*g->allocate("x")), "192.168.5.6");
  EXPECT_EQ(ip_to_string(*g->allocate("y")), "192.168.5.2");
}

TEST_F(NetIpamFile, SubnetChangeAndBadFiles) {
  auto a = *parse_subnet("10.89.0.0/16"), b = *parse_subnet("10.99.0.0/24");
  {
    auto f = IpamFile::load(path_, a);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->allocate("c0"));
    ASSERT_TRUE(f->save());
  }
  auto other = IpamFile::load(path_, b);
  ASSERT_FALSE(other); // live addresses in the old subnet
  EXPECT_EQ(other.error().code, Errc::busy);
  {
    auto f = IpamFile::load(path_, a);
    ASSERT_TRUE(f);
    f->release("c0");
    ASSERT_TRUE(f->save());
  }
  auto taken_over = IpamFile::load(path_, b);
  ASSERT_TRUE(taken_over) << taken_over.error().message();
  EXPECT_EQ(ip_to_string(*taken_over->allocate("c1")), "10.99.0.2");

  std::ofstream(path_) << "{\"subnet\": \"10.89.0.0/16\", \"allocated\": {\"1.2.3.4\": \"x\"}}";
  auto outside = IpamFile::load(path_, a);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, Errc::parse);
  std::ofstream(path_) << "{not json";
  EXPECT_FALSE(IpamFile::load(path_, a));
}

} // namespace
