#include "plugin_index.h"

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"
#include "ctk/runtime/version.h"

namespace ctk::tools {

namespace {

using Json = nlohmann::ordered_json;
constexpr int kIndexVersion = 1;

Json stamp_json(const FileStamp &s) {
  return Json{{"path", s.path}, {"exists", s.exists}, {"size", s.size}, {"mtime_ns", s.mtime_ns},
              {"ino", s.ino},   {"mode", s.mode},     {"uid", s.uid}};
}

FileStamp stamp_from(const Json &j) {
  FileStamp s;
  s.path = j.at("path").get<std::string>();
  s.exists = j.at("exists").get<bool>();
  s.size = j.at("size").get<uint64_t>();
  s.mtime_ns = j.at("mtime_ns").get<int64_t>();
  s.ino = j.at("ino").get<uint64_t>();
  s.mode = j.at("mode").get<uint32_t>();
  s.uid = j.at("uid").get<uint32_t>();
  return s;
}

} // namespace

PluginIndex PluginIndex::from(const PluginSet &set, const PluginDirScan &scan, uid_t euid) {
  PluginIndex idx;
  idx.scan_ = scan;
  idx.euid_ = euid;
  for (const auto &p : set.plugins) {
    IndexedPlugin ip{p.path, p.name, p.loaded, p.reason, {}};
    for (const auto &[name, summary] : p.commands) {
      ip.commands.push_back(name);
      if (p.loaded)
        idx.commands_.push_back({name, summary, p.path});
    }
    idx.plugins_.push_back(std::move(ip));
  }
  return idx;
}

const IndexedCommand *PluginIndex::find(const std::string &name) const {
  for (const auto &c : commands_)
    if (c.name == name)
      return &c;
  return nullptr;
}

std::string PluginIndex::to_json() const {
  Json j;
  j["version"] = kIndexVersion;
  j["runtime_version"] = CTK_RUNTIME_VERSION;
  j["abi_major"] = CTK_PLUGIN_ABI_MAJOR;
  // Ownership rules depend on who runs ctk, so an index is valid for one euid.
  j["euid"] = euid_;
  j["dirs"] = Json::array();
  for (const auto &d : scan_.dirs)
    j["dirs"].push_back(stamp_json(d));
  j["files"] = Json::array();
  for (const auto &f : scan_.files)
    j["files"].push_back(stamp_json(f));
  j["plugins"] = Json::array();
  for (const auto &p : plugins_)
    j["plugins"].push_back(Json{{"path", p.path},
                                {"name", p.name},
                                {"loaded", p.loaded},
                                {"reason", p.reason},
                                {"commands", p.commands}});
  j["commands"] = Json::array();
  for (const auto &c : commands_)
    j["commands"].push_back(Json{{"name", c.name}, {"summary", c.summary}, {"plugin", c.plugin}});
  return j.dump(1) + "\n";
}

std::optional<PluginIndex> PluginIndex::from_json(const std::string &text) {
  try {
    Json j = Json::parse(text);
    if (j.at("version").get<int>() != kIndexVersion ||
        j.at("runtime_version").get<std::string>() != CTK_RUNTIME_VERSION ||
        j.at("abi_major").get<int>() != CTK_PLUGIN_ABI_MAJOR)
      return std::nullopt;
    PluginIndex idx;
    idx.euid_ = j.at("euid").get<uid_t>();
    for (const auto &d : j.at("dirs"))
      idx.scan_.dirs.push_back(stamp_from(d));
    for (const auto &f : j.at("files"))
      idx.scan_.files.push_back(stamp_from(f));
    for (const auto &p : j.at("plugins"))
      idx.plugins_.push_back({p.at("path").get<std::string>(), p.at("name").get<std::string>(),
                              p.at("loaded").get<bool>(), p.at("reason").get<std::string>(),
                              p.at("commands").get<std::vector<std::string>>()});
    for (const auto &c : j.at("commands"))
      idx.commands_.push_back({c.at("name").get<std::string>(), c.at("summary").get<std::string>(),
                               c.at("plugin").get<std::string>()});
    return idx;
  } catch (const nlohmann::json::exception &) {
    return std::nullopt; // a damaged cache is simply rebuilt
  }
}

std::optional<PluginIndex> PluginIndex::load(const std::string &path, const PluginDirScan &scan,
                                             uid_t euid) {
  auto text = rt::read_file(path);
  if (!text)
    return std::nullopt;
  auto idx = from_json(*text);
  if (!idx || idx->euid_ != euid || !(idx->scan_.dirs == scan.dirs) ||
      !(idx->scan_.files == scan.files))
    return std::nullopt;
  // Every command must point at a file of this scan: the cache must never be
  // a way to name some other file.
  for (const auto &c : idx->commands_) {
    bool known = false;
    for (const auto &f : scan.files)
      known = known || f.path == c.plugin;
    if (!known)
      return std::nullopt;
  }
  return idx;
}

rt::Result<void> PluginIndex::save(const std::string &path) const {
  return rt::write_file_atomic(path, to_json(), 0644);
}

} // namespace ctk::tools
