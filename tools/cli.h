// Command-line parsing: global options before the command, then the
// command's own options and positionals, built from its descriptor.
//
//   GlobalOptions g = parse_global(argc, argv);       // --root DIR ... COMMAND ARGS...
//   ParsedCommand p = parse_command(*desc, words);    // options in order, positionals
//
// Both throw UsageError; tools/app.cc catches it once, prints
// "ctk: <cmd>: <cause>" and "See 'ctk help <cmd>'." and exits 125, docker's
// status for a usage error.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctk/runtime/plugin_abi.h"

namespace ctk::tools {

constexpr int kUsageExit = 125;

class UsageError : public std::runtime_error {
public:
  UsageError(std::string command, const std::string &msg)
      : std::runtime_error(msg), command_(std::move(command)) {}
  const std::string &command() const { return command_; }

private:
  std::string command_; // "" for the global options
};

struct GlobalOptions {
  std::string root = "/var/lib/ctk";
  std::string run_root = "/run/ctk";
  int log_level = CTK_LOG_WARN;
  bool help = false;
  bool version = false;
  std::vector<std::string> words; // the command and everything after it
};

GlobalOptions parse_global(int argc, const char *const *argv);

// "error", "warn", "info", "debug"; -1 when unknown.
int parse_log_level(const std::string &s);

struct ParsedCommand {
  // (long name, value) in command-line order, then defaults of options not
  // given. Flags have "true"; an OPTIONAL_VALUE option given bare has "".
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> args;
  bool help = false;
};

// `words` are the arguments after the command name.
ParsedCommand parse_command(const ctk_command_v1 &cmd, const std::vector<std::string> &words);

// For CTK_CMD_STOP_AT_POSITIONAL: the index of the first positional in
// `words` (words.size() when none). A "--" at that point is the index of the
// "--" itself.
size_t first_positional(const ctk_command_v1 &cmd, const std::vector<std::string> &words);

// Whether the host adds --format (and --no-trunc, with an ID column; and
// -q/--quiet, with a CTK_COL_QUIET column, which quiet_column() returns).
bool renders_output(const ctk_command_v1 &cmd);
// Whether an option with `flag` (CTK_OPT_NO_LIVE, CTK_OPT_SHOWS_EXTRA) is
// given: present with a value other than its declared default, which is
// what the user gets without typing it.
bool option_given(const ctk_command_v1 &cmd,
                  const std::vector<std::pair<std::string, std::string>> &options, uint32_t flag);
bool has_id_column(const ctk_command_v1 &cmd);
const ctk_column_v1 *quiet_column(const ctk_command_v1 &cmd);

// A view flag (CTK_OPT_VIEW) among `words` (the arguments after the command
// name, before the first positional of a STOP_AT_POSITIONAL command): its
// long name, removed from `words`. "ctk layers --tree IMG" -> "tree", and the
// caller runs "layers tree" with the rest. Two different view flags are a
// usage error; none is nullopt.
std::optional<std::string> view_of(const ctk_command_v1 &cmd, std::vector<std::string> &words);

} // namespace ctk::tools
