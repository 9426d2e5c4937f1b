// Store::unpack as root: busybox-based multi-layer images built in the test,
// unpacked once per chain ID in overlayfs form and mounted; reuse, two
// processes at once, a diff ID that lies, a killed and a cancelled unpack,
// rmi and holds (Store::use), and garbage collection of leftovers.
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/privileged.h"
#include "ctk/runtime/image_store.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using namespace ctk::test;
namespace fs = std::filesystem;

const char *kBusybox = "/bin/busybox";

bool static_busybox() {
  struct stat st {};
  if (::stat(kBusybox, &st) != 0)
    return false;
  // A static busybox is the only one that runs inside an image without a libc.
  return ::system("ldd /bin/busybox >/dev/null 2>&1") != 0;
}

std::string file_text(const std::string &path) {
  auto t = read_file(path);
  return t ? *t : std::string();
}

struct stat lst(const std::string &p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::string xattr(const std::string &p, const char *name) {
  char buf[64];
  ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(&out[i], &v, 8);
  }
  return out;
}

struct Layer {
  std::vector<TarItem> items;
  TarCompression compression = TarCompression::none;
};

// The base: busybox with its shell, passwd, a sticky /tmp, a private /root,
// a user's file, and what the next layer deletes.
Layer busybox_base() {
  Layer l;
  l.compression = TarCompression::gzip;
  auto bb = read_file(kBusybox);
  l.items = {tar_dir("bin"),
             tar_file("bin/busybox", bb ? *bb : "", 0755),
             tar_symlink("bin/sh", "busybox"),
             tar_symlink("bin/cat", "busybox"),
             tar_dir("etc"),
             tar_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
             tar_file("etc/secret", "password\n", 0600),
             tar_dir("tmp", 01777),
             tar_dir("root", 0700),
             tar_dir("var"),
             tar_dir("var/cache"),
             tar_file("var/cache/old1", "o1"),
             tar_file("var/cache/old2", "o2")};
  TarItem home = tar_dir("home/user", 0750);
  home.uid = 1000;
  home.gid = 1000;
  TarItem f = tar_file("home/user/notes", "n", 0640);
  f.uid = 1000;
  f.gid = 100;
  l.items.insert(l.items.begin() + 4, tar_dir("home"));
  l.items.push_back(home);
  l.items.push_back(f);
  return l;
}

// Deletes a file and makes var/cache opaque (zstd, to cover it too).
Layer deleting_layer() {
  Layer l;
  l.compression = TarCompression::zstd;
  l.items = {tar_file("etc/.wh.secret", ""), tar_file("var/cache/.wh..wh..opq", ""),
             tar_file("var/cache/new", "fresh"), tar_file("usr/bin/tool", "#!/bin/sh\n", 04755)};
  l.items.insert(l.items.begin() + 3, tar_dir("usr"));
  l.items.insert(l.items.begin() + 4, tar_dir("usr/bin"));
  return l;
}

Layer one_file_layer(const std::string &path, const std::string &data) {
  Layer l;
  l.items = {tar_file(path, data)};
  return l;
}

class UnpackTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctk-unpack-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void reopen() {
    auto s = Store::open(dir_ + "/root");
    ASSERT_TRUE(s) << s.error().message();
    store_.emplace(std::move(*s));
  }
  Store &store() { return *store_; }
  std::string image_dir() const { return dir_ + "/root/image"; }
  size_t count(const std::string &sub) const {
    size_t n = 0;
    for ([[maybe_unused]] auto &e : fs::directory_iterator(image_dir() + "/" + sub))
      n++;
    return n;
  }

  // Commits an image of these layers under `name`. `lie` replaces the diff
  // ID of that layer index in the config.
  Image add_image(const std::vector<Layer> &layers, const std::string &name, int lie = -1) {
    auto session = store().begin_write();
    EXPECT_TRUE(session) << session.error().message();
    nlohmann::json ids = nlohmann::json::array(), descs = nlohmann::json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
      std::string plain = make_tar(layers[i].items);
      std::string blob = make_tar(layers[i].items, layers[i].compression);
      auto d = store().put_blob(blob);
      EXPECT_TRUE(d) << d.error().message();
      ids.push_back(static_cast<int>(i) == lie ? sha256_of("not this layer").str()
                                               : sha256_of(plain).str());
      descs.push_back({{"mediaType", layer_media_type(blob.substr(0, 16))},
                       {"digest", d->str()},
                       {"size", blob.size()}});
    }
    std::string cfg = nlohmann::json{{"architecture", "amd64"},
                                     {"os", "linux"},
                                     {"config", {{"Cmd", {"sh"}}}},
                                     {"rootfs", {{"type", "layers"}, {"diff_ids", ids}}}}
                          .dump();
    auto c = store().put_blob(cfg);
    EXPECT_TRUE(c);
    std::string man = nlohmann::json{
        {"schemaVersion", 2},
        {"mediaType", kOciManifest},
        {"config", {{"mediaType", kOciConfig}, {"digest", c->str()}, {"size", cfg.size()}}},
        {"layers", descs}}.dump();
    auto m = store().put_blob(man);
    EXPECT_TRUE(m);
    auto n = normalize_name(name);
    EXPECT_TRUE(n);
    auto r = store().commit_image(*m, {*n});
    EXPECT_TRUE(r) << r.error().message();
    auto img = store().resolve(name);
    EXPECT_TRUE(img) << img.error().message();
    return img ? *img : Image{};
  }

  std::string dir_;
  std::optional<Store> store_;
};

Digest diff_id_of(const Layer &l) {
  return sha256_of(make_tar(l.items));
}

TEST_F(UnpackTest, OverlayFormOwnersModesAndMergedView) {
  CTK_REQUIRE_ROOT();
  CTK_REQUIRE(static_busybox(), "no static /bin/busybox (Debian's busybox-static)");
  Layer base = busybox_base(), del = deleting_layer();
  Image img = add_image({base, del}, "bb:1");
  auto u = store().unpack(img);
  ASSERT_TRUE(u) << u.error().message();
  ASSERT_EQ(u->layers.size(), 2u);
  EXPECT_EQ(u->unpacked, 2u);
  EXPECT_EQ(u->reused, 0u);
  // Chain IDs as the OCI image spec defines them, computed here on their own.
  Digest c0 = diff_id_of(base);
  Digest c1 = sha256_of(c0.str() + " " + diff_id_of(del).str());
  ASSERT_EQ(u->chains, (std::vector<Digest>{c0, c1}));
  const std::string l0 = image_dir() + "/layers/" + std::string(c0.hex()) + "/diff";
  const std::string l1 = image_dir() + "/layers/" + std::string(c1.hex()) + "/diff";
  EXPECT_EQ(u->layers, (std::vector<std::string>{l0, l1}));
  EXPECT_EQ(u->lowerdir(), l1 + ":" + l0);

  // The base, byte for byte, with modes and owners.
  EXPECT_EQ(file_text(l0 + "/bin/busybox"), file_text(kBusybox));
  EXPECT_EQ(lst(l0 + "/bin/busybox").st_mode & 07777, 0755u);
  EXPECT_EQ(fs::read_symlink(l0 + "/bin/sh").string(), "busybox");
  EXPECT_EQ(lst(l0 + "/tmp").st_mode & 07777, 01777u);
  EXPECT_EQ(lst(l0 + "/root").st_mode & 07777, 0700u);
  struct stat h = lst(l0 + "/home/user");
  EXPECT_EQ(h.st_uid, 1000u);
  EXPECT_EQ(h.st_mode & 07777, 0750u);
  struct stat n = lst(l0 + "/home/user/notes");
  EXPECT_EQ(n.st_uid, 1000u);
  EXPECT_EQ(n.st_gid, 100u);
  EXPECT_EQ(n.st_mode & 07777, 0640u);
  EXPECT_EQ(lst(l0).st_mode & 07777, 0755u);
  // The upper layer in overlayfs form.
  struct stat w = lst(l1 + "/etc/secret");
  EXPECT_TRUE(S_ISCHR(w.st_mode));
  EXPECT_EQ(w.st_rdev, makedev(0, 0));
  EXPECT_EQ(xattr(l1 + "/var/cache", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(lst(l1 + "/usr/bin/tool").st_mode & 07777, 04755u);
  EXPECT_FALSE(fs::exists(l1 + "/etc/passwd"));
  // Metadata beside the diff.
  auto meta = nlohmann::json::parse(
      file_text(image_dir() + "/layers/" + std::string(c1.hex()) + "/layer.json"));
  EXPECT_EQ(meta["chain_id"], c1.str());
  EXPECT_EQ(meta["diff_id"], diff_id_of(del).str());
  EXPECT_EQ(meta["parent"], c0.str());
  EXPECT_EQ(count("tmp"), 0u);

  // The merged view, mounted as `run` will, in a private mount namespace;
  // busybox itself checks it from inside (chroot).
  const std::string merged = dir_ + "/merged";
  fs::create_directory(merged);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) < 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
      _exit(10);
    std::string opts = "lowerdir=" + u->lowerdir();
    if (mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()) < 0)
      _exit(11);
    int code = 0;
    if (fs::exists(merged + "/etc/secret"))
      code |= 1;
    if (fs::exists(merged + "/var/cache/old1") || fs::exists(merged + "/var/cache/old2"))
      code |= 2;
    if (file_text(merged + "/var/cache/new") != "fresh" || !fs::exists(merged + "/etc/passwd"))
      code |= 4;
    if (code)
      _exit(code);
    pid_t sh = fork();
    if (sh == 0) {
      if (chroot(merged.c_str()) < 0 || chdir("/") < 0)
        _exit(12);
      execl("/bin/sh", "sh", "-c",
            "[ ! -e /etc/secret ] && [ -e /etc/passwd ] && [ ! -e /var/cache/old1 ] && "
            "[ \"$(cat /var/cache/new)\" = fresh ] && [ -u /usr/bin/tool ]",
            nullptr);
      _exit(13);
    }
    int st = 0;
    waitpid(sh, &st, 0);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 20 + (WIFEXITED(st) ? WEXITSTATUS(st) : 9));
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10/11: cannot mount; 1: whited-out file visible; 2: opaque dir shows lower; "
         "4: upper or lower file missing; 12/13: cannot chroot or exec busybox; 2x: busybox "
         "saw a wrong merged view";
}

TEST_F(UnpackTest, SecondUnpackAndSharedBaseDoNoWork) {
  CTK_REQUIRE_ROOT();
  CTK_REQUIRE(static_busybox(), "no static /bin/busybox (Debian's busybox-static)");
  Layer base = busybox_base();
  Image a = add_image({base, deleting_layer()}, "a:1");
  Image b = add_image({base, one_file_layer("b", "b")}, "b:1");
  auto first = store().unpack(a);
  ASSERT_TRUE(first) << first.error().message();
  struct stat bb0 = lst(first->layers[0] + "/bin/busybox");
  struct stat d1 = lst(first->layers[1]);
  auto again = store().unpack(a);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->unpacked, 0u);
  EXPECT_EQ(again->reused, 2u);
  EXPECT_EQ(again->layers, first->layers);
  struct stat bb1 = lst(again->layers[0] + "/bin/busybox");
  EXPECT_EQ(bb1.st_ino, bb0.st_ino);
  EXPECT_EQ(bb1.st_ctim.tv_nsec, bb0.st_ctim.tv_nsec);
  EXPECT_EQ(lst(again->layers[1]).st_ino, d1.st_ino);
  // Another image on the same base: only its own layer.
  auto ub = store().unpack(b);
  ASSERT_TRUE(ub) << ub.error().message();
  EXPECT_EQ(ub->unpacked, 1u);
  EXPECT_EQ(ub->reused, 1u);
  EXPECT_EQ(ub->layers[0], first->layers[0]);
  EXPECT_EQ(lst(ub->layers[0] + "/bin/busybox").st_ino, bb0.st_ino);
  EXPECT_EQ(count("layers"), 3u);
}

// Runs `fn` in a child; returns its wait status.
template <class Fn> int in_child(Fn fn) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST_F(UnpackTest, TwoProcessesAtOnceUnpackOnceAndBothSucceed) {
  CTK_REQUIRE_ROOT();
  // Big enough that the two overlap: 48 MiB that do not compress.
  Layer big = one_file_layer("big", random_bytes(48u << 20, 1));
  Image img = add_image({big, one_file_layer("top", "t")}, "two:1");
  int go[2], res[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(res), 0);
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char c;
      if (read(go[0], &c, 1) != 0) // released together when the parent closes
        _exit(3);
      auto s = Store::open(dir_ + "/root");
      if (!s)
        _exit(4);
      auto u = s->unpack(img);
      if (!u)
        _exit(5);
      char n = static_cast<char>('0' + u->unpacked);
      if (write(res[1], &n, 1) != 1)
        _exit(6);
      _exit(0);
    }
    kids.push_back(pid);
  }
  close(go[0]);
  close(res[1]);
  close(go[1]);
  for (pid_t p : kids) {
    int st = 0;
    ASSERT_EQ(waitpid(p, &st, 0), p);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
  }
  char buf[2] = {};
  ASSERT_EQ(read(res[0], buf, 2), 2);
  close(res[0]);
  // The work was done once between them, whoever did which layer.
  EXPECT_EQ((buf[0] - '0') + (buf[1] - '0'), 2);
  EXPECT_EQ(count("layers"), 2u);
  EXPECT_EQ(count("tmp"), 0u);
  auto u = store().unpack(img);
  ASSERT_TRUE(u);
  EXPECT_EQ(file_text(u->layers[0] + "/big").size(), 48u << 20);
}

TEST_F(UnpackTest, DiffIdMismatchIsRefusedAndLeavesNothing) {
  CTK_REQUIRE_ROOT();
  Layer good = one_file_layer("good", "g"), bad = one_file_layer("bad", "b");
  Image img = add_image({good, bad}, "liar:1", 1);
  auto u = store().unpack(img);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Errc::parse);
  const std::string msg = u.error().message();
  EXPECT_NE(msg.find("cannot unpack image " + img.config.short_id() + ": layer 1"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("not diff ID " + sha256_of("not this layer").str()), std::string::npos) << msg;
  // The honest base is a valid chain and stays; the lie left nothing.
  EXPECT_EQ(count("layers"), 1u);
  EXPECT_TRUE(fs::exists(image_dir() + "/layers/" + std::string(diff_id_of(good).hex())));
  EXPECT_EQ(count("tmp"), 0u);
  Image lone = add_image({bad}, "liar:2", 0);
  ASSERT_FALSE(store().unpack(lone));
  EXPECT_EQ(count("layers"), 1u);
  EXPECT_EQ(count("tmp"), 0u);
}

TEST_F(UnpackTest, KilledUnpackIsInvisibleAndCleanedByNextOpen) {
  CTK_REQUIRE_ROOT();
  Layer big = one_file_layer("big", random_bytes(32u << 20, 2));
  Image img = add_image({big}, "killed:1");
  int st = in_child([&] {
    UnpackOptions opt;
    opt.progress = [](std::string_view, uint64_t done, uint64_t) {
      if (done > (1u << 20))
        ::kill(::getpid(), SIGKILL);
    };
    (void)store().unpack(img, opt);
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << "status " << st;
  EXPECT_EQ(count("layers"), 0u);
  ASSERT_EQ(count("tmp"), 1u); // the half-unpacked directory, not visible as a layer
  reopen();
  EXPECT_EQ(count("tmp"), 0u);
  auto u = store().unpack(img);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->unpacked, 1u);
  EXPECT_EQ(file_text(u->layers[0] + "/big").size(), 32u << 20);
}

TEST_F(UnpackTest, CancelledUnpackLeavesNothing) {
  CTK_REQUIRE_ROOT();
  Image img = add_image({one_file_layer("big", random_bytes(16u << 20, 3))}, "cancel:1");
  bool seen = false;
  UnpackOptions opt;
  opt.progress = [&](std::string_view label, uint64_t done, uint64_t total) {
    EXPECT_EQ(label, "Unpacking");
    EXPECT_LE(done, total);
    seen = true;
  };
  opt.cancelled = [&] { return seen; };
  auto u = store().unpack(img, opt);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Errc::interrupted);
  EXPECT_EQ(count("layers"), 0u);
  EXPECT_EQ(count("tmp"), 0u);
}

TEST_F(UnpackTest, RmiRemovesUnusedChainsAndKeepsShared) {
  CTK_REQUIRE_ROOT();
  Layer base = one_file_layer("base", "b"), la = one_file_layer("a", "a"),
        lb = one_file_layer("b", "b");
  Image a = add_image({base, la}, "a:1");
  Image b = add_image({base, lb}, "b:1");
  auto ua = store().unpack(a);
  auto ub = store().unpack(b);
  ASSERT_TRUE(ua && ub);
  ASSERT_EQ(count("layers"), 3u);
  auto r = store().remove("a:1", false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->deleted);
  EXPECT_FALSE(fs::exists(ua->layers[1]));
  EXPECT_TRUE(fs::exists(ua->layers[0] + "/base")); // b's base too
  EXPECT_TRUE(fs::exists(ub->layers[1] + "/b"));
  EXPECT_FALSE(fs::exists(image_dir() + "/locks/chain-" + std::string(ua->chains[1].hex())));
  ASSERT_TRUE(store().remove("b:1", false));
  EXPECT_EQ(count("layers"), 0u);
  EXPECT_EQ(count("blobs/sha256"), 0u);
  EXPECT_EQ(count("tmp"), 0u);
  EXPECT_EQ(count("locks"), 0u);
}

TEST_F(UnpackTest, AHeldImageIsNotDeleted) {
  CTK_REQUIRE_ROOT();
  Image img = add_image({one_file_layer("f", "f")}, "held:1");
  auto u = store().unpack(img);
  ASSERT_TRUE(u);
  {
    auto use = store().use(img);
    ASSERT_TRUE(use) << use.error().message();
    auto r = store().remove("held:1", false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::busy);
    EXPECT_NE(r.error().message().find("a running container uses it"), std::string::npos)
        << r.error().message();
    // -f takes the name; the image and its layer stay for the holder.
    auto f = store().remove("held:1", true);
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_FALSE(f->deleted);
    EXPECT_EQ(f->untagged, (std::vector<std::string>{"docker.io/library/held:1"}));
    auto all = store().images();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_TRUE(all->front().names.empty());
    EXPECT_TRUE(fs::exists(u->layers[0] + "/f"));
    // Held from another process too (flock: per open file, shared by fork).
    int st = in_child([&] {
      auto r = store().remove(img.config.str(), true);
      return r && !r->deleted ? 0 : 1;
    });
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    auto again = store().unpack(img);
    ASSERT_TRUE(again) << again.error().message();
  }
  auto r = store().remove(img.config.str(), false);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->deleted);
  EXPECT_EQ(count("layers"), 0u);
  auto gone = store().use(img);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
}

// Garbage collection needs no root.
TEST_F(UnpackTest, GarbageOfAKilledLoadIsCollectedButNotDuringALoad) {
  Image keep = add_image({one_file_layer("k", "k")}, "keep:1");
  const size_t kept = count("blobs/sha256");
  {
    auto session = store().begin_write();
    ASSERT_TRUE(session);
    ASSERT_TRUE(store().put_blob("orphan of a load that never committed"));
    fs::create_directories(image_dir() + "/layers/" + std::string(64, 'a') + "/diff");
    // A load runs: nothing is collected, not even by an explicit call.
    reopen();
    EXPECT_EQ(count("blobs/sha256"), kept + 1);
    auto busy = store().collect_garbage(false);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, Errc::busy);
  }
  ASSERT_TRUE(fs::exists(image_dir() + "/gc-needed"));
  reopen(); // the next command
  EXPECT_EQ(count("blobs/sha256"), kept);
  EXPECT_EQ(count("layers"), 0u);
  EXPECT_FALSE(fs::exists(image_dir() + "/gc-needed"));
  auto img = store().resolve("keep:1");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->manifest, keep.manifest);
  auto man = store().read_manifest(keep.manifest);
  ASSERT_TRUE(man);
  EXPECT_TRUE(store().has_blob(man->layers[0].digest));
  auto none = store().collect_garbage(true);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->blobs, 0u);
}

TEST(ImageChainIds, FollowTheOciImageSpec) {
  Digest a = sha256_of("a"), b = sha256_of("b"), c = sha256_of("c");
  auto ids = chain_ids({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], sha256_of(a.str() + " " + b.str()));
  EXPECT_EQ(ids[2], sha256_of(ids[1].str() + " " + c.str()));
  EXPECT_TRUE(chain_ids({}).empty());
  UnpackedImage u;
  u.layers = {"/s/base", "/s:x/top,1"};
  EXPECT_EQ(u.lowerdir(), "/s\\:x/top\\,1:/s/base");
}

} // namespace
