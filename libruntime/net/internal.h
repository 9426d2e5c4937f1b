// Internal pieces of the net module: netlink (libnl-route) and nftables
// (libnftables) helpers used by bridge.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/netsetup.h"

struct nl_sock;

namespace ctk::rt::net::detail {

struct NlSockFree {
  void operator()(nl_sock *s) const;
};
using NlSock = std::unique_ptr<nl_sock, NlSockFree>;

// A libnl error (negative NLE_* code, not errno) as an Error: "what: cause".
tl::unexpected<Error> nl_fail(std::string what, int err);

// A NETLINK_ROUTE socket in the calling thread's network namespace.
Result<NlSock> route_socket();
// Interface index of `name`, 0 when there is none.
Result<int> link_index(nl_sock *sk, const std::string &name);
// Creates the bridge when missing, gives it `gateway/prefix` and sets it up.
Result<int> ensure_bridge(nl_sock *sk, const std::string &name, const std::string &gateway,
                          int prefix);
// A veth pair: `host_name` enslaved to the bridge and up, its peer created
// directly in the namespace of `netns_fd` as eth0 with `mac`.
Result<void> create_veth(nl_sock *sk, const std::string &host_name, int bridge_index, int netns_fd,
                         const std::string &mac);
// Deletes a link; false when it was already gone.
Result<bool> delete_link(nl_sock *sk, const std::string &name);
// Inside the namespace of `netns_fd` (on a dedicated thread): lo and eth0 up,
// eth0 gets ip/prefix, default route via gateway.
Result<void> configure_inside(int netns_fd, const std::string &ip, int prefix,
                              const std::string &gateway);

// Writes a state file by temporary file and rename, without fsync: the
// network state lives under the run root, which does not outlive a reboot
// (and neither do the veths and rules it describes), and two fsyncs per
// attach would cost more than the whole netlink setup. Readers still see
// the old or the new content, never a mix.
Result<void> write_state(const std::string &path, std::string_view data);

// libnftables: run commands (one transaction per call) and list as JSON.
Result<void> nft_run(const std::string &commands);
Result<nlohmann::json> nft_list(const std::string &command);
// The same listing in nft syntax, with handles ("... # handle 4"); for
// commands that change the ruleset, their output (usually none).
Result<std::string> nft_list_text(const std::string &command);
// Runs /usr/sbin/NAME with `args` (no shell) in the calling thread's
// namespaces and returns its stdout.
Result<std::string> run_sbin(const std::string &name, const std::vector<std::string> &args);
// Creates ctk's table with its chains and network-wide rules when missing.
Result<void> nft_ensure_table(const std::string &bridge, const std::string &subnet_cidr);
// Adds the DNAT rules of the published ports of one container.
Result<void> nft_add_ports(const std::string &id, const std::string &ip,
                           const std::vector<PortMap> &ports);
// Deletes every rule of ctk's table commented "ctk:<id>"; returns how many.
Result<int> nft_delete_rules(const std::string &id);
// DOCKER-USER rules of ctk (comment "ctk:docker-user"), see netsetup.h.
Result<void> docker_user_allow(const std::string &bridge);
Result<int> docker_user_remove();
// How many rules of ctk's DOCKER-USER holds (0 without the chain).
Result<int> docker_user_count();
// Chains of other tables that drop forwarded traffic by policy (nft and
// legacy iptables), one description each.
std::vector<std::string> foreign_forward_drops();

} // namespace ctk::rt::net::detail
