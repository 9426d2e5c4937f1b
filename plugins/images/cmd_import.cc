// ctk import ROOTFS.tar[.gz|.zst]|- NAME[:TAG] [-m MESSAGE]
#include "commands.h"

namespace ctk::plugins::images {

int run_import(Call &call) {
  auto args = call.args();
  if (args.size() != 2)
    return call.fail("usage: ctk import ROOTFS.tar NAME[:TAG]");
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  rt::image::ImportOptions opt;
  opt.name = args[1];
  opt.message = call.get("message").value_or("");
  opt.progress = progress_of(call);
  opt.cancelled = [&call] { return call.interrupted(); };
  auto img = rt::image::import_rootfs(*store, args[0], opt);
  if (!img)
    return call.fail(img.error());
  auto r = call.record();
  r.field("Image", rt::image::familiar_name(img->names.empty() ? "" : img->names[0]))
      .field("ID", img->config.str());
  return 0;
}

} // namespace ctk::plugins::images
