// docker's HTTP API over its unix socket, asked only to fill in what the
// files did not give (names of containers whose data root is unknown).
// A daemon that does not answer within the timeout is treated as absent.
#include "ctk/runtime/http.h"
#include "internal.h"

namespace ctk::rt::discovery::detail {

Result<std::vector<Container>> docker_api_list(const std::string &socket_path, int timeout_ms) {
  http::GetOptions opt;
  opt.what = "docker API";
  opt.connect_timeout_ms = timeout_ms;
  opt.idle_timeout_ms = timeout_ms;
  std::string body;
  auto got = http::get_unix(socket_path, "/containers/json?all=1", opt,
                            [&](std::string_view chunk) -> Result<void> {
                              body.append(chunk);
                              if (body.size() > (64u << 20))
                                return fail(Errc::parse, "docker API " + socket_path +
                                                             ": response too large");
                              return {};
                            });
  if (!got)
    return tl::unexpected(got.error());
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
