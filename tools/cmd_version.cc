// ctk version
#include "app.h"
#include "builtins.h"
#include "ctk/runtime/version.h"

namespace ctk::tools {

namespace {
const ctk_column_v1 kColumns[] = {
    {"Version", "VERSION", CTK_COL_STRING, 0, "ctk version"},
    {"Runtime", "RUNTIME", CTK_COL_STRING, 0, "libruntime version plugins must match"},
    {"ABI", "PLUGIN ABI", CTK_COL_STRING, 0, "Plugin ABI version (major.minor)"},
};
} // namespace

const ctk_command_v1 kVersionCommand = {
    "version", "Show the ctk version",
    nullptr,   nullptr,
    nullptr,   0,
    nullptr,   0,
    kColumns,  sizeof kColumns / sizeof kColumns[0],
    0,         nullptr,
};

int run_version(App &, const rt::plugin::Call &call) {
  call.record()
      .field("Version", CTK_RUNTIME_VERSION)
      .field("Runtime", CTK_RUNTIME_VERSION)
      .field("ABI",
             std::to_string(CTK_PLUGIN_ABI_MAJOR) + "." + std::to_string(CTK_PLUGIN_ABI_MINOR));
  return 0;
}

} // namespace ctk::tools
