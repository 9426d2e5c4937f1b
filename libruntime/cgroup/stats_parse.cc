// Parsers of the cgroup v1 and v2 statistics files. Each fills only what the
// text has: a key an older kernel does not print stays empty.
#include <cstdlib>

#include "ctk/runtime/cgroup_stats.h"

namespace ctk::rt::cgroup {
namespace {

// Calls fn(key, value) for each "key value" line of a flat keyed file
// (cpu.stat, memory.stat, memory.events, memory.oom_control).
template <class Fn> void for_each_kv(std::string_view text, Fn &&fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos)
      continue;
    unsigned long long v = 0;
    if (parse_uint(trim(line.substr(sp + 1)), v))
      fn(line.substr(0, sp), static_cast<uint64_t>(v));
  }
}

// "key=value" fields of one line (io.stat, *.pressure).
template <class Fn> void for_each_field(std::string_view line, Fn &&fn) {
  for (std::string_view f : split(line, ' ')) {
    size_t eq = f.find('=');
    if (eq != std::string_view::npos)
      fn(f.substr(0, eq), f.substr(eq + 1));
  }
}

} // namespace

std::optional<uint64_t> parse_limit(std::string_view text) {
  text = trim(text);
  unsigned long long v = 0;
  if (text == "max" || !parse_uint(text, v))
    return std::nullopt;
  // v1 spells "unlimited" as the largest page-aligned long (9223372036854771712).
  if (v >= (1ULL << 62))
    return std::nullopt;
  return v;
}

void parse_cpu_stat_v2(std::string_view text, CpuStats &out) {
  for_each_kv(text, [&](std::string_view k, uint64_t v) {
    if (k == "usage_usec")
      out.usage_ns = v * 1000;
    else if (k == "user_usec")
      out.user_ns = v * 1000;
    else if (k == "system_usec")
      out.system_ns = v * 1000;
    else if (k == "nr_periods")
      out.nr_periods = v;
    else if (k == "nr_throttled")
      out.nr_throttled = v;
    else if (k == "throttled_usec")
      out.throttled_ns = v * 1000;
    // v1 cpu.stat spells the throttled time in ns.
    else if (k == "throttled_time")
      out.throttled_ns = v;
  });
}

void parse_memory_stat(std::string_view text, int version, MemoryStats &out) {
  if (version == 2) {
    std::optional<uint64_t> slab, stack;
    for_each_kv(text, [&](std::string_view k, uint64_t v) {
      if (k == "anon")
        out.anon = v;
      else if (k == "file")
        out.file = v;
      else if (k == "inactive_file")
        out.inactive_file = v;
      else if (k == "kernel")
        out.kernel = v;
      else if (k == "slab")
        slab = v;
      else if (k == "kernel_stack")
        stack = v;
      else if (k == "sock")
        out.sock = v;
      else if (k == "shmem")
        out.shmem = v;
    });
    // "kernel" is new in 5.18; before it, slab and kernel stacks were most of it.
    if (!out.kernel && (slab || stack))
      out.kernel = slab.value_or(0) + stack.value_or(0);
    return;
  }
  // v1: the total_ keys include descendants, which is what a container's
  // cgroup (with use_hierarchy) is charged for; docker uses them too.
  for_each_kv(text, [&](std::string_view k, uint64_t v) {
    if (k == "total_rss")
      out.anon = v;
    else if (k == "total_cache")
      out.file = v;
    else if (k == "total_inactive_file")
      out.inactive_file = v;
    else if (k == "total_shmem")
      out.shmem = v;
    else if (k == "total_swap")
      out.swap = v;
  });
}

void parse_memory_events(std::string_view text, MemoryStats &out) {
  for_each_kv(text, [&](std::string_view k, uint64_t v) {
    if (k == "oom")
      out.oom = v;
    else if (k == "oom_kill")
      out.oom_kill = v;
    else if (k == "max")
      out.limit_hits = v;
    else if (k == "high")
      out.high_hits = v;
  });
}

void parse_oom_control(std::string_view text, MemoryStats &out) {
  for_each_kv(text, [&](std::string_view k, uint64_t v) {
    if (k == "under_oom")
      out.under_oom = v != 0;
    else if (k == "oom_kill")
      out.oom_kill = v;
  });
}

void parse_io_stat_v2(std::string_view text, IoStats &out) {
  uint64_t rb = 0, wb = 0, ro = 0, wo = 0;
  for (std::string_view line : split_lines(text)) {
    for_each_field(line, [&](std::string_view k, std::string_view v) {
      unsigned long long n = 0;
      if (!parse_uint(v, n))
        return;
      if (k == "rbytes")
        rb += n;
      else if (k == "wbytes")
        wb += n;
      else if (k == "rios")
        ro += n;
      else if (k == "wios")
        wo += n;
    });
  }
  // An empty io.stat is a cgroup that did no IO: zero, not unknown.
  out.read_bytes = rb;
  out.write_bytes = wb;
  out.read_ops = ro;
  out.write_ops = wo;
}

bool parse_blkio_v1(std::string_view text, std::optional<uint64_t> &read,
                    std::optional<uint64_t> &write) {
  uint64_t r = 0, w = 0;
  bool device = false;
  for (std::string_view line : split_lines(text)) {
    // "8:0 Read 4096"; the last line is "Total N" with no device.
    auto f = split(trim(line), ' ');
    if (f.size() != 3 || f[0].find(':') == std::string_view::npos)
      continue;
    unsigned long long n = 0;
    if (!parse_uint(f[2], n))
      continue;
    device = true;
    if (f[1] == "Read")
      r += n;
    else if (f[1] == "Write")
      w += n;
  }
  if (device) {
    read = r;
    write = w;
  }
  return device;
}

Pressure parse_pressure(std::string_view text) {
  Pressure p;
  for (std::string_view line : split_lines(text)) {
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos)
      continue;
    std::string_view kind = line.substr(0, sp);
    PressureLine pl;
    bool ok = false;
    for_each_field(line.substr(sp + 1), [&](std::string_view k, std::string_view v) {
      std::string num(v);
      char *end = nullptr;
      if (k == "total") {
        unsigned long long n = 0;
        if (parse_uint(v, n)) {
          pl.total_us = n;
          ok = true;
        }
        return;
      }
      double d = std::strtod(num.c_str(), &end);
      if (end == num.c_str())
        return;
      if (k == "avg10")
        pl.avg10 = d;
      else if (k == "avg60")
        pl.avg60 = d;
      else if (k == "avg300")
        pl.avg300 = d;
    });
    if (!ok)
      continue;
    if (kind == "some")
      p.some = pl;
    else if (kind == "full")
      p.full = pl;
  }
  return p;
}

NetStats parse_net_dev(std::string_view text) {
  // Two header lines, then "  eth0: rxbytes rxpackets errs drop fifo frame
  // compressed multicast txbytes txpackets ...".
  NetStats n;
  uint64_t rb = 0, rp = 0, tb = 0, tp = 0;
  for (std::string_view line : split_lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    std::string_view name = trim(line.substr(0, colon));
    if (name == "lo" || name.find('|') != std::string_view::npos)
      continue;
    std::vector<unsigned long long> v;
    for (std::string_view f : split(line.substr(colon + 1), ' ')) {
      unsigned long long x = 0;
      if (!f.empty() && parse_uint(f, x))
        v.push_back(x);
    }
    if (v.size() < 10)
      continue;
    rb += v[0];
    rp += v[1];
    tb += v[8];
    tp += v[9];
  }
  // A namespace with only lo (--net none) moved nothing: zero, as docker shows.
  n.rx_bytes = rb;
  n.rx_packets = rp;
  n.tx_bytes = tb;
  n.tx_packets = tp;
  return n;
}

} // namespace ctk::rt::cgroup
