// ctk system check / ctk system prune: what dead ctk containers left behind.
//
// A leftover is something of a container that no longer runs: the overlay
// mount of its rootfs (and mounts below it), its /ctk/<id> cgroups, the
// state of a container whose monitor died (state.json says running, the
// process is gone: marked exited, or removed with --rm), and the run
// directory of a container whose record is gone. Only this run root's
// containers are judged; a /ctk/<id> cgroup no record here explains is a
// leftover only when it is empty and older than a grace period, because it
// may belong to a `ctk run` of another --root that is starting right now.
// Network endpoints (veth, address, nftables rules, hosts entries) whose
// container is gone are judged by the net module, in the network namespace
// ctk runs in, and only where this run root has used the bridge
// (<run-root>/net exists), so that a check never creates a bridge.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "ctk/runtime/cgroup.h"
#include "ctk/runtime/cgroup_manage.h"
#include "ctk/runtime/netsetup.h"
#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ct = rt::container;
namespace fs = std::filesystem;
namespace {

constexpr int64_t kOrphanCgroupGraceSeconds = 30;
// The path of the "network" leftover that is ctk's DOCKER-USER rules.
constexpr const char *kDockerUser = "DOCKER-USER";

struct Leftover {
  std::string kind; // "mount" | "cgroup" | "state" | "network"
  std::string id;
  std::string what;
  std::string path;          // mount point, cgroup path "/ctk/<id>", or run dir
  bool kill = false;         // cgroup: has processes of a dead container
  bool remove = false;       // state: --rm container: remove it; else mark exited
  bool run_dir_only = false; // state: the record is gone, only the run dir is left
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') {
          ok = false;
          break;
        }
        v = v * 8 + (s[i + k] - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct Survey {
  std::map<std::string, bool> running; // id -> alive (only ids with a run dir or record)
  std::vector<Leftover> found;
};

// A lock someone holds: a start, stop or rm in progress (<run dir>/lock), or
// a live monitor (monitor.lock, held for its whole life, teardown included).
bool held(const std::string &path) {
  if (::access(path.c_str(), F_OK) != 0)
    return false;
  return !rt::FileLock::acquire(path, rt::LockMode::shared, /*wait=*/false);
}

// Whether a container is in use: running, or being set up or torn down by
// another ctk process right now (never a leftover, whatever its files say).
bool in_use(const ct::Paths &paths, const std::string &id) {
  return held(paths.run_dir(id) + "/lock") || held(ct::monitor_lock_path(paths, id));
}

bool alive(const ct::Paths &paths, const std::string &id) {
  if (in_use(paths, id))
    return true;
  auto rec = ct::load_record(paths, id);
  return rec && rec->state.status == "running";
}

rt::Result<void> survey_state(const ct::Paths &paths, Survey &s) {
  const std::string dir = paths.run_root + "/containers";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return {};
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    const std::string id = e.path().filename();
    if (id.size() != 64 || !rt::is_hex(id) || !e.is_directory(ec) || in_use(paths, id))
      continue;
    if (::access((paths.dir(id) + "/config.json").c_str(), F_OK) != 0) {
      s.found.push_back({"state", id, "run directory of a removed container: " + e.path().string(),
                         e.path().string(), false, false, true});
      continue;
    }
    auto text = rt::read_file(e.path().string() + "/state.json");
    if (!text)
      continue;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    auto st = ct::state_from_json(j);
    if (!st || st->status != "running")
      continue;
    if (ct::process_alive(st->pid, st->pid_start))
      continue;
    auto rec = ct::load_record(paths, id);
    const bool rm = rec && rec->config.auto_remove;
    s.found.push_back(
        {"state", id,
         fmt::format("{} is recorded as running but its process {} is gone (its "
                     "monitor died){}",
                     rec ? rec->config.name : id, st->pid, rm ? "; --rm: to be removed" : ""),
         e.path().string(), false, rm, false});
  }
  return {};
}

rt::Result<void> survey_mounts(const ct::Paths &paths, Survey &s) {
  auto mi = rt::read_file("/proc/self/mountinfo");
  if (!mi)
    return rt::wrap(mi, "cannot list mounts");
  const std::string prefix = paths.run_root + "/containers/";
  for (auto line : rt::split_lines(*mi)) {
    auto f = rt::split(line, ' ');
    if (f.size() < 5)
      continue;
    const std::string mp = unescape(f[4]);
    if (mp.compare(0, prefix.size(), prefix) != 0)
      continue;
    std::string id = mp.substr(prefix.size());
    id = id.substr(0, id.find('/'));
    if (id.size() != 64 || !rt::is_hex(id))
      continue;
    if (alive(paths, id))
      continue;
    s.found.push_back({"mount", id, "mount of a stopped container: " + mp, mp});
  }
  return {};
}

int64_t age_seconds(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return 0;
  return static_cast<int64_t>(::time(nullptr)) - st.st_mtim.tv_sec;
}

rt::Result<void> survey_cgroups(const ct::Paths &paths, const rt::cgroup::Hierarchy &h, Survey &s) {
  auto dirs = rt::cgroup::list_ctk_cgroups(h);
  if (!dirs)
    return rt::wrap(dirs, "cannot list ctk's cgroups");
  std::map<std::string, std::vector<std::string>> by_id;
  for (const auto &d : *dirs)
    by_id[fs::path(d).filename()].push_back(d);
  for (const auto &[id, ds] : by_id) {
    if (id.size() != 64 || !rt::is_hex(id))
      continue;
    const bool known = ::access((paths.dir(id) + "/config.json").c_str(), F_OK) == 0;
    if (known && alive(paths, id))
      continue;
    auto cg = rt::cgroup::ContainerCgroup::open(h, id);
    auto pids = cg.pids();
    const size_t n = pids ? pids->size() : 0;
    if (!known) {
      // Not ours to judge unless it is empty and not being set up now.
      if (n > 0 || age_seconds(ds.front()) < kOrphanCgroupGraceSeconds)
        continue;
      s.found.push_back({"cgroup", id,
                         fmt::format("cgroup {} of no known container (empty, {} hierarchies)",
                                     cg.path(), ds.size()),
                         cg.path()});
      continue;
    }
    s.found.push_back(
        {"cgroup", id,
         n ? fmt::format("cgroup {} of a stopped container still holds {} processes", cg.path(), n)
           : fmt::format("cgroup {} of a stopped container", cg.path()),
         cg.path(), n > 0});
  }
  return {};
}

std::optional<rt::net::BridgeNetwork> open_network(const ct::Paths &paths,
                                                   rt::Result<void> &error) {
  const std::string dir = paths.run_root + "/net";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return std::nullopt;
  rt::net::NetworkOptions opt;
  opt.state_dir = dir;
  auto bn = rt::net::BridgeNetwork::open(opt);
  if (!bn) {
    error = rt::wrap(bn, "cannot open the bridge network");
    return std::nullopt;
  }
  return std::move(*bn);
}

rt::Result<void> survey_network(const Call &call, const ct::Paths &paths, Survey &s) {
  rt::Result<void> err;
  auto bn = open_network(paths, err);
  if (!err)
    return err;
  if (!bn)
    return {};
  // Not a leftover, but what makes a container's traffic vanish: said here
  // as at `run`.
  if (auto drop = bn->foreign_forward_drop())
    call.warn(drop->find("DOCKER-USER") != std::string::npos
                  ? *drop + "; ctk run --allow-docker-forward adds ctk's rules there"
                  : *drop);
  auto gone = bn->endpoints();
  if (!gone)
    return rt::wrap(gone, "cannot list network endpoints");
  for (const auto &id : *gone) {
    if (alive(paths, id))
      continue;
    s.found.push_back({"network", id,
                       "network endpoint of a gone container (address, port rules, hosts "
                       "entries; its veth is gone)",
                       id});
  }
  // ctk's rules in docker's DOCKER-USER outlive the bridge's last container
  // only when a ctk died while detaching it.
  auto rules = bn->docker_user_leftovers();
  if (!rules)
    return rt::wrap(rules, "cannot list ctk's rules in DOCKER-USER");
  if (*rules > 0)
    s.found.push_back({"network", "",
                       fmt::format("{} ACCEPT rules of ctk in docker's DOCKER-USER chain (comment "
                                   "ctk:docker-user) and no container on {}",
                                   *rules, bn->options().bridge),
                       kDockerUser});
  return {};
}

rt::Result<Survey> survey(const Call &call, const ct::Paths &paths,
                          const rt::cgroup::Hierarchy &h) {
  Survey s;
  if (auto r = survey_network(call, paths, s); !r)
    return tl::unexpected(r.error());
  if (auto r = survey_mounts(paths, s); !r)
    return tl::unexpected(r.error());
  if (auto r = survey_cgroups(paths, h, s); !r)
    return tl::unexpected(r.error());
  if (auto r = survey_state(paths, s); !r)
    return tl::unexpected(r.error());
  return s;
}

void emit(const Call &call, const Leftover &l, std::string_view action) {
  auto r = call.record();
  r.field("Kind", l.kind);
  r.field("ID", l.id);
  r.field("What", l.what);
  r.field("Action", action);
}

// Drops the name of a removed container from names.json if it still maps to it.
void unregister(const ct::Paths &paths, const std::string &name, const std::string &id) {
  const std::string cdir = paths.root + "/containers";
  auto lock = rt::FileLock::acquire(cdir + "/names.lock", rt::LockMode::exclusive);
  if (!lock)
    return;
  auto text = rt::read_file(cdir + "/names.json");
  if (!text)
    return;
  auto names = nlohmann::json::parse(*text, nullptr, false);
  if (!names.is_object() || !names.contains(name) || names[name] != id)
    return;
  names.erase(name);
  (void)rt::write_file_atomic(cdir + "/names.json", names.dump(), 0600);
}

rt::Result<std::string> prune_one(const ct::Paths &paths, const rt::cgroup::Hierarchy &h,
                                  const Leftover &l) {
  if (l.kind == "mount") {
    if (::umount2(l.path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return rt::fail_errno("cannot unmount " + l.path);
    return std::string("unmounted");
  }
  if (l.kind == "network") {
    rt::Result<void> err;
    auto bn = open_network(paths, err);
    if (!err)
      return tl::unexpected(err.error());
    if (!bn)
      return std::string("gone already");
    if (l.path == kDockerUser) {
      if (auto r = bn->remove_from_docker_user(); !r)
        return tl::unexpected(r.error());
      return std::string("removed");
    }
    if (auto r = bn->detach(l.id); !r)
      return tl::unexpected(r.error());
    return std::string("detached");
  }
  if (l.kind == "cgroup") {
    auto cg = rt::cgroup::ContainerCgroup::open(h, l.id);
    if (l.kill)
      if (auto r = cg.kill(SIGKILL); !r)
        return rt::wrap(r, "cannot kill the processes in " + l.path);
    if (auto r = cg.remove(); !r)
      return rt::wrap(r, "cannot remove " + l.path);
    return std::string(l.kill ? "killed, removed" : "removed");
  }
  // state: the container's lock keeps a concurrent start/rm out.
  std::error_code ec;
  if (l.run_dir_only) {
    fs::remove_all(l.path, ec);
    if (ec)
      return rt::fail(rt::Errc::io, "cannot remove " + l.path + ": " + ec.message());
    return std::string("removed");
  }
  auto lock = rt::FileLock::acquire(l.path + "/lock", rt::LockMode::exclusive);
  if (!lock)
    return rt::wrap(lock, "cannot lock container " + l.id);
  auto text = rt::read_file(l.path + "/state.json");
  if (!text)
    return rt::wrap(text, "cannot read the state of " + l.id);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object())
    return rt::fail(rt::Errc::parse, "malformed state of container " + l.id);
  auto st = ct::state_from_json(j);
  if (st && st->status == "running" && ct::process_alive(st->pid, st->pid_start))
    return std::string("skipped: it runs again");
  if (l.remove) {
    auto rec = ct::load_record(paths, l.id);
    fs::remove_all(paths.dir(l.id), ec);
    if (ec)
      return rt::fail(rt::Errc::io, "cannot remove " + paths.dir(l.id) + ": " + ec.message());
    if (rec)
      unregister(paths, rec->config.name, l.id);
    fs::remove_all(l.path, ec);
    return std::string("removed (--rm)");
  }
  char buf[64];
  time_t now = ::time(nullptr);
  struct tm tm {};
  ::gmtime_r(&now, &tm);
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  j["status"] = "exited";
  j["pid"] = 0;
  j["finished_at"] = buf;
  // The exit status was never recorded: docker reports 255 for that case.
  j["exit_code"] = 255;
  if (auto r = rt::write_file_atomic(l.path + "/state.json", j.dump()); !r)
    return rt::wrap(r, "cannot write the state of " + l.id);
  return std::string("marked exited");
}

int run_system(Call &call, bool prune) {
  const auto paths = paths_of(call);
  auto h = rt::cgroup::Hierarchy::detect({});
  if (!h)
    return call.fail(h.error());
  auto s = survey(call, paths, *h);
  if (!s)
    return call.fail(s.error());
  if (!prune) {
    for (const auto &l : s->found)
      emit(call, l, "");
    return s->found.empty() ? 0 : 1;
  }
  // Deepest mounts first, then cgroups (now without the mounts' users),
  // then state, which may remove directories the mounts were in.
  auto order = [](const std::string &k) {
    return k == "mount" ? 0 : k == "cgroup" ? 1 : k == "network" ? 2 : 3;
  };
  std::stable_sort(s->found.begin(), s->found.end(), [&](const Leftover &a, const Leftover &b) {
    if (order(a.kind) != order(b.kind))
      return order(a.kind) < order(b.kind);
    return a.kind == "mount" && a.path.size() > b.path.size();
  });
  int status = 0;
  for (const auto &l : s->found) {
    auto done = prune_one(paths, *h, l);
    if (!done) {
      status = call.fail(done.error());
      continue;
    }
    emit(call, l, *done);
  }
  return status;
}

} // namespace

int run_system_check(Call &call) {
  return run_system(call, false);
}
int run_system_prune(Call &call) {
  return run_system(call, true);
}

} // namespace ctk::plugins::run::life
