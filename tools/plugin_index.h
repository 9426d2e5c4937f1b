// The start-up cache: which plugin file owns which command, with summaries
// for `ctk help` and the refusals for `ctk plugins`, so that running one
// command dlopens one plugin.
//
//   auto scan = scan_plugin_dirs(plugin_dirs());
//   std::optional<PluginIndex> idx = PluginIndex::load(run_root + "/plugin-index.json", scan,
//   euid); if (!idx) { auto set = load_all(scan, euid, builtins); idx = PluginIndex::from(set,
//   scan, euid);
//               idx->save(path); }                       // best effort
//   idx->owner_of("pidmap");                             // "/usr/lib/ctk/plugins/pidmap.so"
//
// The index is only a hint: the owning plugin is checked again before it is
// loaded, and a file the scan did not find is never named by it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/core.h"
#include "plugin_loader.h"

namespace ctk::tools {

struct IndexedCommand {
  std::string name;
  std::string summary;
  std::string plugin; // path
};

struct IndexedPlugin {
  std::string path;
  std::string name;
  bool loaded = false;
  std::string reason;
  std::vector<std::string> commands;
};

class PluginIndex {
public:
  static PluginIndex from(const PluginSet &set, const PluginDirScan &scan, uid_t euid);
  // nullopt when missing, unreadable, malformed or stale for this scan.
  static std::optional<PluginIndex> load(const std::string &path, const PluginDirScan &scan,
                                         uid_t euid);
  // Writes atomically; failure (read-only run root, no permission) is returned
  // for the caller to ignore.
  rt::Result<void> save(const std::string &path) const;

  const std::vector<IndexedCommand> &commands() const { return commands_; }
  const std::vector<IndexedPlugin> &plugins() const { return plugins_; }
  const IndexedCommand *find(const std::string &name) const;

  std::string to_json() const;
  static std::optional<PluginIndex> from_json(const std::string &text);

private:
  PluginDirScan scan_;
  uid_t euid_ = 0;
  std::vector<IndexedCommand> commands_;
  std::vector<IndexedPlugin> plugins_;
};

} // namespace ctk::tools
