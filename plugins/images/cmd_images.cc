// ctk images: one row per name (an untagged image: one <none> row). -q is
// the host's: the ID column is the quiet column.

#include "commands.h"

namespace ctk::plugins::images {

int run_images(Call &call) {
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  auto all = store->images();
  if (!all)
    return call.fail(all.error());
  for (const auto &img : *all) {
    auto cfg = store->read_json(img.config);
    const std::string created = cfg ? created_of(*cfg) : "";
    const uint64_t size = image_size(*store, img);
    std::vector<std::string> names = img.names;
    if (names.empty())
      names.push_back("");
    for (const auto &n : names) {
      std::string repo = "<none>", tag = "<none>";
      if (!n.empty())
        rt::image::split_name(n, repo, tag);
      auto r = call.record();
      r.field("Repository", repo).field("Tag", tag).field("ID", img.config.str());
      if (created.empty())
        r.field("CreatedAt", nullptr);
      else
        r.field("CreatedAt", created);
      r.field("Size", static_cast<unsigned long long>(size));
      r.field("Digest", img.manifest.str());
      r.field("Name", n);
    }
  }
  return 0;
}

} // namespace ctk::plugins::images
