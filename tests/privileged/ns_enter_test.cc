// run_in / open_namespaces against real namespaces made by the test.
#include <net/if.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "common/privileged.h"
#include "ctk/runtime/ns.h"
#include "ns_tree.h"

namespace {

using namespace ctk::rt;
using proc::NsType;

// Through /proc/self: inside a joined pid namespace getpid() is not our pid
// in the host's procfs.
uint64_t our_ns(NsType t) {
  struct stat st {};
  std::string path = std::string("/proc/self/ns/") + proc::ns_name(t);
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Runs fn in the target's namespaces and returns what fn wrote to the pipe.
struct Captured {
  Result<int> status = 0;
  std::string out;
};
Captured run_capture(const ns::EnterSpec &spec, const std::function<std::string()> &fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return {fail_errno("pipe"), ""};
  Captured c;
  c.status = ns::run_in(spec, [&] {
    std::string s = fn();
    return ::write(p[1], s.data(), s.size()) == static_cast<ssize_t>(s.size()) ? 0 : 1;
  });
  ::close(p[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0)
    c.out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  return c;
}

// NSpid of the calling process as the host's /proc shows it (our mount
// namespace, hence the host's procfs, is kept).
std::string self_nspid() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("NSpid:", 0) == 0)
      return line;
  return "";
}

TEST(NsRunIn, UtsNetPidOfNestedTarget) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree;
  ASSERT_TRUE(tree.ok()) << tree.error();
  const uint64_t net0 = our_ns(NsType::net), uts0 = our_ns(NsType::uts), pid0 = our_ns(NsType::pid);
  const std::string host0 = hostname();

  ns::EnterSpec spec;
  spec.target_pid = tree.a1();
  spec.types = {NsType::net, NsType::pid, NsType::uts};
  auto c = run_capture(spec, [] {
    struct if_nameindex *ifs = ::if_nameindex();
    int n = 0;
    for (auto *i = ifs; i && i->if_index; ++i)
      ++n;
    if (ifs)
      ::if_freenameindex(ifs);
    return hostname() + "|" + std::to_string(::getpid()) + "|" + self_nspid() + "|" +
           std::to_string(n) + "|" + std::to_string(our_ns(NsType::net));
  });
  ASSERT_TRUE(c.status) << c.status.error().message();
  EXPECT_EQ(*c.status, 0);
  auto target_net = proc::ns_inode({}, tree.a1(), NsType::net);
  ASSERT_TRUE(target_net);
  // Hostname of the target's UTS ns; pid as a member of ns A (A1 is 1, B1
  // and B2 are 2 and 3, so the first free pid is 4); the new net ns holds
  // only lo.
  auto parts = ctk::rt::split(c.out, '|');
  ASSERT_EQ(parts.size(), 5u) << c.out;
  EXPECT_EQ(parts[0], ctk::test::kTreeHostname);
  EXPECT_EQ(parts[1], "4");
  EXPECT_EQ(parts[2].substr(parts[2].rfind('\t') + 1), "4") << parts[2];
  EXPECT_EQ(parts[3], "1");
  EXPECT_EQ(parts[4], std::to_string(*target_net));

  // The caller's thread never moved.
  EXPECT_EQ(hostname(), host0);
  EXPECT_EQ(our_ns(NsType::net), net0);
  EXPECT_EQ(our_ns(NsType::uts), uts0);
  EXPECT_EQ(our_ns(NsType::pid), pid0);
}

TEST(NsRunIn, NestedPidNamespaceOfB2) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree;
  ASSERT_TRUE(tree.ok()) << tree.error();
  ns::EnterSpec spec;
  spec.target_pid = tree.b2();
  spec.types = {NsType::pid};
  auto c = run_capture(spec, [] { return self_nspid(); });
  ASSERT_TRUE(c.status) << c.status.error().message();
  // Three levels: host, ns A, ns B (where B1=1, B2=2 and we are 3).
  const std::string line = c.out.size() > 6 ? c.out.substr(6) : ""; // after "NSpid:"
  auto fields = ctk::rt::split(ctk::rt::trim(line), '\t');
  ASSERT_EQ(fields.size(), 3u) << c.out;
  EXPECT_EQ(fields[2], "3");
  EXPECT_EQ(fields[1], "4");
}

TEST(NsRunIn, ExitStatusAndSignalPropagate) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree;
  ASSERT_TRUE(tree.ok()) << tree.error();
  for (bool with_pid : {false, true}) {
    ns::EnterSpec spec;
    spec.target_pid = tree.a1();
    spec.types = {NsType::uts};
    if (with_pid)
      spec.types.push_back(NsType::pid);
    auto st = ns::run_in(spec, [] { return 42; });
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(*st, 42) << with_pid;
    auto sig = ns::run_in(spec, [] {
      ::kill(::getpid(), SIGTERM);
      ::pause();
      return 0;
    });
    ASSERT_TRUE(sig) << sig.error().message();
    EXPECT_EQ(*sig, 128 + SIGTERM) << with_pid;
    auto thrown = ns::run_in(spec, []() -> int { throw std::runtime_error("boom"); });
    ASSERT_TRUE(thrown) << thrown.error().message();
    EXPECT_EQ(*thrown, 125) << with_pid;
  }
}

TEST(NsRunIn, NamespaceFileInsteadOfPid) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree;
  ASSERT_TRUE(tree.ok()) << tree.error();
  ns::EnterSpec spec; // no target pid: nsenter --uts=FILE
  spec.files = {{NsType::uts, "/proc/" + std::to_string(tree.a1()) + "/ns/uts"}};
  auto c = run_capture(spec, [] { return hostname(); });
  ASSERT_TRUE(c.status) << c.status.error().message();
  EXPECT_EQ(c.out, ctk::test::kTreeHostname);
}

TEST(NsRunIn, MissingTargetIsNotFound) {
  CTK_REQUIRE_ROOT();
  ns::EnterSpec spec;
  spec.target_pid = 999999999;
  spec.types = {NsType::net};
  bool ran = false;
  auto st = ns::run_in(spec, [&] {
    ran = true;
    return 0;
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
  EXPECT_NE(st.error().message().find("999999999"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("net namespace"), std::string::npos);
  ns::EnterSpec none;
  EXPECT_FALSE(ns::run_in(none, [] { return 0; }));
}

TEST(NsRunIn, SetnsFailureIsReportedNotRun) {
  CTK_REQUIRE_ROOT();
  // A regular file is not a namespace: setns fails in the child, and the
  // caller gets an error naming the namespace instead of an exit status.
  ns::EnterSpec spec;
  spec.files = {{NsType::net, "/proc/self/status"}};
  auto st = ns::run_in(spec, [] { return 0; });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("net namespace /proc/self/status"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(st.error().sys_errno, EINVAL);
}

TEST(NsOpen, NsenterOrderUserFirstInTable) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree(CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWUSER);
  ASSERT_TRUE(tree.ok()) << tree.error();
  ns::EnterSpec spec;
  spec.target_pid = tree.a1();
  spec.types = {NsType::mnt, NsType::net, NsType::user, NsType::pid, NsType::uts, NsType::ipc};
  auto fds = ns::open_namespaces(spec);
  ASSERT_TRUE(fds) << fds.error().message();
  std::vector<NsType> order;
  for (const auto &f : *fds) {
    order.push_back(f.type);
    EXPECT_TRUE(::fcntl(f.fd.get(), F_GETFD) & FD_CLOEXEC);
  }
  EXPECT_EQ(order, (std::vector<NsType>{NsType::user, NsType::ipc, NsType::uts, NsType::net,
                                        NsType::pid, NsType::mnt}));

  // Our own user namespace is left out: setns(2) would refuse it.
  ns::EnterSpec own;
  own.target_pid = ::getpid();
  own.types = {NsType::user, NsType::net};
  auto o = ns::open_namespaces(own);
  ASSERT_TRUE(o) << o.error().message();
  ASSERT_EQ(o->size(), 1u);
  EXPECT_EQ((*o)[0].type, NsType::net);
}

// Root entering a child user namespace: the uts namespace (owned by the
// host's user ns) must be joined before the user namespace drops our
// privilege; nsenter's first pass does that, and so must we.
TEST(NsRunIn, UserNamespaceEnteredLastWhenDeprivileging) {
  CTK_REQUIRE_ROOT();
  ctk::test::NsTree tree(CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWUSER);
  ASSERT_TRUE(tree.ok()) << tree.error();
  ns::EnterSpec spec;
  spec.target_pid = tree.a1();
  spec.types = {NsType::user, NsType::uts, NsType::net};
  auto c = run_capture(spec, [] {
    return hostname() + "|" + std::to_string(::getuid()) + "|" +
           std::to_string(our_ns(NsType::user));
  });
  ASSERT_TRUE(c.status) << c.status.error().message();
  auto target_user = proc::ns_inode({}, tree.a1(), NsType::user);
  ASSERT_TRUE(target_user);
  auto parts = ctk::rt::split(c.out, '|');
  ASSERT_EQ(parts.size(), 3u) << c.out;
  EXPECT_EQ(parts[0], ctk::test::kTreeHostname);
  EXPECT_EQ(parts[1], "65534"); // unmapped root shows as the overflow uid
  EXPECT_EQ(parts[2], std::to_string(*target_user));
}

} // namespace
