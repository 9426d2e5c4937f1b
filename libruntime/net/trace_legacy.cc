// iptables-legacy counters of a namespace, read with iptables-legacy-save
// run inside it, for naming the legacy rule a traced packet advanced.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <map>

#include <fmt/format.h>

#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/ns.h"

extern char **environ;

namespace ctk::rt::nettrace {

namespace {

// Runs argv on the calling thread's namespace (posix_spawn copies the
// thread's namespaces) and returns its standard output.
Result<std::string> capture(const std::vector<std::string> &argv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return fail_errno("cannot create a pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int err = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (err != 0)
    return fail_errno(fmt::format("cannot run {}", argv[0]), err);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(Errc::io, fmt::format("{} failed (status {})", argv[0], status));
  return out;
}

std::string target_of(std::string_view rule) {
  auto j = rule.find("-j ");
  if (j == std::string_view::npos)
    return {};
  auto t = rule.substr(j + 3);
  return std::string(t.substr(0, t.find(' ')));
}

} // namespace

Result<std::vector<LegacyCounter>> legacy_counters(const Netns &ns) {
  std::vector<LegacyCounter> out;
  auto r = ns::in_netns(ns.fd->get(), [&]() -> Result<void> {
    auto names = read_file("/proc/thread-self/net/ip_tables_names");
    if (!names)
      return {}; // no ip_tables module: no legacy table anywhere
    for (auto table : split_lines(*names)) {
      table = trim(table);
      if (table.empty())
        continue;
      auto text = capture({"iptables-legacy-save", "-c", "-t", std::string(table)});
      if (!text)
        return tl::unexpected(text.error());
      std::map<std::string, int> index;
      for (auto line : split_lines(*text)) {
        unsigned long long pk = 0;
        if (line.size() > 1 && line[0] == ':') {
          // ":FORWARD DROP [3:180]"
          auto words = split(line.substr(1), ' ');
          if (words.size() < 3 || words[1] == "-")
            continue;
          auto c = words[2];
          if (c.size() > 2 && parse_uint(c.substr(1, c.find(':') - 1), pk))
            out.push_back({std::string(table), std::string(words[0]), 0, pk,
                           fmt::format("policy {}", words[1]), std::string(words[1])});
        } else if (line.size() > 1 && line[0] == '[') {
          // "[1:60] -A FORWARD -s 10.77.0.2/32 ... -j DROP"
          auto close = line.find(']');
          if (close == std::string_view::npos || !parse_uint(line.substr(1, line.find(':') - 1), pk))
            continue;
          auto rest = trim(line.substr(close + 1));
          if (rest.rfind("-A ", 0) != 0)
            continue;
          rest = rest.substr(3);
          auto sp = rest.find(' ');
          std::string chain(rest.substr(0, sp));
          std::string rule(sp == std::string_view::npos ? "" : trim(rest.substr(sp + 1)));
          out.push_back({std::string(table), chain, ++index[chain], pk, rule, target_of(rule)});
        }
      }
    }
    return {};
  });
  if (!r)
    return tl::unexpected(r.error().wrap(fmt::format("cannot read iptables-legacy counters in {}", ns.label)));
  return out;
}

std::vector<LegacyCounter> legacy_advanced(const std::vector<LegacyCounter> &before,
                                           const std::vector<LegacyCounter> &after) {
  std::vector<LegacyCounter> out;
  for (const auto &a : after) {
    uint64_t was = 0;
    for (const auto &b : before)
      if (b.table == a.table && b.chain == a.chain && b.index == a.index && b.rule == a.rule)
        was = b.packets;
    if (a.packets > was) {
      LegacyCounter d = a;
      d.packets = a.packets - was;
      out.push_back(std::move(d));
    }
  }
  return out;
}

} // namespace ctk::rt::nettrace
