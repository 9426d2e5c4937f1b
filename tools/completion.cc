#include "completion.h"

#include <algorithm>

#include "cli.h"
#include "help.h"

namespace ctk::tools {

std::string kind_word(uint32_t kind) {
  switch (kind) {
  case CTK_ARG_CONTAINER:
  case CTK_ARG_TARGET:
    return "container";
  case CTK_ARG_IMAGE:
    return "image";
  case CTK_ARG_PID:
    return "pid";
  case CTK_ARG_PATH:
    return "path";
  case CTK_ARG_COMMAND:
    return "command";
  default:
    return "";
  }
}

std::vector<CompletionOption> completion_options(const ctk_command_v1 &cmd) {
  std::vector<CompletionOption> out;
  for (size_t i = 0; i < cmd.n_options; i++) {
    const auto &o = cmd.options[i];
    CompletionOption c;
    c.long_name = o.long_name;
    c.short_name = o.short_name;
    c.takes_value = !(o.flags & (CTK_OPT_FLAG | CTK_OPT_OPTIONAL_VALUE));
    c.optional_value = (o.flags & CTK_OPT_OPTIONAL_VALUE) != 0;
    c.kind = (o.flags & CTK_OPT_FLAG) ? "" : kind_word(o.kind);
    c.help = o.help ? o.help : "";
    out.push_back(std::move(c));
  }
  if (renders_output(cmd)) {
    out.push_back({"format", 0, true, false, "", "Output format"});
    if (has_id_column(cmd))
      out.push_back({"no-trunc", 0, false, false, "", "Do not truncate"});
    if (const auto *q = quiet_column(cmd))
      out.push_back({"quiet", 'q', false, false, "", std::string("Only ") + q->header});
  }
  out.push_back({"help", 0, false, false, "", "Print help"});
  return out;
}

std::vector<std::string> top_words(const std::vector<const ctk_command_v1 *> &commands) {
  std::vector<std::string> out;
  for (const auto *c : commands) {
    std::string g = group_of(c->name);
    std::string w = g.empty() ? c->name : g;
    if (std::find(out.begin(), out.end(), w) == out.end())
      out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> completion_script(const std::string &shell,
                                             const std::vector<const ctk_command_v1 *> &commands) {
  if (shell == "bash")
    return bash_completion(commands);
  if (shell == "zsh")
    return zsh_completion(commands);
  if (shell == "fish")
    return fish_completion(commands);
  return std::nullopt;
}

} // namespace ctk::tools
