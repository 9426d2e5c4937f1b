#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace ctk::tools {

std::string Progress::line(const std::string &label, uint64_t done, uint64_t total, int width) {
  if (total == 0)
    return fmt::format("{} {}", label, done);
  if (done > total)
    done = total;
  int filled = static_cast<int>(done * static_cast<uint64_t>(width) / total);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) {
    bar += '>';
    bar.append(static_cast<size_t>(width - filled - 1), ' ');
  }
  return fmt::format("{} [{}] {:3}% {}/{}", label, bar, done * 100 / total, done, total);
}

void Progress::update(const std::string &label, uint64_t done, uint64_t total) {
  if (!enabled_)
    return;
  bool last = total != 0 && done >= total;
  auto now = std::chrono::steady_clock::now();
  // Redrawing a terminal line per item would cost more than the work itself.
  if (open_ && !last && now - last_ < std::chrono::milliseconds(50))
    return;
  last_ = now;
  write("\r\033[K" + line(label, done, total) + (last ? "\n" : ""));
  open_ = !last;
}

void Progress::finish() {
  if (enabled_ && open_)
    write("\n");
  open_ = false;
}

void Progress::write(const std::string &s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
    if (n <= 0)
      return;
    off += static_cast<size_t>(n);
  }
}

} // namespace ctk::tools
