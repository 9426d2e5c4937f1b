// ctk layers IMAGE: one record per layer with what it adds, modifies and
// deletes; the full file list rides in the hidden Files column, so
// `--format json` has every path of every layer (what dive users asked for).
#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::layers {

int run_layers(Call &call) {
  auto only = call.get_int("layer");
  if (!only)
    return call.fail(only.error());
  if (*only && **only < 0)
    return call.fail(fmt::format("invalid --layer {}: layers count from 0", **only));
  const bool changes_only = call.flag("changes-only");
  auto audit = audit_image(call);
  if (!audit)
    return call.fail(audit.error());
  if (*only && static_cast<size_t>(**only) >= audit->layers.size())
    return call.fail(fmt::format("invalid --layer {}: image {} has {} layers, counted from 0",
                                 **only, call.args().at(0), audit->layers.size()));
  for (const auto &l : audit->layers) {
    if (*only && l.index != static_cast<size_t>(**only))
      continue;
    auto r = call.record();
    r.field("Index", static_cast<unsigned long long>(l.index));
    r.field("Digest", l.digest);
    r.field("Size", static_cast<unsigned long long>(l.size));
    r.field("Compressed", static_cast<unsigned long long>(l.compressed_size));
    r.field("Added", static_cast<unsigned long long>(l.added));
    r.field("Modified", static_cast<unsigned long long>(l.modified));
    r.field("Deleted", static_cast<unsigned long long>(l.deleted));
    r.field("CreatedBy", l.created_by);
    r.field("AddedBytes", static_cast<unsigned long long>(l.added_bytes));
    r.field("ModifiedBytes", static_cast<unsigned long long>(l.modified_bytes));
    r.field("DeletedBytes", static_cast<unsigned long long>(l.deleted_bytes));
    r.field("Unchanged", static_cast<unsigned long long>(l.unchanged));
    // Streamed entry by entry: a layer of 100k files is never one json value here.
    r.key("Files").begin_array();
    for (const auto &f : l.files) {
      if (changes_only && f.status == rt::image::FileStatus::unchanged)
        continue;
      r.begin_object();
      r.field("Path", "/" + f.path);
      r.field("Type", entry_type_name(f.type));
      r.field("Status", status_name(f.status));
      r.field("Size", static_cast<unsigned long long>(f.size));
      r.field("Mode", mode_string(f.mode));
      r.field("Uid", static_cast<unsigned long long>(f.uid));
      r.field("Gid", static_cast<unsigned long long>(f.gid));
      if (f.status == rt::image::FileStatus::deleted)
        r.field("DeletedEntries", static_cast<unsigned long long>(f.deleted_entries));
      r.end_object();
    }
    r.end_array();
  }
  return 0;
}

} // namespace ctk::plugins::layers
