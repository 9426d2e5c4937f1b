// The bridge network: open, attach, detach. State lives in <state_dir>:
//   lock            flock serialising every change of the network
//   ipam.json       address allocations (IpamFile)
//   endpoints.json  one record per attached container: what detach undoes
// A record is written before anything is created for it, so a ctk killed
// mid-attach leaves a record that detach (or system prune) can undo.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "internal.h"

namespace ctk::rt::net {

using nlohmann::json;

namespace {

// IDs and names end up in interface names, nft comments and hosts files.
bool valid_token(std::string_view s) {
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// IFNAMSIZ leaves 15 characters: "ctk" and 12 of the ID (docker's short
// ID) for real container IDs, 12 hex digits of a hash for other names.
std::string host_veth_name(const std::string &id) {
  if (id.size() >= 12 && is_hex(id))
    return "ctk" + id.substr(0, 12);
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : id)
    h = (h ^ c) * 1099511628211ull;
  return fmt::format("ctk{:012x}", h & 0xffffffffffffull);
}

// Derived from the address, as docker does (02:42:<ip>): a container that
// reuses an address keeps neighbours' ARP entries right.
std::string mac_for(uint32_t ip) {
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", ip >> 24, (ip >> 16) & 0xff,
                     (ip >> 8) & 0xff, ip & 0xff);
}

std::string path_in(const NetworkOptions &o, const char *file) {
  return o.state_dir + "/" + file;
}

Result<json> load_endpoints(const NetworkOptions &o) {
  auto text = read_file(path_in(o, "endpoints.json"));
  if (!text)
    return text.error().code == Errc::not_found ? Result<json>(json::object())
                                                : wrap(text, "cannot read network endpoints");
  try {
    return json::parse(*text);
  } catch (const json::exception &e) {
    return fail(Errc::parse,
                fmt::format("cannot read {}: {}", path_in(o, "endpoints.json"), e.what()));
  }
}

Result<void> save_endpoints(const NetworkOptions &o, const json &eps) {
  if (auto r = detail::write_state(path_in(o, "endpoints.json"), eps.dump(2) + "\n"); !r)
    return wrap(r, "cannot save network endpoints");
  return {};
}

json port_json(const PortMap &p) {
  return {{"host_ip", p.host_ip},
          {"host_port", p.host_port},
          {"container_port", p.container_port},
          {"proto", p.proto}};
}

// Binding with SO_REUSEADDR fails only when something listens (or, for
// udp, is bound): TIME_WAIT leftovers do not count, as for a real server.
Result<uint16_t> probe_port(const PortMap &p) {
  int type = p.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s)
    return fail_errno("cannot create a socket to check the port");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(p.host_port);
  if (!p.host_ip.empty()) {
    auto ip = parse_ip(p.host_ip);
    if (!ip)
      return tl::unexpected(ip.error());
    sa.sin_addr.s_addr = htonl(*ip);
  }
  if (::bind(s.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    int err = errno;
    if (err == EADDRINUSE)
      return fail(Errc::busy,
                  fmt::format("port {}/{} is already in use on the host", p.host_port, p.proto),
                  err);
    if (err == EADDRNOTAVAIL)
      return fail(Errc::invalid_argument,
                  fmt::format("cannot publish port {}: {} is not an address of the host",
                              p.host_port, p.host_ip),
                  err);
    return fail_errno(fmt::format("cannot check port {}/{}", p.host_port, p.proto), err);
  }
  if (p.host_port != 0)
    return p.host_port;
  socklen_t len = sizeof sa;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr *>(&sa), &len) != 0)
    return fail_errno("cannot read the chosen port");
  return ntohs(sa.sin_port);
}

bool ports_overlap(const PortMap &a, const json &b) {
  return a.host_port == b.value("host_port", 0) && a.proto == b.value("proto", "") &&
         (a.host_ip.empty() || b.value("host_ip", "").empty() ||
          a.host_ip == b.value("host_ip", ""));
}

// Host ports chosen and checked against the host and ctk's other containers.
Result<std::vector<PortMap>> resolve_ports(const std::vector<PortMap> &req, const json &eps) {
  std::vector<PortMap> out;
  for (PortMap p : req) {
    if (p.proto != "tcp" && p.proto != "udp")
      return fail(Errc::invalid_argument, fmt::format("cannot publish port {}: protocol {} is "
                                                      "not tcp or udp",
                                                      p.container_port, p.proto));
    for (int attempt = 0;; ++attempt) {
      auto port = probe_port(p);
      if (!port)
        return tl::unexpected(port.error());
      PortMap chosen = p;
      chosen.host_port = *port;
      std::string owner;
      for (auto it = eps.begin(); it != eps.end() && owner.empty(); ++it)
        for (const auto &q : it.value().value("ports", json::array()))
          if (ports_overlap(chosen, q))
            owner = it.value().value("name", it.key());
      for (const auto &q : out)
        if (ports_overlap(chosen, port_json(q)))
          owner = "this container";
      if (owner.empty()) {
        out.push_back(chosen);
        break;
      }
      // A port picked by the kernel may be one ctk publishes by DNAT only
      // (nothing listens on it): pick again.
      if (p.host_port != 0 || attempt > 20)
        return fail(Errc::busy, fmt::format("port {}/{} is already published by {}",
                                            chosen.host_port, chosen.proto, owner));
    }
  }
  return out;
}

// Rewrites a hosts file in place: it is bind-mounted into a container, and
// a rename would leave the container with the old inode.
Result<void> rewrite_in_place(const std::string &path, const std::string &text) {
  auto fd = open_fd(path, O_WRONLY | O_TRUNC);
  if (!fd)
    return wrap(fd, fmt::format("cannot rewrite hosts file {}", path));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd->get(), text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno(fmt::format("cannot write hosts file {}", path));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

std::string hosts_line(const json &ep) {
  return fmt::format("{}\t{}", ep.value("ip", ""), ep.value("name", ""));
}

// `drop` lines are removed, `add` lines appended unless present.
Result<void> edit_hosts(const std::string &path, const std::vector<std::string> &drop,
                        const std::vector<std::string> &add) {
  if (path.empty())
    return {};
  auto text = read_file(path);
  if (!text)
    return wrap(text, fmt::format("cannot read hosts file {}", path));
  std::string out;
  std::vector<std::string> present;
  for (auto line : split_lines(*text)) {
    std::string l(line);
    if (std::find(drop.begin(), drop.end(), l) != drop.end())
      continue;
    present.push_back(l);
    out += l + "\n";
  }
  for (const auto &l : add)
    if (std::find(present.begin(), present.end(), l) == present.end())
      out += l + "\n";
  if (out == *text)
    return {};
  return rewrite_in_place(path, out);
}

Result<std::string> read_sysctl(const std::string &name) {
  auto v = read_file("/proc/sys/" + name);
  if (!v)
    return tl::unexpected(v.error());
  return std::string(trim(*v));
}

// Undoes what attach did for `id`; the caller holds the lock. Every step is
// attempted; the first error is reported. With `keep_veth` the host veth is
// left for the caller to delete (its name in *kept).
Result<void> detach_locked(const NetworkOptions &opt, const std::string &id, json &eps,
                           bool keep_veth = false, std::string *kept = nullptr) {
  Result<void> first;
  auto note = [&](const Result<void> &r) {
    if (!r && first)
      first = r;
  };
  auto it = eps.find(id);
  std::string veth = host_veth_name(id);
  json me = it != eps.end() ? *it : json::object();
  if (it != eps.end()) {
    // "": the name belonged to someone else when attach failed; not ours.
    veth = me.value("host_veth", veth);
  } else {
    // No record (a retried or foreign cleanup): the derived name is ours
    // only if no recorded container uses it.
    for (auto o = eps.begin(); o != eps.end(); ++o)
      if (o.value().value("host_veth", "") == veth)
        veth.clear();
  }

  if (keep_veth) {
    if (kept)
      *kept = veth;
  } else if (auto sk = detail::route_socket(); !sk) {
    note(tl::unexpected(sk.error()));
  } else if (!veth.empty()) {
    if (auto r = detail::delete_link(sk->get(), veth); !r)
      note(tl::unexpected(r.error()));
  }
  // Rules exist only for published ports; without a record (a cleanup
  // after a crash) the table is searched anyway.
  if (it == eps.end() || !me.value("ports", json::array()).empty())
    if (auto r = detail::nft_delete_rules(id); !r)
      note(tl::unexpected(r.error()));

  if (it != eps.end()) {
    // Others forget this container's name.
    if (!me.value("name", "").empty()) {
      std::string line = hosts_line(me);
      for (auto o = eps.begin(); o != eps.end(); ++o) {
        if (o.key() == id)
          continue;
        auto r = edit_hosts(o.value().value("hosts_file", ""), {line}, {});
        // A container removed meanwhile takes its hosts file along.
        if (!r && r.error().code != Errc::not_found)
          note(r);
      }
    }
    eps.erase(id);
    note(save_endpoints(opt, eps));
    // ctk's rules in docker's DOCKER-USER serve the bridge's containers:
    // they go with the last one.
    if (eps.empty())
      if (auto n = detail::docker_user_remove(); !n)
        note(tl::unexpected(n.error()));
  }

  auto subnet = parse_subnet(opt.subnet);
  if (subnet) {
    auto ipam = IpamFile::load(path_in(opt, "ipam.json"), *subnet);
    if (ipam) {
      if (ipam->release(id))
        note(ipam->save());
    } else {
      note(tl::unexpected(ipam.error()));
    }
  }
  if (!first)
    return wrap(first, fmt::format("cannot detach container {} from {}", id, opt.bridge));
  return {};
}

} // namespace

Result<BridgeNetwork> BridgeNetwork::open(const NetworkOptions &opt) {
  if (opt.state_dir.empty())
    return fail(Errc::invalid_argument, "network state directory is not set");
  if (!valid_token(opt.bridge) || opt.bridge.size() > 15)
    return fail(Errc::invalid_argument, fmt::format("invalid bridge name '{}'", opt.bridge));
  auto subnet = parse_subnet(opt.subnet);
  if (!subnet)
    return tl::unexpected(subnet.error());
  if (auto r = make_dirs(opt.state_dir, 0700); !r)
    return wrap(r, "cannot create network state directory");
  auto lock = FileLock::acquire(path_in(opt, "lock"), LockMode::exclusive);
  if (!lock)
    return wrap(lock, "cannot lock the network state");

  BridgeNetwork bn(opt);
  auto sk = detail::route_socket();
  if (!sk)
    return tl::unexpected(sk.error());
  auto br =
      detail::ensure_bridge(sk->get(), opt.bridge, ip_to_string(subnet->gateway()), subnet->prefix);
  if (!br)
    return tl::unexpected(br.error());
  if (auto r = detail::nft_ensure_table(opt.bridge, opt.subnet); !r)
    return tl::unexpected(r.error());
  // Without forwarding nothing leaves the bridge. /proc/sys/net is the
  // namespace of the calling thread: the one the bridge lives in.
  if (auto fwd = read_sysctl("net/ipv4/ip_forward"); fwd && *fwd == "0") {
    auto fd = open_fd("/proc/sys/net/ipv4/ip_forward", O_WRONLY);
    if (!fd || ::write(fd->get(), "1\n", 2) != 2)
      return fail(Errc::permission_denied,
                  "cannot enable net.ipv4.ip_forward: containers on the bridge could not reach "
                  "beyond it");
    bn.warnings_.push_back("net.ipv4.ip_forward was 0 in this network namespace: ctk set it to 1");
  }
  return bn;
}

Result<Endpoint> BridgeNetwork::attach(const AttachRequest &req) {
  if (!valid_token(req.id))
    return fail(Errc::invalid_argument, fmt::format("invalid container ID '{}'", req.id));
  if (!req.name.empty() && !valid_token(req.name))
    return fail(Errc::invalid_argument, fmt::format("invalid container name '{}'", req.name));
  if (req.netns_pid <= 0)
    return fail(Errc::invalid_argument, "no process in the container's network namespace");
  const std::string what = fmt::format("cannot attach container {} to {}",
                                       req.name.empty() ? req.id : req.name, opt_.bridge);
  auto subnet = parse_subnet(opt_.subnet);
  if (!subnet)
    return tl::unexpected(subnet.error());
  auto netns = open_fd(fmt::format("/proc/{}/ns/net", req.netns_pid), O_RDONLY);
  if (!netns)
    return wrap(netns, what);

  auto lock = FileLock::acquire(path_in(opt_, "lock"), LockMode::exclusive);
  if (!lock)
    return wrap(lock, "cannot lock the network state");
  auto eps = load_endpoints(opt_);
  if (!eps)
    return wrap(eps, what);
  if (eps->contains(req.id))
    return fail(Errc::exists, fmt::format("{}: it is attached already", what));
  for (auto it = eps->begin(); it != eps->end(); ++it)
    if (it.value().value("host_veth", "") == host_veth_name(req.id))
      return fail(Errc::exists, fmt::format("{}: its veth name {} is used by container {}", what,
                                            host_veth_name(req.id), it.key()));
  auto ports = resolve_ports(req.ports, *eps);
  if (!ports)
    return wrap(ports, what);
  auto ipam = IpamFile::load(path_in(opt_, "ipam.json"), *subnet);
  if (!ipam)
    return wrap(ipam, what);
  auto ip = ipam->allocate(req.id);
  if (!ip)
    return wrap(ip, what);

  Endpoint ep;
  ep.ip = ip_to_string(*ip);
  ep.gateway = ip_to_string(subnet->gateway());
  ep.prefix = subnet->prefix;
  ep.mac = mac_for(*ip);
  ep.host_veth = host_veth_name(req.id);
  ep.ports = *ports;
  json rec = {{"name", req.name},
              {"ip", ep.ip},
              {"mac", ep.mac},
              {"host_veth", ep.host_veth},
              {"hosts_file", req.hosts_file},
              {"netns_pid", req.netns_pid},
              {"ports", json::array()}};
  for (const auto &p : ep.ports)
    rec["ports"].push_back(port_json(p));

  // Record first: from here on a crash leaves something detach can undo.
  if (auto r = ipam->save(); !r)
    return wrap(r, what);
  (*eps)[req.id] = rec;
  auto undo = [&](Error e) -> Result<Endpoint> {
    (void)detach_locked(opt_, req.id, *eps);
    return tl::unexpected(std::move(e.wrap(what)));
  };
  if (auto r = save_endpoints(opt_, *eps); !r)
    return undo(r.error());

  auto sk = detail::route_socket();
  if (!sk)
    return undo(sk.error());
  auto br = detail::link_index(sk->get(), opt_.bridge);
  if (!br)
    return undo(br.error());
  if (*br == 0)
    return undo(Error(Errc::not_found, fmt::format("bridge {} is gone", opt_.bridge)));
  if (auto r = detail::create_veth(sk->get(), ep.host_veth, *br, netns->get(), ep.mac); !r) {
    if (r.error().code == Errc::exists) // a link ctk does not know of: leave it alone
      (*eps)[req.id]["host_veth"] = "";
    return undo(r.error());
  }
  if (auto r = detail::configure_inside(netns->get(), ep.ip, ep.prefix, ep.gateway); !r)
    return undo(r.error());
  if (auto r = detail::nft_add_ports(req.id, ep.ip, ep.ports); !r)
    return undo(r.error());

  // Names: this container learns everyone's (and its own), everyone learns
  // this one's, so the order containers start in does not matter.
  std::vector<std::string> mine;
  for (auto it = eps->begin(); it != eps->end(); ++it)
    if (!it.value().value("name", "").empty())
      mine.push_back(hosts_line(it.value()));
  if (auto r = edit_hosts(req.hosts_file, {}, mine); !r)
    return undo(r.error());
  if (!req.name.empty())
    for (auto it = eps->begin(); it != eps->end(); ++it) {
      if (it.key() == req.id)
        continue;
      auto r = edit_hosts(it.value().value("hosts_file", ""), {}, {hosts_line(rec)});
      if (!r && r.error().code != Errc::not_found)
        ep.warnings.push_back(r.error().message());
    }

  bool local_ports = std::any_of(ep.ports.begin(), ep.ports.end(), [](const PortMap &p) {
    return p.host_ip.empty() || p.host_ip.rfind("127.", 0) == 0;
  });
  if (local_ports) {
    auto all = read_sysctl("net/ipv4/conf/all/route_localnet");
    auto br_conf = read_sysctl(fmt::format("net/ipv4/conf/{}/route_localnet", opt_.bridge));
    if ((!all || *all == "0") && (!br_conf || *br_conf == "0"))
      ep.warnings.push_back(fmt::format(
          "published ports answer on 127.0.0.1 only with net.ipv4.conf.{}.route_localnet=1",
          opt_.bridge));
  }
  return ep;
}

Result<void> BridgeNetwork::detach(const std::string &id) {
  // The veth after the lock is released: its name is the container's alone,
  // and its deletion is slow (see detach_keep_veth).
  auto veth = detach_keep_veth(id);
  if (!veth)
    return tl::unexpected(veth.error());
  return delete_veth(*veth);
}

Result<std::string> BridgeNetwork::detach_keep_veth(const std::string &id) {
  if (!valid_token(id))
    return fail(Errc::invalid_argument, fmt::format("invalid container ID '{}'", id));
  auto lock = FileLock::acquire(path_in(opt_, "lock"), LockMode::exclusive);
  if (!lock)
    return wrap(lock, "cannot lock the network state");
  auto eps = load_endpoints(opt_);
  if (!eps)
    return tl::unexpected(eps.error());
  std::string veth;
  if (auto r = detach_locked(opt_, id, *eps, true, &veth); !r)
    return tl::unexpected(r.error());
  return veth;
}

Result<void> BridgeNetwork::delete_veth(const std::string &name) {
  if (name.empty())
    return {};
  auto sk = detail::route_socket();
  if (!sk)
    return tl::unexpected(sk.error());
  if (auto r = detail::delete_link(sk->get(), name); !r)
    return tl::unexpected(r.error());
  return {};
}

std::optional<std::string> BridgeNetwork::foreign_forward_drop() const {
  auto drops = detail::foreign_forward_drops();
  if (drops.empty())
    return std::nullopt;
  std::string text = drops.front();
  for (size_t i = 1; i < drops.size(); ++i)
    text += "; " + drops[i];
  // With br_netfilter, bridged IPv4 passes the forward hooks too.
  auto brnf = read_sysctl("net/bridge/bridge-nf-call-iptables");
  return text + ": traffic of containers on " + opt_.bridge +
         (brnf && *brnf == "1" ? " (between them too: net.bridge.bridge-nf-call-iptables is 1)"
                               : " beyond the host") +
         " is dropped whatever ctk's table accepts";
}

Result<void> BridgeNetwork::allow_in_docker_user() const {
  return detail::docker_user_allow(opt_.bridge);
}

Result<void> BridgeNetwork::remove_from_docker_user() const {
  auto n = detail::docker_user_remove();
  if (!n)
    return tl::unexpected(n.error());
  return {};
}

Result<int> BridgeNetwork::docker_user_leftovers() const {
  auto lock = FileLock::acquire(path_in(opt_, "lock"), LockMode::shared);
  if (!lock)
    return wrap(lock, "cannot lock the network state");
  auto eps = load_endpoints(opt_);
  if (!eps)
    return tl::unexpected(eps.error());
  if (!eps->empty())
    return 0; // they serve the containers still attached
  return detail::docker_user_count();
}

Result<std::vector<std::string>> BridgeNetwork::endpoints() const {
  auto lock = FileLock::acquire(path_in(opt_, "lock"), LockMode::shared);
  if (!lock)
    return wrap(lock, "cannot lock the network state");
  auto eps = load_endpoints(opt_);
  if (!eps)
    return tl::unexpected(eps.error());
  auto sk = detail::route_socket();
  if (!sk)
    return tl::unexpected(sk.error());
  // The host end of a veth disappears with the container's namespace: a
  // record without it belongs to a container that is gone.
  std::vector<std::string> gone;
  for (auto it = eps->begin(); it != eps->end(); ++it) {
    auto idx =
        detail::link_index(sk->get(), it.value().value("host_veth", host_veth_name(it.key())));
    if (!idx)
      return tl::unexpected(idx.error());
    if (*idx == 0)
      gone.push_back(it.key());
  }
  return gone;
}

} // namespace ctk::rt::net
