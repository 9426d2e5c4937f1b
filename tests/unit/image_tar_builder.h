// Test-only helpers: build (hostile) layer tars in memory with libarchive's
// writer and hand them to the code under test as memfds. Writing archives is
// fine in tests; only archive_write_disk is banned from ctk.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>

#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ctk/runtime/core.h"

namespace ctk::test {

struct TarItem {
  std::string path;
  char type = 'f'; // f file, d dir, l symlink, h hardlink, c chardev, b blockdev, p fifo
  std::string data;
  mode_t mode = 0644;
  std::string link; // symlink or hardlink target, as stored
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1'600'000'000;
  unsigned long dev_major = 0, dev_minor = 0;
  std::string caps;         // security.capability value, if any
  int64_t sparse_size = -1; // file of this apparent size: `data` at offset 0, the rest a hole
};

enum class TarCompression { none, gzip, zstd };

inline TarItem tar_file(std::string path, std::string data, mode_t mode = 0644) {
  TarItem t;
  t.path = std::move(path);
  t.data = std::move(data);
  t.mode = mode;
  return t;
}
inline TarItem tar_dir(std::string path, mode_t mode = 0755) {
  TarItem t;
  t.path = std::move(path);
  t.type = 'd';
  t.mode = mode;
  return t;
}
inline TarItem tar_symlink(std::string path, std::string target) {
  TarItem t;
  t.path = std::move(path);
  t.type = 'l';
  t.mode = 0777;
  t.link = std::move(target);
  return t;
}
inline TarItem tar_hardlink(std::string path, std::string target) {
  TarItem t;
  t.path = std::move(path);
  t.type = 'h';
  t.link = std::move(target);
  return t;
}

inline std::string make_tar(const std::vector<TarItem> &items,
                            TarCompression comp = TarCompression::none) {
  std::string out;
  archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (comp == TarCompression::gzip)
    archive_write_add_filter_gzip(a);
  else if (comp == TarCompression::zstd)
    archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  auto writer = [](archive *, void *ctx, const void *buf, size_t n) -> la_ssize_t {
    static_cast<std::string *>(ctx)->append(static_cast<const char *>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  EXPECT_EQ(archive_write_open(a, &out, nullptr, writer, nullptr), ARCHIVE_OK)
      << archive_error_string(a);
  for (const auto &it : items) {
    archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, it.path.c_str());
    archive_entry_set_perm(e, it.mode);
    archive_entry_set_uid(e, it.uid);
    archive_entry_set_gid(e, it.gid);
    archive_entry_set_mtime(e, it.mtime, 0);
    switch (it.type) {
    case 'd':
      archive_entry_set_filetype(e, AE_IFDIR);
      break;
    case 'l':
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, it.link.c_str());
      break;
    case 'h':
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, it.link.c_str());
      break;
    case 'c':
    case 'b':
      archive_entry_set_filetype(e, it.type == 'c' ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_rdevmajor(e, it.dev_major);
      archive_entry_set_rdevminor(e, it.dev_minor);
      break;
    case 'p':
      archive_entry_set_filetype(e, AE_IFIFO);
      break;
    default:
      archive_entry_set_filetype(e, AE_IFREG);
      if (it.sparse_size >= 0) {
        archive_entry_set_size(e, it.sparse_size);
        archive_entry_sparse_add_entry(e, 0, static_cast<la_int64_t>(it.data.size()));
        archive_entry_sparse_add_entry(e, it.sparse_size, 0);
      } else {
        archive_entry_set_size(e, static_cast<la_int64_t>(it.data.size()));
      }
    }
    if (!it.caps.empty())
      archive_entry_xattr_add_entry(e, "security.capability", it.caps.data(), it.caps.size());
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << it.path << ": " << archive_error_string(a);
    if (it.type == 'f' && !it.data.empty())
      archive_write_data(a, it.data.data(), it.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// The bytes as a readable fd positioned at 0.
inline rt::UniqueFd memfd_of(const std::string &bytes) {
  rt::UniqueFd fd(memfd_create("layer", MFD_CLOEXEC));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n <= 0)
      break;
    off += static_cast<size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

// A temporary directory holding the extraction root and, beside it, a
// sentinel tree that hostile layers aim at. Removed (without following
// symlinks) when the test ends, passed or failed.
class Sandbox {
public:
  Sandbox() {
    char tmpl[] = "/tmp/ctk-imgtar-XXXXXX";
    base_ = mkdtemp(tmpl);
    std::filesystem::create_directory(root());
    std::filesystem::create_directory(sentinel());
    std::filesystem::create_directory(sentinel() + "/dir");
    write(sentinel() + "/secret", "secret\n", 0400);
    write(sentinel() + "/dir/file", "file\n", 0644);
    ::chmod((sentinel() + "/dir").c_str(), 0755);
    before_ = snapshot(sentinel());
    root_fd_ = rt::UniqueFd(::open(root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  ~Sandbox() {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }
  std::string base() const { return base_; }
  std::string root() const { return base_ + "/root"; }
  std::string sentinel() const { return base_ + "/sentinel"; }
  int root_fd() const { return root_fd_.get(); }

  // Path, type, mode, owner, link count and content of every entry below `dir`.
  static std::string snapshot(const std::string &dir) {
    std::ostringstream out;
    std::map<std::string, std::string> lines;
    for (auto &de : std::filesystem::recursive_directory_iterator(dir)) {
      struct stat st;
      ::lstat(de.path().c_str(), &st);
      std::ostringstream l;
      l << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " n"
        << st.st_nlink;
      if (S_ISREG(st.st_mode)) {
        std::ifstream f(de.path());
        l << " " << std::string(std::istreambuf_iterator<char>(f), {});
      } else if (S_ISLNK(st.st_mode)) {
        l << " -> " << std::filesystem::read_symlink(de.path()).string();
      }
      lines[de.path().string().substr(dir.size())] = l.str();
    }
    for (auto &[p, l] : lines)
      out << p << " " << l << "\n";
    return out.str();
  }
  // The sentinel is exactly as created, and nothing else appeared beside the root.
  void expect_sentinel_unchanged() const {
    EXPECT_EQ(snapshot(sentinel()), before_);
    std::vector<std::string> names;
    for (auto &de : std::filesystem::directory_iterator(base_))
      names.push_back(de.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"root", "sentinel"}));
  }
  static void write(const std::string &path, const std::string &data, mode_t mode) {
    std::ofstream(path) << data;
    ::chmod(path.c_str(), mode);
  }

private:
  std::string base_;
  std::string before_;
  rt::UniqueFd root_fd_;
};

} // namespace ctk::test
