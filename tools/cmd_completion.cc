// ctk completion bash|zsh|fish
#include <fmt/format.h>

#include "app.h"
#include "builtins.h"
#include "completion.h"

namespace ctk::tools {

namespace {
const ctk_positional_v1 kPositionals[] = {
    {"SHELL", CTK_ARG_STRING, 0, "bash, zsh or fish"},
};
} // namespace

const ctk_command_v1 kCompletionCommand = {
    "completion",
    "Print a shell completion script",
    nullptr,
    "Load it with `source <(ctk completion bash)`, or install the files of completions/.",
    nullptr,
    0,
    kPositionals,
    1,
    nullptr,
    0,
    CTK_CMD_NO_OUTPUT,
    nullptr,
};

int run_completion(App &app, const rt::plugin::Call &call) {
  std::string shell = call.args().at(0);
  auto script = completion_script(shell, app.all_commands());
  if (!script)
    return call.fail(fmt::format("completion: unknown shell \"{}\" (bash, zsh or fish)", shell),
                     kUsageExit);
  call.write_raw(*script);
  return 0;
}

} // namespace ctk::tools
