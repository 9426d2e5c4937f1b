// ctk __complete containers|images|pids: values for the completion scripts.
// Hidden; prints one candidate a line and never fails loudly, since its
// output lands in the user's prompt.
#include <dirent.h>

#include "app.h"
#include "builtins.h"
#include "ctk/runtime/discovery.h"

namespace ctk::tools {

namespace {
const ctk_positional_v1 kPositionals[] = {
    {"KIND", CTK_ARG_STRING, 0, "containers, images or pids"},
};

void containers(const rt::plugin::Call &call) {
  auto resolver = rt::discovery::Resolver::open({});
  if (!resolver)
    return;
  auto list = resolver->list(true);
  if (!list)
    return;
  std::string out;
  for (const auto &c : *list) {
    if (!c.name.empty())
      out += c.name + "\n";
    if (!c.id.empty())
      out += c.id.substr(0, 12) + "\n";
  }
  call.write_raw(out);
}

void pids(const rt::plugin::Call &call) {
  DIR *d = ::opendir("/proc");
  if (!d)
    return;
  std::string out;
  while (dirent *e = ::readdir(d)) {
    unsigned long long pid = 0;
    if (rt::parse_uint(e->d_name, pid))
      out += std::string(e->d_name) + "\n";
  }
  ::closedir(d);
  call.write_raw(out);
}
} // namespace

const ctk_command_v1 kCompleteCommand = {
    "__complete",      "Print completion candidates",
    nullptr,           nullptr,
    nullptr,           0,
    kPositionals,      1,
    nullptr,           0,
    CTK_CMD_NO_OUTPUT, nullptr,
};

int run_complete(App &app, const rt::plugin::Call &call) {
  std::string kind = call.args().at(0);
  if (kind == "containers")
    containers(call);
  else if (kind == "pids")
    pids(call);
  else if (kind == "images") {
    // What `ctk images` lists, through the images plugin (the one reader of
    // the store): NAME:TAG of tagged rows, and every short ID.
    ParsedCommand images;
    images.options.emplace_back(
        "format", "{{if ne .Tag \"<none>\"}}{{.Repository}}:{{.Tag}}\n{{end}}{{slice .ID 7 19}}");
    app.run_named("images", images);
  }
  return 0;
}

} // namespace ctk::tools
