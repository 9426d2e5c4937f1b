// Decoding of the pidmap task iterator's record stream (bpf/pidmap.h) into
// proc::Process, kept apart from the loader so it can be tested on bytes.
#include <algorithm>
#include <cstring>
#include <linux/types.h>

#include "ctk/runtime/proc_bpf.h"

extern "C" {
#include "pidmap.h"
}

namespace ctk::rt::proc {

static_assert(PIDMAP_NS_PID == ns_index(NsType::pid) && PIDMAP_NS_UTS == ns_index(NsType::uts) &&
                  PIDMAP_NS_CGROUP == ns_index(NsType::cgroup) && PIDMAP_NS_COUNT == kNsCount,
              "pidmap.h namespace slots follow proc::NsType");

std::map<int, std::vector<std::string>> parse_proc_cgroups(std::string_view text) {
  std::map<int, std::vector<std::string>> out;
  for (auto line : split_lines(text)) {
    if (line.empty() || line[0] == '#')
      continue;
    // "subsys_name hierarchy num_cgroups enabled", whitespace separated.
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size() && f.size() < 4) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
        i++;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t')
        j++;
      if (j > i)
        f.push_back(line.substr(i, j - i));
      i = j;
    }
    long long hid = 0;
    if (f.size() < 4 || !parse_int(f[1], hid) || hid <= 0 || f[3] != "1")
      continue;
    out[static_cast<int>(hid)].emplace_back(f[0]);
  }
  return out;
}

namespace {

// A bounds-checked reader over the stream.
class Cursor {
public:
  explicit Cursor(std::string_view d) : d_(d) {}
  bool empty() const { return pos_ >= d_.size(); }
  size_t pos() const { return pos_; }
  template <class T> bool read(T &out) {
    if (d_.size() - pos_ < sizeof(T))
      return false;
    std::memcpy(&out, d_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(size_t n, std::string_view &out) {
    if (d_.size() - pos_ < n)
      return false;
    out = d_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool cstr(std::string_view &out) {
    size_t end = d_.find('\0', pos_);
    if (end == std::string_view::npos)
      return false;
    out = d_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }

private:
  std::string_view d_;
  size_t pos_ = 0;
};

// /proc/PID/cmdline splits on NUL; a trailing NUL ends the last argument.
// Counted first so the vector is allocated once (10,000 processes a scan).
std::vector<std::string> split_argv(std::string_view raw) {
  std::vector<std::string> out;
  if (raw.empty())
    return out;
  out.reserve(static_cast<size_t>(std::count(raw.begin(), raw.end() - 1, '\0')) + 1);
  while (!raw.empty()) {
    size_t z = raw.find('\0');
    if (z == std::string_view::npos) {
      out.emplace_back(raw);
      break;
    }
    out.emplace_back(raw.substr(0, z));
    raw.remove_prefix(z + 1);
  }
  return out;
}

} // namespace

Result<std::vector<Process>>
decode_pidmap_stream(std::string_view data, const std::map<int, std::vector<std::string>> &hier,
                     long clk_tck) {
  std::vector<Process> out;
  out.reserve(data.size() / (sizeof(pidmap_event) + 64) + 1);
  const uint64_t ns_per_tick =
      clk_tck > 0 ? 1000000000ull / static_cast<uint64_t>(clk_tck) : 10000000ull;
  Cursor c(data);
  while (!c.empty()) {
    const size_t at = c.pos();
    auto bad = [&](const char *what) {
      return fail(Errc::parse, "cannot decode pidmap iterator output at byte " +
                                   std::to_string(at) + ": " + what);
    };
    pidmap_event ev;
    if (!c.read(ev))
      return bad("truncated record");
    if (ev.magic != PIDMAP_MAGIC)
      return bad("bad record magic");
    if (ev.level >= PIDMAP_MAX_LEVELS || ev.argv_len > PIDMAP_ARGV_MAX)
      return bad("field out of range");
    Process p;
    p.pid = static_cast<pid_t>(ev.pid);
    p.ppid = static_cast<pid_t>(ev.ppid);
    p.uid = ev.uid;
    p.gid = ev.gid;
    p.comm.assign(ev.comm, strnlen(ev.comm, sizeof(ev.comm)));
    p.start_time = ev.start_boottime_ns / ns_per_tick;
    p.kernel_thread = (ev.flags & PIDMAP_F_KTHREAD) != 0;
    p.nspid.assign(ev.nspid, ev.nspid + ev.level + 1);
    for (size_t i = 0; i < kNsCount; i++)
      p.ns[i] = ev.ns_inum[i];
    std::string_view argv;
    if (!c.bytes(ev.argv_len, argv))
      return bad("truncated argv");
    p.cmdline = split_argv(argv);
    if (ev.flags & PIDMAP_F_ARGV_TRUNCATED)
      p.partial = true;
    p.cgroups.reserve(4); // v2 and the pids and memory hierarchies, the common request
    for (;;) {
      pidmap_cgroup cg;
      if (!c.read(cg) || cg.depth > PIDMAP_CG_MAX_DEPTH)
        return bad("truncated cgroup");
      if (cg.hierarchy_id == PIDMAP_CG_END)
        break;
      CgroupEntry e;
      e.hierarchy = cg.hierarchy_id;
      if (cg.hierarchy_id != 0) {
        auto it = hier.find(cg.hierarchy_id);
        if (it != hier.end())
          e.controllers = it->second;
      }
      // The names are back to back, each NUL-terminated: the path is that
      // span with each NUL made a '/' and one '/' in front, built in one go.
      std::string_view names;
      {
        const size_t start = c.pos();
        for (uint32_t d = 0; d < cg.depth; d++) {
          std::string_view name;
          if (!c.cstr(name))
            return bad("truncated cgroup name");
        }
        names = data.substr(start, c.pos() - start);
      }
      if (names.empty()) {
        e.path = "/";
      } else {
        e.path.resize(names.size());
        e.path[0] = '/';
        std::memcpy(e.path.data() + 1, names.data(), names.size() - 1);
        std::replace(e.path.begin() + 1, e.path.end(), '\0', '/');
      }
      if (cg.flags & PIDMAP_CG_TRUNCATED)
        p.partial = true;
      p.cgroups.push_back(std::move(e));
    }
    // /proc/PID/cgroup lists the newest hierarchy first and the v2 entry
    // last; keep that order so both scanners print alike.
    std::sort(p.cgroups.begin(), p.cgroups.end(),
              [](const CgroupEntry &a, const CgroupEntry &b) { return a.hierarchy > b.hierarchy; });
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace ctk::rt::proc
