// ctk plugins: every plugin file found, loaded or refused, and why.
#include "app.h"
#include "builtins.h"

namespace ctk::tools {

namespace {
const ctk_column_v1 kColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, 0, "Plugin name (the file name when unreadable)"},
    {"Path", "PATH", CTK_COL_STRING, CTK_COL_WIDE, "Plugin file"},
    {"Status", "STATUS", CTK_COL_STRING, 0, "loaded or refused"},
    {"Commands", "COMMANDS", CTK_COL_LIST, 0, "Commands it provides (or would have)"},
    {"Reason", "REASON", CTK_COL_STRING, CTK_COL_WIDE, "Why it was refused"},
};
} // namespace

const ctk_command_v1 kPluginsCommand = {
    "plugins", "List plugins, loaded and refused",   nullptr, nullptr, nullptr, 0, nullptr, 0,
    kColumns,  sizeof kColumns / sizeof kColumns[0], 0,       nullptr,
};

int run_plugins(App &app, const rt::plugin::Call &call) {
  for (const auto &p : app.index().plugins()) {
    auto r = call.record();
    r.field("Name", p.name).field("Path", p.path).field("Status", p.loaded ? "loaded" : "refused");
    r.key("Commands").begin_array();
    for (const auto &c : p.commands)
      r.str(c);
    r.end_array();
    r.field("Reason", p.reason);
  }
  return 0;
}

} // namespace ctk::tools
