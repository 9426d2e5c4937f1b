// ctk commit [-a] [-m] [-c INSTRUCTION]... CONTAINER [NAME[:TAG]]: the
// container's upper directory as a new image layer (container_ops.h).
#include <unistd.h>

#include <fmt/format.h>

#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ct = rt::container;

int run_commit(Call &call) {
  const auto paths = paths_of(call);
  const auto args = call.args();
  auto id = ct::find_container(paths, args.at(0));
  if (!id)
    return call.fail(id.error());
  // Shared: `rm` (exclusive) waits until the layer is written, and two
  // commits of one container may run at once.
  std::optional<rt::FileLock> lock;
  if (::access(paths.run_dir(*id).c_str(), F_OK) == 0) {
    auto l = rt::FileLock::acquire(paths.run_dir(*id) + "/lock", rt::LockMode::shared);
    if (!l)
      return call.fail(l.error().wrap("cannot lock container " + args[0]));
    lock.emplace(std::move(*l));
  }
  auto rec = ct::load_record(paths, *id);
  if (!rec)
    return call.fail(rec.error());
  auto store = rt::image::Store::open(paths.root);
  if (!store)
    return call.fail(store.error());
  ct::CommitOptions opt;
  opt.author = call.get("author").value_or("");
  opt.message = call.get("message").value_or("");
  opt.changes = call.get_all("change");
  opt.name = args.size() > 1 ? args[1] : "";
  const std::string pause = call.get("pause").value_or("true");
  if (pause != "true" && pause != "false" && !pause.empty())
    return call.fail(fmt::format("invalid --pause \"{}\": true or false", pause), 125);
  opt.pause = pause != "false";
  auto done = ct::commit(*store, *rec, paths, opt);
  if (!done)
    return call.fail(done.error());
  if (done->not_paused)
    call.warn("container " + args[0] + " was committed running: this host has no cgroup v2 "
              "freezer to pause it");
  auto r = call.record();
  r.field("ID", done->image.config.str());
  r.field("Name", opt.name);
  r.field("Layer", done->layer_digest.str());
  r.field("DiffID", done->diff_id.str());
  r.field("LayerSize", static_cast<unsigned long long>(done->layer_size));
  return 0;
}

} // namespace ctk::plugins::run::life
