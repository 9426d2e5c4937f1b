// The commands ctk has without any plugin, in one explicit table.
//
// A built-in is declared with a plain ctk_command_v1 like a plugin command,
// so parsing, help, --format and completion treat it the same way; only its
// body differs: it is handed the App as well as the call.
#pragma once

#include <span>
#include <string_view>

#include "ctk/runtime/plugin.h"

namespace ctk::tools {

class App;

struct Builtin {
  const ctk_command_v1 *desc;
  int (*run)(App &app, const rt::plugin::Call &call);
  bool hidden; // left out of help and completion (`__complete`)
};

std::span<const Builtin> builtins();
const Builtin *find_builtin(std::string_view name);

// One per command, each in its cmd_<name>.cc.
extern const ctk_command_v1 kHelpCommand;
extern const ctk_command_v1 kPluginsCommand;
extern const ctk_command_v1 kVersionCommand;
extern const ctk_command_v1 kCompletionCommand;
extern const ctk_command_v1 kCompleteCommand;
int run_help(App &app, const rt::plugin::Call &call);
int run_plugins(App &app, const rt::plugin::Call &call);
int run_version(App &app, const rt::plugin::Call &call);
int run_completion(App &app, const rt::plugin::Call &call);
int run_complete(App &app, const rt::plugin::Call &call);

} // namespace ctk::tools
