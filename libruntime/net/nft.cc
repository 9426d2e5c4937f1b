// ctk's nftables table through libnftables, and the detection of other
// tables' forward drops (nftables and legacy iptables).
// glibc's socket headers first: the kernel's would redefine in_addr.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include <cstring>

#include <fmt/format.h>
#include <nftables/libnftables.h>

#include "internal.h"

namespace ctk::rt::net::detail {

namespace {

struct NftFree {
  void operator()(nft_ctx *c) const { nft_ctx_free(c); }
};
using Nft = std::unique_ptr<nft_ctx, NftFree>;

// Output and errors go to buffers: libruntime never prints.
Result<Nft> nft_context(unsigned flags) {
  Nft ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx)
    return fail(Errc::io, "cannot create an nftables context");
  nft_ctx_output_set_flags(ctx.get(), flags);
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return fail(Errc::io, "cannot buffer nftables output");
  return ctx;
}

std::string first_line(const char *text) {
  std::string s = text ? text : "";
  auto nl = s.find('\n');
  return std::string(trim(s.substr(0, nl)));
}

Result<std::string> run(const std::string &commands, unsigned flags) {
  auto ctx = nft_context(flags);
  if (!ctx)
    return tl::unexpected(ctx.error());
  if (nft_run_cmd_from_buffer(ctx->get(), commands.c_str()) != 0) {
    std::string err = first_line(nft_ctx_get_error_buffer(ctx->get()));
    return fail(Errc::io, err.empty() ? "nftables refused the commands" : err);
  }
  const char *out = nft_ctx_get_output_buffer(ctx->get());
  return std::string(out ? out : "");
}

constexpr const char *kTable = "ip ctk";

} // namespace

Result<void> nft_run(const std::string &commands) {
  auto r = run(commands, 0);
  if (!r)
    return tl::unexpected(r.error());
  return {};
}

Result<nlohmann::json> nft_list(const std::string &command) {
  auto out = run(command, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  if (!out)
    return tl::unexpected(out.error());
  try {
    return nlohmann::json::parse(*out);
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse,
                fmt::format("cannot parse nftables output of '{}': {}", command, e.what()));
  }
}

Result<void> nft_ensure_table(const std::string &bridge, const std::string &subnet_cidr) {
  // The table is created in one transaction with its network-wide rules, so
  // it exists complete or not at all; callers hold the network lock, so two
  // ctk processes never both add the rules.
  if (auto have = nft_list(fmt::format("list table {}", kTable)); have)
    return {};
  const std::string c = rule_comment("network");
  std::string cmds = fmt::format(
      "add table {t}\n"
      "add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n"
      // Locally generated connections to a published port (the host itself,
      // 127.0.0.1 with route_localnet) never pass prerouting.
      "add chain {t} output {{ type nat hook output priority -100; policy accept; }}\n"
      "add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
      "add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}\n"
      "add rule {t} postrouting ip saddr {net} oifname != \"{br}\" masquerade comment \"{c}\"\n"
      // 127.0.0.1 sent to a container must leave with an address it can answer.
      "add rule {t} postrouting oifname \"{br}\" ip saddr 127.0.0.0/8 masquerade comment \"{c}\"\n"
      // A container reaching a published port of another through the
      // host's address (hairpin): without SNAT the answer would come
      // straight from the other container's address and be refused.
      "add rule {t} postrouting oifname \"{br}\" ip saddr {net} ct status dnat masquerade "
      "comment \"{c}\"\n"
      "add rule {t} forward iifname \"{br}\" accept comment \"{c}\"\n"
      "add rule {t} forward oifname \"{br}\" ct state established,related accept comment "
      "\"{c}\"\n"
      "add rule {t} forward oifname \"{br}\" ct status dnat accept comment \"{c}\"\n",
      fmt::arg("t", kTable), fmt::arg("net", subnet_cidr), fmt::arg("br", bridge),
      fmt::arg("c", c));
  if (auto r = nft_run(cmds); !r)
    return wrap(r, "cannot create nftables table ip ctk");
  return {};
}

Result<void> nft_add_ports(const std::string &id, const std::string &ip,
                           const std::vector<PortMap> &ports) {
  if (ports.empty())
    return {};
  const std::string c = rule_comment(id);
  std::string cmds;
  for (const auto &p : ports) {
    // Without a host address, any local address of the host: `fib daddr
    // type local` keeps traffic merely routed through the host untouched.
    std::string match =
        p.host_ip.empty() ? "fib daddr type local" : fmt::format("ip daddr {}", p.host_ip);
    for (const char *chain : {"prerouting", "output"})
      cmds += fmt::format("add rule {} {} {} {} dport {} dnat to {}:{} comment \"{}\"\n", kTable,
                          chain, match, p.proto, p.host_port, ip, p.container_port, c);
  }
  if (auto r = nft_run(cmds); !r)
    return wrap(r, fmt::format("cannot add port rules for container {}", id));
  return {};
}

Result<int> nft_delete_rules(const std::string &id) {
  auto listing = nft_list(fmt::format("list table {}", kTable));
  if (!listing) {
    if (listing.error().message().find("No such file") != std::string::npos)
      return 0; // no table, no rules
    return wrap(listing, fmt::format("cannot list rules of container {}", id));
  }
  const std::string c = rule_comment(id);
  std::string cmds;
  int n = 0;
  for (const auto &item : listing->value("nftables", nlohmann::json::array())) {
    if (!item.contains("rule"))
      continue;
    const auto &rule = item["rule"];
    if (rule.value("comment", std::string()) != c)
      continue;
    cmds += fmt::format("delete rule {} {} handle {}\n", kTable, rule.value("chain", std::string()),
                        rule.value("handle", 0));
    ++n;
  }
  if (n > 0) // one transaction: all of them or none
    if (auto r = nft_run(cmds); !r)
      return wrap(r, fmt::format("cannot delete rules of container {}", id));
  return n;
}

// Runs /usr/sbin/NAME (or /sbin/NAME) with `args`, no shell, in the calling
// thread's namespaces (posix_spawn from a thread that joined a network
// namespace starts the program there). The error names the first line of
// its stderr.
Result<std::string> run_sbin(const std::string &name, const std::vector<std::string> &args) {
  std::string bin;
  for (const char *dir : {"/usr/sbin/", "/sbin/"})
    if (bin.empty() && ::access((dir + name).c_str(), X_OK) == 0)
      bin = dir + name;
  if (bin.empty())
    return fail(Errc::not_found, name + " is not installed (Debian package iptables)");
  int errp[2], outp[2];
  if (::pipe2(errp, O_CLOEXEC) != 0)
    return fail_errno("cannot run " + name);
  UniqueFd err_r(errp[0]), err_w(errp[1]);
  if (::pipe2(outp, O_CLOEXEC) != 0)
    return fail_errno("cannot run " + name);
  UniqueFd out_r(outp[0]), out_w(outp[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::vector<std::string> argv_s = {name};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  char *envp[] = {const_cast<char *>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  err_w.reset();
  out_w.reset();
  if (rc != 0)
    return fail_errno("cannot run " + name, rc);
  // stdout to its end, then stderr: a save of a large ruleset fills more
  // than a pipe, while the tools write only a line or two of errors.
  std::string text, err;
  for (auto [fd, into] : {std::pair<int, std::string *>{out_r.get(), &text}, {err_r.get(), &err}}) {
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0)
        into->append(buf, static_cast<size_t>(n));
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    auto first = err.substr(0, err.find('\n'));
    return fail(Errc::io,
                name + " failed: " + (first.empty() ? std::string("no message") : first));
  }
  return text;
}

Result<std::string> nft_list_text(const std::string &command) {
  return run(command, NFT_CTX_OUTPUT_HANDLE);
}

namespace {

constexpr const char *kDockerUserComment = "ctk:docker-user";

Result<void> run_iptables_nft(const std::vector<std::string> &args, std::string *out = nullptr) {
  auto text = run_sbin("iptables-nft", args);
  if (!text)
    return tl::unexpected(text.error());
  if (out)
    *out = std::move(*text);
  return {};
}

// ctk's rules in DOCKER-USER as `iptables -S` prints them ("-A DOCKER-USER
// -i ctk0 -m comment --comment \"ctk:docker-user\" -j ACCEPT"); not_found
// without the chain. Read with iptables-nft: one of them uses the xt
// conntrack and comment matches, which nftables lists without their values.
Result<std::vector<std::string>> docker_user_rules() {
  if (auto listing = nft_list("list chain ip filter DOCKER-USER"); !listing) {
    auto legacy = read_file("/proc/net/ip_tables_names");
    if (legacy && legacy->find("filter") != std::string::npos)
      return fail(Errc::unsupported,
                  "docker uses legacy iptables here: ctk cannot add its rules to DOCKER-USER; "
                  "run: iptables-legacy -I DOCKER-USER -i ctk0 -j ACCEPT and -I DOCKER-USER -o "
                  "ctk0 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT");
    return fail(Errc::not_found, "there is no DOCKER-USER chain in nftables table ip filter "
                                 "(docker is not running with its iptables rules)");
  }
  std::string text;
  if (auto r = run_iptables_nft({"-w", "-S", "DOCKER-USER"}, &text); !r)
    return tl::unexpected(r.error());
  std::vector<std::string> rules;
  for (auto line : split_lines(text))
    if (line.rfind("-A ", 0) == 0 && line.find(kDockerUserComment) != std::string_view::npos)
      rules.emplace_back(line);
  return rules;
}

} // namespace

Result<void> docker_user_allow(const std::string &bridge) {
  auto have = docker_user_rules();
  if (!have)
    return wrap(have, "cannot allow ctk's traffic in DOCKER-USER");
  if (!have->empty())
    return {};
  // Written with iptables-nft, whose table this is: docker lists and edits
  // it with iptables, and a rule iptables cannot parse (a native nftables
  // `ct state`, for one) makes it refuse the whole chain. Out of the bridge
  // anything; into it only replies and published ports (conntrack states
  // ESTABLISHED, RELATED and DNAT), as docker's own rules for docker0.
  const std::vector<std::vector<std::string>> rules = {
      {"-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT"},
      {"-i", bridge}};
  for (const auto &r : rules) {
    std::vector<std::string> args = {"-w", "-I", "DOCKER-USER"};
    args.insert(args.end(), r.begin(), r.end());
    args.insert(args.end(), {"-m", "comment", "--comment", kDockerUserComment, "-j", "ACCEPT"});
    if (auto ok = run_iptables_nft(args); !ok) {
      (void)docker_user_remove(); // none left alone
      return wrap(ok, "cannot add ctk's rules to DOCKER-USER");
    }
  }
  return {};
}

Result<int> docker_user_count() {
  auto have = docker_user_rules();
  if (!have)
    return have.error().code == Errc::not_found || have.error().code == Errc::unsupported
               ? Result<int>(0)
               : tl::unexpected(have.error());
  return static_cast<int>(have->size());
}

Result<int> docker_user_remove() {
  auto have = docker_user_rules();
  if (!have)
    // No chain, or docker on legacy iptables: no rule of ctk's can be there.
    return have.error().code == Errc::not_found || have.error().code == Errc::unsupported
               ? Result<int>(0)
               : tl::unexpected(have.error());
  for (const auto &line : *have) {
    // "-A DOCKER-USER ..." deleted by its own spec: "-D DOCKER-USER ...".
    std::vector<std::string> args = {"-w"};
    for (auto word : split(line, ' ')) {
      std::string w(word);
      if (w.size() >= 2 && w.front() == '"' && w.back() == '"')
        w = w.substr(1, w.size() - 2);
      if (!w.empty())
        args.push_back(args.size() == 1 && w == "-A" ? "-D" : w);
    }
    if (auto r = run_iptables_nft(args); !r)
      return wrap(r, "cannot remove ctk's rules from DOCKER-USER");
  }
  return static_cast<int>(have->size());
}

namespace {

// Legacy iptables keeps its tables in the kernel's x_tables, invisible to
// nftables. The FORWARD policy is the verdict of the chain's underflow entry.
std::optional<std::string> legacy_forward_drop() {
  auto names = read_file("/proc/net/ip_tables_names");
  if (!names)
    return std::nullopt;
  bool has_filter = false;
  for (auto line : split_lines(*names))
    has_filter |= trim(line) == "filter";
  if (!has_filter)
    return std::nullopt;
  UniqueFd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!s)
    return std::nullopt;
  ipt_getinfo info{};
  std::strncpy(info.name, "filter", sizeof info.name - 1);
  socklen_t len = sizeof info;
  if (::getsockopt(s.get(), IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) != 0)
    return std::nullopt;
  if (!(info.valid_hooks & (1u << NF_INET_FORWARD)))
    return std::nullopt;
  std::vector<char> buf(sizeof(ipt_get_entries) + info.size);
  auto *entries = reinterpret_cast<ipt_get_entries *>(buf.data());
  std::strncpy(entries->name, "filter", sizeof entries->name - 1);
  entries->size = info.size;
  len = static_cast<socklen_t>(buf.size());
  if (::getsockopt(s.get(), IPPROTO_IP, IPT_SO_GET_ENTRIES, entries, &len) != 0)
    return std::nullopt;
  size_t off = info.underflow[NF_INET_FORWARD];
  if (off + sizeof(ipt_entry) > info.size)
    return std::nullopt;
  auto *entry = reinterpret_cast<const ipt_entry *>(
      reinterpret_cast<const char *>(entries->entrytable) + off);
  if (off + entry->target_offset + sizeof(xt_standard_target) > info.size)
    return std::nullopt;
  auto *target = reinterpret_cast<const xt_standard_target *>(
      reinterpret_cast<const char *>(entry) + entry->target_offset);
  // A standard target has an empty name; DROP is encoded as -NF_DROP - 1.
  if (target->target.u.user.name[0] == '\0' && target->verdict == -NF_DROP - 1)
    return std::string("legacy iptables table filter chain FORWARD has policy DROP");
  return std::nullopt;
}

} // namespace

std::vector<std::string> foreign_forward_drops() {
  std::vector<std::string> out;
  if (auto rs = nft_list("list chains"); rs) {
    // docker's table (iptables-nft): FORWARD jumps to DOCKER-USER first, so
    // ctk's accepts there get past the policy.
    bool docker_user = false;
    for (const auto &item : rs->value("nftables", nlohmann::json::array()))
      if (item.contains("chain") && item["chain"].value("family", "") == "ip" &&
          item["chain"].value("table", "") == "filter" &&
          item["chain"].value("name", "") == "DOCKER-USER")
        docker_user = true;
    for (const auto &item : rs->value("nftables", nlohmann::json::array())) {
      if (!item.contains("chain"))
        continue;
      const auto &ch = item["chain"];
      std::string family = ch.value("family", ""), table = ch.value("table", "");
      if (family == "ip" && table == kNftTable)
        continue;
      // Only families that see routed IPv4 traffic matter.
      if (family != "ip" && family != "inet")
        continue;
      if (ch.value("hook", "") != "forward" || ch.value("policy", "") != "drop")
        continue;
      const bool dockers = docker_user && family == "ip" && table == "filter";
      if (dockers) {
        auto mine = docker_user_rules();
        if (mine && !mine->empty())
          continue; // ctk's rules are in DOCKER-USER: the drop no longer applies
      }
      out.push_back(fmt::format("nftables table {} {} chain {} has policy drop{}", family, table,
                                ch.value("name", ""),
                                dockers ? " (docker's; its DOCKER-USER chain can take ctk's "
                                          "ACCEPT rules)"
                                        : ""));
    }
  }
  if (auto legacy = legacy_forward_drop())
    out.push_back(*legacy);
  return out;
}

} // namespace ctk::rt::net::detail
