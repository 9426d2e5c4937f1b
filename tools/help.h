// Help text, generated from the descriptors: usage, options with their value
// names and defaults, positionals, and the columns a command outputs.
//
//   out << global_help(entries);               // ctk --help, ctk help
//   out << command_help(*desc);                // ctk help pidmap, ctk pidmap --help
//   out << group_help("net", entries);         // ctk net
#pragma once

#include <string>
#include <vector>

#include "ctk/runtime/plugin_abi.h"

namespace ctk::tools {

struct CommandSummary {
  std::string name; // "pidmap", "net trace"
  std::string summary;
};

std::string global_help(const std::vector<CommandSummary> &commands);
std::string command_help(const ctk_command_v1 &cmd);
// `commands` may hold every command; those of the group are picked.
std::string group_help(const std::string &group, const std::vector<CommandSummary> &commands);

// The group of "net trace" is "net"; "" for a plain command.
std::string group_of(const std::string &command);

} // namespace ctk::tools
