// ctk port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports of a
// running ctk container, from the endpoint its state records (the host
// ports chosen at run time, also for -p 80 with a random host port).
#include <fmt/format.h>

#include "life_commands.h"

namespace ctk::plugins::run::life {
namespace ct = rt::container;

int run_port(Call &call) {
  const auto paths = paths_of(call);
  const auto args = call.args();
  auto id = ct::find_container(paths, args.at(0));
  if (!id)
    return call.fail(id.error());
  auto rec = ct::load_record(paths, *id);
  if (!rec)
    return call.fail(rec.error());
  std::optional<std::string> want;
  if (args.size() > 1) {
    std::string w = args[1];
    auto slash = w.find('/');
    std::string port = w.substr(0, slash),
                proto = slash == std::string::npos ? "tcp" : w.substr(slash + 1);
    unsigned long long n = 0;
    if (!rt::parse_uint(port, n) || n == 0 || n > 65535 || (proto != "tcp" && proto != "udp"))
      return call.fail(fmt::format("invalid port {}: PORT[/tcp|udp]", w), 2);
    want = fmt::format("{}/{}", n, proto);
  }
  size_t shown = 0;
  // Ports are published only while the container runs: a stopped one has none.
  if (rec->state.status == "running" && rec->state.endpoint)
    for (const auto &p : rec->state.endpoint->ports) {
      const std::string key =
          fmt::format("{}/{}", p.container_port, p.proto.empty() ? "tcp" : p.proto);
      if (want && *want != key)
        continue;
      const std::string ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
      const std::string binding = fmt::format("{}:{}", ip, p.host_port);
      ++shown;
      auto r = call.record();
      r.field("Port", key);
      r.field("Binding", binding);
      r.field("HostIp", ip);
      r.field("HostPort", std::to_string(p.host_port));
      r.field("Mapping", key + " -> " + binding);
    }
  if (want && shown == 0)
    return call.fail(fmt::format("no public port '{}' published for {}", *want, args[0]));
  return 0;
}

} // namespace ctk::plugins::run::life
