// One plugin source, compiled four ways for the refusal tests:
//   BROKEN_BAD_ABI      abi_major 99
//   BROKEN_BAD_VERSION  built against another libruntime
//   BROKEN_DUP          declares "echo-types", which test-echo already has
//   BROKEN_NO_ENTRY     exports no ctk_plugin_descriptor_v1
//   BROKEN_BUILTIN_CLASH declares "plugins", a command of ctk itself
//   BROKEN_BAD_VIEW     a view flag (--tree) naming a command it lacks
#include "ctk/runtime/plugin.h"

namespace {

int run_noop(ctk::rt::plugin::Call &call) {
  call.write_raw("broken plugin ran\n");
  return 0;
}

#if defined(BROKEN_BAD_VIEW)
const ctk_option_v1 kViewOptions[] = {
    {"tree", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr, "No such view"},
};
#endif

const ctk_command_v1 kCommands[] = {
#if defined(BROKEN_BAD_VIEW)
    {"viewer", "Declares --tree without \"viewer tree\"", nullptr, nullptr, kViewOptions, 1,
     nullptr, 0, nullptr, 0, CTK_CMD_NO_OUTPUT, &ctk::rt::plugin::entry<run_noop>},
#endif
#if defined(BROKEN_DUP)
    {"echo-types", "A command test-echo already has", nullptr, nullptr, nullptr, 0, nullptr, 0,
     nullptr, 0, CTK_CMD_NO_OUTPUT, &ctk::rt::plugin::entry<run_noop>},
#endif
#if defined(BROKEN_BUILTIN_CLASH)
    {"plugins", "Would shadow ctk plugins", nullptr, nullptr, nullptr, 0, nullptr, 0, nullptr, 0,
     CTK_CMD_NO_OUTPUT, &ctk::rt::plugin::entry<run_noop>},
#endif
    {"broken-cmd", "Must never be reachable", nullptr, nullptr, nullptr, 0, nullptr, 0, nullptr, 0,
     CTK_CMD_NO_OUTPUT, &ctk::rt::plugin::entry<run_noop>},
};

} // namespace

#if defined(BROKEN_BAD_ABI)
#define ABI_MAJOR 99
#else
#define ABI_MAJOR CTK_PLUGIN_ABI_MAJOR
#endif
#if defined(BROKEN_BAD_VERSION)
#define RUNTIME_VERSION "0.0.0-elsewhere"
#else
#define RUNTIME_VERSION CTK_RUNTIME_VERSION
#endif
#if defined(BROKEN_NO_ENTRY)
#define ENTRY ctk_plugin_descriptor_v0
#else
#define ENTRY ctk_plugin_descriptor_v1
#endif

extern "C" CTK_PLUGIN_EXPORT const struct ctk_plugin_v1 *ENTRY(void) {
  static const ctk_plugin_v1 desc = {ABI_MAJOR,
                                     CTK_PLUGIN_ABI_MINOR,
                                     RUNTIME_VERSION,
                                     PLUGIN_NAME,
                                     "A plugin broken on purpose",
                                     kCommands,
                                     sizeof kCommands / sizeof kCommands[0]};
  return &desc;
}
