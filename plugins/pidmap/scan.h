// Process scanning for pidmap: the BPF task iterator, or the /proc walk
// where BPF is not permitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/plugin.h"
#include "ctk/runtime/proc.h"

namespace ctk::plugins::pidmap {

enum class Backend { automatic, bpf, proc };

// "auto", "bpf", "proc"; nullopt otherwise.
std::optional<Backend> parse_backend(std::string_view s);

struct ScanResult {
  std::vector<rt::proc::Process> procs; // sorted by host PID
  std::string backend;                  // "bpf" or "proc": what actually ran
};

// Scans every process with the fields pidmap shows. `auto` falls back to
// /proc when the BPF path fails, logging why; `bpf` fails instead.
rt::Result<ScanResult> scan_processes(const rt::plugin::Call &call, Backend backend);

} // namespace ctk::plugins::pidmap
