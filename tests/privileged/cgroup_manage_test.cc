// ContainerCgroup on this host's real hierarchies (v1 controllers plus the
// unified tree on the CI machine): limits as the kernel reads them back,
// processes moved in, a whole process tree killed, memory and pids limits
// enforced, and nothing left after remove().
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/cgroup_manage.h"

namespace {

using namespace ctk::rt;
using cgroup::ContainerCgroup;
using cgroup::Hierarchy;
namespace fs = std::filesystem;

std::string random_id() {
  unsigned char b[16];
  if (::getrandom(b, sizeof b, 0) != sizeof b)
    return "ctktest" + std::to_string(::getpid());
  std::string id;
  for (unsigned char c : b)
    id += fmt::format("{:02x}", c);
  return id;
}

std::string slurp(const std::string &path) {
  auto t = read_file(path);
  return t ? std::string(trim(*t)) : "<" + t.error().message() + ">";
}

// The directory of the container in the hierarchy that carries `controller`.
std::string dir_of(const Hierarchy &h, std::string_view controller, const std::string &path) {
  const cgroup::Mount *m = h.mount_for(controller);
  return m ? m->mount_point + path : "";
}

// Reaps `pids` (children, or orphans we adopt as subreaper) for up to 5 s.
std::map<pid_t, int> reap(const std::vector<pid_t> &pids) {
  std::map<pid_t, int> done;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (done.size() < pids.size() && std::chrono::steady_clock::now() < deadline) {
    for (pid_t p : pids) {
      int st = 0;
      if (!done.count(p) && ::waitpid(p, &st, WNOHANG) == p)
        done[p] = st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done;
}

// Whatever a test leaves (a failed assertion midway): its processes killed
// and reaped, its cgroup removed.
struct Cleanup {
  std::optional<ContainerCgroup> cg;
  std::vector<pid_t> kids;
  bool subreaper = false;
  ~Cleanup() {
    if (cg)
      (void)cg->kill(SIGKILL);
    for (pid_t p : kids)
      ::kill(p, SIGKILL);
    reap(kids);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (cg)
      (void)cg->remove();
    if (subreaper)
      ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  // Orphaned grandchildren come back to us, so the test can reap them.
  void become_subreaper() { subreaper = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }
};

// A forked child that waits for a byte on `go` before running `fn`, so the
// test can move it into the cgroup first, as ctk run does before exec.
template <class Fn> pid_t fork_waiting(int go[2], Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    char c;
    if (::read(go[0], &c, 1) != 1)
      ::_exit(100);
    ::_exit(fn());
  }
  return pid;
}

Hierarchy detect_or_skip() {
  auto h = Hierarchy::detect({});
  EXPECT_TRUE(h) << h.error().message();
  return h ? *h : Hierarchy{};
}

TEST(CgroupManageReal, LimitsReadBackAndRemoveLeavesNothing) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.mount_for("memory") && h.mount_for("cpu") && h.mount_for("pids"),
              "memory, cpu and pids cgroup controllers");
  Cleanup guard;
  const std::string id = random_id();
  auto cg = ContainerCgroup::create(h, id, {.memory = 64 << 20, .cpus = 0.5, .pids = 100});
  ASSERT_TRUE(cg) << cg.error().message();
  guard.cg = *cg;
  EXPECT_EQ(cg->path(), "/ctk/" + id);
  for (const auto &dir : cg->dirs())
    EXPECT_TRUE(fs::is_directory(dir)) << dir;

  const std::string mem = dir_of(h, "memory", cg->path());
  const std::string cpu = dir_of(h, "cpu", cg->path());
  const std::string pids = dir_of(h, "pids", cg->path());
  if (h.mount_for("memory")->version == 1) {
    EXPECT_EQ(slurp(mem + "/memory.limit_in_bytes"), "67108864");
    if (fs::exists(mem + "/memory.memsw.limit_in_bytes")) {
      EXPECT_EQ(slurp(mem + "/memory.memsw.limit_in_bytes"), "134217728");
    }
  } else {
    EXPECT_EQ(slurp(mem + "/memory.max"), "67108864");
  }
  if (h.mount_for("cpu")->version == 1) {
    EXPECT_EQ(slurp(cpu + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(slurp(cpu + "/cpu.cfs_quota_us"), "50000");
  } else {
    EXPECT_EQ(slurp(cpu + "/cpu.max"), "50000 100000");
  }
  EXPECT_EQ(slurp(pids + "/pids.max"), "100");
  // On a hybrid host the unified tree has the container too.
  if (h.layout == cgroup::Layout::hybrid) {
    EXPECT_TRUE(fs::is_directory(h.mount_for("")->mount_point + cg->path()));
  }

  auto listed = cgroup::list_ctk_cgroups(h);
  ASSERT_TRUE(listed) << listed.error().message();
  for (const auto &dir : cg->dirs())
    EXPECT_NE(std::find(listed->begin(), listed->end(), dir), listed->end()) << dir;

  auto r = cg->remove();
  ASSERT_TRUE(r) << r.error().message();
  for (const auto &dir : cg->dirs())
    EXPECT_FALSE(fs::exists(dir)) << dir;
  listed = cgroup::list_ctk_cgroups(h);
  ASSERT_TRUE(listed) << listed.error().message();
  for (const auto &dir : *listed)
    EXPECT_EQ(dir.find(id), std::string::npos) << dir;
  EXPECT_TRUE(cg->remove()); // twice is fine
}

constexpr std::string_view kUsed[] = {"memory", "pids", "cpu", "cpuacct", "name=systemd"};

// A child in the cgroup forks a tree (two children, one grandchild); one
// kill(SIGKILL) ends all four, and remove() then succeeds.
void kill_tree(const Hierarchy &h) {
  Cleanup guard;
  guard.become_subreaper();
  ASSERT_TRUE(guard.subreaper);
  const std::string id = random_id();
  auto cg = ContainerCgroup::create(h, id, {});
  ASSERT_TRUE(cg) << cg.error().message();
  guard.cg = *cg;

  int go[2], report[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  pid_t child = fork_waiting(go, [&] {
    auto say = [&] {
      pid_t me = ::getpid();
      return ::write(report[1], &me, sizeof me) == sizeof me;
    };
    if (::fork() == 0) { // G1, with a child G3
      if (::fork() == 0) {
        say();
        for (;;)
          ::pause();
      }
      say();
      for (;;)
        ::pause();
    }
    if (::fork() == 0) { // G2
      say();
      for (;;)
        ::pause();
    }
    say();
    for (;;)
      ::pause();
    return 0;
  });
  ASSERT_GT(child, 0);
  guard.kids.push_back(child);
  ::close(go[0]);
  ::close(report[1]);
  auto added = cg->add(child);
  ASSERT_TRUE(added) << added.error().message();
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  std::vector<pid_t> tree;
  pid_t p;
  while (tree.size() < 4 && ::read(report[0], &p, sizeof p) == sizeof p)
    tree.push_back(p);
  ::close(report[0]);
  ASSERT_EQ(tree.size(), 4u);
  guard.kids = tree;

  // Each process of the tree is in /ctk/<id> in every hierarchy used.
  for (pid_t q : tree) {
    std::string cgroups = slurp(fmt::format("/proc/{}/cgroup", q));
    int matched = 0;
    for (std::string_view line : split_lines(cgroups)) {
      auto f = split(line, ':');
      ASSERT_GE(f.size(), 3u) << line;
      bool used = f[0] == "0" ? h.mount_for("") != nullptr : false;
      for (std::string_view c : split(f[1], ','))
        used = used || std::find(std::begin(kUsed), std::end(kUsed), c) != std::end(kUsed);
      if (!used)
        continue;
      ++matched;
      EXPECT_EQ(f[2], cg->path()) << q << ": " << line;
    }
    EXPECT_GE(matched, 1) << cgroups;
  }
  auto listed = cg->pids();
  ASSERT_TRUE(listed) << listed.error().message();
  std::sort(listed->begin(), listed->end());
  std::sort(tree.begin(), tree.end());
  EXPECT_EQ(*listed, tree);

  auto k = cg->kill(SIGKILL);
  ASSERT_TRUE(k) << k.error().message();
  auto statuses = reap(tree);
  ASSERT_EQ(statuses.size(), tree.size());
  for (auto [pid, st] : statuses)
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << pid << " status " << st;
  guard.kids.clear();

  auto r = cg->remove();
  ASSERT_TRUE(r) << r.error().message();
  for (const auto &dir : cg->dirs())
    EXPECT_FALSE(fs::exists(dir)) << dir;
  auto empty = cg->pids();
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::not_found);
}

TEST(CgroupManageReal, KillEndsTheWholeTree) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.layout != cgroup::Layout::none, "a cgroup hierarchy");
  kill_tree(h); // with cgroup.kill wherever there is a unified tree
}

// The per-pid path of a v1-only host, on this host's v1 hierarchies.
TEST(CgroupManageReal, KillEndsTheWholeTreeWithoutCgroupKill) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.mount_for("memory") && h.mount_for("memory")->version == 1,
              "a v1 memory hierarchy");
  std::erase_if(h.mounts, [](const cgroup::Mount &m) { return m.version == 2; });
  h.layout = cgroup::Layout::v1;
  kill_tree(h);
}

TEST(CgroupManageReal, MemoryHogIsKilled) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.mount_for("memory"), "a memory cgroup controller");
  Cleanup guard;
  auto cg = ContainerCgroup::create(h, random_id(), {.memory = 16 << 20});
  ASSERT_TRUE(cg) << cg.error().message();
  guard.cg = *cg;
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t child = fork_waiting(go, [] {
    const size_t size = 256u << 20;
    void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return 2;
    std::memset(p, 0x5a, size);
    return 0; // survived: the limit did not hold
  });
  ASSERT_GT(child, 0);
  guard.kids.push_back(child);
  ::close(go[0]);
  auto added = cg->add(child);
  ASSERT_TRUE(added) << added.error().message();
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  auto st = reap({child});
  ASSERT_EQ(st.size(), 1u) << "the hog did not end in 5 s";
  guard.kids.clear();
  EXPECT_TRUE(WIFSIGNALED(st[child]) && WTERMSIG(st[child]) == SIGKILL) << "status " << st[child];
  const std::string mem = dir_of(h, "memory", cg->path());
  if (h.mount_for("memory")->version == 1) {
    EXPECT_NE(slurp(mem + "/memory.failcnt"), "0");
    EXPECT_NE(slurp(mem + "/memory.oom_control").find("oom_kill 1"), std::string::npos)
        << slurp(mem + "/memory.oom_control");
  } else {
    EXPECT_NE(slurp(mem + "/memory.events").find("oom_kill 1"), std::string::npos);
  }
  auto kills = cg->oom_kills();
  ASSERT_TRUE(kills) << kills.error().message();
  EXPECT_EQ(*kills, 1u);
  auto r = cg->remove();
  ASSERT_TRUE(r) << r.error().message();
}

TEST(CgroupManageReal, PidsLimitStopsForks) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.mount_for("pids"), "a pids cgroup controller");
  Cleanup guard;
  guard.become_subreaper();
  auto cg = ContainerCgroup::create(h, random_id(), {.pids = 4});
  ASSERT_TRUE(cg) << cg.error().message();
  guard.cg = *cg;
  int go[2], report[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  pid_t child = fork_waiting(go, [&] {
    int forked = 0, err = 0;
    for (int i = 0; i < 20; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        for (;;)
          ::pause();
      }
      if (p < 0) {
        err = errno;
        break;
      }
      ++forked;
    }
    int out[2] = {forked, err};
    if (::write(report[1], out, sizeof out) != sizeof out)
      return 3;
    for (;;)
      ::pause();
    return 0;
  });
  ASSERT_GT(child, 0);
  guard.kids.push_back(child);
  ::close(go[0]);
  ::close(report[1]);
  auto added = cg->add(child);
  ASSERT_TRUE(added) << added.error().message();
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  int got[2] = {-1, -1};
  ASSERT_EQ(::read(report[0], got, sizeof got), static_cast<ssize_t>(sizeof got));
  ::close(report[0]);
  // The child itself is one of the four.
  EXPECT_EQ(got[0], 3);
  EXPECT_EQ(got[1], EAGAIN) << std::strerror(got[1]);
  auto listed = cg->pids();
  ASSERT_TRUE(listed) << listed.error().message();
  EXPECT_EQ(listed->size(), 4u);
  guard.kids = *listed;
  auto k = cg->kill(SIGKILL);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(reap(*listed).size(), 4u);
  guard.kids.clear();
  auto r = cg->remove();
  ASSERT_TRUE(r) << r.error().message();
}

// Create + add + kill + remove cycles: the cost per container, and no
// directory left behind after many.
TEST(CgroupManageReal, ManyCyclesLeaveNothing) {
  CTK_REQUIRE_ROOT();
  Hierarchy h = detect_or_skip();
  CTK_REQUIRE(h.layout != cgroup::Layout::none, "a cgroup hierarchy");
  std::vector<double> create_ms, remove_ms;
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    Cleanup guard;
    const std::string id = random_id();
    ids.push_back(id);
    auto t0 = std::chrono::steady_clock::now();
    auto cg = ContainerCgroup::create(h, id, {.memory = 64 << 20, .pids = 100});
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(cg) << cg.error().message();
    guard.cg = *cg;
    pid_t child = ::fork();
    if (child == 0) {
      for (;;)
        ::pause();
    }
    ASSERT_GT(child, 0);
    guard.kids.push_back(child);
    ASSERT_TRUE(cg->add(child));
    ASSERT_TRUE(cg->kill(SIGKILL));
    ASSERT_EQ(reap({child}).size(), 1u);
    guard.kids.clear();
    auto t2 = std::chrono::steady_clock::now();
    auto r = cg->remove();
    auto t3 = std::chrono::steady_clock::now();
    ASSERT_TRUE(r) << r.error().message();
    create_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    remove_ms.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
  }
  auto listed = cgroup::list_ctk_cgroups(h);
  ASSERT_TRUE(listed) << listed.error().message();
  for (const auto &dir : *listed)
    for (const auto &id : ids)
      EXPECT_EQ(dir.find(id), std::string::npos) << dir;
  std::sort(create_ms.begin(), create_ms.end());
  std::sort(remove_ms.begin(), remove_ms.end());
  std::printf("cgroup create median %.3f ms, remove (after kill) median %.3f ms, %zu dirs each\n",
              create_ms[create_ms.size() / 2], remove_ms[remove_ms.size() / 2],
              ContainerCgroup::open(h, "x").dirs().size());
}

} // namespace
