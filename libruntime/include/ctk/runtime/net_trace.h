// Packet tracing between two endpoints: which namespaces a flow crosses,
// nftables tracing switched on for that flow only, a probe that sends its
// packets, and a FIB explanation where no packet can exist.
//
//   namespace nt = ctk::rt::nettrace;
//   auto known = nt::list_namespaces(resolver);                  // every namespace, opened
//   auto owner = nt::owner_of_address("10.77.0.3", *known);      // or netns_of(a netinspect endpoint)
//   nt::Flow flow{.src = a.address, .dst = b.address, .proto = IPPROTO_TCP, .dport = 80};
//   auto probe = nt::Probe::open(*a.netns, flow);                // bound: flow.sport known
//   flow.sport = probe->sport();
//   auto path = nt::path_namespaces(a, b, flow, *known);         // A's, B's and those between
//   auto tables = nt::TraceTables::install(*path, flow, "/run/ctk/net-trace");
//   auto reader = nt::NftraceReader::open(ns);                   // one per namespace
//   probe->send();  ...  poll(reader->fd()) ... reader->read(events);
//
// IPv4 and IPv6 (one family per flow). Nothing here prints; the tables are
// removed by their owner's destructor. A killed ctk cannot remove its own:
// install() records where it put them (<run_root>/net-trace/PID.json), and
// remove_stale_records() in the next run clears them wherever they are.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/net_inspect.h"

namespace ctk::rt::nettrace {

// A network namespace held open by descriptor, with the name a user knows
// it by: a container's name, a /run/netns name, "host", or "netns:[inode]".
struct Netns {
  std::string label;
  std::shared_ptr<UniqueFd> fd;
  uint64_t inode = 0;
  std::string path; // what it was opened from (/proc/PID/ns/net, /run/netns/NAME)
};

// The namespaces netinspect knows (the host's, every running container's,
// /run/netns/*), each opened once; /run/netns names without "netns ".
Result<std::vector<Netns>> list_namespaces(discovery::Resolver &r, const HostPaths &paths = {});
// The namespace of an endpoint netinspect resolved, labelled as `known` has it.
Result<Netns> netns_of(const netinspect::Endpoint &e, const std::vector<Netns> &known);

// The addresses of `family` (AF_INET, AF_INET6) configured in a namespace,
// global scope first.
Result<std::vector<std::string>> ip_addresses(const Netns &ns, int family);
// The namespace among `candidates`, in their order, that has `address`
// (IPv4 or IPv6).
Result<std::optional<Netns>> owner_of_address(const std::string &address,
                                              const std::vector<Netns> &candidates);

// One end of a trace: an address, and the namespace it lives in when one
// of ours has it (an address outside, such as 10.79.0.5, has none).
struct Endpoint {
  std::string label;
  std::string address;
  std::optional<uint16_t> port; // from "ADDR:PORT"
  std::optional<Netns> netns;
};

// ---- addresses and families ----------------------------------------------------
// AF_INET or AF_INET6 for an address's text, 0 when it is neither.
int address_family(std::string_view text);
// An address a trace can use as an endpoint: not loopback, not IPv6
// link-local (which names a link, not a host), not unspecified/multicast.
bool usable_address(std::string_view text);

// "10.77.0.3", "10.77.0.1:8080", "fd00:77::3", "[fd00:77::3]" or
// "[fd00:77::3]:8080". nullopt when `text` is no address (a container or
// a PID); invalid_argument for an address with a bad port or brackets.
struct AddressText {
  std::string address;
  std::optional<uint16_t> port;
  int family = 0;
};
Result<std::optional<AddressText>> parse_address(std::string_view text);

// What the flow's family is chosen from: per end, the family of an address
// given as such (0 for a container or a PID) and which families the end
// has usable addresses of.
struct EndFamilies {
  std::string role; // "--from"
  std::string text; // what the user typed
  int given = 0;
  bool v4 = false, v6 = false;
};
// A given address decides (both given: they must agree); else IPv4 when
// both ends have one, else IPv6 when both do. `want_v6` (-6) forces IPv6.
// invalid_argument naming the end that lacks the family.
Result<int> choose_family(const EndFamilies &a, const EndFamilies &b, bool want_v6);

struct Flow {
  int family = AF_INET; // of src and dst
  std::string src;
  std::string dst;
  uint8_t proto = IPPROTO_TCP; // IPPROTO_ICMPV6 for an IPv6 "icmp" flow
  std::optional<uint16_t> dport;
  std::optional<uint16_t> sport; // the probe's source port (ICMP: echo id)
};
// "tcp", "udp", "icmp" to IPPROTO_*; invalid_argument otherwise.
Result<uint8_t> parse_proto(std::string_view text);
// "tcp", "udp", "icmp", "icmpv6".
const char *proto_name(uint8_t proto);
// ICMP or ICMPv6.
bool is_icmp(uint8_t proto);
// An ICMP(v6) error a router or host sends about a packet: destination
// unreachable, time exceeded (ICMPv6: also packet too big).
bool is_icmp_error(uint8_t proto, uint8_t type);
// Echo request / reply types of `proto`'s ICMP.
uint8_t icmp_echo_request(uint8_t proto);
uint8_t icmp_echo_reply(uint8_t proto);

// The peer namespaces of every veth of `candidates` (netinspect resolves
// IFLA_LINK_NETNSID by RTM_GETNSID), by the inode of the veth's namespace.
struct Peer {
  std::string device; // the veth in its namespace
  std::string peer_device;
  Netns netns; // where the peer is
};
Result<std::map<uint64_t, std::vector<Peer>>> veth_peers(const std::vector<Netns> &candidates);

// The namespaces a flow from `a` to `b` can cross: A's, B's, the peers of
// their veths (bridges, the host side), and the namespaces that own the
// gateways the FIB names on the way (a router behind a bridge). Each once.
Result<std::vector<Netns>> path_namespaces(const Endpoint &a, const Endpoint &b, const Flow &flow,
                                           const std::vector<Netns> &candidates);

// ---- FIB -------------------------------------------------------------------
// One RTM_GETROUTE answer. `error` is the kernel's errno when the lookup
// failed (ENETUNREACH for no route, EHOSTUNREACH, EACCES for prohibit, EXDEV
// for a reverse-path failure with `iif`).
struct FibResult {
  int error = 0;
  std::string type; // "unicast", "local", "unreachable", "blackhole", "prohibit"
  std::string device;
  std::string gateway;
  std::string prefsrc;
  std::string describe() const; // "via 10.77.0.254 dev eth0" / "no route (Network is unreachable)"
};
// Looks `dst` (IPv4 or IPv6; `src` of the same family) up in `ns`, as a
// locally sent packet (from `src` when given), or as a packet arriving on
// `iif` (forwarding and, for IPv4, rp_filter apply).
Result<FibResult> fib_lookup(const Netns &ns, const std::string &dst,
                             const std::optional<std::string> &src = std::nullopt,
                             const std::optional<std::string> &iif = std::nullopt);


// ---- nftables tracing --------------------------------------------------------
// ctk's temporary tables "ctk_trace_<pid>" (inet, and bridge where the
// namespace has bridges) whose only rules set `meta nftrace set 1` for the
// flow, at the first hooks. They never change a verdict. Removed when the
// object dies (safe to run twice).
class TraceTables {
public:
  // With `record_dir` (e.g. /run/ctk/net-trace), first writes there which
  // namespaces will get a table, and deletes that record once every table
  // is removed again.
  static Result<TraceTables> install(const std::vector<Netns> &namespaces, const Flow &flow,
                                     const std::string &record_dir = {});
  TraceTables(TraceTables &&) noexcept = default; // the moved-from object owns nothing
  TraceTables &operator=(TraceTables &&) noexcept;
  ~TraceTables();
  Result<void> remove();
  const std::string &name() const { return name_; }
  // Tables of killed ctks that install() found in these namespaces and deleted.
  int stale_removed() const { return stale_removed_; }
  // The nft text of the tracing rules (for tests and --verbose).
  static std::string ruleset(const Flow &flow, const std::string &name, bool bridge);

private:
  TraceTables() = default;
  std::string name_;
  std::string record_; // the record's path, if install() wrote one
  int stale_removed_ = 0;
  std::vector<std::pair<Netns, bool /*bridge table*/>> installed_;
};
// For every record in `record_dir` whose ctk process is gone (or its PID
// reused): that ctk's tables deleted in each recorded namespace that still
// exists (one that is gone took its tables along), then the record.
// Returns how many tables were removed.
Result<int> remove_stale_records(const std::string &record_dir);

// One NFT_MSG_TRACE event.
struct NftEvent {
  std::string ns_label;
  uint32_t id = 0;
  std::string type;   // "rule", "return", "policy"
  std::string family; // "ip", "inet", "bridge", ...
  std::string table;
  std::string chain;
  uint64_t handle = 0;
  std::string verdict; // "accept", "drop", "continue", "jump X", "return", ...
  std::string iif, oif;
  // The packet as the hook saw it (before/after NAT shows here).
  std::string saddr, daddr;
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0; // ICMP: id in sport, type in dport
  uint8_t icmp_type = 0;
  // Filled by the caller (netrules::find_rule): the rule's comment and text.
  std::string comment;
  std::string rule_text;
};

// Reads trace events of one namespace over nfnetlink (NFNLGRP_NFTRACE), from
// a socket opened inside it. Non-blocking; poll fd().
class NftraceReader {
public:
  static Result<NftraceReader> open(const Netns &ns);
  int fd() const { return fd_.get(); }
  // Appends what is queued; counts overruns (ENOBUFS) in lost().
  Result<void> read(std::vector<NftEvent> &out);
  uint64_t lost() const { return lost_; }
  const Netns &netns() const { return ns_; }

private:
  NftraceReader(Netns ns, UniqueFd fd) : ns_(std::move(ns)), fd_(std::move(fd)) {}
  Netns ns_;
  UniqueFd fd_;
  uint64_t lost_ = 0;
  std::vector<char> buf_;
};

// ---- probe -------------------------------------------------------------------
// Sends the flow's packets from inside a namespace: a TCP SYN (non-blocking
// connect), a UDP datagram or an ICMP/ICMPv6 echo request (raw socket). The socket
// is bound at open(), so the source port (ICMP: echo id) is known before the
// tracing rules are written.
class Probe {
public:
  static Result<Probe> open(const Netns &ns, const Flow &flow);
  uint16_t sport() const { return sport_; }
  int fd() const { return fd_.get(); }
  // Sends one packet. An error here (ENETUNREACH: no route at the sender)
  // means no packet left. TCP: each call after the first resets the last
  // connection and sends a new SYN from the same port, on a new fd().
  Result<void> send();
  // After fd() polls ready: did the far end answer (SYN-ACK or RST, a UDP
  // reply or port-unreachable, an echo reply)? "connected", "refused",
  // "reply", or an error text ("No route to host"); nullopt if not yet.
  std::optional<std::string> answer();

private:
  Probe() = default;
  Flow flow_;
  Netns ns_; // where fd_ is (a TCP probe opens a new socket for each SYN)
  UniqueFd fd_;
  uint16_t sport_ = 0;
  uint16_t seq_ = 0;
  bool connected_once_ = false;
};

} // namespace ctk::rt::nettrace
