// The pure parts of an exec: users from passwd/group texts, environments.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>

#include "ctk/runtime/exec.h"

namespace ctk::rt::ns {

std::vector<proc::NsType> all_types() {
  using proc::NsType;
  return {NsType::user, NsType::cgroup, NsType::ipc, NsType::uts,
          NsType::net,  NsType::pid,    NsType::mnt, NsType::time};
}

namespace {

bool parse_id(std::string_view s, long long &out) {
  return !s.empty() && parse_int(s, out) && out >= 0 && out <= 0xfffffffeLL;
}

} // namespace

Result<Credentials> resolve_user(std::string_view spec, const std::optional<std::string> &passwd,
                                 const std::optional<std::string> &group) {
  Credentials c;
  std::string user(spec), grp;
  bool has_group = false;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    grp = user.substr(colon + 1);
    user.resize(colon);
    has_group = true;
  }
  if (user.empty())
    user = "root";
  long long num = 0;
  const bool numeric = parse_id(user, num);
  if (!numeric && user.find_first_of(" \t/") != std::string::npos)
    return fail(Errc::invalid_argument, "invalid user \"" + std::string(spec) + "\"");
  bool found = false;
  if (passwd)
    for (auto line : split_lines(*passwd)) {
      auto f = split(line, ':');
      if (f.size() < 7)
        continue;
      long long uid = 0, gid = 0;
      if (!parse_id(f[2], uid) || !parse_id(f[3], gid))
        continue;
      if (numeric ? uid == num : f[0] == user) {
        c.uid = static_cast<uid_t>(uid);
        c.gid = static_cast<gid_t>(gid);
        c.home = f[5].empty() ? "/" : std::string(f[5]);
        user = std::string(f[0]);
        found = true;
        break;
      }
    }
  if (!found) {
    // docker: root and numeric IDs need no entry; a name does.
    if (!numeric && user != "root")
      return fail(Errc::not_found,
                  "unable to find user " + user + ": no matching entries in passwd file");
    c.uid = static_cast<uid_t>(num);
    c.gid = static_cast<gid_t>(num);
  }
  if (has_group) {
    long long g = 0;
    if (parse_id(grp, g)) {
      c.gid = static_cast<gid_t>(g);
    } else {
      bool gfound = false;
      if (group)
        for (auto line : split_lines(*group)) {
          auto f = split(line, ':');
          if (f.size() >= 3 && f[0] == grp && parse_id(f[2], g)) {
            c.gid = static_cast<gid_t>(g);
            gfound = true;
            break;
          }
        }
      if (!gfound)
        return fail(Errc::not_found,
                    "unable to find group " + grp + ": no matching entries in group file");
    }
  }
  if (found && group)
    for (auto line : split_lines(*group)) {
      auto f = split(line, ':');
      if (f.size() < 4)
        continue;
      long long g = 0;
      if (!parse_id(f[2], g))
        continue;
      for (auto m : split(f[3], ','))
        if (m == user) {
          c.groups.push_back(static_cast<gid_t>(g));
          break;
        }
    }
  return c;
}

namespace {

// A file below root_fd, every component resolved inside it; nullopt when missing.
Result<std::optional<std::string>> read_in_root(int root_fd, const char *path) {
  // Every component, a final symlink too (docker follows it), is resolved
  // inside the root: "/etc/passwd -> /../../etc/passwd" stays in.
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, path, &how, sizeof how));
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return std::optional<std::string>{};
    return fail_errno(std::string("cannot open ") + path + " in the container");
  }
  UniqueFd owned(fd);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(owned.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      out.append(buf, static_cast<size_t>(n));
  if (n < 0)
    return fail_errno(std::string("cannot read ") + path + " in the container");
  return std::optional<std::string>{std::move(out)};
}

} // namespace

Result<Credentials> resolve_user_in_root(int root_fd, std::string_view spec) {
  auto passwd = read_in_root(root_fd, "/etc/passwd");
  if (!passwd)
    return tl::unexpected(passwd.error());
  auto group = read_in_root(root_fd, "/etc/group");
  if (!group)
    return tl::unexpected(group.error());
  return resolve_user(spec, *passwd, *group);
}

std::optional<uint32_t> map_to_inside(std::string_view map, uint32_t host_id) {
  for (auto line : split_lines(map)) {
    unsigned long long inside = 0, outside = 0, count = 0;
    std::vector<std::string_view> f;
    for (auto w : split(trim(line), ' '))
      if (!w.empty())
        f.push_back(w);
    if (f.size() != 3 || !parse_uint(f[0], inside) || !parse_uint(f[1], outside) ||
        !parse_uint(f[2], count))
      continue;
    if (host_id >= outside && host_id - outside < count)
      return static_cast<uint32_t>(host_id - outside + inside);
  }
  return std::nullopt;
}

Result<Credentials> target_credentials(pid_t pid, const HostPaths &paths) {
  const std::string dir = paths.proc + "/" + std::to_string(pid);
  const std::string what = "cannot read the credentials of PID " + std::to_string(pid);
  auto status = read_file(dir + "/status");
  if (!status)
    return wrap(status, what);
  auto uid_map = read_file(dir + "/uid_map");
  auto gid_map = read_file(dir + "/gid_map");
  if (!uid_map || !gid_map)
    return wrap(!uid_map ? uid_map : gid_map, what);
  Credentials c;
  bool have_uid = false, have_gid = false;
  for (auto line : split_lines(*status)) {
    auto first = [&](std::string_view rest) {
      std::vector<std::string_view> f;
      for (auto w : split(trim(rest), '\t'))
        if (!w.empty())
          f.push_back(w);
      return f;
    };
    if (line.starts_with("Uid:")) {
      auto f = first(line.substr(4));
      unsigned long long v = 0;
      if (!f.empty() && parse_uint(f[0], v))
        if (auto m = map_to_inside(*uid_map, static_cast<uint32_t>(v))) {
          c.uid = *m;
          have_uid = true;
        }
    } else if (line.starts_with("Gid:")) {
      auto f = first(line.substr(4));
      unsigned long long v = 0;
      if (!f.empty() && parse_uint(f[0], v))
        if (auto m = map_to_inside(*gid_map, static_cast<uint32_t>(v))) {
          c.gid = *m;
          have_gid = true;
        }
    } else if (line.starts_with("Groups:")) {
      for (auto w : split(trim(line.substr(7)), ' ')) {
        unsigned long long v = 0;
        if (!w.empty() && parse_uint(w, v))
          if (auto m = map_to_inside(*gid_map, static_cast<uint32_t>(v)))
            c.groups.push_back(*m);
      }
    }
  }
  if (!have_uid || !have_gid)
    return fail(Errc::parse, what + ": no mapped Uid/Gid in its status");
  return c;
}

std::vector<std::string> parse_environ(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view e = text.substr(start, end - start);
    if (auto eq = e.find('='); eq != std::string_view::npos && eq > 0)
      out.emplace_back(e);
    start = end + 1;
  }
  return out;
}

Result<std::vector<std::string>> target_environment(pid_t pid, const HostPaths &paths) {
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/environ");
  if (!text)
    return wrap(text, "cannot read the environment of PID " + std::to_string(pid));
  return parse_environ(*text);
}

std::optional<std::string> env_get(const std::vector<std::string> &env, std::string_view key) {
  for (const auto &e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return std::nullopt;
}

std::vector<std::string>
merge_env(std::vector<std::string> base, const std::vector<std::string> &entries,
          const std::function<std::optional<std::string>(const std::string &)> &lookup) {
  auto set = [&](const std::string &key, const std::string *value) {
    for (auto it = base.begin(); it != base.end(); ++it)
      if (it->size() > key.size() && it->compare(0, key.size(), key) == 0 &&
          (*it)[key.size()] == '=') {
        if (value)
          *it = key + "=" + *value;
        else
          base.erase(it);
        return;
      }
    if (value)
      base.push_back(key + "=" + *value);
  };
  for (const auto &e : entries) {
    auto eq = e.find('=');
    if (eq == std::string::npos) {
      auto v = lookup ? lookup(e) : std::nullopt;
      set(e, v ? &*v : nullptr);
    } else if (eq > 0) {
      std::string value = e.substr(eq + 1);
      set(e.substr(0, eq), &value);
    }
  }
  return base;
}

Result<std::vector<std::string>> parse_env_file(std::string_view text, const std::string &origin) {
  std::vector<std::string> out;
  size_t n = 0;
  for (auto raw : split_lines(text)) {
    ++n;
    std::string_view line = raw;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#')
      continue;
    std::string_view key = line.substr(0, line.find('='));
    if (key.empty() || key.find_first_of(" \t") != std::string_view::npos)
      return fail(Errc::invalid_argument, "env file " + origin + ": line " + std::to_string(n) +
                                              ": variable '" + std::string(key) +
                                              "' contains whitespaces");
    out.emplace_back(line);
  }
  return out;
}

} // namespace ctk::rt::ns
