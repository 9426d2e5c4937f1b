// A minimal HTTP client for daemons' APIs on unix sockets (docker's), the one
// way ctk talks to them: GET only, HTTP/1.0 so the body is never chunked and
// ends when the server closes, and a deadline on every wait.
//
//   std::string body;
//   auto status = ctk::rt::http::get_unix("/run/docker.sock", "/containers/json?all=1",
//       {.idle_timeout_ms = 500}, [&](std::string_view chunk) -> Result<void> {
//         body.append(chunk); return {}; });
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ctk/runtime/core.h"

namespace ctk::rt::http {

struct GetOptions {
  std::string what = "API";                      // for messages: "docker API /run/docker.sock: ..."
  int connect_timeout_ms = 1000;
  int idle_timeout_ms = 60'000;                   // longest silence while waiting for bytes
  std::function<bool()> cancelled;                // polled between reads; true stops
  size_t max_error_body = 64 * 1024;              // kept for a non-2xx status's message
};

// Sends `GET path` to the server on `socket_path`. A 2xx status streams the
// body to `sink` as it arrives and returns the status. Any other status is an
// error (not_found for 404) whose message holds the server's status line or
// its error body ({"message": ...} from docker). timeout when a wait exceeds
// its deadline; interrupted when `cancelled` says so.
Result<int> get_unix(const std::string &socket_path, std::string_view path, const GetOptions &opt,
                     const std::function<Result<void>(std::string_view)> &sink);

} // namespace ctk::rt::http
