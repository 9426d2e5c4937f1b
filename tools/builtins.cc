#include "builtins.h"

namespace ctk::tools {

namespace {

const Builtin kBuiltins[] = {
    {&kCompletionCommand, run_completion, false}, {&kHelpCommand, run_help, false},
    {&kPluginsCommand, run_plugins, false},       {&kVersionCommand, run_version, false},
    {&kCompleteCommand, run_complete, true},
};

} // namespace

std::span<const Builtin> builtins() {
  return kBuiltins;
}

const Builtin *find_builtin(std::string_view name) {
  for (const auto &b : kBuiltins)
    if (name == b.desc->name)
      return &b;
  return nullptr;
}

} // namespace ctk::tools
