#include "help.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cli.h"
#include "render/live_view.h"

namespace ctk::tools {

namespace {

const char *kind_name(uint32_t kind) {
  switch (kind) {
  case CTK_ARG_INT:
    return "integer";
  case CTK_ARG_CONTAINER:
    return "container";
  case CTK_ARG_IMAGE:
    return "image";
  case CTK_ARG_PID:
    return "pid";
  case CTK_ARG_PATH:
    return "path";
  case CTK_ARG_TARGET:
    return "container or pid";
  case CTK_ARG_COMMAND:
    return "command line";
  default:
    return nullptr;
  }
}

const char *type_name(uint32_t type) {
  switch (type) {
  case CTK_COL_INT:
    return "int";
  case CTK_COL_BYTES:
    return "bytes";
  case CTK_COL_DURATION:
    return "duration";
  case CTK_COL_TIMESTAMP:
    return "timestamp";
  case CTK_COL_ID:
    return "id";
  case CTK_COL_LIST:
    return "list";
  case CTK_COL_OBJECT:
    return "object";
  case CTK_COL_BOOL:
    return "bool";
  case CTK_COL_PERCENT:
    return "percent";
  default:
    return "string";
  }
}

// Two columns: the left padded to the widest entry (capped, as docker does,
// so one long option does not push every help text off the screen).
std::string two_columns(const std::vector<std::pair<std::string, std::string>> &rows) {
  size_t width = 0;
  for (const auto &r : rows)
    width = std::max(width, r.first.size());
  width = std::min<size_t>(width, 28);
  std::string out;
  for (const auto &[left, right] : rows) {
    if (right.empty())
      out += fmt::format("  {}\n", left);
    else if (left.size() > width)
      out += fmt::format("  {}\n  {:{}}  {}\n", left, "", width, right);
    else
      out += fmt::format("  {:{}}  {}\n", left, width, right);
  }
  return out;
}

std::string usage_line(const ctk_command_v1 &cmd) {
  if (cmd.usage)
    return fmt::format("Usage:  ctk {} {}\n", cmd.name, cmd.usage);
  std::string u = fmt::format("Usage:  ctk {}", cmd.name);
  if (cmd.n_options || renders_output(cmd))
    u += " [OPTIONS]";
  for (size_t i = 0; i < cmd.n_positionals; i++) {
    const auto &p = cmd.positionals[i];
    std::string n = p.name;
    if (p.flags & CTK_POS_VARIADIC)
      n += "...";
    u += (p.flags & CTK_POS_OPTIONAL) ? " [" + n + "]" : " " + n;
  }
  return u + "\n";
}

} // namespace

std::string group_of(const std::string &command) {
  auto sp = command.find(' ');
  return sp == std::string::npos ? "" : command.substr(0, sp);
}

std::string global_help(const std::vector<CommandSummary> &commands) {
  std::string out = "Usage:  ctk [OPTIONS] COMMAND\n\n"
                    "A container introspection and debugging toolkit\n\n"
                    "Options:\n";
  out += two_columns({{"    --root DIR", "State root (default \"/var/lib/ctk\")"},
                      {"    --run-root DIR", "Run root (default \"/run/ctk\")"},
                      {"    --log-level LEVEL", "error, warn, info or debug (default \"warn\")"},
                      {"    --help", "Print this help"},
                      {"    --version", "Print version information"}});
  // A group is listed once, with its subcommands, where its first member sorts.
  std::map<std::string, std::string> rows;
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto &c : commands) {
    std::string g = group_of(c.name);
    if (g.empty())
      rows[c.name] = c.summary;
    else
      groups[g].push_back(c.name.substr(g.size() + 1));
  }
  for (auto &[g, subs] : groups) {
    std::sort(subs.begin(), subs.end());
    std::string list;
    for (const auto &s : subs)
      list += (list.empty() ? "" : ", ") + s;
    rows[g] = rows.count(g) ? rows[g] + " (also: " + list + ")" : "Commands: " + list;
  }
  std::vector<std::pair<std::string, std::string>> table(rows.begin(), rows.end());
  out += "\nCommands:\n" + two_columns(table);
  out += "\nRun 'ctk help COMMAND' for more information on a command.\n";
  return out;
}

std::string group_help(const std::string &group, const std::vector<CommandSummary> &commands) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto &c : commands)
    if (group_of(c.name) == group)
      rows.emplace_back(c.name.substr(group.size() + 1), c.summary);
  std::sort(rows.begin(), rows.end());
  return fmt::format("Usage:  ctk {} COMMAND\n\nCommands:\n{}\n"
                     "Run 'ctk help {} COMMAND' for more information on a command.\n",
                     group, two_columns(rows), group);
}

std::string command_help(const ctk_command_v1 &cmd) {
  std::string out = usage_line(cmd) + "\n" + (cmd.summary ? cmd.summary : "") + "\n";
  if (cmd.description)
    out += fmt::format("\n{}\n", cmd.description);

  if (cmd.n_positionals) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (size_t i = 0; i < cmd.n_positionals; i++) {
      const auto &p = cmd.positionals[i];
      std::string help = p.help ? p.help : "";
      if (const char *k = kind_name(p.kind))
        help += fmt::format("{}({})", help.empty() ? "" : " ", k);
      rows.emplace_back(p.name, help);
    }
    out += "\nArguments:\n" + two_columns(rows);
  }

  std::vector<std::pair<std::string, std::string>> rows;
  for (size_t i = 0; i < cmd.n_options; i++) {
    const auto &o = cmd.options[i];
    std::string left = o.short_name ? fmt::format("-{}, --{}", o.short_name, o.long_name)
                                    : fmt::format("    --{}", o.long_name);
    if (!(o.flags & CTK_OPT_FLAG)) {
      const char *vn = o.value_name ? o.value_name : "VALUE";
      left +=
          (o.flags & CTK_OPT_OPTIONAL_VALUE) ? fmt::format("[={}]", vn) : fmt::format(" {}", vn);
    }
    std::string help = o.help ? o.help : "";
    if (o.default_value && *o.default_value)
      help += fmt::format(" (default \"{}\")", o.default_value);
    if (o.flags & CTK_OPT_MULTI)
      help += " (may repeat)";
    if (o.flags & CTK_OPT_NO_LIVE)
      help += " (plain output, no live view)";
    if (o.flags & CTK_OPT_VIEW)
      help += fmt::format(" (= ctk {} {}; see its help for its options)", cmd.name, o.long_name);
    rows.emplace_back(left, help);
  }
  if (renders_output(cmd)) {
    rows.emplace_back("    --format FORMAT",
                      "Output: table (default), json, jsonl, 'table TEMPLATE' or a Go template");
    if (has_id_column(cmd))
      rows.emplace_back("    --no-trunc", "Do not truncate IDs and cells");
    if (const auto *q = quiet_column(cmd))
      rows.emplace_back("-q, --quiet", fmt::format("Only the {} of each row, no header", q->header));
  }
  rows.emplace_back("    --help", "Print this help");
  out += "\nOptions:\n" + two_columns(rows);

  if (cmd.n_columns && renders_output(cmd)) {
    std::vector<std::pair<std::string, std::string>> cols;
    for (size_t i = 0; i < cmd.n_columns; i++) {
      const auto &c = cmd.columns[i];
      std::string help = fmt::format("{:<14} {}", c.header, c.help ? c.help : "");
      help +=
          fmt::format(" [{}{}]", type_name(c.type), (c.flags & CTK_COL_HIDDEN) ? ", hidden" : "");
      cols.emplace_back(fmt::format(".{}", c.key), help);
    }
    out += "\nColumns (JSON keys and template fields):\n" + two_columns(cols);
  }
  if ((cmd.flags & CTK_CMD_LIVE) && (cmd.flags & CTK_CMD_STREAM))
    out += kLiveViewHelp;
  return out;
}

} // namespace ctk::tools
