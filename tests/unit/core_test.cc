// libruntime core: errors, fds, files, locks.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "ctk/runtime/core.h"

using namespace ctk::rt;

namespace {

class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/ctk-core-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

size_t entries(const std::string &dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto &e : std::filesystem::directory_iterator(dir))
    n++;
  return n;
}

TEST(CoreError, WrapPrependsContextAndMessageAddsStrerror) {
  Error e = errno_error("cannot read /x/state.json", ENOENT);
  EXPECT_EQ(e.code, Errc::not_found);
  e.wrap("cannot resolve web");
  EXPECT_EQ(e.message(), "cannot resolve web: cannot read /x/state.json: No such file or directory");
  Error plain(Errc::ambiguous, "name web is ambiguous");
  EXPECT_EQ(plain.message(), "name web is ambiguous");
}

TEST(CoreError, ErrnoMapsToCodes) {
  EXPECT_EQ(errno_error("x", EACCES).code, Errc::permission_denied);
  EXPECT_EQ(errno_error("x", EPERM).code, Errc::permission_denied);
  EXPECT_EQ(errno_error("x", ESRCH).code, Errc::not_found);
  EXPECT_EQ(errno_error("x", EBUSY).code, Errc::busy);
  EXPECT_EQ(errno_error("x", EIO).code, Errc::io);
}

TEST(CoreFd, MoveTransfersOwnershipAndResetCloses) {
  auto fd = open_fd("/dev/null", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  int raw = fd->get();
  EXPECT_TRUE(::fcntl(raw, F_GETFD) & FD_CLOEXEC); // O_CLOEXEC always added
  UniqueFd moved = std::move(*fd);
  EXPECT_FALSE(fd->valid());
  EXPECT_EQ(moved.get(), raw);
  moved.reset();
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(CoreFile, ReadFileReadsProcFilesPastStSize) {
  auto text = read_file("/proc/self/status"); // st_size is 0 for procfs
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_NE(text->find("Pid:"), std::string::npos);
  auto missing = read_file("/nonexistent/ctk");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message(), "cannot read /nonexistent/ctk: No such file or directory");
}

TEST(CoreFile, AtomicWriteReplacesContentWithModeAndLeavesNoTemporary) {
  TempDir d;
  std::string p = d.path() + "/state.json";
  ASSERT_TRUE(write_file_atomic(p, "old", 0600));
  ASSERT_TRUE(write_file_atomic(p, "new content", 0640));
  EXPECT_EQ(*read_file(p), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(entries(d.path()), 1u);
}

TEST(CoreFile, AtomicWriteIntoMissingDirectoryFailsNamingIt) {
  auto r = write_file_atomic("/nonexistent/ctk/state.json", "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/nonexistent/ctk/state.json"), std::string::npos);
}

TEST(CoreFile, MakeDirsCreatesNestedAndRefusesAFileInTheWay) {
  TempDir d;
  std::string nested = d.path() + "/a/b/c";
  ASSERT_TRUE(make_dirs(nested));
  ASSERT_TRUE(make_dirs(nested)); // twice is fine
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  ASSERT_TRUE(write_file_atomic(d.path() + "/f", "x"));
  auto r = make_dirs(d.path() + "/f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::exists);
}

TEST(CoreLock, ExclusiveLockExcludesAnotherHolderUntilReleased) {
  TempDir d;
  std::string p = d.path() + "/store.lock";
  {
    auto first = FileLock::acquire(p, LockMode::exclusive);
    ASSERT_TRUE(first) << first.error().message();
    auto second = FileLock::acquire(p, LockMode::exclusive, /*wait=*/false);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::busy);
    auto shared = FileLock::acquire(p, LockMode::shared, /*wait=*/false);
    EXPECT_FALSE(shared);
  }
  auto again = FileLock::acquire(p, LockMode::exclusive, /*wait=*/false);
  EXPECT_TRUE(again);
}

TEST(CoreLock, SharedLocksCoexistAndExcludeWriters) {
  TempDir d;
  std::string p = d.path() + "/store.lock";
  auto a = FileLock::acquire(p, LockMode::shared);
  auto b = FileLock::acquire(p, LockMode::shared, false);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_FALSE(FileLock::acquire(p, LockMode::exclusive, false));
}

TEST(CoreLock, LockExcludesAnotherProcess) {
  TempDir d;
  std::string p = d.path() + "/store.lock";
  auto held = FileLock::acquire(p, LockMode::exclusive);
  ASSERT_TRUE(held);
  pid_t child = ::fork();
  if (child == 0) {
    auto r = FileLock::acquire(p, LockMode::exclusive, false);
    ::_exit(r ? 0 : (r.error().code == Errc::busy ? 3 : 4));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(CoreStrings, SplitTrimAndNumbers) {
  auto parts = split("a::b", ':');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  auto lines = split_lines("x\ny\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(trim("  v \n"), "v");
  long long n = 0;
  EXPECT_TRUE(parse_int("-42", n));
  EXPECT_EQ(n, -42);
  EXPECT_FALSE(parse_int("42x", n));
  unsigned long long u = 0;
  EXPECT_FALSE(parse_uint("-1", u));
  EXPECT_TRUE(is_hex("deadBEEF"));
  EXPECT_FALSE(is_hex("xyz"));
}

TEST(CoreHostPaths, PrefixedJoinsFixtureRoots) {
  HostPaths p;
  EXPECT_EQ(p.prefixed("/run/docker"), "/run/docker");
  p.root = "/fixtures/node/";
  EXPECT_EQ(p.prefixed("/run/docker"), "/fixtures/node/run/docker");
}

} // namespace
