// Shell completion scripts generated from the command table.
//
//   auto s = completion_script("bash", app.all_commands());   // nullopt: unknown shell
//
// Command names, groups and options are written into the script; values are
// completed by kind at completion time through `ctk __complete containers`
// (images, pids), so new containers need no new script.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctk/runtime/plugin_abi.h"

namespace ctk::tools {

std::optional<std::string> completion_script(const std::string &shell,
                                             const std::vector<const ctk_command_v1 *> &commands);

std::string bash_completion(const std::vector<const ctk_command_v1 *> &commands);
std::string zsh_completion(const std::vector<const ctk_command_v1 *> &commands);
std::string fish_completion(const std::vector<const ctk_command_v1 *> &commands);

// An option as the scripts see it: the command's own, then the host's.
struct CompletionOption {
  std::string long_name;
  char short_name = 0;
  bool takes_value = false;    // a required value, in the next word or after "="
  bool optional_value = false; // only after "="
  std::string kind;            // see kind_word
  std::string help;
};
std::vector<CompletionOption> completion_options(const ctk_command_v1 &cmd);

// The first words of every command, groups once, in order.
std::vector<std::string> top_words(const std::vector<const ctk_command_v1 *> &commands);

// The completion kind of an argument: "container", "image", "pid", "path",
// "command", or "" for free text.
std::string kind_word(uint32_t kind);

} // namespace ctk::tools
