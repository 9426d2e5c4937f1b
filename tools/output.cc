#include "output.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace ctk::tools {

StdoutBuf::StdoutBuf(int fd, size_t size) : fd_(fd), buf_(size) {
  setp(buf_.data(), buf_.data() + buf_.size());
}

StdoutBuf::~StdoutBuf() {
  drain();
}

bool StdoutBuf::drain() {
  const char *p = pbase();
  size_t left = static_cast<size_t>(pptr() - pbase());
  while (left > 0 && !broken_) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      // EPIPE (reader gone) or a real error: either way nothing more can be
      // shown, and the caller decides to stop quietly.
      broken_ = true;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  setp(buf_.data(), buf_.data() + buf_.size());
  return !broken_;
}

StdoutBuf::int_type StdoutBuf::overflow(int_type ch) {
  drain();
  if (!traits_type::eq_int_type(ch, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
  }
  // Report success even when broken: the stream must not throw or go bad in
  // the middle of a renderer; Host checks broken() instead.
  return traits_type::not_eof(ch);
}

std::streamsize StdoutBuf::xsputn(const char *s, std::streamsize n) {
  std::streamsize done = 0;
  while (done < n) {
    std::streamsize room = epptr() - pptr();
    if (room == 0) {
      drain();
      room = epptr() - pptr();
    }
    std::streamsize chunk = std::min(room, n - done);
    std::memcpy(pptr(), s + done, static_cast<size_t>(chunk));
    pbump(static_cast<int>(chunk));
    done += chunk;
  }
  return n;
}

int StdoutBuf::sync() {
  drain();
  return 0; // as in overflow(): broken() reports the failure, the stream stays good
}

} // namespace ctk::tools
