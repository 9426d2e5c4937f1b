// The front end as a whole: global options, the command table (built-ins
// plus the plugin index), dispatch, and running one command.
//
//   int main(int argc, char **argv) { return ctk::tools::App().main(argc, argv); }
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli.h"
#include "help.h"
#include "output.h"
#include "plugin_index.h"
#include "plugin_loader.h"

namespace ctk::tools {

struct Builtin;

class App {
public:
  App();
  int main(int argc, const char *const *argv);

  // For built-in commands.
  const GlobalOptions &globals() const { return globals_; }
  const PluginIndex &index();
  // Every visible command (built-ins and loaded plugins' commands), by name.
  std::vector<CommandSummary> command_summaries();
  // A command's descriptor, loading (and checking again) only its plugin.
  const ctk_command_v1 *descriptor(const std::string &name);
  // Every plugin loaded at once (completion needs every descriptor).
  const PluginSet &all_plugins();
  // Descriptors of every visible command, sorted by name.
  std::vector<const ctk_command_v1 *> all_commands();
  bool is_group(const std::string &name);
  // Runs another command by name, as if the user had typed it with `parsed`
  // (for `__complete images`, which lists what `ctk images` lists).
  int run_named(const std::string &name, const ParsedCommand &parsed);

private:
  struct Resolved {
    std::string name;    // command or group name; empty when unknown
    bool group = false;  // `name` is a group and no subcommand was given
    size_t consumed = 0; // words naming it
  };
  Resolved resolve(const std::vector<std::string> &words);
  int dispatch();
  int run_command(const ctk_command_v1 &cmd, const Builtin *builtin, const ParsedCommand &parsed);
  PluginDirScan &scan();
  void rebuild_index();
  std::vector<std::string> builtin_names() const;
  void debug(const std::string &msg) const; // --log-level debug

  GlobalOptions globals_;
  uid_t euid_;
  StdoutBuf out_buf_;
  std::ostream out_;
  std::optional<PluginDirScan> scan_;
  std::optional<PluginIndex> index_;
  std::optional<PluginSet> all_; // when every plugin was loaded
  std::vector<Plugin> single_;   // plugins loaded one by one
};

} // namespace ctk::tools
