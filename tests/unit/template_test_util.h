// Helpers for the template unit tests: parse + execute in one call, with the
// error message as the result when either step fails.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "render/template.h"

namespace ctk::tools::tmpltest {

using Json = nlohmann::ordered_json;

// Output of `text` on `data`, or "ERR:" followed by the error message.
inline std::string render_template(std::string_view text, const Json &data,
                                   std::vector<std::string> known = {}) {
  auto t = Template::parse(text);
  if (!t)
    return "ERR:" + t.error().message();
  t->set_known_keys(std::move(known));
  auto out = t->execute(data);
  if (!out)
    return "ERR:" + out.error().message();
  return *out;
}

inline Json sample_container() {
  return Json::parse(R"({
    "ID": "4f2a1c9d8e7b6a5f4e3d2c1b0a998877665544332211ffeeddccbbaa99887766",
    "Names": ["web", "frontend"],
    "Image": "nginx:1.25",
    "State": {"Status": "running", "Pid": 4242, "Running": true, "ExitCode": 0},
    "Labels": {"com.example.team": "infra", "app": "web", "tier": "front"},
    "Ports": [],
    "CPU": 12.5,
    "Mounts": [{"Source": "/srv/www", "Destination": "/usr/share/nginx/html", "RW": false},
               {"Source": "/var/log/web", "Destination": "/var/log/nginx", "RW": true}],
    "Count": 3,
    "Empty": "",
    "Nothing": null
  })");
}

} // namespace ctk::tools::tmpltest
