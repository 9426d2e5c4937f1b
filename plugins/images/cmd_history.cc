// ctk history IMAGE: one row per history entry of the config, newest first,
// with the size of the layer it made (0 for empty layers).
#include "commands.h"

namespace ctk::plugins::images {

int run_history(Call &call) {
  auto args = call.args();
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  auto img = store->resolve(args.at(0));
  if (!img)
    return call.fail(img.error());
  auto cfg = store->read_json(img->config);
  if (!cfg)
    return call.fail(cfg.error());
  auto m = store->read_manifest(img->manifest);
  if (!m)
    return call.fail(m.error());
  struct Row {
    std::string created, by, comment;
    bool empty;
    uint64_t size;
  };
  std::vector<Row> rows;
  size_t layer = 0;
  const auto hist = cfg->value("history", nlohmann::json::array());
  for (const auto &h : hist) {
    if (!h.is_object())
      continue;
    Row r{h.value("created", std::string()), h.value("created_by", std::string()),
          h.value("comment", std::string()), h.value("empty_layer", false), 0};
    if (!r.empty && layer < m->layers.size())
      r.size = store->blob_size(m->layers[layer++].digest).value_or(0);
    rows.push_back(std::move(r));
  }
  // A config without history (some importers write none): one row per layer.
  if (rows.empty())
    for (const auto &l : m->layers)
      rows.push_back({created_of(*cfg), "", "", false, store->blob_size(l.digest).value_or(0)});
  for (size_t i = rows.size(); i-- > 0;) {
    const auto &row = rows[i];
    auto r = call.record();
    r.field("ID", i + 1 == rows.size() ? img->config.str() : std::string("<missing>"));
    if (row.created.empty())
      r.field("CreatedAt", nullptr);
    else
      r.field("CreatedAt", row.created);
    r.field("CreatedBy", row.by);
    r.field("Size", static_cast<unsigned long long>(row.size));
    r.field("Comment", row.comment);
    r.field("EmptyLayer", row.empty);
  }
  return 0;
}

} // namespace ctk::plugins::images
