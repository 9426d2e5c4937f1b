// Loader of the pidmap task iterator: load, attach, read the iterator in
// big reads, decode.
//
// It uses the light skeleton (through bpf/pidmap_lskel.c): the kernel
// applies the CO-RE relocations from its own BTF, where libbpf would first
// parse all of /sys/kernel/btf/vmlinux in user space. That parse costs
// 30-80 ms on a busy 2-core host, more than the scan of 10,000 processes;
// the light skeleton loads in about 15 ms.
//
// Copying argv out of each process (bpf_copy_from_user_task) is most of the
// scan, so with several CPUs the work is split: one reader thread per shard,
// each reading its own iterator instance (see nr_shards in pidmap.bpf.c).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <unistd.h>

#include "ctk/runtime/proc_bpf.h"
#include "pidmap_lskel.h"

namespace ctk::rt::proc {
namespace {

struct LskelDeleter {
  void operator()(pidmap_lskel *l) const { pidmap_lskel_close(l); }
};
using LskelPtr = std::unique_ptr<pidmap_lskel, LskelDeleter>;

tl::unexpected<Error> bpf_fail(const std::string &what, int err) {
  if (err < 0)
    err = -err;
  Errc code = Errc::unsupported;
  if (err == EPERM || err == EACCES)
    code = Errc::permission_denied;
  return tl::unexpected<Error>(Error(code, "cannot " + what + " the pidmap task iterator", err));
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Output of one reader: the bytes and their decoding, or the errno that
// stopped it.
struct Shard {
  std::unique_ptr<char[]> buf;
  size_t len = 0;
  int err = 0;
  const char *step = "";
  Result<std::vector<Process>> procs = std::vector<Process>{};
  double read_ms = 0;
  double decode_ms = 0;
};

// Registers the calling thread as the reader of `index`, then reads a new
// iterator instance to its end. The kernel hands out at most its seq buffer
// (8 pages) per read; an uninitialised, doubling buffer avoids zero-filling
// what read() overwrites.
void read_shard(pidmap_lskel *prog, uint32_t index, Shard &out) {
  if (int err = pidmap_lskel_set_reader(prog, index, static_cast<uint32_t>(gettid())); err < 0) {
    out.err = -err;
    out.step = "register a reader of";
    return;
  }
  int fd = pidmap_lskel_new_iter(prog);
  if (fd < 0) {
    out.err = -fd;
    out.step = "create an instance of";
    return;
  }
  UniqueFd iter(fd);
  size_t cap = 1 << 21;
  out.buf = std::make_unique_for_overwrite<char[]>(cap);
  for (;;) {
    if (cap - out.len < (1 << 16)) {
      auto bigger = std::make_unique_for_overwrite<char[]>(cap * 2);
      std::memcpy(bigger.get(), out.buf.get(), out.len);
      out.buf = std::move(bigger);
      cap *= 2;
    }
    ssize_t n = read(iter.get(), out.buf.get() + out.len, cap - out.len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      out.err = errno;
      out.step = "read";
      return;
    }
    if (n == 0)
      return;
    out.len += static_cast<size_t>(n);
  }
}

// Reads shard `index` then decodes it, on the calling thread: with two
// readers the decoding of each half runs in parallel too.
void read_and_decode(pidmap_lskel *prog, uint32_t index, Shard &out,
                     const std::map<int, std::vector<std::string>> &hier, long clk_tck) {
  auto t0 = std::chrono::steady_clock::now();
  read_shard(prog, index, out);
  out.read_ms = ms_since(t0);
  if (out.err)
    return;
  auto t1 = std::chrono::steady_clock::now();
  out.procs = decode_pidmap_stream(std::string_view(out.buf.get(), out.len), hier, clk_tck);
  out.buf.reset();
  out.decode_ms = ms_since(t1);
}

} // namespace

Result<std::vector<Process>> scan_bpf(const ScanOptions &opt, const BpfScanOptions &bopt,
                                      BpfScanStats *stats) {
  auto t0 = std::chrono::steady_clock::now();

  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return fail(
        Errc::unsupported,
        "cannot load the pidmap task iterator: the kernel has no BTF (/sys/kernel/btf/vmlinux)",
        errno);

  // Sharding pays for its second pass over the task list only when there is
  // argv to copy and a second CPU to copy it on.
  unsigned shards = 1;
  if ((opt.fields & kCmdline) && std::thread::hardware_concurrency() >= 2)
    shards = 2;
  pidmap_lskel_config cfg{};
  cfg.want_argv = (opt.fields & kCmdline) ? 1 : 0;
  cfg.want_cgroups = (opt.fields & kCgroups) ? 1 : 0;
  cfg.want_kthreads = opt.include_kernel_threads ? 1 : 0;
  cfg.want_all_v1 = bopt.all_v1_hierarchies ? 1 : 0;
  cfg.nr_shards = shards;
  pidmap_lskel *raw = nullptr;
  const char *step = "load";
  if (int err = pidmap_lskel_open(&cfg, &raw, &step); err < 0)
    return bpf_fail(step, err);
  LskelPtr prog(raw);
  // The controllers of each v1 hierarchy, to name what the kernel reports by id.
  std::map<int, std::vector<std::string>> hier;
  if (opt.fields & kCgroups) {
    if (auto text = read_file(opt.paths.proc + "/cgroups"))
      hier = parse_proc_cgroups(*text);
  }
  if (stats)
    stats->load_ms = ms_since(t0);

  const long clk_tck = sysconf(_SC_CLK_TCK);
  std::vector<Shard> out(shards);
  std::thread helper;
  if (shards > 1) {
    try {
      helper = std::thread([&] { read_and_decode(prog.get(), 1, out[1], hier, clk_tck); });
    } catch (const std::system_error &) {
      // No thread: read that shard here after our own; the map then names
      // this thread as its reader.
    }
  }
  read_and_decode(prog.get(), 0, out[0], hier, clk_tck);
  if (helper.joinable())
    helper.join();
  else if (shards > 1)
    read_and_decode(prog.get(), 1, out[1], hier, clk_tck);
  for (const auto &s : out)
    if (s.err)
      return fail_errno(std::string("cannot ") + s.step + " the pidmap task iterator", s.err);
  for (auto &s : out)
    if (!s.procs)
      return tl::unexpected(s.procs.error());
  if (stats) {
    stats->iter_ms = 0;
    stats->decode_ms = 0;
    stats->bytes = 0;
    for (const auto &s : out) {
      stats->iter_ms = std::max(stats->iter_ms, s.read_ms);
      stats->decode_ms = std::max(stats->decode_ms, s.decode_ms);
      stats->bytes += s.len;
    }
  }

  auto t2 = std::chrono::steady_clock::now();
  size_t total = 1;
  for (const auto &s : out)
    total += s.procs->size();
  std::vector<Process> procs;
  procs.reserve(total);
  // The kernel's task iterator does not visit PID 1 here (6.18; a plain
  // iter/task program shows the same), so read that one the /proc way.
  bool has_init = false;
  for (const auto &s : out)
    has_init = has_init || (!s.procs->empty() && s.procs->front().pid == 1);
  if (!has_init) {
    if (auto init = read_process(1, opt))
      procs.push_back(std::move(*init));
  }
  // Each shard comes in PID order; keep the whole in PID order too.
  for (auto &s : out) {
    auto &part = *s.procs;
    const auto mid = static_cast<std::ptrdiff_t>(procs.size());
    procs.insert(procs.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
    if (mid > 0)
      std::inplace_merge(procs.begin(), procs.begin() + mid, procs.end(),
                         [](const Process &a, const Process &b) { return a.pid < b.pid; });
  }
  if (stats)
    stats->decode_ms += ms_since(t2);
  return procs;
}

} // namespace ctk::rt::proc
