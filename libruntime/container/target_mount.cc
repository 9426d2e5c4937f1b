// ctk debug's /target: another container's root filesystem (or an image's)
// mounted into the debug container, from its first process before pivot_root.
//
// A process's root cannot simply be bind-mounted from /proc/PID/root: it lies
// in another mount namespace and the kernel refuses to clone a mount of a
// namespace the caller is not in (EINVAL). So a forked helper joins the
// target's mount namespace, clones the tree there with
// open_tree(OPEN_TREE_CLONE | AT_RECURSIVE), which gives a detached copy
// that belongs to no namespace, and passes its fd back over a socket; a
// detached tree may be attached anywhere, so move_mount puts it at /target.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "ctk/runtime/pty.h"
#include "internal.h"

namespace ctk::rt::container::detail {
namespace {

// The helper: in the target's mount namespace, a detached clone of the tree
// under `root_fd` (the target's /proc/PID/root, opened from the host before
// the join: it names the process's own root, which differs from the
// namespace's root for a chrooted process). Sends the tree, or errno as data.
[[noreturn]] void clone_tree_child(int sock, int mnt_ns, int root_fd, const char *rel) {
  auto fail_with = [&](int e) {
    (void)!::write(sock, &e, sizeof e);
    ::_exit(1);
  };
  // With --share pid this process is visible to the target's processes while
  // it sits in their mount namespace: not dumpable, so they cannot reach its
  // memory, descriptors or /proc/PID/exe (ctk's binary: CVE-2019-5736).
  if (::prctl(PR_SET_DUMPABLE, 0) != 0)
    fail_with(errno);
  // setns(CLONE_NEWNS) refuses a process that shares its fs state; a
  // fork()ed child does not, but the unshare makes that independent of how
  // the caller was created.
  if (::unshare(CLONE_FS) != 0 || ::setns(mnt_ns, CLONE_NEWNS) != 0)
    fail_with(errno);
  // `rel` is resolved in the target's namespace and below its root; its
  // last component is not followed (a planted symlink cannot swap it).
  int tree = ::open_tree(root_fd, rel,
                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
                             (*rel ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH));
  if (tree < 0)
    fail_with(errno);
  const int fds[1] = {tree};
  ::_exit(pty::send_fds(sock, fds) ? 0 : 1);
}

// Field 22 of /proc/PID/stat (after the parenthesised comm), 0 if unreadable.
uint64_t start_time(const std::string &proc) {
  auto text = read_file(proc + "/stat");
  if (!text)
    return 0;
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 > text->size())
    return 0;
  auto fields = split(std::string_view(*text).substr(close + 2), ' ');
  unsigned long long v = 0;
  if (fields.size() > 19 && parse_uint(fields[19], v))
    return v;
  return 0;
}

} // namespace

Result<UniqueFd> clone_process_tree(pid_t pid, uint64_t pid_start, const std::string &rel) {
  struct {
    pid_t pid;
    uint64_t pid_start;
  } t{pid, pid_start};
  const std::string proc = fmt::format("/proc/{}", t.pid);
  auto gone = [&] {
    return fail(Errc::not_found, fmt::format("its process {} is gone (the target stopped)", t.pid));
  };
  auto ns = open_fd(proc + "/ns/mnt", O_RDONLY);
  if (!ns)
    return ns.error().sys_errno == ENOENT ? gone() : tl::unexpected(ns.error());
  auto root = open_fd(proc + "/root", O_PATH | O_DIRECTORY);
  if (!root)
    return root.error().sys_errno == ENOENT ? gone() : tl::unexpected(root.error());
  // Checked after the opens: the fds then surely name the target's process,
  // not one that took over its PID. Through the host's /proc, still mounted
  // here: kill(pid, 0) would look in the PID namespace this process may
  // already be in (the target's), where the host PID means nothing.
  if (t.pid_start && start_time(proc) != t.pid_start)
    return gone();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail_errno("cannot create a socket pair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  pid_t child = ::fork();
  if (child < 0)
    return fail_errno("cannot fork");
  if (child == 0) {
    mine.reset();
    clone_tree_child(theirs.get(), ns->get(), root->get(), rel.c_str());
  }
  theirs.reset();
  std::string data;
  auto got = pty::recv_fds(mine.get(), &data, 64);
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (!got)
    return tl::unexpected(got.error());
  if (got->size() != 1) {
    int e = EIO;
    if (data.size() == sizeof e)
      std::memcpy(&e, data.data(), sizeof e);
    return fail_errno(rel.empty() ? std::string("cannot clone its root in its mount namespace")
                                  : "cannot clone its /" + rel + " in its mount namespace",
                      e);
  }
  return std::move((*got)[0]);
}

namespace {

// An image's layers under an upper dir of the debug container's own (kept
// with it, like its root's upper dir), so tools may write to /target.
Result<void> mount_image(const DebugTarget &t, const std::string &dir, int dest) {
  for (auto layer : split(t.lowerdir, ':'))
    if (::access(std::string(layer).c_str(), F_OK) != 0)
      return fail(Errc::not_found, fmt::format("the layers of image {} are gone (removed with "
                                               "rmi?)",
                                               t.image_id.substr(0, 19)));
  const std::string upper = dir + "/target/upper", work = dir + "/target/work";
  for (const auto &d : {upper, work})
    if (auto r = make_dirs(d, 0755); !r)
      return r;
  std::string opts = fmt::format("lowerdir={},upperdir={},workdir={}", t.lowerdir, upper, work);
  const std::string at = "/proc/self/fd/" + std::to_string(dest);
  if (::mount("overlay", at.c_str(), "overlay", t.read_only ? MS_RDONLY : 0, opts.c_str()) != 0)
    return fail_errno("cannot mount the overlay of its layers");
  return {};
}

} // namespace

Result<void> mount_debug_target(const ContainerConfig &c, const std::string &dir, int dest) {
  const DebugTarget &t = *c.debug_target;
  const std::string what = "cannot mount " + t.target + " at /target";
  if (t.pid <= 0) {
    if (auto r = mount_image(t, dir, dest); !r)
      return wrap(r, what);
    return {};
  }
  auto tree = clone_process_tree(t.pid, t.pid_start, "");
  if (!tree)
    return wrap(tree, what);
  if (t.read_only) {
    // On the detached copy, recursively: the target's own mounts stay writable.
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(tree->get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      return fail_errno(what + ": cannot make it read-only");
  }
  if (::move_mount(tree->get(), "", dest, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) !=
      0)
    return fail_errno(what);
  return {};
}

} // namespace ctk::rt::container::detail
