// ctk debug: a toolbox container joined to a target's namespaces, with the
// target's root filesystem at /target (libruntime/container/target_mount.cc
// mounts it), or beside an image that has no shell.
#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/image_store.h"
#include "ctk/runtime/image_toolbox.h"
#include "ctk/runtime/proc.h"
#include "debug_command.h"

namespace ctk::plugins::run::debug {
namespace {

namespace ct = rt::container;
namespace ds = rt::discovery;
using rt::Errc;
using rt::fail;
using rt::Result;

struct Share {
  bool pid = false, net = false, ipc = false;
  std::string text() const {
    std::string s;
    for (auto [on, name] : {std::pair{pid, "pid"}, {net, "net"}, {ipc, "ipc"}})
      if (on)
        s += (s.empty() ? "" : ",") + std::string(name);
    return s.empty() ? "none" : s;
  }
};

Result<Share> parse_share(const std::string &text) {
  Share s;
  if (text == "none")
    return s;
  for (auto part : rt::split(text, ',')) {
    if (part == "pid")
      s.pid = true;
    else if (part == "net")
      s.net = true;
    else if (part == "ipc")
      s.ipc = true;
    else
      return fail(Errc::invalid_argument,
                  fmt::format("invalid --share \"{}\": \"{}\" is not pid, net or ipc "
                              "(comma-separated, or none)",
                              text, part));
  }
  return s;
}

// What TARGET names: a running process (a container's init, or a host PID
// no container owns), or an image in ctk's store.
struct Resolved {
  pid_t pid = 0;
  std::string id; // runtime://ID of a container, the image ID of an image
  std::optional<rt::image::Image> image;
};

Result<Resolved> resolve_target(const Call &call, rt::image::Store &store,
                                const std::string &target) {
  ds::Options o;
  o.roots.ctk_root = call.root();
  o.roots.ctk_run_root = call.run_root();
  auto r = ds::Resolver::open(std::move(o));
  if (!r)
    return rt::wrap(r, "cannot resolve " + target);
  Resolved out;
  auto c = r->resolve(target);
  if (c) {
    if (c->pid <= 0)
      return fail(Errc::invalid_argument,
                  fmt::format("container {} is not running (status {})", target, c->status));
    out.pid = c->pid;
    out.id = fmt::format("{}://{}", ds::runtime_name(c->runtime), c->id);
    return out;
  }
  if (c.error().code != Errc::not_found)
    return tl::unexpected(c.error());
  // A host process no container owns: its root is the host's, still useful
  // with --read-only beside a chrooted daemon.
  if (auto t = ds::parse_target(target); t && t->pid > 0) {
    if (::kill(t->pid, 0) != 0 && errno == ESRCH)
      return fail(Errc::not_found, fmt::format("no process {}", t->pid));
    out.pid = t->pid;
    out.id = fmt::format("pid://{}", t->pid);
    return out;
  }
  if (auto img = store.resolve(target); img) {
    out.id = img->config.str();
    out.image = *img;
    return out;
  }
  return fail(Errc::not_found, fmt::format("no container or image {}", target));
}

// The debug container's config; `so` gets the namespaces to join.
Result<ct::ContainerConfig> build_config(Call &call, ct::StartOptions &so) {
  const auto args = call.args();
  if (args.empty())
    return fail(Errc::invalid_argument, "debug needs a TARGET");
  const std::string target = args[0];
  auto share = parse_share(call.get("share").value_or("pid,net,ipc"));
  if (!share)
    return tl::unexpected(share.error());
  auto store = rt::image::Store::open(call.root());
  if (!store)
    return rt::wrap(store, "cannot open the image store");

  // The target first: a typo there should not cost building the toolbox.
  auto res = resolve_target(call, *store, target);
  if (!res)
    return rt::wrap(res, "cannot debug " + target);

  ct::ContainerConfig c;
  c.image = call.get("image").value_or("ctk-debug:busybox");
  Result<rt::image::Image> img = c.image == "ctk-debug:busybox"
                                     ? rt::image::ensure_busybox_image(*store, {})
                                     : store->resolve(c.image);
  if (!img)
    return rt::wrap(img, "cannot debug " + target);
  if (auto r = apply_image(*store, *img, c); !r)
    return tl::unexpected(r.error());
  if (args.size() > 1) {
    // The user's command is the whole command (kubectl debug -- CMD): a
    // toolbox image's entrypoint would otherwise swallow it as arguments.
    c.entrypoint.clear();
    c.cmd.assign(args.begin() + 1, args.end());
  } else {
    if (c.entrypoint.empty() && c.cmd.empty())
      c.cmd = {"sh"};
  }

  ct::DebugTarget dt;
  dt.target = target;
  dt.read_only = call.flag("read-only");
  c.labels["ctk.debug.target"] = target;
  c.labels["ctk.debug.target-id"] = res->id;
  c.labels["ctk.debug.read-only"] = dt.read_only ? "true" : "false";
  if (res->image) {
    // The image's layers, unpacked once like any container's.
    auto layers = store->unpack(*res->image, {});
    if (!layers)
      return rt::wrap(layers, "cannot debug " + target);
    if (layers->layers.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("cannot debug {}: the image has no layers", target));
    dt.image_id = res->id;
    dt.lowerdir = layers->lowerdir();
    // No process to join: a namespace of its own for everything.
    c.network = "none";
    c.labels["ctk.debug.share"] = "none";
  } else {
    rt::proc::ScanOptions po;
    po.fields = rt::proc::kStartTime;
    auto p = rt::proc::read_process(res->pid, po);
    if (!p)
      return rt::wrap(p, "cannot debug " + target);
    dt.pid = res->pid;
    dt.pid_start = p->start_time;
    c.labels["ctk.debug.target-pid"] = std::to_string(res->pid);
    c.labels["ctk.debug.share"] = share->text();
    const std::string ns = fmt::format("/proc/{}/ns/", res->pid);
    const std::string mode = "container:" + res->id;
    c.network = "none";
    if (share->net) {
      so.join_ns["net"] = ns + "net";
      so.join_ns["uts"] = ns + "uts"; // as docker's --net container: the hostname too
      c.network = mode;
    }
    if (share->pid) {
      so.join_ns["pid"] = ns + "pid";
      c.pid_mode = mode;
    }
    if (share->ipc) {
      so.join_ns["ipc"] = ns + "ipc";
      c.ipc_mode = mode;
    }
  }
  c.debug_target = std::move(dt);

  c.name = call.get("name").value_or("");
  if (!c.name.empty() && c.name.find_first_of("/: \t") != std::string::npos)
    return fail(Errc::invalid_argument, "invalid container name \"" + c.name + "\"");
  // Interactive as docker debug and kubectl debug -it are: a terminal when
  // there is one, and stdin always (a script can pipe commands in).
  c.tty = ::isatty(0) == 1;
  c.interactive = true;
  c.auto_remove = call.flag("rm");
  c.security.privileged = call.flag("privileged");
  c.security.no_new_privileges = !c.security.privileged;
  // strace, gdb and /proc/PID/{environ,fd} of the target's processes need it
  // (kubectl debug's "general" profile adds it too).
  if (!c.security.privileged)
    c.security.cap_add = {"SYS_PTRACE"};
  if (!so.join_ns.count("uts"))
    c.hostname = "<id>";
  return c;
}

} // namespace

int run_debug(Call &call) {
  ct::StartOptions so;
  auto cfg = build_config(call, so);
  if (!cfg)
    return call.fail(cfg.error(), 125);
  return create_and_run(call, *cfg, so);
}

} // namespace ctk::plugins::run::debug
