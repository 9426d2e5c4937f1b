#include "plugin_loader.h"

#include "cli.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <dirent.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "ctk/runtime/core.h"
#include "ctk/runtime/version.h"

namespace ctk::tools {

namespace fs = std::filesystem;

FileStamp stamp_of(const std::string &path) {
  FileStamp s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return s;
  s.exists = true;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ino = st.st_ino;
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  return s;
}

std::vector<std::string> plugin_dirs() {
  std::vector<std::string> dirs;
  const char *env = std::getenv("CTK_PLUGIN_PATH");
  // A setuid/setcap ctk must not load code named by the invoking user.
  if (env && getauxval(AT_SECURE) == 0) {
    for (auto part : rt::split(env, ':'))
      if (!part.empty())
        dirs.emplace_back(part);
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    dirs.push_back((exe.parent_path() / ".." / "lib" / "ctk" / "plugins").lexically_normal());
  return dirs;
}

PluginDirScan scan_plugin_dirs(const std::vector<std::string> &dirs) {
  PluginDirScan scan;
  std::set<std::string> seen;
  for (const auto &d : dirs) {
    if (!seen.insert(d).second)
      continue;
    scan.dirs.push_back(stamp_of(d));
    DIR *dir = ::opendir(d.c_str());
    if (!dir)
      continue;
    std::vector<std::string> names;
    while (dirent *e = ::readdir(dir)) {
      std::string_view n = e->d_name;
      if (n.size() > 3 && n.ends_with(".so"))
        names.emplace_back(n);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto &n : names)
      scan.files.push_back(stamp_of(d + "/" + n));
  }
  return scan;
}

std::optional<std::string> unsafe_reason(const FileStamp &st, const char *what, uid_t euid) {
  if (!st.exists)
    return fmt::format("{} {} vanished", what, st.path);
  bool owner_ok = st.uid == 0 || (euid != 0 && st.uid == euid);
  if (!owner_ok)
    return fmt::format("{} {} is owned by uid {}, not {}", what, st.path, st.uid,
                       euid == 0 ? "root" : "root or the invoking user");
  if (st.mode & S_IWOTH)
    return fmt::format("{} {} is world-writable", what, st.path);
  if (st.mode & S_IWGRP)
    return fmt::format("{} {} is group-writable", what, st.path);
  return std::nullopt;
}

namespace {

bool null_or_empty(const char *s) {
  return s == nullptr || *s == '\0';
}

std::optional<std::string> command_problem(const ctk_command_v1 &c) {
  if (null_or_empty(c.name))
    return "a command has no name";
  std::string name = c.name;
  if (c.run == nullptr)
    return fmt::format("command \"{}\" has no run function", name);
  if (c.summary == nullptr)
    return fmt::format("command \"{}\" has no summary", name);
  if ((c.n_options && !c.options) || (c.n_positionals && !c.positionals) ||
      (c.n_columns && !c.columns))
    return fmt::format("command \"{}\" has a table count without a table", name);
  std::set<std::string> longs;
  std::set<char> shorts;
  for (size_t i = 0; i < c.n_options; i++) {
    const auto &o = c.options[i];
    if (null_or_empty(o.long_name))
      return fmt::format("command \"{}\" has an option without a long name", name);
    std::string l = o.long_name;
    // --format and --no-trunc belong to the renderer; a command that renders
    // nothing (save, load) may use --format for its own meaning, as docker's
    // `save --format` does.
    if (l == "help" ||
        (renders_output(c) && (l == "format" || l == "no-trunc" ||
                               (quiet_column(c) && (l == "quiet" || o.short_name == 'q')))))
      return fmt::format("command \"{}\" declares --{}, which the host provides", name, l);
    if (!longs.insert(l).second)
      return fmt::format("command \"{}\" declares --{} twice", name, l);
    if (o.short_name && !shorts.insert(o.short_name).second)
      return fmt::format("command \"{}\" declares -{} twice", name, o.short_name);
    if ((o.flags & CTK_OPT_VIEW) && !(o.flags & CTK_OPT_FLAG))
      return fmt::format("command \"{}\": view option --{} must be a flag", name, l);
  }
  for (size_t i = 0; i < c.n_positionals; i++) {
    const auto &p = c.positionals[i];
    if (null_or_empty(p.name))
      return fmt::format("command \"{}\" has a positional without a name", name);
    if ((p.flags & CTK_POS_VARIADIC) && i + 1 != c.n_positionals)
      return fmt::format("command \"{}\": variadic positional {} is not last", name, p.name);
  }
  size_t quiet = 0;
  for (size_t i = 0; i < c.n_columns; i++) {
    if (null_or_empty(c.columns[i].key) || c.columns[i].header == nullptr)
      return fmt::format("command \"{}\" has a column without a key or header", name);
    quiet += (c.columns[i].flags & CTK_COL_QUIET) ? 1 : 0;
  }
  if (quiet > 1)
    return fmt::format("command \"{}\" has {} quiet columns (at most one)", name, quiet);
  return std::nullopt;
}

} // namespace

std::optional<std::string> descriptor_problem(const ctk_plugin_v1 *d) {
  if (d == nullptr)
    return std::string("entry point returned no descriptor");
  if (d->abi_major != CTK_PLUGIN_ABI_MAJOR)
    return fmt::format("plugin ABI {}.{} is not supported (ctk speaks ABI {}.x)", d->abi_major,
                       d->abi_minor, CTK_PLUGIN_ABI_MAJOR);
  if (d->runtime_version == nullptr || std::strcmp(d->runtime_version, CTK_RUNTIME_VERSION) != 0)
    return fmt::format("built against libruntime {}, ctk has {}",
                       d->runtime_version ? d->runtime_version : "(none)", CTK_RUNTIME_VERSION);
  if (null_or_empty(d->name))
    return std::string("descriptor has no name");
  if (d->n_commands && !d->commands)
    return std::string("descriptor has a command count without commands");
  std::set<std::string> names;
  for (size_t i = 0; i < d->n_commands; i++) {
    if (auto p = command_problem(d->commands[i]))
      return p;
    if (!names.insert(d->commands[i].name).second)
      return fmt::format("command \"{}\" is declared twice", d->commands[i].name);
  }
  // A view flag runs "<command> <flag>", which this plugin must declare.
  for (size_t i = 0; i < d->n_commands; i++) {
    const auto &c = d->commands[i];
    for (size_t k = 0; k < c.n_options; k++)
      if ((c.options[k].flags & CTK_OPT_VIEW) &&
          !names.count(std::string(c.name) + " " + c.options[k].long_name))
        return fmt::format("command \"{}\": view option --{} names no command \"{} {}\"",
                           c.name, c.options[k].long_name, c.name, c.options[k].long_name);
  }
  return std::nullopt;
}

void DlCloser::operator()(void *h) const {
  if (h)
    ::dlclose(h);
}

Plugin open_plugin(const FileStamp &file, uid_t euid, const std::vector<FileStamp> &dirs) {
  Plugin p;
  p.path = file.path;
  p.name = fs::path(file.path).stem().string();
  std::string dir = fs::path(file.path).parent_path().string();
  auto d =
      std::find_if(dirs.begin(), dirs.end(), [&](const FileStamp &s) { return s.path == dir; });
  FileStamp dir_stamp = d != dirs.end() ? *d : stamp_of(dir);
  if (auto r = unsafe_reason(dir_stamp, "plugin directory", euid)) {
    p.reason = *r;
    return p;
  }
  if (auto r = unsafe_reason(file, "plugin file", euid)) {
    p.reason = *r;
    return p;
  }
  if (!S_ISREG(file.mode)) {
    p.reason = "not a regular file";
    return p;
  }
  p.handle.reset(::dlopen(file.path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!p.handle) {
    const char *e = ::dlerror();
    p.reason = fmt::format("cannot load: {}", e ? e : "dlopen failed");
    return p;
  }
  void *sym = ::dlsym(p.handle.get(), CTK_PLUGIN_ENTRY_SYMBOL);
  if (!sym) {
    p.reason = fmt::format("no entry point {}", CTK_PLUGIN_ENTRY_SYMBOL);
    p.handle.reset();
    return p;
  }
  auto entry = reinterpret_cast<ctk_plugin_entry_v1>(sym);
  const ctk_plugin_v1 *desc = entry();
  if (auto r = descriptor_problem(desc)) {
    if (desc && desc->abi_major == CTK_PLUGIN_ABI_MAJOR && !null_or_empty(desc->name))
      p.name = desc->name;
    p.reason = *r;
    p.handle.reset();
    return p;
  }
  p.name = desc->name;
  p.desc = desc;
  p.loaded = true;
  for (size_t i = 0; i < desc->n_commands; i++)
    p.commands.emplace_back(desc->commands[i].name, desc->commands[i].summary);
  return p;
}

const ctk_command_v1 *PluginSet::find(const std::string &command) const {
  for (const auto &p : plugins)
    if (p.loaded)
      for (size_t i = 0; i < p.desc->n_commands; i++)
        if (command == p.desc->commands[i].name)
          return &p.desc->commands[i];
  return nullptr;
}

PluginSet load_all(const PluginDirScan &scan, uid_t euid, const std::vector<std::string> &builtin) {
  PluginSet set;
  std::map<std::string, std::string> owner; // command -> path of the plugin that has it
  for (const auto &b : builtin)
    owner.emplace(b, "ctk itself");
  for (const auto &f : scan.files) {
    Plugin p = open_plugin(f, euid, scan.dirs);
    if (p.loaded) {
      for (const auto &[cmd, summary] : p.commands) {
        auto it = owner.find(cmd);
        if (it != owner.end()) {
          p.reason = fmt::format("command \"{}\" is already provided by {}", cmd, it->second);
          p.loaded = false;
          break;
        }
      }
      if (p.loaded) {
        for (const auto &c : p.commands)
          owner.emplace(c.first, p.path);
      } else {
        p.desc = nullptr;
        p.handle.reset();
      }
    }
    set.plugins.push_back(std::move(p));
  }
  return set;
}

} // namespace ctk::tools
