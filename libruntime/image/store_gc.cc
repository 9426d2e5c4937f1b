// Write sessions and garbage collection of the image store, and the small
// file helpers they share with unpacking.
//
// Locks, outermost first: gc.lock (sessions shared, the collector
// exclusive), locks/use-* (users shared, deleters exclusive), locks/chain-*
// (one unpacker), lock (refs.json and deletions; held briefly). A process
// never waits for an outer lock while holding an inner one.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "ctk/runtime/image_store.h"
#include "store_internal.h"

namespace ctk::rt::image {

namespace detail {

Result<void> fsync_dir(const std::string &dir) {
  auto fd = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!fd)
    return tl::unexpected(fd.error());
  if (::fsync(fd->get()) != 0)
    return fail_errno("cannot fsync " + dir);
  return {};
}

Result<UniqueFd> lock_file(const std::string &path, LockMode mode, bool wait) {
  const int op = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  for (;;) {
    auto fd = open_fd(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
    if (!fd)
      return wrap(fd, "cannot take lock " + path);
    while (::flock(fd->get(), op) != 0) {
      if (errno == EINTR)
        continue;
      if (errno == EWOULDBLOCK)
        return fail(Errc::busy, "cannot take lock " + path + ": held by another process");
      return fail_errno("cannot take lock " + path);
    }
    struct stat held {};
    struct stat now {};
    if (::fstat(fd->get(), &held) != 0)
      return fail_errno("cannot take lock " + path);
    if (::stat(path.c_str(), &now) == 0 && now.st_ino == held.st_ino && now.st_dev == held.st_dev)
      return fd;
    // Unlinked (and maybe recreated) while we waited: lock the current one.
  }
}

Result<TmpDir> make_tmp_dir(const Store &store, const std::string &prefix) {
  auto guard = store.lock(LockMode::shared);
  if (!guard)
    return tl::unexpected(guard.error());
  std::string tmpl = store.dir() + kTmp + "/" + prefix + "XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  if (!::mkdtemp(name.data()))
    return fail_errno("cannot create a temporary directory in " + store.dir() + kTmp);
  TmpDir out;
  out.path = name.data();
  auto fd = open_fd(out.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!fd) {
    ::rmdir(out.path.c_str());
    return wrap(fd, "cannot open temporary directory");
  }
  if (::flock(fd->get(), LOCK_EX) != 0) {
    ::rmdir(out.path.c_str());
    return fail_errno("cannot lock temporary directory " + out.path);
  }
  out.fd = std::move(*fd);
  return out;
}

Result<void> remove_tree(const std::string &path) {
  // std::filesystem::remove_all removes symlinks, never what they point to.
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(Errc::io, "cannot remove " + path + ": " + ec.message(), ec.value());
  return {};
}

std::vector<std::string> list_dir(const std::string &dir) {
  std::vector<std::string> out;
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return out;
  while (auto *e = ::readdir(d))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
      out.emplace_back(e->d_name);
  ::closedir(d);
  return out;
}

void clean_tmp(const std::string &tmp_dir) {
  DIR *d = ::opendir(tmp_dir.c_str());
  if (!d)
    return;
  std::vector<std::string> dead;
  while (auto *e = ::readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    std::string p = tmp_dir + "/" + e->d_name;
    // Blobs and unpack directories alike: a live writer holds a flock on
    // it, so LOCK_NB failing means "in use, leave it".
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
      continue;
    UniqueFd owner(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
      dead.push_back(p);
  }
  ::closedir(d);
  for (const auto &p : dead)
    (void)remove_tree(p);
}

Result<std::vector<Digest>> diff_ids_of(const nlohmann::json &config, std::string_view what) {
  auto rootfs = config.find("rootfs");
  if (!config.is_object() || rootfs == config.end() || !rootfs->is_object() ||
      !rootfs->contains("diff_ids") || !(*rootfs)["diff_ids"].is_array())
    return fail(Errc::parse, std::string(what) + " has no rootfs.diff_ids");
  std::vector<Digest> out;
  for (const auto &v : (*rootfs)["diff_ids"]) {
    if (!v.is_string())
      return fail(Errc::parse, std::string(what) + ": a diff ID is not a string");
    auto d = Digest::parse(v.get<std::string>());
    if (!d)
      return wrap(d, std::string(what) + ": bad diff ID");
    out.push_back(*d);
  }
  return out;
}

void add_needs(const Store &store, const Digest &manifest, Needed &out) {
  out.blobs.insert(manifest.str());
  auto m = store.read_manifest(manifest);
  if (!m)
    return;
  out.blobs.insert(m->config.digest.str());
  for (const auto &l : m->layers)
    out.blobs.insert(l.digest.str());
  auto cfg = store.read_json(m->config.digest);
  if (!cfg)
    return;
  auto ids = diff_ids_of(*cfg, "config");
  if (!ids)
    return;
  for (const auto &c : chain_ids(*ids))
    out.chains.insert(std::string(c.hex()));
}

Result<void> remove_chain(const Store &store, const std::string &hex) {
  const std::string path = store.dir() + kLayers + "/" + hex;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // A unique name in tmp/: clean_tmp() finishes the job if we die.
    std::string tmpl = store.dir() + kTmp + "/rm-" + hex.substr(0, 12) + "-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    if (!::mkdtemp(name.data()))
      return fail_errno("cannot remove unpacked layer " + hex);
    const std::string dest = std::string(name.data()) + "/layer";
    if (::rename(path.c_str(), dest.c_str()) != 0) {
      int saved = errno;
      ::rmdir(name.data());
      if (saved != ENOENT)
        return fail_errno("cannot remove unpacked layer " + hex, saved);
    }
    if (auto r = remove_tree(name.data()); !r)
      return wrap(r, "cannot remove unpacked layer " + hex);
  }
  // Nobody unpacks a chain that no image needs, so its lock file is idle.
  if (::unlink((store.dir() + kLocks + "/chain-" + hex).c_str()) != 0 && errno != ENOENT)
    return fail_errno("cannot remove the lock of unpacked layer " + hex);
  return {};
}

} // namespace detail

using namespace detail;

Result<FileLock> Store::begin_write() {
  auto l = FileLock::acquire(dir_ + kGcLock, LockMode::shared, true);
  if (!l)
    return wrap(l, "cannot open a write session on the image store");
  // The mark goes first: whatever this session leaves behind, even killed,
  // the next open collects. Plain create: its presence is all that counts.
  auto mark = open_fd(dir_ + kGcNeeded, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600);
  if (!mark)
    return wrap(mark, "cannot open a write session on the image store");
  return l;
}

Result<Store::GcStats> Store::collect_garbage(bool wait) {
  auto gc = FileLock::acquire(dir_ + kGcLock, LockMode::exclusive, wait);
  if (!gc)
    return wrap(gc, "cannot collect garbage in the image store (a load is running)");
  auto lk = lock(LockMode::exclusive, wait);
  if (!lk)
    return tl::unexpected(lk.error());
  // No session runs (gc.lock), nothing commits or deletes (lock): what
  // refs.json does not need now is garbage.
  auto refs = read_refs();
  if (!refs)
    return wrap(refs, "cannot collect garbage in the image store");
  Needed need;
  std::set<std::string> manifests;
  for (const auto &[k, v] : (*refs)["images"].items())
    if (auto d = Digest::parse(k)) {
      add_needs(*this, *d, need);
      manifests.insert(std::string(d->hex()));
    }

  GcStats out;
  const std::string blobs = dir_ + "/blobs/sha256";
  for (const auto &name : list_dir(blobs)) {
    if (need.blobs.count("sha256:" + name))
      continue;
    if (::unlink((blobs + "/" + name).c_str()) != 0 && errno != ENOENT)
      return fail_errno("cannot delete unreferenced blob sha256:" + name);
    out.blobs++;
  }
  for (const auto &name : list_dir(dir_ + kLayers)) {
    if (need.chains.count(name))
      continue;
    if (auto r = remove_chain(*this, name); !r)
      return tl::unexpected(r.error());
    out.layers++;
  }
  const std::string locks = dir_ + kLocks;
  for (const auto &name : list_dir(locks)) {
    const std::string path = locks + "/" + name;
    if (name.starts_with("chain-") && !need.chains.count(name.substr(6))) {
      ::unlink(path.c_str());
    } else if (name.starts_with("use-") && !manifests.count(name.substr(4))) {
      // A use lock of a deleted image: unlinked while held exclusively, so a
      // late user retries on a new file and finds the image gone.
      if (auto held = lock_file(path, LockMode::exclusive, false))
        ::unlink(path.c_str());
    }
  }
  if (auto r = fsync_dir(blobs); !r)
    return tl::unexpected(r.error());
  if (::unlink((dir_ + kGcNeeded).c_str()) != 0 && errno != ENOENT)
    return fail_errno("cannot clear " + dir_ + kGcNeeded);
  return out;
}

} // namespace ctk::rt::image
