// Small file and /proc helpers for the discovery readers. They read single
// /proc files directly instead of going through proc::read_process because
// discovery needs one or two files of a handful of processes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "internal.h"

namespace ctk::rt::discovery::detail {

Result<nlohmann::json> read_json(const std::string &path) {
  auto text = read_file(path);
  if (!text)
    return tl::unexpected(text.error());
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse, "malformed JSON in " + path + ": " + e.what());
  }
}

std::string json_str(const nlohmann::json &j, const char *key, std::string fallback) {
  if (!j.is_object())
    return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t json_int(const nlohmann::json &j, const char *key, int64_t fallback) {
  if (!j.is_object())
    return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

bool json_bool(const nlohmann::json &j, const char *key, bool fallback) {
  if (!j.is_object())
    return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

const nlohmann::json &json_obj(const nlohmann::json &j, const char *key) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!j.is_object())
    return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

std::map<std::string, std::string> json_string_map(const nlohmann::json &j) {
  std::map<std::string, std::string> out;
  if (!j.is_object())
    return out;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it->is_string())
      out[it.key()] = it->get<std::string>();
  return out;
}

static bool take_int(std::string_view &s, size_t n, int &out) {
  if (s.size() < n)
    return false;
  auto r = std::from_chars(s.data(), s.data() + n, out);
  if (r.ec != std::errc() || r.ptr != s.data() + n)
    return false;
  s.remove_prefix(n);
  return true;
}

static bool take_char(std::string_view &s, std::string_view allowed) {
  if (s.empty() || allowed.find(s[0]) == std::string_view::npos)
    return false;
  s.remove_prefix(1);
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// algorithm); avoids timegm's dependence on the process's TZ handling.
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!take_int(s, 4, y) || !take_char(s, "-") || !take_int(s, 2, mo) || !take_char(s, "-") ||
      !take_int(s, 2, d) || !take_char(s, "Tt ") || !take_int(s, 2, h) || !take_char(s, ":") ||
      !take_int(s, 2, mi) || !take_char(s, ":") || !take_int(s, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9')
      ++n;
    if (n == 0)
      return std::nullopt;
    s.remove_prefix(n);
  }
  int64_t offset = 0;
  if (!s.empty() && (s[0] == 'Z' || s[0] == 'z')) {
    s.remove_prefix(1);
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!take_int(s, 2, oh) || !take_char(s, ":") || !take_int(s, 2, om))
      return std::nullopt;
    offset = sign * (int64_t{oh} * 3600 + int64_t{om} * 60);
  } else {
    return std::nullopt;
  }
  if (!s.empty())
    return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + se - offset;
}

std::vector<std::string> list_dir(const std::string &path, std::vector<std::string> *warnings) {
  std::vector<std::string> out;
  DIR *dir = ::opendir(path.c_str());
  if (!dir) {
    int err = errno;
    if (warnings && err != ENOENT && err != ENOTDIR)
      warnings->push_back(errno_error("cannot list " + path, err).message());
    return out;
  }
  while (auto *e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..")
      out.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

bool path_exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::optional<pid_t> read_pid_file(const std::string &path) {
  auto text = read_file(path);
  long long v = 0;
  if (!text || !parse_int(trim(*text), v) || v <= 0 || v > INT32_MAX)
    return std::nullopt;
  return static_cast<pid_t>(v);
}

std::string parent_dir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos)
    return ".";
  if (slash == 0)
    return "/";
  return std::string(path.substr(0, slash));
}

std::optional<uint64_t> process_start_ticks(const HostPaths &paths, pid_t pid) {
  if (pid <= 0)
    return std::nullopt;
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/stat");
  if (!text)
    return std::nullopt;
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  auto fields = split(trim(std::string_view(*text).substr(close + 1)), ' ');
  // fields[0] is the state (stat field 3), so start time (field 22) is fields[19].
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X")
    return std::nullopt;
  unsigned long long ticks = 0;
  if (!parse_uint(fields[19], ticks))
    return std::nullopt;
  return ticks;
}

std::optional<int64_t> process_start_unix(const HostPaths &paths, pid_t pid) {
  auto ticks = process_start_ticks(paths, pid);
  if (!ticks)
    return std::nullopt;
  auto stat = read_file(paths.proc + "/stat");
  if (!stat)
    return std::nullopt;
  for (auto line : split_lines(*stat)) {
    if (line.substr(0, 6) != "btime ")
      continue;
    long long btime = 0;
    if (!parse_int(trim(line.substr(6)), btime))
      return std::nullopt;
    long hz = ::sysconf(_SC_CLK_TCK);
    return btime + static_cast<int64_t>(*ticks) / (hz > 0 ? hz : 100);
  }
  return std::nullopt;
}

bool process_matches(const HostPaths &paths, pid_t pid, uint64_t start_ticks) {
  auto ticks = process_start_ticks(paths, pid);
  return ticks && (start_ticks == 0 || *ticks == start_ticks);
}

std::vector<proc::CgroupEntry> read_process_cgroups(const HostPaths &paths, pid_t pid) {
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/cgroup");
  return text ? proc::parse_cgroup_file(*text) : std::vector<proc::CgroupEntry>{};
}

std::vector<std::string> read_cmdline(const HostPaths &paths, pid_t pid) {
  std::vector<std::string> out;
  auto text = read_file(paths.proc + "/" + std::to_string(pid) + "/cmdline");
  if (!text || text->empty())
    return out;
  std::string_view v = *text;
  if (v.back() == '\0')
    v.remove_suffix(1);
  for (auto a : split(v, '\0'))
    out.emplace_back(a);
  return out;
}

std::vector<pid_t> list_pids(const HostPaths &paths) {
  std::vector<pid_t> out;
  for (const auto &n : list_dir(paths.proc)) {
    long long v = 0;
    if (parse_int(n, v) && v > 0)
      out.push_back(static_cast<pid_t>(v));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void add_unique(std::vector<std::string> &list, const std::string &value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end())
    list.push_back(value);
}

} // namespace ctk::rt::discovery::detail
