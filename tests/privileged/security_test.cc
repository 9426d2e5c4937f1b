// apply_security for real: a forked child applies the prepared confinement,
// tries what a container must not do, then execs cat /proc/self/status so the
// test sees what a container's process sees after execve (the kernel
// recomputes capabilities there).
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <grp.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "common/privileged.h"
#include "ctk/runtime/security.h"

using namespace ctk::rt;
using namespace ctk::rt::security;

namespace {

constexpr uint64_t kDockerDefault = 0xa80425fbULL; // docker's CapBnd

struct Report {
  std::map<std::string, std::string> kv; // "key=value" lines of the child, "Key:" lines of status
  int exit_code = -1;
  std::string text;
  uint64_t hex(const std::string &k) const {
    auto it = kv.find(k);
    return it == kv.end() ? ~uint64_t{0} : std::stoull(it->second, nullptr, 16);
  }
  std::string get(const std::string &k) const {
    auto it = kv.find(k);
    return it == kv.end() ? "<missing>" : it->second;
  }
};

void say(const char *key, long value) {
  std::printf("%s=%ld\n", key, value);
}
// errno of a call expected to fail, 0 when it succeeded.
long err_of(long rc) {
  return rc < 0 ? errno : 0;
}

// Runs `body` in a forked child; the child's stdout (its report lines, then
// cat's /proc/self/status) comes back to the test.
Report run_child(const std::function<void()> &body) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    body();
    std::fflush(stdout);
    execl("/bin/cat", "cat", "/proc/self/status", static_cast<char *>(nullptr));
    std::printf("exec_errno=%d\n", errno);
    std::fflush(stdout);
    _exit(4);
  }
  close(fds[1]);
  Report r;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0)
    r.text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  size_t pos = 0;
  while (pos < r.text.size()) {
    size_t end = r.text.find('\n', pos);
    if (end == std::string::npos)
      end = r.text.size();
    std::string line = r.text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = line.find('='), colon = line.find(":\t");
    if (colon != std::string::npos && (eq == std::string::npos || colon < eq))
      r.kv[line.substr(0, colon)] = line.substr(colon + 2);
    else if (eq != std::string::npos)
      r.kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return r;
}

void apply_or_exit(const Prepared &p) {
  if (auto r = apply_security(p); !r) {
    std::printf("apply_error=%s\n", r.error().message().c_str());
    std::fflush(stdout);
    _exit(3);
  }
}

#if defined(__x86_64__)
// A 32-bit system call through int 0x80: the filter covers the x86 ABI too
// (without it in the filter the process would be killed, not refused).
long sys32(long nr, long a) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(0), "d"(0) : "memory");
  return ret;
}
#endif

// What a container must not do, tried after apply_security.
void try_escapes() {
#if defined(__x86_64__)
  say("x86_getpid_ok", sys32(20 /* getpid */, 0) == getpid());
  say("x86_unshare_user", -sys32(310 /* unshare */, CLONE_NEWUSER));
#endif
  say("unshare_user", err_of(unshare(CLONE_NEWUSER)));
  say("unshare_net", err_of(unshare(CLONE_NEWNET)));
  say("mount", err_of(mount("none", "/mnt", "tmpfs", 0, nullptr)));
  // clone3's flags live in memory seccomp cannot read: ENOSYS, and glibc
  // falls back to clone, whose flags the filter checks.
  clone_args ca{};
  ca.flags = CLONE_NEWUSER;
  ca.exit_signal = SIGCHLD;
  long rc = syscall(SYS_clone3, &ca, sizeof ca);
  if (rc == 0)
    _exit(0);
  say("clone3", err_of(rc));
  rc = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
  if (rc == 0)
    _exit(0);
  say("clone_newnet", err_of(rc));
  // A plain fork (clone without namespace flags) still works.
  pid_t child = fork();
  if (child == 0)
    _exit(7);
  int st = 0;
  waitpid(child, &st, 0);
  say("fork_exit", child > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  say("vsock", err_of(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0)));
  say("personality_query", err_of(syscall(SYS_personality, 0xffffffffUL)));
  say("personality_bad", err_of(syscall(SYS_personality, 0x0400000UL /* ADDR_COMPAT_LAYOUT */)));
}

uint64_t own_bounding_set() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapBnd:\t", 0) == 0)
      return std::stoull(line.substr(8), nullptr, 16);
  return 0;
}

class SecurityApply : public ::testing::Test {
protected:
  void SetUp() override { CTK_REQUIRE_ROOT(); }
};

} // namespace

TEST_F(SecurityApply, DefaultConfinementLikeDocker) {
  auto p = prepare_security({});
  ASSERT_TRUE(p) << p.error().message();
  auto r = run_child([&] {
    apply_or_exit(**p);
    try_escapes();
  });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.hex("CapEff"), kDockerDefault) << r.text;
  EXPECT_EQ(r.hex("CapPrm"), kDockerDefault);
  EXPECT_EQ(r.hex("CapBnd"), kDockerDefault);
  EXPECT_EQ(r.hex("CapInh"), 0u);
  EXPECT_EQ(r.hex("CapAmb"), 0u);
  EXPECT_EQ(r.get("NoNewPrivs"), "1");
  EXPECT_EQ(r.get("Seccomp"), "2");
  EXPECT_EQ(r.get("unshare_user"), std::to_string(EPERM));
  EXPECT_EQ(r.get("unshare_net"), std::to_string(EPERM));
  EXPECT_EQ(r.get("mount"), std::to_string(EPERM));
  EXPECT_EQ(r.get("clone3"), std::to_string(ENOSYS));
  EXPECT_EQ(r.get("clone_newnet"), std::to_string(EPERM));
  EXPECT_EQ(r.get("fork_exit"), "7");
  EXPECT_EQ(r.get("vsock"), std::to_string(EPERM));
  EXPECT_EQ(r.get("personality_query"), "0");
  EXPECT_EQ(r.get("personality_bad"), std::to_string(EPERM));
#if defined(__x86_64__)
  EXPECT_EQ(r.get("x86_getpid_ok"), "1");
  EXPECT_EQ(r.get("x86_unshare_user"), std::to_string(EPERM));
#endif
}

TEST_F(SecurityApply, CapAddNetAdminIsHeld) {
  SecurityOptions o;
  o.cap_add = {"net_admin"};
  o.cap_drop = {"NET_RAW"};
  auto p = prepare_security(o);
  ASSERT_TRUE(p) << p.error().message();
  auto r = run_child([&] { apply_or_exit(**p); });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  uint64_t want = (kDockerDefault | (1ULL << 12)) & ~(1ULL << 13);
  EXPECT_EQ(r.hex("CapEff"), want) << r.text;
  EXPECT_EQ(r.hex("CapBnd"), want);
  EXPECT_EQ(r.get("Seccomp"), "2");
}

TEST_F(SecurityApply, SysAdminOpensTheCapabilityGroups) {
  SecurityOptions o;
  o.cap_add = {"SYS_ADMIN"};
  auto p = prepare_security(o);
  ASSERT_TRUE(p) << p.error().message();
  auto r = run_child([&] {
    apply_or_exit(**p);
    say("unshare_mnt", err_of(unshare(CLONE_NEWNS)));
    say("clone3_null", err_of(syscall(SYS_clone3, nullptr, 0)));
  });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.get("Seccomp"), "2");
  EXPECT_EQ(r.get("unshare_mnt"), "0");
  EXPECT_EQ(r.get("clone3_null"), std::to_string(EINVAL)); // the kernel's answer, not ENOSYS
}

TEST_F(SecurityApply, NonRootUserKeepsOnlyTheBoundingSet) {
  auto p = prepare_security({});
  ASSERT_TRUE(p);
  auto r = run_child([&] {
    if (auto k = keep_capabilities_across_setuid(); !k)
      _exit(5);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
      _exit(6);
    apply_or_exit(**p);
    say("mount", err_of(mount("none", "/mnt", "tmpfs", 0, nullptr)));
  });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.get("Uid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(r.hex("CapEff"), 0u) << r.text;
  EXPECT_EQ(r.hex("CapPrm"), 0u);
  EXPECT_EQ(r.hex("CapBnd"), kDockerDefault);
  EXPECT_EQ(r.get("NoNewPrivs"), "1");
  EXPECT_EQ(r.get("Seccomp"), "2");
  EXPECT_EQ(r.get("mount"), std::to_string(EPERM));
}

TEST_F(SecurityApply, NonRootWithoutKeepcapsIsAnErrorNotAFullBoundingSet) {
  auto p = prepare_security({});
  ASSERT_TRUE(p);
  auto r = run_child([&] {
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
      _exit(6);
    apply_or_exit(**p);
  });
  EXPECT_EQ(r.exit_code, 3) << r.text;
  EXPECT_NE(r.get("apply_error").find("PR_SET_KEEPCAPS"), std::string::npos) << r.text;
}

TEST_F(SecurityApply, PrivilegedAndUnconfined) {
  uint64_t mine = own_bounding_set();
  SecurityOptions o;
  o.privileged = true;
  auto p = prepare_security(o);
  ASSERT_TRUE(p);
  auto r = run_child([&] {
    apply_or_exit(**p);
    say("clone3_null", err_of(syscall(SYS_clone3, nullptr, 0)));
  });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.get("Seccomp"), "0");
  EXPECT_EQ(r.get("NoNewPrivs"), "0");
  EXPECT_EQ(r.hex("CapEff"), mine);
  EXPECT_EQ(r.hex("CapBnd"), mine);
  EXPECT_EQ(r.get("clone3_null"), std::to_string(EINVAL));

  o = {};
  o.seccomp = "unconfined";
  p = prepare_security(o);
  ASSERT_TRUE(p);
  r = run_child([&] { apply_or_exit(**p); });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.get("Seccomp"), "0");
  EXPECT_EQ(r.get("NoNewPrivs"), "1");
  EXPECT_EQ(r.hex("CapEff"), kDockerDefault);
}

TEST_F(SecurityApply, CustomProfileArgumentRulesAndCache) {
  std::string dir = "/tmp/ctk-security-priv-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{dir};
  // Two comparisons of one argument are alternatives (runc's reading), and
  // an errnoRet is the errno the caller sees.
  std::ofstream(dir + "/p.json") << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
    {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[
      {"index":1,"value":10,"op":"SCMP_CMP_EQ"},{"index":1,"value":12,"op":"SCMP_CMP_EQ"}]},
    {"names":["mkdirat","mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
    {"names":["ctk_not_a_syscall"],"action":"SCMP_ACT_KILL"}]})";
  SecurityOptions o;
  o.seccomp = dir + "/p.json";
  o.cache_dir = dir + "/cache";
  for (int round = 0; round < 2; ++round) { // compiled, then from the cache
    auto p = prepare_security(o);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(skipped_syscalls(**p), std::vector<std::string>{"ctk_not_a_syscall"});
    auto r = run_child([&] {
      apply_or_exit(**p);
      signal(SIGUSR1, SIG_IGN);
      signal(SIGUSR2, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
      say("kill_usr1", err_of(kill(getpid(), SIGUSR1)));
      say("kill_usr2", err_of(kill(getpid(), SIGUSR2)));
      say("kill_hup", err_of(kill(getpid(), SIGHUP)));
      say("mkdir", err_of(mkdir("/tmp/ctk-security-never", 0700)));
    });
    ASSERT_EQ(r.exit_code, 0) << r.text;
    EXPECT_EQ(r.get("Seccomp"), "2") << round;
    EXPECT_EQ(r.get("kill_usr1"), std::to_string(EPERM)) << round;
    EXPECT_EQ(r.get("kill_usr2"), std::to_string(EPERM)) << round;
    EXPECT_EQ(r.get("kill_hup"), "0") << round;
    EXPECT_EQ(r.get("mkdir"), std::to_string(EACCES)) << round;
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/ctk-security-never"));
}

TEST_F(SecurityApply, MaskedAndReadonlyPaths) {
  // Which of moby's paths this kernel has decides what can be checked.
  std::vector<std::string> files, dirs;
  for (const auto &path : masked_paths()) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0)
      (S_ISDIR(st.st_mode) ? dirs : files).push_back(path);
  }
  CTK_REQUIRE(!files.empty() && !dirs.empty(), "no masked file and directory exist in /proc, /sys");
  auto r = run_child([&] {
    // A private mount namespace of the child's own: nothing reaches the host.
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      _exit(5);
    if (auto m = apply_masked_paths(); !m) {
      std::printf("mask_error=%s\n", m.error().message().c_str());
      std::fflush(stdout);
      _exit(3);
    }
    for (const auto &f : files) {
      struct stat st {};
      char buf[64];
      int fd = open(f.c_str(), O_RDONLY);
      bool is_null =
          stat(f.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
      std::printf("masked %s=%d/%zd\n", f.c_str(), is_null,
                  fd < 0 ? -1 : read(fd, buf, sizeof buf));
    }
    for (const auto &d : dirs) {
      long entries = -1;
      if (DIR *dir = opendir(d.c_str())) {
        entries = 0;
        while (dirent *e = readdir(dir))
          entries += std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0;
        closedir(dir);
      }
      std::printf("masked %s=%ld/%ld\n", d.c_str(), entries,
                  err_of(open((d + "/x").c_str(), O_WRONLY | O_CREAT, 0600)));
    }
    say("proc_sys_write", err_of(open("/proc/sys/kernel/domainname", O_WRONLY)));
    say("irq_write", err_of(open("/proc/irq/default_smp_affinity", O_WRONLY)));
  });
  ASSERT_EQ(r.exit_code, 0) << r.text;
  for (const auto &f : files)
    EXPECT_EQ(r.get("masked " + f), "1/0") << f; // /dev/null: reads nothing
  for (const auto &d : dirs)
    EXPECT_EQ(r.get("masked " + d), "0/" + std::to_string(EROFS)) << d; // empty, read-only
  EXPECT_EQ(r.get("proc_sys_write"), std::to_string(EROFS));
  if (access("/proc/irq/default_smp_affinity", F_OK) == 0) {
    EXPECT_EQ(r.get("irq_write"), std::to_string(EROFS));
  }
  // The host's view is untouched.
  struct stat st {};
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  EXPECT_FALSE(S_ISCHR(st.st_mode));
}
