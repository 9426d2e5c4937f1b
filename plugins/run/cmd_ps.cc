// ctk ps: docker ps's columns over ctk's containers (--runtime all: every
// runtime's, through the resolver).
#include <ctime>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/discovery.h"

namespace ctk::plugins::run {
namespace {

namespace ct = rt::container;

// "Up 3 seconds", "Exited (0) 2 minutes ago", as docker words them.
std::string human_duration(int64_t s) {
  if (s < 1)
    return "Less than a second";
  if (s < 60)
    return fmt::format("{} second{}", s, s == 1 ? "" : "s");
  if (s < 3600)
    return s < 120 ? "About a minute" : fmt::format("{} minutes", s / 60);
  if (s < 48 * 3600)
    return s < 7200 ? "About an hour" : fmt::format("{} hours", s / 3600);
  return fmt::format("{} days", s / 86400);
}

int64_t now_s() { return static_cast<int64_t>(::time(nullptr)); }
int64_t secs(const std::string &rfc) {
  auto ns = ct::parse_time_ns(rfc);
  return ns ? *ns / 1000000000 : 0;
}

std::string status_text(const ct::Record &r) {
  const auto &s = r.state;
  if (s.status == "running")
    return "Up " + human_duration(now_s() - secs(s.started_at));
  if (s.status == "exited")
    return fmt::format("Exited ({}) {} ago", s.exit_code,
                       human_duration(now_s() - secs(s.finished_at)));
  return "Created";
}

std::string command_text(const std::vector<std::string> &argv) {
  std::string out;
  for (const auto &a : argv)
    out += (out.empty() ? "" : " ") + a;
  return "\"" + out + "\"";
}

std::string command_text(const ct::ContainerConfig &c) {
  std::vector<std::string> argv = c.entrypoint;
  argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());
  return command_text(argv);
}

// Another runtime's container: what its init process runs now (its config
// is the runtime's own business); empty when it is not running.
std::string command_of(pid_t pid) {
  if (pid <= 0)
    return "";
  rt::proc::ScanOptions o;
  o.fields = rt::proc::kCmdline;
  auto p = rt::proc::read_process(pid, o);
  return p && !p->cmdline.empty() ? command_text(p->cmdline) : "";
}

std::string ports_text(const ct::Record &r) {
  std::string out;
  const auto &ports = r.state.endpoint ? r.state.endpoint->ports : r.config.ports;
  for (const auto &p : ports) {
    if (!out.empty())
      out += ", ";
    out += fmt::format("{}:{}->{}/{}", p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port,
                       p.container_port, p.proto);
  }
  return out;
}

struct Filter {
  std::string key, value;
};

bool matches(const std::vector<Filter> &fs, const std::string &id, const std::string &name,
             const std::string &status) {
  for (const auto &f : fs) {
    if (f.key == "name" && name.find(f.value) == std::string::npos)
      return false;
    if (f.key == "id" && id.rfind(f.value, 0) != 0)
      return false;
    if (f.key == "status" && status != f.value)
      return false;
  }
  return true;
}

} // namespace

int run_ps(Call &call) {
  std::vector<Filter> filters;
  for (const auto &f : call.get_all("filter")) {
    auto eq = f.find('=');
    Filter flt{f.substr(0, eq), eq == std::string::npos ? "" : f.substr(eq + 1)};
    if (eq == std::string::npos || (flt.key != "name" && flt.key != "id" && flt.key != "status"))
      return call.fail("invalid --filter \"" + f + "\": name=, id= or status=", 1);
    filters.push_back(flt);
  }
  auto n = call.get_int("last");
  if (!n)
    return call.fail(n.error());
  long long last = n->value_or(-1);
  if (call.flag("latest"))
    last = 1;
  const bool all = call.flag("all") || last >= 0 ||
                   std::any_of(filters.begin(), filters.end(),
                               [](const Filter &f) { return f.key == "status"; });
  const std::string runtime = call.get("runtime").value_or("ctk");

  if (runtime != "ctk") {
    rt::discovery::Options o;
    o.roots.ctk_root = call.root();
    o.roots.ctk_run_root = call.run_root();
    auto r = rt::discovery::Resolver::open(std::move(o));
    if (!r)
      return call.fail(r.error());
    auto list = r->list(all);
    if (!list)
      return call.fail(list.error());
    for (const auto &w : r->warnings())
      call.warn(w);
    std::sort(list->begin(), list->end(),
              [](const auto &a, const auto &b) { return a.created > b.created; });
    long long shown = 0;
    for (const auto &c : *list) {
      if (runtime != "all" && rt::discovery::runtime_name(c.runtime) != runtime)
        continue;
      if (!matches(filters, c.id, c.name, c.status))
        continue;
      if (last >= 0 && shown++ >= last)
        break;
      auto rec = call.record();
      rec.field("ID", c.id).field("Image", c.image).field("Command", command_of(c.pid));
      rec.field("CreatedAt", c.created).field("Status", c.status).field("Ports", "");
      rec.field("Names", c.name).field("Runtime", rt::discovery::runtime_name(c.runtime));
      rec.field("Pid", c.pid).field("State", c.status);
    }
    return 0;
  }

  const auto paths = container_paths(call);
  std::vector<ct::Record> recs;
  for (const auto &id : ct::list_container_ids(paths)) {
    auto rec = ct::load_record(paths, id);
    if (!rec) {
      if (rec.error().code != rt::Errc::not_found) // removed meanwhile
        call.warn(rec.error().message());
      continue;
    }
    if (!all && rec->state.status != "running")
      continue;
    if (!matches(filters, id, rec->config.name, rec->state.status))
      continue;
    recs.push_back(std::move(*rec));
  }
  std::sort(recs.begin(), recs.end(), [](const auto &a, const auto &b) {
    return a.config.created > b.config.created;
  });
  if (last >= 0 && recs.size() > static_cast<size_t>(last))
    recs.resize(static_cast<size_t>(last));
  for (const auto &r : recs) {
    auto rec = call.record();
    rec.field("ID", r.config.id).field("Image", r.config.image).field("Command", command_text(r.config));
    rec.field("CreatedAt", r.config.created).field("Status", status_text(r));
    rec.field("Ports", ports_text(r)).field("Names", r.config.name).field("Runtime", "ctk");
    rec.field("Pid", static_cast<long long>(r.state.pid)).field("State", r.state.status);
    rec.field("ExitCode", r.state.exit_code);
  }
  return 0;
}

} // namespace ctk::plugins::run
