// ctk save [-o [docker-archive:|oci-archive:|oci:]FILE] [--format F] IMAGE...
//
// The format is chosen by --format (podman's names) or by a
// containers-transports prefix on -o (skopeo's); both given must agree.
#include <unistd.h>

#include <algorithm>

#include "commands.h"

namespace ctk::plugins::images {

int run_save(Call &call) {
  std::string out = call.get("output").value_or("-");
  std::string kind = "docker-archive";
  for (std::string_view t : {"docker-archive:", "oci-archive:", "oci:"})
    if (out.rfind(t, 0) == 0) {
      kind = std::string(t.substr(0, t.size() - 1));
      out = out.substr(t.size());
    }
  auto format = rt::image::parse_save_format(kind);
  if (!format)
    return call.fail(format.error());
  if (auto flag = call.get("format")) {
    auto chosen = rt::image::parse_save_format(*flag);
    if (!chosen)
      return call.fail(chosen.error());
    if (kind != "docker-archive" && *chosen != *format)
      return call.fail("--format " + *flag + " contradicts the " + kind + ": prefix of -o");
    format = chosen;
  }
  if (out == "-" && *format == rt::image::SaveFormat::oci_dir)
    return call.fail("oci:DIR needs a directory: -o oci:DIR");
  if (out == "-" && isatty(1))
    return call.fail("cannot write an archive to a terminal: give -o FILE or redirect stdout");
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  std::vector<rt::image::SaveItem> items;
  for (const auto &a : call.args()) {
    auto img = store->resolve(a);
    if (!img)
      return call.fail(img.error());
    rt::image::SaveItem it{*img, std::nullopt};
    // A name keeps just that name in the archive, as docker save does; an
    // ID keeps none.
    if (auto n = rt::image::normalize_name(a);
        n && std::find(img->names.begin(), img->names.end(), *n) != img->names.end())
      it.name = *n;
    else
      it.image.names.clear();
    items.push_back(std::move(it));
  }
  auto r = rt::image::save_archive(*store, items, out, *format, progress_of(call), 1);
  if (!r)
    return call.fail(r.error());
  return 0;
}

} // namespace ctk::plugins::images
