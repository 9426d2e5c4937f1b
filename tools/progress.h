// The progress bar drawn on stderr for host->progress(); nothing when stderr
// is not a terminal, so logs and pipes stay clean.
//
//   Progress p(isatty(2));
//   p.update("unpacking", 3, 10);   // "unpacking [=======>        ]  30% 3/10"
//   p.update("unpacking", 10, 10);  // done == total: final state and newline
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ctk::tools {

class Progress {
public:
  explicit Progress(bool enabled, int fd = 2) : enabled_(enabled), fd_(fd) {}
  void update(const std::string &label, uint64_t done, uint64_t total);
  // Ends a bar left open (a command that returned mid-way).
  void finish();

  // The text of one bar line, without "\r"; exposed for tests.
  static std::string line(const std::string &label, uint64_t done, uint64_t total, int width = 30);

private:
  void write(const std::string &s);
  bool enabled_;
  int fd_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_{};
};

} // namespace ctk::tools
