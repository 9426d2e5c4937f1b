// tar-split replay and the stores built on it (docker-daemon:,
// containers-storage:), on small stores the tests write: the tar a layer
// gives back must be byte for byte the tar the store unpacked, so its sha256
// is the diff ID; a damaged or hostile layer directory is an error naming the
// layer and the path, never a read outside the directory.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../libruntime/image/tar_split.h"
#include "ctk/runtime/image_source.h"
#include "ctk/runtime/image_store.h"
#include "unit/image_tar_builder.h"

namespace {

using namespace ctk::rt;
using namespace ctk::rt::image;
using ctk::test::TarItem;
namespace fs = std::filesystem;

std::string b64(std::string_view in) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(k[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size())
      v |= uint8_t(in[i + 1]) << 8;
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], i + 1 < in.size() ? k[(v >> 6) & 63] : '=', '='};
  }
  return out;
}

// What tar-split's disassembler records for a tar: header and padding bytes
// as segments (type 2), each regular file's data as a file entry (type 1)
// naming it. Plain ustar headers only (the names here are short).
std::string tar_split_of(const std::string &tar) {
  std::string out, pending;
  int pos = 0;
  auto segment = [&] {
    if (pending.empty())
      return;
    out +=
        nlohmann::json{{"type", 2}, {"payload", b64(pending)}, {"position", pos++}}.dump() + "\n";
    pending.clear();
  };
  size_t off = 0;
  while (off + 512 <= tar.size()) {
    std::string_view h(tar.data() + off, 512);
    pending.append(h);
    off += 512;
    if (h.find_first_not_of('\0') == std::string_view::npos)
      continue; // end-of-archive blocks
    uint64_t size = std::stoull(std::string(h.substr(124, 12)), nullptr, 8);
    char type = h[156];
    std::string name(h.substr(0, 100).data(), strnlen(h.data(), 100));
    std::string prefix(h.substr(345, 155).data(), strnlen(h.data() + 345, 155));
    if (!prefix.empty())
      name = prefix + "/" + name;
    if (type == '0' || type == '\0') {
      segment();
      nlohmann::json e{{"type", 1}, {"name", name}, {"payload", nullptr}, {"position", pos++}};
      if (size > 0)
        e["size"] = size;
      out += e.dump() + "\n";
      off += size;
      size_t pad = (512 - size % 512) % 512;
      pending.append(tar, off, pad);
      off += pad;
    } else {
      // pax headers, links, directories: their data is metadata, kept raw.
      size_t n = (size + 511) / 512 * 512;
      pending.append(tar, off, n);
      off += n;
    }
  }
  pending.append(tar, off, std::string::npos);
  segment();
  return out;
}

std::string gzip(const std::string &data) {
  std::string out;
  archive *a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  auto writer = [](archive *, void *ctx, const void *buf, size_t n) -> la_ssize_t {
    static_cast<std::string *>(ctx)->append(static_cast<const char *>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  EXPECT_EQ(archive_write_open(a, &out, nullptr, writer, nullptr), ARCHIVE_OK);
  archive_entry *e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "data");
  EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

void write(const std::string &path, const std::string &data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

// The files of a layer as the runtime unpacks them (regular files only: the
// others carry no data in the record).
void unpack(const std::string &dir, const std::vector<TarItem> &items) {
  fs::create_directories(dir);
  for (const auto &it : items)
    if (it.type == 'f' && it.path.rfind(".wh.") == std::string::npos)
      write(dir + "/" + it.path, it.data);
    else if (it.type == 'd')
      fs::create_directories(dir + "/" + it.path);
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class TarSplitTree : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctk-tarsplit-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

std::vector<TarItem> sample_layer() {
  using namespace ctk::test;
  TarItem hl = tar_hardlink("app/again", "app/data");
  return {tar_dir("app"),
          tar_file("app/data", std::string(1000, 'x') + "tail"),
          tar_file("app/empty", ""),
          tar_symlink("app/link", "data"),
          hl,
          tar_file("app/exact", std::string(512, 'e'))};
}

struct Layer {
  std::string tar, root;
  std::vector<detail::TarSplitEntry> entries;
};

Layer make_layer(const std::string &root, const std::vector<TarItem> &items) {
  Layer l;
  l.tar = ctk::test::make_tar(items);
  l.root = root;
  unpack(root, items);
  auto e = detail::parse_tar_split(tar_split_of(l.tar), "layer test");
  EXPECT_TRUE(e) << e.error().message();
  if (e)
    l.entries = *e;
  return l;
}

Result<std::string> replay(const Layer &l) {
  auto root = open_fd(l.root, O_PATH | O_DIRECTORY);
  if (!root)
    return tl::unexpected(root.error());
  ctk::rt::UniqueFd out(memfd_create("out", MFD_CLOEXEC));
  auto r = detail::replay_tar_split(l.entries, root->get(), out.get(), "layer test");
  if (!r)
    return tl::unexpected(r.error());
  ::lseek(out.get(), 0, SEEK_SET);
  return read_all(out.get());
}

TEST_F(TarSplitTree, ReplayGivesBackTheExactTar) {
  auto l = make_layer(dir_ + "/diff", sample_layer());
  // The data of the two non-empty files (app/data, app/exact) must come from the directory.
  EXPECT_EQ(std::count_if(l.entries.begin(), l.entries.end(),
                          [](const auto &e) { return e.file && e.size > 0; }),
            2);
  auto got = replay(l);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->size(), l.tar.size());
  EXPECT_EQ(*got, l.tar);
  EXPECT_EQ(sha256_of(*got).str(), sha256_of(l.tar).str());
  EXPECT_EQ(detail::tar_split_size(l.entries), l.tar.size());
}

TEST_F(TarSplitTree, GzippedRecordAndStream) {
  auto l = make_layer(dir_ + "/diff", sample_layer());
  auto rec = ctk::test::memfd_of(gzip(tar_split_of(l.tar)));
  auto entries = detail::read_tar_split(rec.get(), "layer test");
  ASSERT_TRUE(entries) << entries.error().message();
  auto root = open_fd(l.root, O_PATH | O_DIRECTORY);
  ASSERT_TRUE(root);
  auto s = detail::stream_tar_split(std::move(*entries), std::move(*root), "layer test");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(read_all(s->get()), l.tar);
}

TEST_F(TarSplitTree, ReaderClosingEarlyStopsTheWorker) {
  auto items = sample_layer();
  items.push_back(ctk::test::tar_file("app/big", std::string(8 << 20, 'b')));
  auto l = make_layer(dir_ + "/diff", items);
  auto root = open_fd(l.root, O_PATH | O_DIRECTORY);
  ASSERT_TRUE(root);
  auto s = detail::stream_tar_split(l.entries, std::move(*root), "layer test");
  ASSERT_TRUE(s);
  char buf[100];
  ASSERT_EQ(::read(s->get(), buf, sizeof buf), 100);
  s->reset(); // the worker gets EPIPE (not SIGPIPE, which would end this test)
  ::usleep(200 * 1000);
  SUCCEED();
}

TEST_F(TarSplitTree, MissingFileNamesLayerAndPath) {
  auto l = make_layer(dir_ + "/diff", sample_layer());
  fs::remove(dir_ + "/diff/app/data");
  auto got = replay(l);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::not_found);
  EXPECT_NE(got.error().message().find("layer test"), std::string::npos) << got.error().message();
  EXPECT_NE(got.error().message().find("app/data"), std::string::npos) << got.error().message();
  auto root = open_fd(l.root, O_PATH | O_DIRECTORY);
  EXPECT_FALSE(detail::check_tar_split(l.entries, root->get(), "layer test"));
}

TEST_F(TarSplitTree, SizeMismatchNamesLayerAndPath) {
  auto l = make_layer(dir_ + "/diff", sample_layer());
  write(dir_ + "/diff/app/exact", std::string(513, 'e'));
  auto got = replay(l);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().message(),
            "layer test: \"app/exact\" has 513 bytes in the layer directory, the record says 512");
  // A stream is refused up front, not cut short.
  auto root = open_fd(l.root, O_PATH | O_DIRECTORY);
  auto s = detail::stream_tar_split(l.entries, std::move(*root), "layer test");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("app/exact"), std::string::npos);
}

// A hostile image plants symlinks in the layer directory (an earlier layer's
// "app" -> "/", a file replaced by a link to a host secret). Lookups stay in
// the directory: the secret's bytes never reach the stream.
TEST_F(TarSplitTree, SymlinkInDirectoryCannotEscape) {
  const std::string secret = "host secret!";
  write(dir_ + "/outside/app/data", secret);
  std::vector<TarItem> items = {ctk::test::tar_file("app/data", std::string(secret.size(), 's'))};
  auto l = make_layer(dir_ + "/diff", items);
  // Parent directory swapped for a link out of the root ("../outside/app").
  fs::remove_all(dir_ + "/diff/app");
  fs::create_directory_symlink("../outside/app", dir_ + "/diff/app");
  auto got = replay(l);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message().find("app/data"), std::string::npos) << got.error().message();
  // An absolute link is resolved inside the root too.
  fs::remove(dir_ + "/diff/app");
  fs::create_directory_symlink(dir_ + "/outside/app", dir_ + "/diff/app");
  got = replay(l);
  ASSERT_FALSE(got);
  // The file itself a link: refused, not followed.
  fs::remove(dir_ + "/diff/app");
  fs::create_directories(dir_ + "/diff/app");
  fs::create_symlink(dir_ + "/outside/app/data", dir_ + "/diff/app/data");
  got = replay(l);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message().find("symbolic link"), std::string::npos)
      << got.error().message();
}

TEST(TarSplitParse, MalformedRecords) {
  struct Case {
    std::string text, why;
  };
  for (const auto &c : std::vector<Case>{
           {"{\"type\":2,\"payload\":\"AAAA\"}\nnot json\n", "line 2"},
           {"{\"type\":3}\n", "unknown entry type 3"},
           {"{\"payload\":\"AAAA\"}\n", "no type"},
           {"{\"type\":2,\"payload\":\"!!!!\"}\n", "not base64"},
           {"{\"type\":1,\"size\":3}\n", "without a name"},
           {"{\"type\":1,\"name\":\"a\",\"size\":-1}\n", "non-negative"},
           {"[1,2]\n", "no type"},
       }) {
    auto r = detail::parse_tar_split(c.text, "layer x");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, Errc::parse);
    EXPECT_NE(r.error().message().find(c.why), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("layer x"), std::string::npos);
  }
  // name_raw (names that are not UTF-8) wins over name.
  auto r =
      detail::parse_tar_split("{\"type\":1,\"name\":\"x\",\"name_raw\":\"/w==\",\"size\":1}", "l");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].bytes, "\xff");
  // A record that is not gzip'ed JSON at all.
  auto junk = ctk::test::memfd_of(gzip("\x01\x02garbage"));
  EXPECT_FALSE(detail::read_tar_split(junk.get(), "l"));
}

// ---- the stores --------------------------------------------------------------

std::string read_layer(const SourceLayer &l) {
  auto fd = l.open();
  EXPECT_TRUE(fd) << fd.error().message();
  return fd ? read_all(fd->get()) : std::string();
}

struct TwoLayers {
  std::vector<TarItem> base, top;
  std::string base_tar, top_tar, diff0, diff1, config, config_id;
};

TwoLayers two_layers() {
  using namespace ctk::test;
  TwoLayers t;
  t.base = {tar_dir("etc"), tar_file("etc/key.pem", "secret\n"), tar_file("etc/os", "base\n")};
  t.top = {tar_dir("etc"), tar_file("etc/.wh.key.pem", ""), tar_file("etc/os", "top!!\n")};
  t.base_tar = make_tar(t.base);
  t.top_tar = make_tar(t.top);
  t.diff0 = sha256_of(t.base_tar).str();
  t.diff1 = sha256_of(t.top_tar).str();
  t.config = nlohmann::json{{"architecture", "amd64"},
                            {"os", "linux"},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", {t.diff0, t.diff1}}}},
                            {"history", {{{"created_by", "base"}}, {{"created_by", "top"}}}}}
                 .dump();
  t.config_id = std::string(sha256_of(t.config).hex());
  return t;
}

TEST_F(TarSplitTree, DockerStoreLayersHashToTheirDiffIds) {
  auto t = two_layers();
  const std::string root = dir_ + "/docker", meta = root + "/image/overlay2";
  write(meta + "/repositories.json",
        nlohmann::json{{"Repositories", {{"me/app", {{"me/app:v1", "sha256:" + t.config_id}}}}}}
            .dump());
  write(meta + "/imagedb/content/sha256/" + t.config_id, t.config);
  std::string chain0 = t.diff0, chain1 = sha256_of(t.diff0 + " " + t.diff1).str();
  int n = 0;
  for (auto [chain, tar, items] :
       {std::tuple{chain0, t.base_tar, t.base}, std::tuple{chain1, t.top_tar, t.top}}) {
    std::string cache = "cache" + std::to_string(n++);
    std::string l = meta + "/layerdb/sha256/" + chain.substr(7);
    write(l + "/cache-id", cache);
    write(l + "/tar-split.json.gz", gzip(tar_split_of(tar)));
    unpack(root + "/overlay2/" + cache + "/diff", items);
  }
  SourceOptions opt;
  opt.roots.docker_data_roots = {dir_ + "/none", root};
  opt.ask_daemons = false;
  for (const std::string &ref :
       std::vector<std::string>{"docker-daemon:me/app:v1", "docker-daemon:docker.io/me/app:v1",
                                "docker-daemon:" + t.config_id.substr(0, 12)}) {
    auto img = open_image(ref, opt);
    ASSERT_TRUE(img) << ref << ": " << img.error().message();
    EXPECT_EQ(img->transport, "docker-daemon");
    EXPECT_EQ(img->id, "sha256:" + t.config_id);
    EXPECT_EQ(img->names, std::vector<std::string>{"me/app:v1"});
    ASSERT_EQ(img->layers.size(), 2u);
    EXPECT_EQ(img->layers[0].digest, t.diff0);
    EXPECT_EQ(img->layers[1].diff_id, t.diff1);
    EXPECT_EQ(sha256_of(read_layer(img->layers[0])).str(), t.diff0);
    EXPECT_EQ(sha256_of(read_layer(img->layers[1])).str(), t.diff1);
    // The audit sees the whiteout as a deletion.
    auto audit = audit_layers(audit_inputs(*img), {});
    ASSERT_TRUE(audit) << audit.error().message();
  }
  auto missing = open_image("docker-daemon:me/app:v2", opt);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message(),
            "cannot open image docker-daemon:me/app:v2: no image me/app:v2 in docker's store (" +
                root + ")");
}

TEST_F(TarSplitTree, ContainersStorageLayersHashToTheirDiffIds) {
  auto t = two_layers();
  const std::string root = dir_ + "/storage";
  // Big data keys with ':' are stored as "=" + base64(key).
  write(root + "/overlay-images/" + t.config_id + "/=" + b64("sha256:" + t.config_id), t.config);
  write(root + "/overlay-images/images.json",
        nlohmann::json::array(
            {{{"id", t.config_id}, {"names", {"localhost/app:latest"}}, {"layer", "l1"}}})
            .dump());
  write(root + "/overlay-layers/layers.json",
        nlohmann::json::array({{{"id", "l0"},
                                {"diff-digest", t.diff0},
                                {"diff-size", t.base_tar.size()},
                                {"compressed-diff-digest", "sha256:" + std::string(64, 'c')},
                                {"compressed-size", 77}},
                               {{"id", "l1"},
                                {"parent", "l0"},
                                {"diff-digest", t.diff1},
                                {"diff-size", t.top_tar.size()},
                                {"compressed-diff-digest", t.diff1},
                                {"compressed-size", t.top_tar.size()}}})
            .dump());
  write(root + "/overlay-layers/l0.tar-split.gz", gzip(tar_split_of(t.base_tar)));
  write(root + "/overlay-layers/l1.tar-split.gz", gzip(tar_split_of(t.top_tar)));
  unpack(root + "/overlay/l0/diff", t.base);
  unpack(root + "/overlay/l1/diff", t.top);
  SourceOptions opt;
  opt.roots.storage_roots = {root};
  for (const std::string &ref :
       std::vector<std::string>{"containers-storage:app", "containers-storage:localhost/app:latest",
                                "containers-storage:" + t.config_id.substr(0, 8)}) {
    auto img = open_image(ref, opt);
    ASSERT_TRUE(img) << ref << ": " << img.error().message();
    ASSERT_EQ(img->layers.size(), 2u);
    EXPECT_EQ(img->layers[0].digest, t.diff0);
    EXPECT_EQ(img->layers[0].size, t.base_tar.size());
    EXPECT_EQ(img->layers[0].compressed_size, 77u); // pulled compressed
    EXPECT_EQ(img->layers[1].compressed_size, 0u);  // stored as it came
    EXPECT_EQ(sha256_of(read_layer(img->layers[0])).str(), t.diff0);
    EXPECT_EQ(sha256_of(read_layer(img->layers[1])).str(), t.diff1);
  }
  auto missing = open_image("containers-storage:busybox", opt);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message().find("no image busybox in containers-storage (" + root),
            std::string::npos)
      << missing.error().message();
  // A layer whose file was tampered with: the error names layer and path.
  write(root + "/overlay/l1/diff/etc/os", "tampered, longer\n");
  auto img = open_image("containers-storage:app", opt);
  ASSERT_TRUE(img);
  auto fd = img->layers[1].open();
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message().find("layer " + t.diff1 + " of containers-storage:app"),
            std::string::npos)
      << fd.error().message();
  EXPECT_NE(fd.error().message().find("etc/os"), std::string::npos);
}

// docker with the containerd image store (or a driver ctk cannot read): the
// image is not in the graphdriver metadata, so docker's API is asked for it
// as `docker save` writes it. A fake dockerd answers on a unix socket.
TEST_F(TarSplitTree, DockerApiWhenTheStoreHasNoImage) {
  auto t = two_layers();
  using ctk::test::tar_file;
  const std::string l0 = std::string(t.diff0.substr(7)) + "/layer.tar";
  const std::string l1 = std::string(t.diff1.substr(7)) + "/layer.tar";
  const std::string archive = ctk::test::make_tar(
      {tar_file("manifest.json", nlohmann::json::array({{{"Config", t.config_id + ".json"},
                                                         {"RepoTags", {"me/app:v1"}},
                                                         {"Layers", {l0, l1}}}})
                                     .dump()),
       tar_file(t.config_id + ".json", t.config), tar_file(l0, t.base_tar),
       tar_file(l1, t.top_tar)});
  const std::string sock = dir_ + "/docker.sock";
  int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  std::vector<std::string> requests;
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0)
          break;
        req.append(buf, static_cast<size_t>(n));
      }
      requests.push_back(req.substr(0, req.find("\r\n")));
      std::string resp =
          req.starts_with("GET /images/me/app:v1/get ")
              ? "HTTP/1.0 200 OK\r\nContent-Type: application/x-tar\r\n\r\n" + archive
              : "HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n"
                "{\"message\":\"reference does not exist\"}\n";
      for (size_t off = 0; off < resp.size();) {
        ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
        if (n <= 0)
          break;
        off += static_cast<size_t>(n);
      }
      ::close(c);
    }
  });
  SourceOptions opt;
  fs::create_directories(dir_ + "/docker/image/overlay2");
  opt.roots.docker_data_roots = {dir_ + "/docker"};
  opt.roots.docker_sockets = {sock};
  opt.tmp_dir = dir_;
  auto img = open_image("docker-daemon:me/app:v1", opt);
  auto missing = open_image("docker-daemon:nope", opt);
  ::shutdown(lfd, SHUT_RDWR);
  server.join();
  ::close(lfd);
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(img->transport, "docker-daemon");
  EXPECT_EQ(img->id, "sha256:" + t.config_id);
  ASSERT_EQ(img->layers.size(), 2u);
  EXPECT_EQ(img->layers[1].diff_id, t.diff1);
  EXPECT_EQ(sha256_of(read_layer(img->layers[1])).str(), t.diff1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message(),
            "cannot open image docker-daemon:nope: no image nope in docker's store (" + dir_ +
                "/docker) nor its API (" + sock + ")");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], "GET /images/me/app:v1/get HTTP/1.0");
  // The downloaded archive is gone once it is read into the private store.
  for (const auto &e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find("ctk-docker-save"), std::string::npos);
  // Without asking daemons the store's answer stands.
  opt.ask_daemons = false;
  auto offline = open_image("docker-daemon:me/app:v1", opt);
  ASSERT_FALSE(offline);
  EXPECT_EQ(offline.error().message(), "cannot open image docker-daemon:me/app:v1: no image "
                                       "me/app:v1 in docker's store (" +
                                           dir_ + "/docker)");
}

} // namespace
