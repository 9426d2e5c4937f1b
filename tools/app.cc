#include "app.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <set>

#include <fmt/format.h>
#include <unistd.h>

#include "builtins.h"
#include "ctk/runtime/plugin.h"
#include "ctk/runtime/version.h"
#include "host.h"
#include "render/live_view.h"
#include "render/render.h"
#include "signals.h"

namespace ctk::tools {

namespace {

constexpr const char *kIndexFile = "plugin-index.json";

void print_err(const std::string &s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

int usage_error(const UsageError &e) {
  if (e.command().empty())
    print_err(fmt::format("ctk: {}\nSee 'ctk --help'.\n", e.what()));
  else
    print_err(fmt::format("ctk: {}: {}\nSee 'ctk help {}'.\n", e.command(), e.what(), e.command()));
  return kUsageExit;
}

std::vector<ColumnSpec> columns_of(const ctk_command_v1 &cmd,
                                   const std::vector<std::pair<std::string, std::string>> &options) {
  const bool extra = option_given(cmd, options, CTK_OPT_SHOWS_EXTRA);
  std::vector<ColumnSpec> cols;
  for (size_t i = 0; i < cmd.n_columns; i++) {
    const auto &c = cmd.columns[i];
    uint32_t flags = c.flags;
    if (flags & CTK_COL_EXTRA)
      flags = extra ? flags & ~CTK_COL_HIDDEN : flags | CTK_COL_HIDDEN;
    cols.push_back({c.key, c.header, c.type, flags, c.help ? c.help : ""});
  }
  return cols;
}

} // namespace

void App::debug(const std::string &msg) const {
  if (globals_.log_level >= CTK_LOG_DEBUG)
    print_err(fmt::format("ctk: debug: {}\n", msg));
}

App::App() : euid_(geteuid()), out_(&out_buf_) {}

std::vector<std::string> App::builtin_names() const {
  std::vector<std::string> names;
  for (const auto &b : builtins())
    names.emplace_back(b.desc->name);
  return names;
}

PluginDirScan &App::scan() {
  if (!scan_)
    scan_ = scan_plugin_dirs(plugin_dirs());
  return *scan_;
}

void App::rebuild_index() {
  all_ = load_all(scan(), euid_, builtin_names());
  index_ = PluginIndex::from(*all_, scan(), euid_);
  debug(fmt::format("plugin index rebuilt: {} plugin files", scan().files.size()));
  // A cache only: a read-only or missing run root just means no cache.
  std::string path = globals_.run_root + "/" + kIndexFile;
  auto saved = rt::make_dirs(globals_.run_root, 0755).and_then([&] { return index_->save(path); });
  if (!saved)
    debug(fmt::format("plugin index not cached: {}", saved.error().message()));
}

const PluginIndex &App::index() {
  if (!index_) {
    index_ = PluginIndex::load(globals_.run_root + "/" + kIndexFile, scan(), euid_);
    if (index_)
      debug("plugin index read from " + globals_.run_root + "/" + kIndexFile);
    else
      rebuild_index();
  }
  return *index_;
}

const PluginSet &App::all_plugins() {
  if (!all_)
    rebuild_index();
  return *all_;
}

std::vector<CommandSummary> App::command_summaries() {
  std::vector<CommandSummary> out;
  for (const auto &b : builtins())
    if (!b.hidden)
      out.push_back({b.desc->name, b.desc->summary});
  for (const auto &c : index().commands())
    out.push_back({c.name, c.summary});
  std::sort(out.begin(), out.end(), [](auto &a, auto &b) { return a.name < b.name; });
  return out;
}

std::vector<const ctk_command_v1 *> App::all_commands() {
  std::vector<const ctk_command_v1 *> out;
  for (const auto &b : builtins())
    if (!b.hidden)
      out.push_back(b.desc);
  for (const auto &p : all_plugins().plugins)
    if (p.loaded)
      for (size_t i = 0; i < p.desc->n_commands; i++)
        out.push_back(&p.desc->commands[i]);
  std::sort(out.begin(), out.end(),
            [](auto *a, auto *b) { return std::string_view(a->name) < std::string_view(b->name); });
  return out;
}

const ctk_command_v1 *App::descriptor(const std::string &name) {
  if (const Builtin *b = find_builtin(name))
    return b->desc;
  if (all_)
    return all_->find(name);
  const IndexedCommand *ic = index().find(name);
  if (!ic)
    return nullptr;
  auto file = std::find_if(scan().files.begin(), scan().files.end(),
                           [&](const FileStamp &f) { return f.path == ic->plugin; });
  if (file != scan().files.end()) {
    debug(fmt::format("loading {} for \"{}\"", file->path, name));
    Plugin p = open_plugin(*file, euid_, scan().dirs);
    if (p.loaded) {
      for (size_t i = 0; i < p.desc->n_commands; i++) {
        if (name == p.desc->commands[i].name) {
          const ctk_command_v1 *c = &p.desc->commands[i];
          single_.push_back(std::move(p));
          return c;
        }
      }
    }
  }
  // The file changed between the index and now: trust nothing, load all.
  debug(fmt::format("the index's plugin for \"{}\" is gone or refused; loading all", name));
  rebuild_index();
  return all_->find(name);
}

bool App::is_group(const std::string &name) {
  for (const auto &c : command_summaries())
    if (group_of(c.name) == name)
      return true;
  return false;
}

App::Resolved App::resolve(const std::vector<std::string> &words) {
  if (words.empty())
    return {};
  std::set<std::string> names;
  for (const auto &b : builtins())
    names.insert(b.desc->name);
  for (const auto &c : index().commands())
    names.insert(c.name);
  if (words.size() >= 2 && names.count(words[0] + " " + words[1]))
    return {words[0] + " " + words[1], false, 2};
  if (names.count(words[0]))
    return {words[0], false, 1};
  if (is_group(words[0]) && (words.size() == 1 || words[1].starts_with("-")))
    return {words[0], true, 1};
  return {};
}

int App::main(int argc, const char *const *argv) {
  // A closed pipe must end output quietly (`ctk pidmap | head`): with SIGPIPE
  // ignored, writes fail with EPIPE and StdoutBuf notices.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    globals_ = parse_global(argc, argv);
  } catch (const UsageError &e) {
    return usage_error(e);
  }
  int status = dispatch();
  out_.flush();
  return status;
}

int App::dispatch() {
  if (globals_.version) {
    out_ << fmt::format("ctk version {} (libruntime {}, plugin ABI {}.{})\n", CTK_RUNTIME_VERSION,
                        CTK_RUNTIME_VERSION, CTK_PLUGIN_ABI_MAJOR, CTK_PLUGIN_ABI_MINOR);
    return 0;
  }
  if (globals_.help || globals_.words.empty()) {
    out_ << global_help(command_summaries());
    return 0;
  }
  const auto &words = globals_.words;
  Resolved r = resolve(words);
  if (r.name.empty()) {
    std::string shown = words[0];
    if (is_group(words[0]) && words.size() > 1)
      shown += " " + words[1];
    print_err(fmt::format("ctk: unknown command \"{}\"; see 'ctk help'\n", shown));
    return kUsageExit;
  }
  if (r.group) {
    out_ << group_help(r.name, command_summaries());
    return 0;
  }
  const ctk_command_v1 *cmd = descriptor(r.name);
  if (!cmd) {
    print_err(fmt::format("ctk: unknown command \"{}\"; see 'ctk help'\n", r.name));
    return kUsageExit;
  }
  std::vector<std::string> rest(words.begin() + static_cast<long>(r.consumed), words.end());
  try {
    // "ctk layers --tree IMG" is "ctk layers tree IMG": each view keeps its
    // own options and columns. The loader checked that the view exists.
    if (auto view = view_of(*cmd, rest)) {
      r.name += " " + *view;
      cmd = descriptor(r.name);
      if (!cmd) {
        print_err(fmt::format("ctk: unknown command \"{}\"; see 'ctk help'\n", r.name));
        return kUsageExit;
      }
    }
    ParsedCommand parsed = parse_command(*cmd, rest);
    if (parsed.help) {
      out_ << command_help(*cmd);
      return 0;
    }
    return run_command(*cmd, find_builtin(r.name), parsed);
  } catch (const UsageError &e) {
    return usage_error(e);
  }
}

int App::run_named(const std::string &name, const ParsedCommand &parsed) {
  const ctk_command_v1 *cmd = descriptor(name);
  if (!cmd)
    return kUsageExit;
  return run_command(*cmd, find_builtin(name), parsed);
}

int App::run_command(const ctk_command_v1 &cmd, const Builtin *builtin,
                     const ParsedCommand &parsed) {
  bool tty = isatty(1) == 1;
  std::unique_ptr<Renderer> renderer;
  LiveRenderer *live = nullptr;
  if (renders_output(cmd)) {
    RenderOptions ro;
    ro.stream = (cmd.flags & CTK_CMD_STREAM) != 0;
    ro.tty = tty;
    for (const auto &[k, v] : parsed.options) {
      if (k == "format")
        ro.format = v;
      else if (k == "no-trunc")
        ro.no_trunc = true;
      else if (k == "quiet")
        ro.quiet = true;
    }
    // A live command on a terminal, not asked for plain output, gets the
    // full-screen view; a terminal ncurses cannot drive gets the table.
    if (tty && isatty(0) == 1 && ro.format.empty() && !ro.quiet &&
        wants_live_view(cmd, parsed.options)) {
      auto l = LiveRenderer::open(cmd.name, columns_of(cmd, parsed.options), ro.no_trunc);
      if (l) {
        live = l->get();
        renderer = std::move(*l);
      } else {
        debug(l.error().message());
      }
    }
    if (!renderer) {
      auto r = make_renderer(ro, columns_of(cmd, parsed.options), out_);
      if (!r)
        throw UsageError(cmd.name, r.error().message());
      renderer = std::move(*r);
    }
  }

  std::vector<ctk_kv_v1> kvs;
  for (const auto &[k, v] : parsed.options)
    kvs.push_back({k.c_str(), v.c_str()});
  std::vector<const char *> args;
  for (const auto &a : parsed.args)
    args.push_back(a.c_str());

  Host host({cmd.name, globals_.log_level, isatty(2) == 1}, renderer.get(), out_buf_, out_);
  ctk_call_v1 call{};
  call.size = sizeof call;
  call.host = host.table();
  call.host_ctx = &host;
  call.command = &cmd;
  call.options = kvs.data();
  call.n_options = kvs.size();
  call.args = args.data();
  call.n_args = args.size();
  call.root = globals_.root.c_str();
  call.run_root = globals_.run_root.c_str();
  call.log_level = globals_.log_level;
  call.stdout_is_tty = tty ? 1 : 0;

  interrupts::install();
  int status = 0;
  if (builtin) {
    rt::plugin::Call c(&call);
    try {
      status = builtin->run(*this, c);
    } catch (const std::exception &e) {
      status = c.fail(fmt::format("{}: internal error: {}", cmd.name, e.what()));
    }
  } else if (live) {
    status = live->run([&] { return cmd.run(&call); });
  } else {
    status = cmd.run(&call);
  }
  host.finish(status != 0);
  if (host.render_failed() && status == 0)
    status = 1;
  return status;
}

} // namespace ctk::tools
