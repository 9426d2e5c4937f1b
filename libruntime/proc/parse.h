// Parsers of /proc/PID files shared by the scanner. Internal to libruntime:
// they work on text already read into a buffer and never allocate more than
// the strings they store in the Process.
#pragma once

#include <cstdint>
#include <string_view>

#include "ctk/runtime/proc.h"

namespace ctk::rt::proc::detail {

// What a status file told us beyond the Process fields.
struct StatusExtra {
  bool has_kthread_line = false; // "Kthread:" (Linux 6.x) decides kernel_thread
  bool has_vmsize = false;       // user processes (not zombies) have an mm
};
// Fills ppid, comm, state, uid, gid, nspid and, when the kernel prints it,
// kernel_thread. Returns false when the text is not a status file.
bool parse_status(std::string_view text, Process &p, StatusExtra &extra);

struct StatInfo {
  char state = '?';
  pid_t ppid = 0;
  unsigned long flags = 0; // field 9; PF_KTHREAD marks kernel threads
  uint64_t start_time = 0; // field 22
};
// Parses /proc/PID/stat. The comm field may hold spaces and parentheses, so
// fields are counted from the last ')'.
bool parse_stat(std::string_view text, StatInfo &out);

// "pid:[4026531836]" (the target of a /proc/PID/ns/pid link) -> inode.
bool parse_ns_link(std::string_view text, uint64_t &inode);

// /proc/PID/cmdline: arguments separated (and ended) by NULs.
void split_cmdline(std::string_view text, std::vector<std::string> &out);

inline constexpr unsigned long kPfKthread = 0x00200000; // include/linux/sched.h

} // namespace ctk::rt::proc::detail
