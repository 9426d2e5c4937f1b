// ctk help [COMMAND...]
#include <fmt/format.h>

#include "app.h"
#include "builtins.h"

namespace ctk::tools {

namespace {
const ctk_positional_v1 kPositionals[] = {
    {"COMMAND", CTK_ARG_STRING, CTK_POS_OPTIONAL | CTK_POS_VARIADIC,
     "A command or group: \"pidmap\", \"net trace\""},
};
} // namespace

const ctk_command_v1 kHelpCommand = {
    "help",
    "Show help for ctk or one of its commands",
    nullptr,
    nullptr,
    nullptr,
    0,
    kPositionals,
    1,
    nullptr,
    0,
    CTK_CMD_NO_OUTPUT,
    nullptr,
};

int run_help(App &app, const rt::plugin::Call &call) {
  auto words = call.args();
  if (words.empty()) {
    call.write_raw(global_help(app.command_summaries()));
    return 0;
  }
  std::string name = words[0];
  for (size_t i = 1; i < words.size(); i++)
    name += " " + words[i];
  if (const ctk_command_v1 *cmd = app.descriptor(name)) {
    call.write_raw(command_help(*cmd));
    return 0;
  }
  if (words.size() == 1 && app.is_group(name)) {
    call.write_raw(group_help(name, app.command_summaries()));
    return 0;
  }
  return call.fail(fmt::format("unknown command \"{}\"; see 'ctk help'", name), kUsageExit);
}

} // namespace ctk::tools
