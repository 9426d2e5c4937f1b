#include "scan.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#ifndef CTK_PIDMAP_NO_BPF
#include "ctk/runtime/proc_bpf.h"
#endif

namespace ctk::plugins::pidmap {

namespace proc = rt::proc;

std::optional<Backend> parse_backend(std::string_view s) {
  if (s == "auto")
    return Backend::automatic;
  if (s == "bpf")
    return Backend::bpf;
  if (s == "proc")
    return Backend::proc;
  return std::nullopt;
}

namespace {

proc::ScanOptions scan_options() {
  proc::ScanOptions opt;
  // Only what a record needs: NSpid and comm (status), the PID namespace,
  // the cgroups that name the container, and argv.
  opt.fields = proc::kStatus | proc::kNamespaces | proc::kCgroups | proc::kCmdline;
  return opt;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

rt::Result<ScanResult> scan_proc(const rt::plugin::Call &call) {
  auto t0 = std::chrono::steady_clock::now();
  auto procs = proc::scan(scan_options());
  if (!procs)
    return rt::wrap(procs, "cannot scan /proc");
  call.log(CTK_LOG_DEBUG, fmt::format("pidmap: backend proc: {} processes in {:.1f} ms",
                                      procs->size(), ms_since(t0)));
  return ScanResult{std::move(*procs), "proc"};
}

} // namespace

rt::Result<ScanResult> scan_processes(const rt::plugin::Call &call, Backend backend) {
  ScanResult out;
  if (backend == Backend::proc) {
    auto r = scan_proc(call);
    if (!r)
      return r;
    out = std::move(*r);
  } else {
#ifdef CTK_PIDMAP_NO_BPF
    if (backend == Backend::bpf)
      return rt::fail(rt::Errc::unsupported,
                      "cannot use the bpf backend: ctk was built without BPF");
    auto r = scan_proc(call);
    if (!r)
      return r;
    out = std::move(*r);
#else
    proc::BpfScanStats st;
    auto t0 = std::chrono::steady_clock::now();
    auto procs = proc::scan_bpf(scan_options(), {.all_v1_hierarchies = false}, &st);
    if (procs) {
      call.log(
          CTK_LOG_DEBUG,
          fmt::format("pidmap: backend bpf: {} processes in {:.1f} ms (load {:.1f} ms, iterate "
                      "{:.1f} ms, decode {:.1f} ms, {} bytes)",
                      procs->size(), ms_since(t0), st.load_ms, st.iter_ms, st.decode_ms, st.bytes));
      out = ScanResult{std::move(*procs), "bpf"};
    } else if (backend == Backend::bpf) {
      return rt::wrap(procs, "cannot use the bpf backend");
    } else {
      call.log(CTK_LOG_DEBUG, "pidmap: bpf backend unavailable, falling back to /proc: " +
                                  procs.error().message());
      auto r = scan_proc(call);
      if (!r)
        return r;
      out = std::move(*r);
    }
#endif
  }
  // Both scanners usually return PID order already: check before sorting.
  auto by_pid = [](const proc::Process &a, const proc::Process &b) { return a.pid < b.pid; };
  if (!std::is_sorted(out.procs.begin(), out.procs.end(), by_pid))
    std::sort(out.procs.begin(), out.procs.end(), by_pid);
  return out;
}

} // namespace ctk::plugins::pidmap
