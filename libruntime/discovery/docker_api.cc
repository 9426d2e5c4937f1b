// docker's HTTP API over its unix socket, asked only to fill in what the
// files did not give (names of containers whose data root is unknown).
// Plain sockets and a fixed deadline: a daemon that does not answer within
// the timeout is treated as absent.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "internal.h"

namespace ctk::rt::discovery::detail {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

Result<void> wait_for(int fd, short events, Clock::time_point deadline, const std::string &sock) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0)
      return {};
    if (r == 0)
      return fail(Errc::timeout, "docker API at " + sock + " did not answer in time");
    if (errno != EINTR)
      return fail_errno("cannot poll docker API socket " + sock);
  }
}

// Decodes a chunked HTTP body; nullopt if malformed.
std::optional<std::string> dechunk(std::string_view body) {
  std::string out;
  for (;;) {
    auto eol = body.find("\r\n");
    if (eol == std::string_view::npos)
      return std::nullopt;
    auto size_text = body.substr(0, body.find_first_of(";\r"));
    size_t n = 0;
    for (char c : size_text) {
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0)
        return std::nullopt;
      n = n * 16 + static_cast<size_t>(v);
    }
    body.remove_prefix(eol + 2);
    if (n == 0)
      return out;
    if (body.size() < n + 2)
      return std::nullopt;
    out.append(body.substr(0, n));
    body.remove_prefix(n + 2);
  }
}

} // namespace

Result<std::vector<Container>> docker_api_list(const std::string &socket_path, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return fail(Errc::invalid_argument, "docker socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd)
    return fail_errno("cannot create a socket for docker API " + socket_path);
  if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS && errno != EAGAIN)
      return fail_errno("cannot connect to docker API " + socket_path);
    if (auto w = wait_for(fd.get(), POLLOUT, deadline, socket_path); !w)
      return tl::unexpected(w.error());
  }
  const std::string req = "GET /containers/json?all=1 HTTP/1.1\r\nHost: docker\r\n"
                          "Connection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        if (auto w = wait_for(fd.get(), POLLOUT, deadline, socket_path); !w)
          return tl::unexpected(w.error());
        continue;
      }
      return fail_errno("cannot send to docker API " + socket_path);
    }
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  for (;;) {
    if (auto w = wait_for(fd.get(), POLLIN, deadline, socket_path); !w)
      return tl::unexpected(w.error());
    char buf[16384];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      return fail_errno("cannot read from docker API " + socket_path);
    }
    if (n == 0)
      break;
    resp.append(buf, static_cast<size_t>(n));
    if (resp.size() > (64u << 20))
      return fail(Errc::parse, "docker API " + socket_path + ": response too large");
  }
  auto head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
    return fail(Errc::parse, "docker API " + socket_path + ": not an HTTP response");
  std::string head = resp.substr(0, head_end);
  if (head.compare(9, 3, "200") != 0)
    return fail(Errc::io, "docker API " + socket_path + ": " + head.substr(0, head.find('\r')));
  std::string body = resp.substr(head_end + 4);
  std::string lower_head;
  for (char c : head)
    lower_head.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower_head.find("transfer-encoding: chunked") != std::string::npos) {
    auto plain = dechunk(body);
    if (!plain)
      return fail(Errc::parse, "docker API " + socket_path + ": malformed chunked body");
    body = std::move(*plain);
  }
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception &e) {
    return fail(Errc::parse, "docker API " + socket_path + ": malformed JSON: " + e.what());
  }
  std::vector<Container> out;
  if (!list.is_array())
    return out;
  for (const auto &e : list) {
    Container c;
    c.runtime = Runtime::docker;
    c.ns = "moby";
    c.id = json_str(e, "Id");
    if (c.id.empty())
      continue;
    if (e.contains("Names") && e["Names"].is_array() && !e["Names"].empty() &&
        e["Names"][0].is_string()) {
      c.name = e["Names"][0].get<std::string>();
      if (!c.name.empty() && c.name[0] == '/')
        c.name.erase(0, 1);
    }
    c.image = json_str(e, "Image");
    c.status = json_str(e, "State", "unknown");
    c.created = json_int(e, "Created");
    c.labels = json_string_map(json_obj(e, "Labels"));
    c.source = "api:" + socket_path;
    out.push_back(std::move(c));
  }
  return out;
}

} // namespace ctk::rt::discovery::detail
