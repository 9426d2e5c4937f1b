#include "cli.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/program_options.hpp>

namespace ctk::tools {

namespace po = boost::program_options;

namespace {

// Guessing would let "--ro" mean "--root" today and fail once another option
// starts with "ro"; docker does not guess either.
constexpr int kStyle =
    po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

enum class Arity { none, optional, required };

// The host's own options of a command, declared like a plugin's.
struct HostOption {
  const char *name;
  Arity arity;
  char short_name = 0;
};

std::vector<HostOption> host_options(const ctk_command_v1 &cmd) {
  std::vector<HostOption> out{{"help", Arity::none}};
  if (renders_output(cmd)) {
    // docker spells --format -f only for inspect (elsewhere -f is --filter,
    // --force or --follow), and so does ctk.
    bool f_taken = std::string_view(cmd.name) != "inspect";
    for (size_t k = 0; k < cmd.n_options; ++k)
      f_taken = f_taken || cmd.options[k].short_name == 'f';
    out.push_back({"format", Arity::required, f_taken ? '\0' : 'f'});
    if (has_id_column(cmd))
      out.push_back({"no-trunc", Arity::none});
    if (quiet_column(cmd))
      out.push_back({"quiet", Arity::none, 'q'});
  }
  return out;
}

Arity arity_of(const ctk_option_v1 &o) {
  if (o.flags & CTK_OPT_FLAG)
    return Arity::none;
  if (o.flags & CTK_OPT_OPTIONAL_VALUE)
    return Arity::optional;
  return Arity::required;
}

} // namespace

int parse_log_level(const std::string &s) {
  if (s == "error")
    return CTK_LOG_ERROR;
  if (s == "warn")
    return CTK_LOG_WARN;
  if (s == "info")
    return CTK_LOG_INFO;
  if (s == "debug")
    return CTK_LOG_DEBUG;
  return -1;
}

GlobalOptions parse_global(int argc, const char *const *argv) {
  GlobalOptions g;
  // Global options end at the first word that is not one of them: everything
  // from there on is the command's, so `ctk ps --root` is ps's problem.
  int end = 1;
  while (end < argc) {
    std::string a = argv[end];
    if (a == "--") {
      break;
    }
    if (a.size() < 2 || a[0] != '-')
      break;
    bool takes_value = a == "--root" || a == "--run-root" || a == "--log-level";
    end += takes_value ? 2 : 1;
  }
  end = std::min(end, argc);

  std::string level = "warn";
  po::options_description desc;
  desc.add_options()("root", po::value(&g.root))("run-root", po::value(&g.run_root))(
      "log-level",
      po::value(&level))("help", po::bool_switch(&g.help))("version", po::bool_switch(&g.version));
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(end, argv).options(desc).style(kStyle).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError("", e.what());
  }
  g.log_level = parse_log_level(level);
  if (g.log_level < 0)
    throw UsageError("", "invalid --log-level \"" + level + "\" (error, warn, info or debug)");
  int first = end;
  if (first < argc && std::string(argv[first]) == "--")
    first++;
  for (int i = first; i < argc; i++)
    g.words.emplace_back(argv[i]);
  return g;
}

bool option_given(const ctk_command_v1 &cmd,
                  const std::vector<std::pair<std::string, std::string>> &options, uint32_t flag) {
  for (const auto &[name, value] : options)
    for (size_t i = 0; i < cmd.n_options; ++i) {
      const ctk_option_v1 &o = cmd.options[i];
      if ((o.flags & flag) && name == o.long_name && (!o.default_value || value != o.default_value))
        return true;
    }
  return false;
}

bool renders_output(const ctk_command_v1 &cmd) {
  return (cmd.flags & (CTK_CMD_INTERACTIVE | CTK_CMD_NO_OUTPUT)) == 0;
}

bool has_id_column(const ctk_command_v1 &cmd) {
  for (size_t i = 0; i < cmd.n_columns; i++)
    if (cmd.columns[i].type == CTK_COL_ID)
      return true;
  return false;
}

const ctk_column_v1 *quiet_column(const ctk_command_v1 &cmd) {
  for (size_t i = 0; i < cmd.n_columns; i++)
    if (cmd.columns[i].flags & CTK_COL_QUIET)
      return &cmd.columns[i];
  return nullptr;
}

std::optional<std::string> view_of(const ctk_command_v1 &cmd, std::vector<std::string> &words) {
  std::optional<std::string> view;
  size_t end = (cmd.flags & CTK_CMD_STOP_AT_POSITIONAL) ? first_positional(cmd, words)
                                                        : words.size();
  for (size_t i = 0; i < end && i < words.size();) {
    const std::string &w = words[i];
    if (w == "--")
      break;
    const ctk_option_v1 *hit = nullptr;
    for (size_t k = 0; k < cmd.n_options && w.starts_with("--"); k++)
      if ((cmd.options[k].flags & CTK_OPT_VIEW) && w.substr(2) == cmd.options[k].long_name)
        hit = &cmd.options[k];
    for (size_t k = 0; k < cmd.n_options && !hit && w.size() == 2 && w[0] == '-'; k++)
      if ((cmd.options[k].flags & CTK_OPT_VIEW) && cmd.options[k].short_name == w[1])
        hit = &cmd.options[k];
    if (!hit) {
      i++;
      continue;
    }
    if (view && *view != hit->long_name)
      throw UsageError(cmd.name, "--" + *view + " and --" + hit->long_name +
                                     " select different views; give one");
    view = hit->long_name;
    words.erase(words.begin() + static_cast<long>(i));
    end--;
  }
  return view;
}

namespace {

// What the scans below need to know of a command's options.
struct Arities {
  std::map<std::string, Arity> longs;
  std::map<char, std::pair<std::string, Arity>> shorts;
};

Arities arities_of(const ctk_command_v1 &cmd) {
  Arities a;
  for (size_t i = 0; i < cmd.n_options; i++) {
    const auto &o = cmd.options[i];
    a.longs[o.long_name] = arity_of(o);
    if (o.short_name)
      a.shorts[o.short_name] = {o.long_name, arity_of(o)};
  }
  for (const auto &h : host_options(cmd)) {
    a.longs[h.name] = h.arity;
    if (h.short_name)
      a.shorts[h.short_name] = {h.name, h.arity};
  }
  return a;
}

// Boost lets an option with an implicit value swallow the next word
// ("--net t1" would make t1 the namespace file), but an optional value must
// be attached ("--net=FILE", "-nFILE"), as in nsenter. Bare occurrences are
// rewritten to "--net=<kBare>" (Boost refuses an empty "--net=") so the next
// word stays a positional; kBare reads back as "".
constexpr const char *kBare = "\x1e";
// The hidden option collecting positionals.
constexpr const char *kArgs = "__args";

std::vector<std::string> attach_optional_values(const Arities &a,
                                                const std::vector<std::string> &words) {
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); i++) {
    const std::string &w = words[i];
    if (w == "--") {
      out.insert(out.end(), words.begin() + static_cast<long>(i), words.end());
      break;
    }
    out.push_back(w);
    if (w.size() < 2 || w[0] != '-')
      continue;
    if (w.starts_with("--")) {
      auto it = a.longs.find(w.substr(2));
      if (it == a.longs.end())
        continue;
      if (it->second == Arity::optional)
        out.back() += std::string("=") + kBare;
      else if (it->second == Arity::required && i + 1 < words.size())
        out.push_back(words[++i]);
      continue;
    }
    for (size_t k = 1; k < w.size(); k++) {
      auto it = a.shorts.find(w[k]);
      if (it == a.shorts.end() || it->second.second == Arity::none)
        continue;
      bool last = k + 1 == w.size();
      if (it->second.second == Arity::optional && last) {
        out.back().resize(k);
        if (out.back() == "-")
          out.pop_back();
        out.push_back("--" + it->second.first + "=" + kBare);
      } else if (it->second.second == Arity::required && last && i + 1 < words.size()) {
        out.push_back(words[++i]);
      }
      break;
    }
  }
  return out;
}

} // namespace

size_t first_positional(const ctk_command_v1 &cmd, const std::vector<std::string> &words) {
  Arities a = arities_of(cmd);
  for (size_t i = 0; i < words.size(); i++) {
    const std::string &w = words[i];
    if (w == "--" || w == "-" || w.empty() || w[0] != '-')
      return i;
    if (w.starts_with("--")) {
      if (w.find('=') != std::string::npos)
        continue;
      auto it = a.longs.find(w.substr(2));
      // An unknown option is left for the parser to report.
      if (it != a.longs.end() && it->second == Arity::required)
        i++;
      continue;
    }
    // "-abc": flags may be grouped; the first option taking a value takes
    // the rest of the word, or the next word when nothing is left.
    for (size_t k = 1; k < w.size(); k++) {
      auto it = a.shorts.find(w[k]);
      if (it == a.shorts.end() || it->second.second == Arity::none)
        continue;
      if (k + 1 == w.size() && it->second.second == Arity::required)
        i++;
      break;
    }
  }
  return words.size();
}

namespace {

// The Boost description of a command's options. After attach_optional_values
// every value is attached or in the next word, so an optional value is just a
// value here; store() then refuses a second occurrence of a non-MULTI option.
void describe(const ctk_command_v1 &cmd, po::options_description &desc) {
  for (size_t i = 0; i < cmd.n_options; i++) {
    const auto &o = cmd.options[i];
    std::string spec = o.long_name;
    if (o.short_name)
      spec += std::string(",") + o.short_name;
    const po::value_semantic *sem = nullptr;
    if (arity_of(o) == Arity::none)
      sem = po::value<std::vector<std::string>>()->zero_tokens();
    else if (o.flags & CTK_OPT_MULTI)
      sem = po::value<std::vector<std::string>>();
    else
      sem = po::value<std::string>();
    desc.add_options()(spec.c_str(), sem);
  }
  for (const auto &h : host_options(cmd)) {
    std::string spec = h.name;
    if (h.short_name)
      spec += std::string(",") + h.short_name;
    if (h.arity == Arity::none)
      desc.add_options()(spec.c_str(), po::bool_switch());
    else
      desc.add_options()(spec.c_str(), po::value<std::string>());
  }
  desc.add_options()(kArgs, po::value<std::vector<std::string>>());
}

void add_defaults(const ctk_command_v1 &cmd, ParsedCommand &out) {
  for (size_t i = 0; i < cmd.n_options; i++) {
    const auto &o = cmd.options[i];
    if (!o.default_value)
      continue;
    bool given = false;
    for (const auto &kv : out.options)
      given = given || kv.first == o.long_name;
    if (!given)
      out.options.emplace_back(o.long_name, o.default_value);
  }
}

void check_positionals(const ctk_command_v1 &cmd, const std::vector<std::string> &args) {
  size_t required = 0;
  bool variadic = false;
  for (size_t i = 0; i < cmd.n_positionals; i++) {
    if (!(cmd.positionals[i].flags & CTK_POS_OPTIONAL))
      required = i + 1;
    variadic = variadic || (cmd.positionals[i].flags & CTK_POS_VARIADIC);
  }
  if (args.size() < required)
    throw UsageError(cmd.name,
                     std::string("missing argument ") + cmd.positionals[args.size()].name);
  if (!variadic && args.size() > cmd.n_positionals) {
    std::string extra = args[cmd.n_positionals];
    throw UsageError(cmd.name, cmd.n_positionals == 0
                                   ? "unexpected argument \"" + extra + "\" (takes none)"
                                   : "unexpected argument \"" + extra + "\" (takes at most " +
                                         std::to_string(cmd.n_positionals) + ")");
  }
}

} // namespace

ParsedCommand parse_command(const ctk_command_v1 &cmd, const std::vector<std::string> &words) {
  std::vector<std::string> to_parse = words;
  std::vector<std::string> trailing;
  if (cmd.flags & CTK_CMD_STOP_AT_POSITIONAL) {
    size_t first = first_positional(cmd, words);
    to_parse.assign(words.begin(), words.begin() + static_cast<long>(first));
    size_t rest = first < words.size() && words[first] == "--" ? first + 1 : first;
    trailing.assign(words.begin() + static_cast<long>(rest), words.end());
  }
  to_parse = attach_optional_values(arities_of(cmd), to_parse);

  std::map<std::string, const ctk_option_v1 *> by_name;
  for (size_t i = 0; i < cmd.n_options; i++)
    by_name[cmd.options[i].long_name] = &cmd.options[i];
  po::positional_options_description pos;
  pos.add(kArgs, -1);

  // `parsed` points into the description: it must outlive store().
  po::options_description desc;
  describe(cmd, desc);
  ParsedCommand out;
  try {
    auto parsed =
        po::command_line_parser(to_parse).options(desc).positional(pos).style(kStyle).run();
    po::variables_map vm;
    po::store(parsed, vm);
    // The parsed options, not the variables_map, keep the command-line order
    // across different options.
    for (const auto &o : parsed.options) {
      if (o.string_key == kArgs) {
        out.args.insert(out.args.end(), o.value.begin(), o.value.end());
        continue;
      }
      if (o.string_key == "help") {
        out.help = true;
        continue;
      }
      auto it = by_name.find(o.string_key);
      bool flag = it != by_name.end() ? (it->second->flags & CTK_OPT_FLAG) != 0
                                      : o.string_key == "no-trunc" || o.string_key == "quiet";
      std::string value = o.value.empty() || o.value.front() == kBare ? "" : o.value.front();
      // "-n=FILE" is nsenter's spelling of an optional value on a short option.
      if (it != by_name.end() && (it->second->flags & CTK_OPT_OPTIONAL_VALUE) &&
          value.starts_with("="))
        value.erase(0, 1);
      out.options.emplace_back(o.string_key, flag ? "true" : value);
    }
  } catch (const po::error &e) {
    throw UsageError(cmd.name, e.what());
  }
  out.args.insert(out.args.end(), trailing.begin(), trailing.end());
  if (out.help)
    return out;
  add_defaults(cmd, out);
  check_positionals(cmd, out.args);
  return out;
}

} // namespace ctk::tools
