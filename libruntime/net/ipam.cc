// IPv4 subnets, docker's -p syntax and the address allocation file.
#include <arpa/inet.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

namespace ctk::rt::net {

namespace detail {

Result<void> write_state(const std::string &path, std::string_view data) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!fd)
      return tl::unexpected(fd.error());
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd->get(), data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return fail_errno(fmt::format("cannot write {}", tmp), err);
      }
      off += static_cast<size_t>(n);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno(fmt::format("cannot rename {} to {}", tmp, path), err);
  }
  return {};
}

} // namespace detail

std::string rule_comment(std::string_view id) {
  return fmt::format("ctk:{}", id);
}

uint32_t Subnet::broadcast() const {
  return network | (prefix >= 32 ? 0u : (0xffffffffu >> prefix));
}

bool Subnet::contains(uint32_t ip) const {
  uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
  return (ip & mask) == network;
}

std::string ip_to_string(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

Result<uint32_t> parse_ip(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1)
    return fail(Errc::invalid_argument, fmt::format("invalid IPv4 address '{}'", text));
  return ntohl(a.s_addr);
}

Result<Subnet> parse_subnet(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return fail(Errc::invalid_argument, fmt::format("invalid subnet '{}': no /prefix", cidr));
  auto ip = parse_ip(cidr.substr(0, slash));
  if (!ip)
    return wrap(ip, fmt::format("invalid subnet '{}'", cidr));
  long long prefix = 0;
  // Below /8 the allocation table is absurd; above /30 there is no room for
  // a gateway and one container.
  if (!parse_int(cidr.substr(slash + 1), prefix) || prefix < 8 || prefix > 30)
    return fail(Errc::invalid_argument,
                fmt::format("invalid subnet '{}': prefix must be 8 to 30", cidr));
  Subnet s{*ip, static_cast<int>(prefix)};
  if ((s.network & ~(0xffffffffu << (32 - s.prefix))) != 0)
    return fail(Errc::invalid_argument,
                fmt::format("invalid subnet '{}': host bits are set", cidr));
  return s;
}

namespace {

Result<uint16_t> parse_port_number(std::string_view s, std::string_view text, bool zero_ok) {
  unsigned long long v = 0;
  if (s.find('-') != std::string_view::npos)
    return fail(Errc::unsupported, fmt::format("invalid port mapping '{}': port ranges are not "
                                               "supported",
                                               text));
  if (!parse_uint(s, v) || v > 65535 || (v == 0 && !zero_ok))
    return fail(Errc::invalid_argument,
                fmt::format("invalid port mapping '{}': bad port '{}'", text, s));
  return static_cast<uint16_t>(v);
}

} // namespace

Result<PortMap> parse_port(std::string_view text) {
  PortMap pm;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    pm.proto = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (pm.proto != "tcp" && pm.proto != "udp")
      return fail(Errc::invalid_argument,
                  fmt::format("invalid port mapping '{}': protocol must be tcp or udp", text));
  }
  if (!rest.empty() && rest.front() == '[')
    return fail(
        Errc::unsupported,
        fmt::format("invalid port mapping '{}': IPv6 host addresses are not supported", text));
  auto parts = split(rest, ':');
  std::string_view host_port, ctr_port;
  switch (parts.size()) {
  case 1:
    ctr_port = parts[0];
    break;
  case 2:
    host_port = parts[0], ctr_port = parts[1];
    break;
  case 3:
    pm.host_ip = std::string(parts[0]);
    host_port = parts[1], ctr_port = parts[2];
    if (pm.host_ip.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("invalid port mapping '{}': empty host address", text));
    if (auto ip = parse_ip(pm.host_ip); !ip)
      return wrap(ip, fmt::format("invalid port mapping '{}'", text));
    if (pm.host_ip == "0.0.0.0")
      pm.host_ip.clear();
    break;
  default:
    return fail(
        Errc::invalid_argument,
        fmt::format("invalid port mapping '{}': expected [IP:]HOST:CONTAINER[/PROTO]", text));
  }
  auto cp = parse_port_number(ctr_port, text, false);
  if (!cp)
    return tl::unexpected(cp.error());
  pm.container_port = *cp;
  if (!host_port.empty()) { // "IP::80" leaves the host port to us, as docker does
    auto hp = parse_port_number(host_port, text, false);
    if (!hp)
      return tl::unexpected(hp.error());
    pm.host_port = *hp;
  }
  return pm;
}

// ---- IpamFile ---------------------------------------------------------------

Result<IpamFile> IpamFile::load(const std::string &path, const Subnet &subnet) {
  IpamFile f(path, subnet);
  f.next_ = subnet.gateway() + 1;
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == Errc::not_found)
      return f;
    return wrap(text, "cannot read address allocations");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
    auto file_subnet = parse_subnet(j.at("subnet").get<std::string>());
    if (!file_subnet)
      return wrap(file_subnet, fmt::format("cannot read address allocations {}", path));
    const auto &alloc = j.at("allocated");
    if (file_subnet->network != subnet.network || file_subnet->prefix != subnet.prefix) {
      if (!alloc.empty())
        return fail(Errc::busy,
                    fmt::format("cannot use subnet {}/{}: {} containers still have addresses "
                                "in {}",
                                ip_to_string(subnet.network), subnet.prefix, alloc.size(),
                                j.at("subnet").get<std::string>()));
      return f; // nobody uses the old subnet: start afresh in the new one
    }
    for (auto it = alloc.begin(); it != alloc.end(); ++it) {
      auto ip = parse_ip(it.key());
      if (!ip || !subnet.contains(*ip))
        return fail(Errc::parse, fmt::format("cannot read address allocations {}: bad address "
                                             "'{}'",
                                             path, it.key()));
      f.allocated_.emplace_back(*ip, it.value().get<std::string>());
    }
    if (auto n = parse_ip(j.value("next", std::string())); n && subnet.contains(*n))
      f.next_ = *n;
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse, fmt::format("cannot read address allocations {}: {}", path, e.what()));
  }
  std::sort(f.allocated_.begin(), f.allocated_.end());
  return f;
}

std::optional<uint32_t> IpamFile::address_of(const std::string &id) const {
  for (const auto &[ip, owner] : allocated_)
    if (owner == id)
      return ip;
  return std::nullopt;
}

Result<uint32_t> IpamFile::allocate(const std::string &id) {
  if (auto have = address_of(id))
    return *have;
  const uint32_t first = subnet_.gateway() + 1, last = subnet_.broadcast() - 1;
  if (first > last)
    return fail(Errc::invalid_argument, "subnet has no room for containers");
  uint32_t start = (next_ < first || next_ > last) ? first : next_;
  uint32_t ip = start;
  do {
    auto it =
        std::lower_bound(allocated_.begin(), allocated_.end(), std::make_pair(ip, std::string()));
    if (it == allocated_.end() || it->first != ip) {
      allocated_.insert(it, {ip, id});
      next_ = ip == last ? first : ip + 1;
      return ip;
    }
    ip = ip == last ? first : ip + 1;
  } while (ip != start);
  return fail(Errc::busy,
              fmt::format("no free address in {}/{} ({} in use)", ip_to_string(subnet_.network),
                          subnet_.prefix, allocated_.size()));
}

bool IpamFile::release(const std::string &id) {
  auto it = std::find_if(allocated_.begin(), allocated_.end(),
                         [&](const auto &a) { return a.second == id; });
  if (it == allocated_.end())
    return false;
  allocated_.erase(it);
  return true;
}

Result<void> IpamFile::save() const {
  nlohmann::ordered_json j;
  j["subnet"] = fmt::format("{}/{}", ip_to_string(subnet_.network), subnet_.prefix);
  j["next"] = ip_to_string(next_);
  j["allocated"] = nlohmann::ordered_json::object();
  for (const auto &[ip, owner] : allocated_)
    j["allocated"][ip_to_string(ip)] = owner;
  if (auto r = detail::write_state(path_, j.dump(2) + "\n"); !r)
    return wrap(r, "cannot save address allocations");
  return {};
}

} // namespace ctk::rt::net
