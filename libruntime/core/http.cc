// http::get_unix: see http.h. Non-blocking socket, poll() with a deadline on
// every wait, so a daemon that hangs costs a bounded time.
#include "ctk/runtime/http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

namespace ctk::rt::http {
namespace {

Result<void> wait_for(int fd, short events, int ms, const std::string &sock) { // sock: "<what> <path>"
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, ms);
    if (r > 0)
      return {};
    if (r == 0)
      return fail(Errc::timeout, sock + " did not answer in time");
    if (errno != EINTR)
      return fail_errno("cannot poll " + sock);
  }
}

// The error a non-2xx response stands for: docker puts {"message": "..."}
// in the body; otherwise the status line is all there is.
Error status_error(int status, const std::string &status_line, std::string_view body,
                   const std::string &sock) {
  std::string why = std::string(trim(status_line));
  std::string_view text = trim(body);
  try {
    auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      why = j["message"].get<std::string>();
  } catch (const nlohmann::json::exception &) {
    if (!text.empty() && text.size() <= 200 && text.find('\n') == std::string_view::npos)
      why = std::string(text);
  }
  return Error(status == 404 ? Errc::not_found : Errc::io, sock + ": " + why);
}

} // namespace

Result<int> get_unix(const std::string &socket_path, std::string_view path, const GetOptions &opt,
                     const std::function<Result<void>(std::string_view)> &sink) {
  const std::string sock = opt.what + " " + socket_path; // names it in messages
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return fail(Errc::invalid_argument, sock + ": socket path too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd)
    return fail_errno("cannot create a socket for " + sock);
  if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS && errno != EAGAIN)
      return fail_errno("cannot connect to " + sock);
    if (auto w = wait_for(fd.get(), POLLOUT, opt.connect_timeout_ms, sock); !w)
      return tl::unexpected(w.error());
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      errno = err;
      return fail_errno("cannot connect to " + sock);
    }
  }
  const std::string req = "GET " + std::string(path) + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (auto w = wait_for(fd.get(), POLLOUT, opt.idle_timeout_ms, sock); !w)
        return tl::unexpected(w.error());
      continue;
    }
    if (n < 0)
      return fail_errno("cannot send to " + sock);
    sent += static_cast<size_t>(n);
  }

  std::string head; // the status line and headers, until the body starts
  std::string status_line, first_bytes, error_body;
  int status = 0;
  bool in_body = false;
  char buf[1 << 16];
  for (;;) {
    if (opt.cancelled && opt.cancelled())
      return fail(Errc::interrupted, "interrupted");
    if (auto w = wait_for(fd.get(), POLLIN, opt.idle_timeout_ms, sock); !w)
      return tl::unexpected(w.error());
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0)
      return fail_errno("cannot read from " + sock);
    if (n == 0)
      break;
    std::string_view data(buf, static_cast<size_t>(n));
    if (!in_body) {
      head.append(data);
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head.size() > 65536)
          return fail(Errc::parse, sock + ": response header too large");
        continue;
      }
      long long code = 0;
      if (!head.starts_with("HTTP/1.") || head.size() < 12 ||
          !parse_int(std::string_view(head).substr(9, 3), code))
        return fail(Errc::parse, sock + ": not an HTTP response");
      status = static_cast<int>(code);
      status_line = head.substr(0, head.find('\r'));
      first_bytes = head.substr(end + 4);
      head.clear();
      data = first_bytes;
      in_body = true;
    }
    if (status < 200 || status > 299) {
      size_t room = opt.max_error_body - std::min(error_body.size(), opt.max_error_body);
      error_body.append(data.substr(0, room));
    } else if (!data.empty()) {
      if (auto r = sink(data); !r)
        return tl::unexpected(r.error());
    }
  }
  if (!in_body)
    return fail(Errc::parse, sock + ": connection closed before a response");
  if (status < 200 || status > 299)
    return tl::unexpected(status_error(status, status_line, error_body, sock));
  return status;
}

} // namespace ctk::rt::http
