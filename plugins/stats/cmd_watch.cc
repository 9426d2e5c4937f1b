// ctk cgroup --watch TARGET: OOM kills and limit hits as they happen.
//
// v2: inotify on memory.events and pids.events (the kernel sends a modify
// event on every change). v1: an eventfd registered for memory.oom_control
// through cgroup.event_control wakes us on each OOM; memory.failcnt and
// pids.events have no notification on v1, so they are re-read every second.
// Each wake compares counters with the last read, one record per change.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>

#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::stats {
namespace {

struct Counters {
  std::optional<uint64_t> oom, oom_kill, limit_hits, high_hits, pids_max;
};

std::optional<uint64_t> pids_max_events(const rt::HostPaths &paths, const std::string &dir) {
  if (dir.empty())
    return std::nullopt;
  auto t = rt::read_file(paths.prefixed(dir) + "/pids.events");
  if (!t)
    return std::nullopt;
  for (std::string_view line : rt::split_lines(*t)) {
    unsigned long long v = 0;
    if (line.rfind("max ", 0) == 0 && rt::parse_uint(rt::trim(line.substr(4)), v))
      return v;
  }
  return std::nullopt;
}

Counters read_counters(const cg::StatReader &r, const rt::HostPaths &paths) {
  auto s = r.read(cg::kStatMemoryEvents);
  return {s.memory.oom, s.memory.oom_kill, s.memory.limit_hits, s.memory.high_hits,
          pids_max_events(paths, r.dirs().pids)};
}

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void emit(const Call &call, const Subject &s, const char *event, uint64_t count, uint64_t delta,
          std::string note) {
  auto rec = call.record();
  rec.field("Time", now_unix()).field("Name", s.name).field("ID", s.id);
  rec.field("Event", event).field("Count", static_cast<unsigned long long>(count));
  rec.field("Delta", static_cast<unsigned long long>(delta)).field("Note", note);
}

// Emits one record per counter that grew; returns whether any did.
bool compare(const Call &call, const Subject &s, const Counters &old, const Counters &now,
             int version) {
  bool any = false;
  auto one = [&](const std::optional<uint64_t> &o, const std::optional<uint64_t> &n,
                 const char *event, auto &&words) {
    if (!n || (o && *n <= *o))
      return;
    if (!o && *n == 0)
      return;
    const uint64_t delta = *n - o.value_or(0);
    emit(call, s, event, *n, delta, words(delta));
    any = true;
  };
  one(old.oom_kill, now.oom_kill, "oom_kill", [](uint64_t d) {
    return fmt::format("the OOM killer killed {} process{}", d, d == 1 ? "" : "es");
  });
  one(old.oom, now.oom, "oom", [](uint64_t d) {
    return fmt::format("memory could not be reclaimed under the limit ({} time{})", d,
                       d == 1 ? "" : "s");
  });
  one(old.limit_hits, now.limit_hits, "memory_limit", [version](uint64_t d) {
    return version == 2
               ? fmt::format("usage hit memory.max {} time{}", d, d == 1 ? "" : "s")
               : fmt::format("a charge failed at the memory limit {} time{}", d, d == 1 ? "" : "s");
  });
  one(old.high_hits, now.high_hits, "memory_high", [](uint64_t d) {
    return fmt::format("usage went over memory.high {} time{}: reclaim throttled it", d,
                       d == 1 ? "" : "s");
  });
  one(old.pids_max, now.pids_max, "pids_limit", [](uint64_t d) {
    return fmt::format("{} fork{} failed at the pids limit", d, d == 1 ? "" : "s");
  });
  return any;
}

} // namespace

int run_cgroup_watch(Call &call) {
  const auto args = call.args();
  if (args.empty())
    return call.fail("ctk cgroup --watch needs a TARGET: a container or a host PID");
  rt::HostPaths paths;
  auto s = target_subject(call, args[0], paths);
  if (!s)
    return call.fail(s.error());
  if (s->dirs.memory.empty() && s->dirs.pids.empty())
    return call.fail(fmt::format("{} has no memory or pids cgroup to watch", s->name));
  auto reader = cg::StatReader::open(s->dirs, 0, paths);
  if (!reader)
    return call.fail(reader.error());

  const int version = s->dirs.version;
  rt::UniqueFd notify; // inotify (v2) or eventfd (v1)
  rt::UniqueFd oom_control;
  int timeout_ms = 1000;
  if (version == 2) {
    notify = rt::UniqueFd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!notify)
      return call.fail(rt::errno_error("cannot watch memory.events: inotify_init1", errno));
    bool watched = false;
    for (const char *f : {"/memory.events", "/pids.events"})
      if (inotify_add_watch(notify.get(), (paths.prefixed(s->dirs.memory) + f).c_str(),
                            IN_MODIFY) >= 0)
        watched = true;
    if (!watched)
      return call.fail(
          rt::errno_error(fmt::format("cannot watch {}/memory.events", s->dirs.memory), errno));
    // A safety net for a missed event, not the source of them.
    timeout_ms = 5000;
  } else if (!s->dirs.memory.empty()) {
    // cgroup-v1/memory.rst "10. OOM Control": write "<event_fd> <fd of
    // memory.oom_control>" to cgroup.event_control.
    const std::string dir = paths.prefixed(s->dirs.memory);
    notify = rt::UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    auto oc = rt::open_fd(dir + "/memory.oom_control", O_RDONLY);
    auto ec = rt::open_fd(dir + "/cgroup.event_control", O_WRONLY);
    if (!notify || !oc || !ec)
      return call.fail(fmt::format("cannot register for OOM notifications of {}: {}", dir,
                                   !oc   ? oc.error().message()
                                   : !ec ? ec.error().message()
                                         : "eventfd failed"));
    const std::string line = fmt::format("{} {}", notify.get(), oc->get());
    if (::write(ec->get(), line.data(), line.size()) < 0)
      return call.fail(rt::errno_error("cannot register for OOM notifications of " + dir, errno));
    oom_control = std::move(*oc);
  }

  Counters last = read_counters(*reader, paths);
  call.log(CTK_LOG_INFO, fmt::format("watching {} ({}) for OOM kills and limit hits", s->name,
                                     version == 2 ? "memory.events" : "memory.oom_control"));
  while (!call.interrupted()) {
    pollfd fds[2] = {{call.interrupt_fd(), POLLIN, 0}, {notify.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno != EINTR)
      return call.fail(rt::errno_error("cannot wait for cgroup events", errno));
    if (call.interrupted() || (n > 0 && (fds[0].revents & POLLIN)))
      break;
    bool v1_oom = false;
    if (n > 0 && (fds[1].revents & POLLIN)) {
      if (version == 2) {
        char buf[4096];
        while (::read(notify.get(), buf, sizeof buf) > 0) {
        }
      } else {
        uint64_t hits = 0;
        v1_oom = ::read(notify.get(), &hits, sizeof hits) == sizeof hits && hits > 0;
      }
    }
    Counters now = read_counters(*reader, paths);
    if (reader->read(cg::kStatMemoryEvents | cg::kStatPids).vanished) {
      emit(call, *s, "gone", 0, 0, "the cgroup was removed (the container exited)");
      call.flush();
      break;
    }
    bool any = compare(call, *s, last, now, version);
    // v1 has no OOM counter before oom_kill (4.13): the notification itself
    // is the event when oom_kill did not move.
    if (v1_oom && !(now.oom_kill && last.oom_kill && *now.oom_kill > *last.oom_kill)) {
      emit(call, *s, "oom", 0, 1, "the cgroup hit its memory limit and could not reclaim");
      any = true;
    }
    if (any)
      call.flush();
    last = now;
  }
  return 0;
}

} // namespace ctk::plugins::stats
