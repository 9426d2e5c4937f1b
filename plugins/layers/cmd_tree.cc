// ctk layers tree IMAGE [--layer N] [--changes-only]: the merged filesystem,
// one record per path, depth-first, with the layer each path comes from.
#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::layers {

int run_tree(Call &call) {
  rt::image::TreeOptions opt;
  auto layer = call.get_int("layer");
  if (!layer)
    return call.fail(layer.error());
  if (*layer) {
    if (**layer < 0)
      return call.fail(fmt::format("invalid --layer {}: layers count from 0", **layer));
    opt.layer = static_cast<size_t>(**layer);
  }
  opt.changes_only = call.flag("changes-only");
  auto audit = audit_image(call);
  if (!audit)
    return call.fail(audit.error());
  if (opt.layer && *opt.layer >= audit->layers.size())
    return call.fail(fmt::format("invalid --layer {}: image {} has {} layers, counted from 0",
                                 *opt.layer, call.args().at(0), audit->layers.size()));
  auto rows = rt::image::tree_rows(*audit, opt);
  if (!rows)
    return call.fail(rows.error());
  for (const auto &row : *rows) {
    auto r = call.record();
    // Indentation carries the tree shape in a table; Path is the full one.
    std::string name(row.depth * 2, ' ');
    name += row.name;
    if (row.type == rt::image::EntryType::dir)
      name += '/';
    r.field("Name", name);
    r.field("Type", entry_type_name(row.type));
    r.field("Size", static_cast<unsigned long long>(row.size));
    r.field("Status", status_name(row.status));
    r.field("Layer", static_cast<unsigned long long>(row.layer));
    r.field("Mode", mode_string(row.mode));
    r.field("Path", "/" + row.path);
    r.field("Uid", static_cast<unsigned long long>(row.uid));
    r.field("Gid", static_cast<unsigned long long>(row.gid));
  }
  return 0;
}

} // namespace ctk::plugins::layers
