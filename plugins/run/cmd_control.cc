// ctk start, stop, kill, rm, wait: one container operation per target, in
// order; the first failure is reported, the others still run (docker's way).
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/container_ops.h"

namespace ctk::plugins::run {
namespace {

namespace ct = rt::container;

// "TERM", "SIGTERM", "15".
std::optional<int> parse_signal(std::string s) {
  long long n = 0;
  if (rt::parse_int(s, n))
    return n > 0 && n < 65 ? std::optional<int>(static_cast<int>(n)) : std::nullopt;
  for (auto &ch : s)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (s.rfind("SIG", 0) == 0)
    s.erase(0, 3);
  for (int i = 1; i < 32; ++i)
    if (const char *abbrev = ::sigabbrev_np(i); abbrev && s == abbrev)
      return i;
  return std::nullopt;
}

template <class F> int each_target(Call &call, F op) {
  int status = 0;
  for (const auto &t : call.args()) {
    auto id = find_ctk(call, t);
    if (!id) {
      call.fail(id.error());
      status = 1;
      continue;
    }
    if (auto r = op(*id, t); !r) {
      call.fail(r.error());
      status = 1;
      continue;
    }
  }
  return status;
}

} // namespace

int run_stop(Call &call) {
  auto t = call.get_int("time");
  if (!t)
    return call.fail(t.error());
  const auto secs = std::chrono::seconds(t->value_or(10));
  return each_target(call, [&](const std::string &id, const std::string &name) -> rt::Result<void> {
    auto r = ct::stop(container_paths(call), id, secs);
    if (r)
      call.write_raw(name + "\n");
    return r;
  });
}

int run_kill(Call &call) {
  auto sig = parse_signal(call.get("signal").value_or("KILL"));
  if (!sig)
    return call.fail("invalid signal \"" + call.get("signal").value_or("") + "\"", 1);
  return each_target(call, [&](const std::string &id, const std::string &name) -> rt::Result<void> {
    auto r = ct::kill(container_paths(call), id, *sig);
    if (r)
      call.write_raw(name + "\n");
    return r;
  });
}

int run_rm(Call &call) {
  const bool force = call.flag("force");
  return each_target(call, [&](const std::string &id, const std::string &name) -> rt::Result<void> {
    auto r = ct::remove(container_paths(call), id, force);
    if (r)
      call.write_raw(name + "\n");
    return r;
  });
}

int run_wait(Call &call) {
  return each_target(call, [&](const std::string &id, const std::string &) -> rt::Result<void> {
    auto code = ct::wait(container_paths(call), id);
    if (!code)
      return tl::unexpected(code.error());
    call.write_raw(std::to_string(*code) + "\n");
    return {};
  });
}

int run_start(Call &call) {
  const bool attach = call.flag("attach");
  const bool interactive = call.flag("interactive");
  auto args = call.args();
  if (attach && args.size() != 1)
    return call.fail("start -a takes one container", 1);
  int status = 0;
  for (const auto &t : args) {
    auto id = find_ctk(call, t);
    if (!id) {
      call.fail(id.error());
      status = 1;
      continue;
    }
    const auto paths = container_paths(call);
    auto rec = ct::load_record(paths, *id);
    if (rec && rec->state.status == "running") {
      call.write_raw(t + "\n"); // docker: starting a running container is a no-op
      continue;
    }
    ct::StartOptions so;
    int failed = 125;
    so.failed_status = &failed;
    if (attach) {
      so.stdout_fd = 1;
      so.stderr_fd = 2;
      if (interactive && rec && !rec->config.tty)
        so.stdin_fd = 0;
      if (rec && rec->config.tty)
        so.winsize_from = 0;
    }
    auto started = ct::start(paths, *id, so);
    if (!started) {
      call.fail(started.error(), attach ? failed : 1);
      status = attach ? failed : 1;
      continue;
    }
    if (attach)
      return attach_foreground(call, *started, rec && rec->config.tty, interactive);
    call.write_raw(t + "\n");
  }
  return status;
}

} // namespace ctk::plugins::run
