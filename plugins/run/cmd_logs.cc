// ctk logs [-f] [--tail N] [-t] [--since TIME] CONTAINER: the json-file log
// the container's monitor writes, stdout lines to stdout and stderr lines to
// stderr, as docker logs does.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ct = rt::container;
namespace {

// stdout lines to stdout and stderr lines to stderr, in the log's order.
void print(const Call &call, const ct::LogLine &l, bool timestamps) {
  std::string out = timestamps ? l.time + " " + l.text : l.text;
  if (l.stream == "stderr")
    call.write_raw_stderr(out);
  else
    call.write_raw(out);
}

bool running(const ct::Paths &paths, const std::string &id) {
  auto rec = ct::load_record(paths, id);
  return rec && rec->state.status == "running";
}

} // namespace

int run_logs(Call &call) {
  const auto paths = paths_of(call);
  const std::string target = call.args().at(0);
  auto id = ct::find_container(paths, target);
  if (!id)
    return call.fail(id.error());
  ct::LogFilter filter;
  const std::string tail = call.get("tail").value_or("all");
  if (tail != "all" && tail != "-1") {
    unsigned long long n = 0;
    if (!rt::parse_uint(tail, n))
      return call.fail(fmt::format("invalid --tail {}: a number or \"all\"", tail), 2);
    filter.tail = n;
  }
  if (auto since = call.get("since")) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto t = ct::parse_since(*since, now);
    if (!t)
      return call.fail(t.error(), 2);
    filter.since = *t;
  }
  const bool timestamps = call.flag("timestamps");
  const std::string file = paths.dir(*id) + "/" + *id + "-json.log";
  auto fd = rt::open_fd(file, O_RDONLY);
  if (!fd) {
    // A container that never started has no log yet: nothing to print.
    if (fd.error().code != rt::Errc::not_found)
      return call.fail(fd.error().wrap("cannot read the log of " + target));
    if (!call.flag("follow"))
      return 0;
  }
  std::string pending; // bytes after the last complete line
  auto read_more = [&]() -> rt::Result<std::string> {
    std::string chunk(1 << 16, '\0'), got;
    for (;;) {
      ssize_t n = ::read(fd->get(), chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return rt::fail_errno("cannot read " + file);
      if (n == 0)
        return got;
      got.append(chunk.data(), static_cast<size_t>(n));
    }
  };
  auto take_lines = [&](const ct::LogFilter &f) -> rt::Result<std::vector<ct::LogLine>> {
    auto more = read_more();
    if (!more)
      return tl::unexpected(more.error());
    pending += *more;
    auto nl = pending.rfind('\n');
    if (nl == std::string::npos)
      return std::vector<ct::LogLine>{};
    std::string complete = pending.substr(0, nl + 1);
    pending.erase(0, nl + 1);
    return ct::read_log(complete, f);
  };
  if (fd) {
    auto lines = take_lines(filter);
    if (!lines)
      return call.fail(lines.error().wrap("cannot read the log of " + target));
    for (const auto &l : *lines)
      print(call, l, timestamps);
  }
  if (!call.flag("follow"))
    return 0;
  // Follow: poll the file for growth until the container is no longer
  // running and everything it wrote was printed, or the user interrupts.
  filter.tail.reset();
  call.flush();
  for (;;) {
    const bool alive = running(paths, *id);
    if (!fd) {
      fd = rt::open_fd(file, O_RDONLY);
      if (!fd && !alive)
        return 0;
    }
    if (fd) {
      auto lines = take_lines(filter);
      if (!lines)
        return call.fail(lines.error().wrap("cannot read the log of " + target));
      for (const auto &l : *lines)
        print(call, l, timestamps);
      call.flush();
    }
    if (!alive)
      return 0;
    struct pollfd p = {call.interrupt_fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) > 0 || call.interrupted())
      return 0;
  }
}

} // namespace ctk::plugins::run::life
