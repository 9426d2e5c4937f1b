// Buffered stdout that survives a closed pipe.
//
//   StdoutBuf buf;                 // fd 1, 64 KiB buffer
//   std::ostream out(&buf);
//   out << "...";                  // `ctk pidmap | head`: once the reader is
//   if (buf.broken()) stop();      // gone, writes are dropped and broken() is set
//
// SIGPIPE is ignored by the front end, so a write to a closed pipe fails with
// EPIPE; the command is then told to stop (see Host::interrupted) and ctk
// exits quietly instead of printing an error.
#pragma once

#include <streambuf>
#include <vector>

namespace ctk::tools {

class StdoutBuf : public std::streambuf {
public:
  explicit StdoutBuf(int fd = 1, size_t size = 64 * 1024);
  ~StdoutBuf() override;
  StdoutBuf(const StdoutBuf &) = delete;
  StdoutBuf &operator=(const StdoutBuf &) = delete;

  // The reader went away (EPIPE) or another write error happened.
  bool broken() const { return broken_; }
  int fd() const { return fd_; }

protected:
  int_type overflow(int_type ch) override;
  int sync() override;
  std::streamsize xsputn(const char *s, std::streamsize n) override;

private:
  bool drain();
  int fd_;
  std::vector<char> buf_;
  bool broken_ = false;
};

} // namespace ctk::tools
