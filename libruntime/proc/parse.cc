#include "parse.h"

#include <charconv>
#include <cstring>

namespace ctk::rt::proc {

const char *ns_name(NsType t) {
  switch (t) {
  case NsType::cgroup:
    return "cgroup";
  case NsType::ipc:
    return "ipc";
  case NsType::mnt:
    return "mnt";
  case NsType::net:
    return "net";
  case NsType::pid:
    return "pid";
  case NsType::time:
    return "time";
  case NsType::user:
    return "user";
  case NsType::uts:
    return "uts";
  }
  return "?";
}

std::vector<CgroupEntry> parse_cgroup_file(std::string_view text) {
  std::vector<CgroupEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    // The path is everything after the second colon: it may itself hold
    // colons (systemd escapes few characters in unit names).
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos)
      continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      continue;
    unsigned long long id = 0;
    if (!parse_uint(line.substr(0, c1), id) || id > 1u << 20)
      continue;
    std::string_view ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (path.empty() || path[0] != '/')
      continue;
    CgroupEntry e;
    e.hierarchy = static_cast<int>(id);
    size_t cp = 0;
    while (cp < ctrls.size()) {
      size_t comma = ctrls.find(',', cp);
      std::string_view c = ctrls.substr(cp, comma == std::string_view::npos ? comma : comma - cp);
      if (!c.empty())
        e.controllers.emplace_back(c);
      cp = comma == std::string_view::npos ? ctrls.size() : comma + 1;
    }
    e.path.assign(path);
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace ctk::rt::proc

namespace ctk::rt::proc::detail {

namespace {

// Skips the spaces and tabs after a "Key:" and returns the rest of the line.
std::string_view value_of(std::string_view line, size_t key_len) {
  size_t i = key_len;
  while (i < line.size() && (line[i] == '\t' || line[i] == ' '))
    ++i;
  return line.substr(i);
}

template <class T> bool first_number(std::string_view v, T &out) {
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  return r.ec == std::errc();
}

bool starts(std::string_view line, std::string_view key) {
  return line.size() >= key.size() && std::memcmp(line.data(), key.data(), key.size()) == 0;
}

// status escapes '\n' as "\n" and '\\' as "\\" in Name (proc_task_name).
std::string unescape_name(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char n = v[i + 1];
      if (n == 'n' || n == '\\') {
        out.push_back(n == 'n' ? '\n' : '\\');
        ++i;
        continue;
      }
    }
    out.push_back(v[i]);
  }
  return out;
}

} // namespace

bool parse_status(std::string_view text, Process &p, StatusExtra &extra) {
  bool saw_name = false;
  bool saw_nspid = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const char *start = text.data() + pos;
    const void *nlp = std::memchr(start, '\n', text.size() - pos);
    size_t len =
        nlp ? static_cast<size_t>(static_cast<const char *>(nlp) - start) : text.size() - pos;
    std::string_view line(start, len);
    pos += len + 1;
    switch (line.empty() ? 0 : line[0]) {
    case 'N':
      if (starts(line, "Name:")) {
        p.comm = unescape_name(value_of(line, 5));
        saw_name = true;
      } else if (starts(line, "NSpid:")) {
        std::string_view v = value_of(line, 6);
        p.nspid.clear();
        while (!v.empty()) {
          pid_t n = 0;
          auto r = std::from_chars(v.data(), v.data() + v.size(), n);
          if (r.ec != std::errc())
            break;
          p.nspid.push_back(n);
          v.remove_prefix(static_cast<size_t>(r.ptr - v.data()));
          while (!v.empty() && (v[0] == '\t' || v[0] == ' '))
            v.remove_prefix(1);
        }
        saw_nspid = !p.nspid.empty();
      }
      break;
    case 'S':
      if (starts(line, "State:")) {
        std::string_view v = value_of(line, 6);
        if (!v.empty())
          p.state = v[0];
      }
      break;
    case 'P':
      if (starts(line, "PPid:"))
        first_number(value_of(line, 5), p.ppid);
      break;
    case 'U':
      if (starts(line, "Uid:"))
        first_number(value_of(line, 4), p.uid);
      break;
    case 'G':
      if (starts(line, "Gid:"))
        first_number(value_of(line, 4), p.gid);
      break;
    case 'K':
      if (starts(line, "Kthread:")) {
        std::string_view v = value_of(line, 8);
        extra.has_kthread_line = true;
        p.kernel_thread = !v.empty() && v[0] == '1';
      }
      break;
    case 'V':
      if (starts(line, "VmSize:"))
        extra.has_vmsize = true;
      break;
    default:
      break;
    }
  }
  // Kernels before 4.1 print no NSpid: the process is then seen from its
  // own namespace only.
  if (!saw_nspid && p.pid != 0)
    p.nspid.assign(1, p.pid);
  return saw_name;
}

bool parse_stat(std::string_view text, StatInfo &out) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size())
    return false;
  std::string_view rest = text.substr(close + 2); // field 3 onwards
  int field = 3;
  size_t pos = 0;
  while (pos < rest.size() && field <= 22) {
    size_t sp = rest.find(' ', pos);
    std::string_view f = rest.substr(pos, sp == std::string_view::npos ? sp : sp - pos);
    switch (field) {
    case 3:
      out.state = f.empty() ? '?' : f[0];
      break;
    case 4:
      first_number(f, out.ppid);
      break;
    case 9:
      first_number(f, out.flags);
      break;
    case 22:
      first_number(f, out.start_time);
      break;
    default:
      break;
    }
    if (sp == std::string_view::npos)
      break;
    pos = sp + 1;
    ++field;
  }
  return field >= 22;
}

bool parse_ns_link(std::string_view text, uint64_t &inode) {
  size_t open = text.find(":[");
  if (open == std::string_view::npos || text.empty() || text.back() != ']')
    return false;
  std::string_view num = text.substr(open + 2, text.size() - open - 3);
  unsigned long long v = 0;
  if (!parse_uint(num, v))
    return false;
  inode = v;
  return true;
}

void split_cmdline(std::string_view text, std::vector<std::string> &out) {
  out.clear();
  size_t pos = 0;
  while (pos < text.size()) {
    const void *z = std::memchr(text.data() + pos, '\0', text.size() - pos);
    size_t end = z ? static_cast<size_t>(static_cast<const char *>(z) - text.data()) : text.size();
    out.emplace_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

} // namespace ctk::rt::proc::detail
