#include "ctk/runtime/core.h"

#include <cstring>

namespace ctk::rt {

std::string_view errc_name(Errc code) {
  switch (code) {
  case Errc::internal: return "internal";
  case Errc::invalid_argument: return "invalid argument";
  case Errc::not_found: return "not found";
  case Errc::ambiguous: return "ambiguous";
  case Errc::exists: return "exists";
  case Errc::permission_denied: return "permission denied";
  case Errc::unsupported: return "unsupported";
  case Errc::parse: return "parse error";
  case Errc::io: return "i/o error";
  case Errc::busy: return "busy";
  case Errc::interrupted: return "interrupted";
  case Errc::timeout: return "timeout";
  }
  return "unknown";
}

Error &Error::wrap(std::string_view outer) & {
  if (context.empty())
    context = std::string(outer);
  else
    context = std::string(outer) + ": " + context;
  return *this;
}

Error &&Error::wrap(std::string_view outer) && {
  static_cast<Error &>(*this).wrap(outer);
  return std::move(*this);
}

std::string Error::message() const {
  std::string m = context.empty() ? std::string(errc_name(code)) : context;
  if (sys_errno != 0) {
    m += ": ";
    m += std::strerror(sys_errno);
  }
  return m;
}

Error errno_error(std::string context, int err) {
  Errc code = Errc::io;
  switch (err) {
  case ENOENT:
  case ESRCH: code = Errc::not_found; break;
  case EACCES:
  case EPERM: code = Errc::permission_denied; break;
  case EBUSY: code = Errc::busy; break;
  case EINTR: code = Errc::interrupted; break;
  case EEXIST: code = Errc::exists; break;
  case EINVAL: code = Errc::invalid_argument; break;
  case ENOSYS:
  case EOPNOTSUPP: code = Errc::unsupported; break;
  default: break;
  }
  return Error(code, std::move(context), err);
}

} // namespace ctk::rt
