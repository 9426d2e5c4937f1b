// Pure helpers of netinspect: address parsing and the names ip(8) and
// bridge(8) print for kernel constants.
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_inspect.h"

namespace ctk::rt::netinspect {

std::optional<int> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN)
    return std::nullopt;
  const std::string s(text);
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1)
    return AF_INET;
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1)
    return AF_INET6;
  return std::nullopt;
}

std::string canonical_ip(int family, std::string_view text) {
  unsigned char buf[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  const std::string s(text);
  if (::inet_pton(family, s.c_str(), buf) != 1 || !::inet_ntop(family, buf, out, sizeof out))
    return s;
  return out;
}

std::string containers_label(const std::vector<discovery::Container> &cs) {
  std::string out;
  std::set<std::string> seen;
  for (const auto &c : cs) {
    std::string n = c.name.empty() ? c.id.substr(0, 12) : c.name;
    if (n.empty() || !seen.insert(n).second)
      continue;
    out += (out.empty() ? "" : ",") + n;
  }
  return out;
}

std::string port_state_name(int state) {
  switch (state) {
  case BR_STATE_DISABLED:
    return "disabled";
  case BR_STATE_LISTENING:
    return "listening";
  case BR_STATE_LEARNING:
    return "learning";
  case BR_STATE_FORWARDING:
    return "forwarding";
  case BR_STATE_BLOCKING:
    return "blocking";
  }
  return fmt::format("state {}", state);
}

std::string operstate_name(int state) {
  static const char *const kNames[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                       "testing", "dormant",    "up"};
  if (state >= 0 && state < static_cast<int>(std::size(kNames)))
    return kNames[state];
  return fmt::format("state {}", state);
}

std::string route_type_name(int type) {
  static const char *const kNames[] = {"unspec",   "unicast",   "local",     "broadcast",
                                       "anycast",  "multicast", "blackhole", "unreachable",
                                       "prohibit", "throw",     "nat",       "xresolve"};
  if (type >= 0 && type < static_cast<int>(std::size(kNames)))
    return kNames[type];
  return std::to_string(type);
}

std::string route_table_name(uint32_t table) {
  switch (table) {
  case RT_TABLE_MAIN:
    return "main";
  case RT_TABLE_LOCAL:
    return "local";
  case RT_TABLE_DEFAULT:
    return "default";
  }
  return std::to_string(table);
}

std::string route_scope_name(int scope) {
  switch (scope) {
  case RT_SCOPE_UNIVERSE:
    return "universe";
  case RT_SCOPE_SITE:
    return "site";
  case RT_SCOPE_LINK:
    return "link";
  case RT_SCOPE_HOST:
    return "host";
  case RT_SCOPE_NOWHERE:
    return "nowhere";
  }
  return std::to_string(scope);
}

std::string route_protocol_name(int proto) {
  switch (proto) {
  case RTPROT_UNSPEC:
    return "unspec";
  case RTPROT_REDIRECT:
    return "redirect";
  case RTPROT_KERNEL:
    return "kernel";
  case RTPROT_BOOT:
    return "boot";
  case RTPROT_STATIC:
    return "static";
  case RTPROT_RA:
    return "ra";
  case RTPROT_DHCP:
    return "dhcp";
  }
  return std::to_string(proto);
}

std::string neigh_state_name(int state) {
  // Most telling first: a PERMANENT entry may carry NOARP too.
  static const std::pair<int, const char *> kStates[] = {
      {NUD_PERMANENT, "permanent"}, {NUD_FAILED, "failed"}, {NUD_INCOMPLETE, "incomplete"},
      {NUD_REACHABLE, "reachable"}, {NUD_STALE, "stale"},   {NUD_DELAY, "delay"},
      {NUD_PROBE, "probe"},         {NUD_NOARP, "noarp"},   {NUD_NONE, "none"},
  };
  for (auto [bit, name] : kStates)
    if (state & bit)
      return name;
  return state == 0 ? "none" : fmt::format("state {:#x}", state);
}

std::string sysctl_path(std::string_view prefix, std::string_view iface, std::string_view leaf) {
  // Dots of the prefix separate levels; the interface name is one level
  // whatever it contains ("eth0.100" is a directory of that name).
  std::string out;
  for (char c : prefix)
    out += c == '.' ? '/' : c;
  if (!iface.empty())
    out += "/" + std::string(iface);
  if (!leaf.empty())
    out += "/" + std::string(leaf);
  return out;
}

int effective_rp_filter(const std::map<std::string, std::string> &sysctls,
                        const std::string &iface) {
  auto mode = [&](const std::string &conf) {
    auto it = sysctls.find(fmt::format("net.ipv4.conf.{}.rp_filter", conf));
    long long v = 0;
    return it != sysctls.end() && parse_int(trim(it->second), v) ? static_cast<int>(v) : 0;
  };
  return std::max(mode("all"), mode(iface));
}

std::vector<IfAddr> Endpoint::addresses() const {
  std::vector<IfAddr> out;
  for (const auto &i : ifaces)
    out.insert(out.end(), i.addrs.begin(), i.addrs.end());
  if (out.empty() && requested)
    out.push_back(*requested);
  return out;
}

} // namespace ctk::rt::netinspect
