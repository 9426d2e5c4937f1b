// ctk's container networking: the default "bridge" network (a bridge ctk0,
// veth pairs, addresses), NAT and published ports as rules in ONE nftables
// table owned by ctk ("table ip ctk"), and name resolution between
// containers through their /etc/hosts files. Everything is done in the
// network namespace ctk runs in (tests run ctk inside a namespace of their
// own), through netlink (libnl-route) and libnftables.
//
//   net::BridgeNetwork bn = *net::BridgeNetwork::open({.state_dir = run_root + "/net"});
//   auto ep = bn.attach({.id = id, .name = "web", .netns_pid = child,
//                        .ports = {{.host_port = 8080, .container_port = 80}}});
//   // ep->ip "10.89.0.2", ep->gateway "10.89.0.1", ep->prefix 16, ep->mac, ep->host_veth
//   bn.detach(id);          // veth, address, rules, hosts entries; idempotent
//   if (auto drop = bn.foreign_forward_drop()) ...   // docker's FORWARD DROP: warn,
//   bn.allow_in_docker_user();                       // or, when asked, add ctk's rules
//
// State under state_dir: `lock` (flock around every change), `ipam.json`
// (IpamFile), `endpoints.json` (one record per attached container, written
// before anything is created, so a crashed attach can be detached).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "ctk/runtime/core.h"

namespace ctk::rt::net {

struct PortMap {
  std::string host_ip;    // "" = all addresses
  uint16_t host_port = 0; // 0 = pick a free one
  uint16_t container_port = 0;
  std::string proto = "tcp"; // "tcp" | "udp"
};
// "8080:80", "127.0.0.1:8080:80/udp", "80" (random host port), as docker -p.
Result<PortMap> parse_port(std::string_view text);

struct NetworkOptions {
  std::string state_dir; // IPAM and endpoint records, locked (run root /net)
  std::string bridge = "ctk0";
  std::string subnet = "10.89.0.0/16"; // not docker's 172.17/16 nor podman's 10.88/16
};

struct AttachRequest {
  std::string id;      // container ID
  std::string name;    // container name (resolvable by other containers)
  pid_t netns_pid = 0; // a process already in the container's new netns
  std::vector<PortMap> ports;
  std::string hosts_file; // the container's /etc/hosts on the host side (rewritten in
                          // place when containers come and go); may be empty
};

struct Endpoint {
  std::string ip, gateway, mac, host_veth;
  int prefix = 16;
  std::vector<PortMap> ports; // with host ports chosen
  // Things the user should know that did not stop the attach (a published
  // port that 127.0.0.1 cannot reach without route_localnet, ...).
  std::vector<std::string> warnings;
};

class BridgeNetwork {
public:
  // Creates the bridge, its address and ctk's nftables table when missing.
  static Result<BridgeNetwork> open(const NetworkOptions &opt);
  // veth pair (peer moved into the netns as eth0, lo up), an address from
  // the subnet (allocation safe across concurrent ctk processes), default
  // route, NAT and port rules, hosts entries of the other containers and of
  // this one in theirs. An error undoes what it did.
  Result<Endpoint> attach(const AttachRequest &req);
  // Undoes attach for `id`; missing pieces are not an error.
  Result<void> detach(const std::string &id);
  // detach() in two steps, for a container whose network namespace is dead
  // (its monitor, at exit): everything but the host veth now, returning its
  // name ("" if none) for delete_veth(). Deleting a link waits in the kernel
  // for RCU callbacks (rcu_barrier: 10-20 ms, more than the rest of a
  // container's teardown), so the monitor does it after the exit status is
  // out. The address is released at once: allocation is round-robin, so it
  // is not handed out again while the old veth lingers.
  Result<std::string> detach_keep_veth(const std::string &id);
  static Result<void> delete_veth(const std::string &name);
  // Another table's chain dropping forwarded traffic at a hook ctk needs
  // (docker's FORWARD policy DROP): a one-line description, or nullopt.
  // docker's drop no longer counts once ctk's rules are in DOCKER-USER; the
  // description names DOCKER-USER when docker's chain can take them.
  std::optional<std::string> foreign_forward_drop() const;
  // The explicit way past docker's drop: two rules of ctk's own at the top
  // of docker's DOCKER-USER chain (iptables-nft's table ip filter) accepting
  // traffic from and to the bridge, commented "ctk:docker-user", in the
  // iptables-nft dialect so docker's iptables still reads the chain.
  // Idempotent; not_found when there is no DOCKER-USER chain, unsupported
  // when docker uses legacy iptables.
  Result<void> allow_in_docker_user() const;
  // Removes exactly those rules; none is not an error. detach() calls it
  // when the bridge's last container goes.
  Result<void> remove_from_docker_user() const;
  // How many of those rules are there while no container is attached (a
  // ctk killed while detaching the last one): a leftover for system check.
  Result<int> docker_user_leftovers() const;
  // Leftovers: endpoints whose container is gone (ids), for system check/prune.
  Result<std::vector<std::string>> endpoints() const;
  const NetworkOptions &options() const { return opt_; }
  // What open() changed on the host that the user should know (it turned
  // net.ipv4.ip_forward on in this network namespace).
  const std::vector<std::string> &warnings() const { return warnings_; }

private:
  explicit BridgeNetwork(NetworkOptions o) : opt_(std::move(o)) {}
  NetworkOptions opt_;
  std::vector<std::string> warnings_;
};

// The nftables table ctk owns ("table ip ctk") and the comment its
// per-container rules carry ("ctk:<id>"), for `ctk net rules` and tests.
inline constexpr const char *kNftTable = "ctk";
std::string rule_comment(std::string_view id);

// ---- IPv4 address management, exposed for unit tests ----------------------

struct Subnet {
  uint32_t network = 0; // host byte order, host bits zero
  int prefix = 0;
  uint32_t gateway() const { return network + 1; }
  uint32_t broadcast() const;
  bool contains(uint32_t ip) const;
};
// "10.89.0.0/16"; host bits must be zero; prefix 8..30.
Result<Subnet> parse_subnet(std::string_view cidr);
std::string ip_to_string(uint32_t ip);
Result<uint32_t> parse_ip(std::string_view text);

// The allocations of one subnet, kept in a JSON file
// {"subnet": "10.89.0.0/16", "next": "10.89.0.3", "allocated": {"10.89.0.2": "<id>"}}.
// The caller serialises load..save with a lock (BridgeNetwork holds
// <state_dir>/lock). Addresses are handed out round-robin from `next`, so a
// released address is reused last and stale ARP entries age out first.
class IpamFile {
public:
  // A missing file is an empty allocation. A file of another subnet with
  // live allocations is an error; an empty one is taken over.
  static Result<IpamFile> load(const std::string &path, const Subnet &subnet);
  // The address of `id` (the same one again if it has one already).
  Result<uint32_t> allocate(const std::string &id);
  // Frees the address of `id`; false when it had none.
  bool release(const std::string &id);
  std::optional<uint32_t> address_of(const std::string &id) const;
  size_t size() const { return allocated_.size(); }
  Result<void> save() const;

private:
  IpamFile(std::string path, Subnet s) : path_(std::move(path)), subnet_(s) {}
  std::string path_;
  Subnet subnet_;
  uint32_t next_ = 0;
  std::vector<std::pair<uint32_t, std::string>> allocated_; // sorted by address
};

} // namespace ctk::rt::net
