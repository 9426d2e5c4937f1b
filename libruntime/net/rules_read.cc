// Reading the rules of a network namespace: libnftables and the iptables
// tools, all from a thread that joined the namespace (ns::in_netns), so
// nft's netlink socket, /proc/thread-self/net and the spawned tools are
// that namespace's.
#include <set>

#include <fmt/format.h>

#include "ctk/runtime/net_rules.h"
#include "ctk/runtime/ns.h"
#include "internal.h"

namespace ctk::rt::netrules {

namespace {

// Tables legacy iptables has in the calling thread's namespace. Listing one
// that is not there would create it (and register its hooks), so only these
// are ever asked for.
std::vector<std::string> legacy_tables(const char *names_file) {
  std::vector<std::string> out;
  auto text = read_file(std::string("/proc/thread-self/net/") + names_file);
  if (!text)
    return out; // no ip(6)_tables module: no legacy tables
  for (auto line : split_lines(*text))
    if (!trim(line).empty())
      out.emplace_back(trim(line));
  return out;
}

void append(Ruleset &into, Ruleset &&from) {
  into.chains.insert(into.chains.end(), from.chains.begin(), from.chains.end());
  into.rules.insert(into.rules.end(), from.rules.begin(), from.rules.end());
  into.warnings.insert(into.warnings.end(), from.warnings.begin(), from.warnings.end());
}

// Every existing legacy table of both families, with counters.
Ruleset read_legacy_here() {
  Ruleset rs;
  for (auto [tool, names, family] : {std::tuple{"iptables-legacy-save", "ip_tables_names", "ip"},
                                     {"ip6tables-legacy-save", "ip6_tables_names", "ip6"}}) {
    for (const auto &table : legacy_tables(names)) {
      auto text = net::detail::run_sbin(tool, {"-c", "-t", table});
      if (!text) {
        rs.warnings.push_back(fmt::format("legacy iptables table {} {} not read: {}", family,
                                          table, text.error().message()));
        continue;
      }
      auto parsed = parse_iptables_save(*text, Source::iptables_legacy, family);
      if (!parsed) {
        rs.warnings.push_back(fmt::format("legacy iptables table {} {} not read: {}", family,
                                          table, parsed.error().message()));
        continue;
      }
      append(rs, std::move(*parsed));
    }
  }
  return rs;
}

bool iptables_table_name(std::string_view t) {
  return t == "filter" || t == "nat" || t == "mangle" || t == "raw" || t == "security";
}

} // namespace

Result<Ruleset> read(int netns_fd) {
  Ruleset rs;
  auto entered = ns::in_netns(netns_fd, [&]() -> Result<void> {
    auto listing = net::detail::nft_list("list ruleset");
    if (!listing)
      return wrap(listing, "cannot list nftables ruleset");
    auto text = net::detail::nft_list_text("list ruleset");
    auto parsed = parse_nft(*listing, text ? std::string_view(*text) : std::string_view());
    if (!parsed)
      return tl::unexpected(parsed.error());
    rs = std::move(*parsed);
    if (!text)
      rs.warnings.push_back("nftables text listing failed: " + text.error().message());
    // iptables-nft's arguments, only for families that have its tables.
    std::set<std::string> families;
    for (const auto &c : rs.chains)
      if ((c.family == "ip" || c.family == "ip6") && iptables_table_name(c.table))
        families.insert(c.family);
    for (const auto &family : families) {
      const std::string tool = family == "ip" ? "iptables-nft-save" : "ip6tables-nft-save";
      auto save = net::detail::run_sbin(tool, {"-c"});
      if (!save) {
        rs.warnings.push_back(fmt::format("{}: compat matches stay opaque", save.error().message()));
        continue;
      }
      auto theirs = parse_iptables_save(*save, Source::iptables_nft, family);
      if (!theirs) {
        rs.warnings.push_back(
            fmt::format("cannot read {} output: {}", tool, theirs.error().message()));
        continue;
      }
      merge_iptables_nft(rs, *theirs);
    }
    append(rs, read_legacy_here());
    return {};
  });
  if (!entered)
    return tl::unexpected(entered.error());
  return rs;
}

Result<LegacyCounters> legacy_counters(int netns_fd) {
  Ruleset rs;
  auto entered = ns::in_netns(netns_fd, [&]() -> Result<void> {
    rs = read_legacy_here();
    return {};
  });
  if (!entered)
    return wrap(entered, "cannot read legacy iptables counters");
  return legacy_counters_from(rs);
}

} // namespace ctk::rt::netrules
