// ctk load [-i FILE|DIR|oci:DIR] [--platform os/arch[/variant]]
#include <unistd.h>

#include "commands.h"

namespace ctk::plugins::images {

int run_load(Call &call) {
  std::string input = call.get("input").value_or("-");
  if (input == "-" && call.stdout_is_tty() && isatty(0))
    return call.fail("cannot load from a terminal: give -i FILE or pipe an archive in");
  rt::image::LoadOptions opt;
  if (auto p = call.get("platform")) {
    auto pl = rt::image::Platform::parse(*p);
    if (!pl)
      return call.fail(pl.error());
    opt.platform = *pl;
  }
  opt.progress = progress_of(call);
  opt.cancelled = [&call] { return call.interrupted(); };
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  auto loaded = rt::image::load_archive(*store, input, opt);
  if (!loaded)
    return call.fail(loaded.error());
  for (const auto &l : *loaded) {
    if (l.image.names.empty()) {
      auto r = call.record();
      r.field("Image", l.image.config.str()).field("ID", l.image.config.str());
      continue;
    }
    for (const auto &n : l.image.names) {
      auto r = call.record();
      r.field("Image", rt::image::familiar_name(n)).field("ID", l.image.config.str());
    }
  }
  return 0;
}

} // namespace ctk::plugins::images
