// ctk rmi [-f] IMAGE...: untag, and delete an image once its last name goes.
// An image a ctk container was created from stays unless -f.
#include <dirent.h>

#include "commands.h"

namespace ctk::plugins::images {
namespace {

// Names of ctk containers (from <run-root>/containers/*/state.json) whose
// image is `img`.
std::vector<std::string> users_of(const Call &call, const rt::image::Store &store,
                                  const rt::image::Image &img) {
  std::vector<std::string> out;
  const std::string dir = call.run_root() + "/containers";
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return out;
  while (auto *e = ::readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    auto text = rt::read_file(dir + "/" + e->d_name + "/state.json");
    if (!text)
      continue;
    auto st = rt::image::parse_json(*text, "state.json");
    if (!st || !st->is_object() || !st->contains("image") || !(*st)["image"].is_string())
      continue;
    auto used = store.resolve((*st)["image"].get<std::string>());
    if (used && used->manifest == img.manifest) {
      std::string name = st->value("name", std::string(e->d_name));
      out.push_back(name);
    }
  }
  ::closedir(d);
  return out;
}

} // namespace

int run_rmi(Call &call) {
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  const bool force = call.flag("force");
  int status = 0;
  for (const auto &ref : call.args()) {
    auto img = store->resolve(ref);
    if (!img) {
      call.fail(img.error());
      status = 1;
      continue;
    }
    auto users = users_of(call, *store, *img);
    if (!users.empty() && !force) {
      call.fail("cannot remove image " + ref + ": used by container " + users[0] +
                (users.size() > 1 ? " and " + std::to_string(users.size() - 1) + " more" : "") +
                " (use -f)");
      status = 1;
      continue;
    }
    auto removed = store->remove(ref, force);
    if (!removed) {
      call.fail(removed.error());
      status = 1;
      continue;
    }
    for (const auto &n : removed->untagged) {
      auto r = call.record();
      r.field("Action", "Untagged").field("Image", rt::image::familiar_name(n));
    }
    if (removed->deleted) {
      auto r = call.record();
      r.field("Action", "Deleted").field("Image", removed->deleted->str());
    }
  }
  return status;
}

} // namespace ctk::plugins::images
