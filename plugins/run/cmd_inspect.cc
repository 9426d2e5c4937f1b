// ctk inspect TARGET...: docker's inspect document of ctk containers. A
// target that is not a ctk container but another runtime's (docker://web,
// pid://N) gets the part of the document discovery knows (Id, Name, State,
// Image, Config.Labels), so `--format '{{.State.Pid}}'` works on any.
#include <fmt/format.h>

#include "ctk/runtime/discovery.h"
#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ct = rt::container;
namespace {

nlohmann::ordered_json foreign_document(const rt::discovery::Container &c) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto &[k, v] : c.labels)
    labels[k] = v;
  const bool running = c.status == "running" || c.status == "paused";
  return {{"Id", c.id},
          {"Created", c.created},
          {"State",
           {{"Status", c.status},
            {"Running", running},
            {"Paused", c.status == "paused"},
            {"Pid", c.pid}}},
          {"Image", c.image},
          {"Name", "/" + c.name},
          {"Runtime", rt::discovery::runtime_name(c.runtime)},
          {"Config", {{"Image", c.image}, {"Labels", labels}}},
          {"NetworkSettings", {{"IPAddress", ""}}}};
}

rt::Result<nlohmann::ordered_json> document_of(const ct::Paths &paths, const std::string &target) {
  // One resolver over every runtime: a name that both ctk and docker use is
  // ambiguous here, as everywhere, and lists both.
  rt::discovery::Options opt;
  opt.roots.ctk_root = paths.root;
  opt.roots.ctk_run_root = paths.run_root;
  auto resolver = rt::discovery::Resolver::open(opt);
  if (!resolver)
    return tl::unexpected(resolver.error());
  auto c = resolver->resolve(target);
  if (!c)
    return tl::unexpected(c.error());
  if (c->runtime != rt::discovery::Runtime::ctk)
    return foreign_document(*c);
  auto rec = ct::load_record(paths, c->id);
  if (!rec)
    return tl::unexpected(rec.error());
  ct::InspectExtra extra;
  // The lower dirs are shown when the image is still in the store; a
  // container whose image was removed (rmi -f) is still inspectable.
  if (auto store = rt::image::Store::open(paths.root))
    if (auto lowers = ct::image_lower_dirs(*store, rec->config))
      extra.lowerdir = fmt::format("{}", fmt::join(*lowers, ":"));
  return ct::inspect_document(*rec, paths, extra);
}

} // namespace

int run_inspect(Call &call) {
  const auto paths = paths_of(call);
  const auto targets = call.args();
  if (targets.empty())
    return call.fail("inspect needs at least one container", 2);
  int status = 0;
  // As docker: every target that resolves is printed; each one that does
  // not is an error, and the exit status is 1 if there was any.
  for (const auto &t : targets) {
    auto doc = document_of(paths, t);
    if (!doc) {
      status = call.fail(doc.error().wrap("cannot inspect " + t));
      continue;
    }
    call.emit(*doc);
  }
  return status;
}

} // namespace ctk::plugins::run::life
