// The /proc scanner against real, nested PID namespaces made by the test.
#include <sys/wait.h>

#include <map>

#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/proc.h"
#include "ns_tree.h"

namespace {

using namespace ctk::rt;
using proc::NsType;

TEST(ProcPidns, NestedNspidChainsAndInodes) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree;
  ASSERT_TRUE(tree.ok()) << tree.error();

  auto all = proc::scan({});
  ASSERT_TRUE(all) << all.error().message();
  std::map<pid_t, proc::Process> m;
  for (const auto &p : *all)
    m[p.pid] = p;
  ASSERT_TRUE(m.count(tree.a1()) && m.count(tree.b1()) && m.count(tree.b2()));
  const auto &a1 = m[tree.a1()], &b1 = m[tree.b1()], &b2 = m[tree.b2()];

  // Host pid first, then each nested namespace's view, innermost last.
  EXPECT_EQ(a1.nspid, (std::vector<pid_t>{tree.a1(), 1}));
  EXPECT_EQ(b1.nspid, (std::vector<pid_t>{tree.b1(), 2, 1}));
  EXPECT_EQ(b2.nspid, (std::vector<pid_t>{tree.b2(), 3, 2}));
  EXPECT_EQ(m[tree.middle()].nspid, (std::vector<pid_t>{tree.middle()}));

  const size_t pid = proc::ns_index(NsType::pid);
  auto host = proc::ns_inode({}, ::getpid(), NsType::pid);
  ASSERT_TRUE(host);
  EXPECT_NE(a1.ns[pid], *host);
  EXPECT_NE(b1.ns[pid], a1.ns[pid]);
  EXPECT_EQ(b1.ns[pid], b2.ns[pid]);
  EXPECT_EQ(m[tree.middle()].ns[pid], *host);
  // The scanner and ns_inode agree, for every namespace type.
  for (size_t i = 0; i < proc::kNsCount; ++i) {
    auto t = static_cast<NsType>(i);
    auto ino = proc::ns_inode({}, tree.b2(), t);
    ASSERT_TRUE(ino) << proc::ns_name(t) << ": " << ino.error().message();
    EXPECT_EQ(b2.ns[i], *ino) << proc::ns_name(t);
  }
  // The tree's uts/net namespaces differ from ours.
  auto our_net = proc::ns_inode({}, ::getpid(), NsType::net);
  ASSERT_TRUE(our_net);
  EXPECT_NE(a1.ns[proc::ns_index(NsType::net)], *our_net);
  EXPECT_EQ(a1.ppid, tree.middle());
  EXPECT_EQ(b2.ppid, tree.b1());
}

TEST(ProcPidns, VanishedProcessIsNotFound) {
  CTK_REQUIRE_ROOT();
  pid_t dead = 0;
  {
    ctk::test::NsTree tree;
    ASSERT_TRUE(tree.ok()) << tree.error();
    dead = tree.b2();
    auto p = proc::read_process(dead, {});
    ASSERT_TRUE(p) << p.error().message();
  }
  // The tree's destructor killed and reaped it; B2 was reaped by the dying
  // namespace. Give the kernel a moment to release the pid.
  for (int i = 0; i < 100 && ::kill(dead, 0) == 0; ++i)
    ::usleep(10000);
  auto gone = proc::read_process(dead, {});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
}

// An unprivileged scanner cannot read root's ns links (ptrace access
// check): the process stays in the result, marked partial, with the fields
// it could read.
TEST(ProcPidns, UnreadableFieldsArePartialNotFatal) {
  CTK_REQUIRE_ROOT();
  const pid_t root_pid = ::getpid();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(10);
    auto all = proc::scan({});
    if (!all)
      ::_exit(11);
    int code = 12; // root's test process not found
    for (const auto &p : *all) {
      if (p.pid == root_pid) {
        bool ns_empty = p.ns[proc::ns_index(NsType::pid)] == 0;
        code = !p.partial ? 13 : !ns_empty ? 14 : p.comm.empty() ? 15 : p.cgroups.empty() ? 16 : 0;
      }
      if (p.pid == ::getpid() && (p.partial || p.ns[proc::ns_index(NsType::pid)] == 0))
        ::_exit(17); // our own process is fully readable
    }
    ::_exit(code);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "10 setuid, 11 scan failed, 12 not found, 13 not partial, "
                                   "14 ns read, 15 no comm, 16 no cgroups, 17 self partial";
}

} // namespace
