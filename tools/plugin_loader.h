// Finding, checking and loading plugins.
//
//   auto dirs = plugin_dirs();                       // $CTK_PLUGIN_PATH, then the install dir
//   auto files = scan_plugin_dirs(dirs);             // every *.so, with its stat
//   PluginSet set = load_all(files);                 // refusals recorded, never fatal
//   for (auto &p : set.plugins) if (!p.loaded) warn(p.path + ": " + p.reason);
//
// Since ctk runs as root, a plugin is code run as root: a file or directory
// that someone else could have written is refused before dlopen.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "ctk/runtime/plugin_abi.h"

namespace ctk::tools {

// The identity of a file or directory as far as caching is concerned.
struct FileStamp {
  std::string path;
  bool exists = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  bool operator==(const FileStamp &) const = default;
};
FileStamp stamp_of(const std::string &path);

struct PluginDirScan {
  std::vector<FileStamp> dirs;  // in search order, missing ones included
  std::vector<FileStamp> files; // *.so, by directory order then file name
};

// $CTK_PLUGIN_PATH (a colon list; ignored in secure mode, AT_SECURE) then
// <dir of /proc/self/exe>/../lib/ctk/plugins.
std::vector<std::string> plugin_dirs();
PluginDirScan scan_plugin_dirs(const std::vector<std::string> &dirs);

// Why `what` ("plugin file", "plugin directory") must not be trusted, or
// nullopt. Owner must be root (or, when ctk runs unprivileged, the invoking
// user), and nobody else may write it.
std::optional<std::string> unsafe_reason(const FileStamp &st, const char *what, uid_t euid);

// Why a descriptor is unusable (ABI, runtime version, malformed tables), or nullopt.
std::optional<std::string> descriptor_problem(const ctk_plugin_v1 *desc);

struct DlCloser {
  void operator()(void *h) const;
};

struct Plugin {
  std::string path;
  std::string name; // from the descriptor; the file name when never read
  bool loaded = false;
  std::string reason; // why refused
  // Commands with their summaries, also kept for refused plugins that got as
  // far as a readable descriptor (so `ctk plugins` can say what was lost).
  std::vector<std::pair<std::string, std::string>> commands;
  const ctk_plugin_v1 *desc = nullptr; // valid while `handle` lives
  std::unique_ptr<void, DlCloser> handle;
};

// Checks and loads one plugin file. Never fails: a refused plugin says why.
Plugin open_plugin(const FileStamp &file, uid_t euid, const std::vector<FileStamp> &dirs);

struct PluginSet {
  std::vector<Plugin> plugins; // every file found, loaded or refused
  const ctk_command_v1 *find(const std::string &command) const;
};

// Loads every file; a plugin declaring a command an earlier one has, or one
// of the `builtin` names, is refused.
PluginSet load_all(const PluginDirScan &scan, uid_t euid, const std::vector<std::string> &builtin);

} // namespace ctk::tools
