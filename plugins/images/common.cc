#include "commands.h"

namespace ctk::plugins::images {

rt::Result<rt::image::Store> open_store(const Call &call) {
  return rt::image::Store::open(call.root());
}

rt::image::ProgressFn progress_of(const Call &call) {
  return [&call](std::string_view label, uint64_t done, uint64_t total) {
    call.progress(label, done, total);
  };
}

std::string created_of(const nlohmann::json &config) {
  auto it = config.find("created");
  return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

uint64_t image_size(const rt::image::Store &store, const rt::image::Image &img) {
  auto m = store.read_manifest(img.manifest);
  if (!m)
    return 0;
  uint64_t total = 0;
  for (const auto &l : m->layers)
    total += store.blob_size(l.digest).value_or(l.size);
  return total;
}

} // namespace ctk::plugins::images
