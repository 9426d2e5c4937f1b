// The resolver on fixture hosts (tests/fixtures/runtimes/<case>/{root,proc}),
// built by tests/fixtures/runtimes/make_fixtures.py from real docker and
// podman state files.
#include <gtest/gtest.h>

#include <algorithm>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
using namespace ctk::rt::discovery;

namespace {

const std::string kDockerWeb = "541c0a1ddeba10f6eb238e871e040e97395184517d81b46cfd213a8cfede0665";
const std::string kDockerOld = "0ab2b59ec860cb7a29cd0a5ded932ac5cd41b46035d9ff2facda42ce64a5fef0";
const std::string kPodmanWeb = "cb7eecd255e509af9a9bba1f41c9aa6a12495613eb1d92b1728a938546021585";
const std::string kCrioCtr = "c8102a6f3e7d4b5a9c8102a6f3e7d4b5a9c8102a6f3e7d4b5a9c8102a6f3e7d4";
const std::string kK8sCtr = "d00d1e5ba7ee1cbdaba746f9fde486f6fbd86bbf5ff2cdbc5112ad335036820a";
const std::string kRuncPlain = "ba5eba11ba5eba11ba5eba11ba5eba11ba5eba11ba5eba11ba5eba11ba5eba11";
const std::string kRuncStale = "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e";
const std::string kCtkToolbox = "0ab2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

Options fixture(const std::string &name) {
  Options o;
  std::string base = std::string(CTK_FIXTURES_DIR) + "/runtimes/" + name;
  o.paths.root = base + "/root";
  o.paths.proc = base + "/proc";
  o.ask_daemons = false;
  o.apply_environment = false; // the test runner's DOCKER_HOST must not leak in
  return o;
}

Resolver open_node() {
  auto r = Resolver::open(fixture("node"));
  EXPECT_TRUE(r) << r.error().message();
  return std::move(*r);
}

const Container *find(const std::vector<Container> &cs, const std::string &id) {
  auto it = std::find_if(cs.begin(), cs.end(), [&](const auto &c) { return c.id == id; });
  return it == cs.end() ? nullptr : &*it;
}

TEST(DiscoveryResolver, ListsEveryRuntimeOnce) {
  auto r = open_node();
  auto all = r.list(true);
  ASSERT_TRUE(all) << all.error().message();

  const Container *web = find(*all, kDockerWeb);
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->runtime, Runtime::docker); // not containerd's "moby" duplicate, not runc
  EXPECT_EQ(web->name, "web");
  EXPECT_EQ(web->image, "busybox");
  EXPECT_EQ(web->status, "running");
  EXPECT_EQ(web->pid, 5934);
  EXPECT_EQ(web->created, 1795802997); // 2026-11-27T18:09:57.34Z
  EXPECT_EQ(web->cgroup_path, "/docker/" + kDockerWeb);
  EXPECT_EQ(std::count_if(all->begin(), all->end(), [](auto &c) { return c.id == kDockerWeb; }), 1);

  const Container *old = find(*all, kDockerOld);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->name, "old");
  EXPECT_EQ(old->status, "exited");
  EXPECT_EQ(old->pid, 0);

  const Container *pweb = find(*all, kPodmanWeb);
  ASSERT_NE(pweb, nullptr);
  EXPECT_EQ(pweb->runtime, Runtime::podman);
  EXPECT_EQ(pweb->name, "web");
  EXPECT_EQ(pweb->image, "localhost/busybox:latest");
  EXPECT_EQ(pweb->pid, 6454);

  const Container *nginx = find(*all, kCrioCtr);
  ASSERT_NE(nginx, nullptr);
  EXPECT_EQ(nginx->runtime, Runtime::crio);
  EXPECT_EQ(nginx->name, "nginx");
  EXPECT_EQ(nginx->image, "registry.local/nginx:1.25");
  EXPECT_EQ(nginx->pid, 8100);

  const Container *coredns = find(*all, kK8sCtr);
  ASSERT_NE(coredns, nullptr);
  EXPECT_EQ(coredns->runtime, Runtime::containerd);
  EXPECT_EQ(coredns->ns, "k8s.io");
  EXPECT_EQ(coredns->name, "coredns");
  EXPECT_EQ(coredns->image, "registry.k8s.io/coredns/coredns:v1.10.1");
  EXPECT_EQ(coredns->pid, 9100);
  EXPECT_EQ(coredns->labels.at("io.kubernetes.cri.sandbox-namespace"), "kube-system");

  const Container *plain = find(*all, kRuncPlain);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->runtime, Runtime::runc);
  EXPECT_EQ(plain->pid, 7000);
  EXPECT_EQ(plain->bundle, "/srv/bundles/plain");

  const Container *toolbox = find(*all, kCtkToolbox);
  ASSERT_NE(toolbox, nullptr);
  EXPECT_EQ(toolbox->runtime, Runtime::ctk);
  EXPECT_EQ(toolbox->name, "toolbox");
  EXPECT_EQ(toolbox->pid, 7200);
  EXPECT_EQ(toolbox->labels.at("purpose"), "debug");
}

TEST(DiscoveryResolver, MalformedStateIsSkippedWithAWarningNamingTheFile) {
  auto r = open_node();
  auto all = r.list(true);
  ASSERT_TRUE(all); // one bad file never fails the listing
  EXPECT_EQ(find(*all, "badc0ffee0000000000000000000000000000000000000000000000000000000"),
            nullptr);
  auto has = [&](const std::string &needle) {
    return std::any_of(r.warnings().begin(), r.warnings().end(),
                       [&](auto &w) { return w.find(needle) != std::string::npos; });
  };
  EXPECT_TRUE(
      has("/var/lib/docker/containers/"
          "badc0ffee0000000000000000000000000000000000000000000000000000000/config.v2.json"))
      << (r.warnings().empty() ? "" : r.warnings()[0]);
  EXPECT_TRUE(has("/run/runc/broken/state.json"));
  EXPECT_EQ(r.warnings().size(), 2u);
}

TEST(DiscoveryResolver, RunningOnly) {
  auto r = open_node();
  auto running = r.list(false);
  ASSERT_TRUE(running);
  for (const auto &c : *running) {
    EXPECT_EQ(c.status, "running") << c.id;
    EXPECT_GT(c.pid, 0) << c.id;
  }
  EXPECT_EQ(find(*running, kDockerOld), nullptr);
  EXPECT_NE(find(*running, kDockerWeb), nullptr);
  // docker web, podman web, cri-o pod + nginx, k8s pod + coredns, runc plain, ctk toolbox.
  EXPECT_EQ(running->size(), 8u);
}

TEST(DiscoveryResolver, PidReuseGuard) {
  auto r = open_node();
  auto all = r.list(true);
  ASSERT_TRUE(all);
  // runc recorded start tick 111; PID 7100 is now cron, started at 99999.
  const Container *stale = find(*all, kRuncStale);
  ASSERT_NE(stale, nullptr);
  EXPECT_EQ(stale->status, "stopped");
  EXPECT_EQ(stale->pid, 0);
  // ctk recorded pid 4242 with start 1234; 4242 is now a shell started at 40000.
  auto ctk_stale = r.resolve("ctk://stale");
  ASSERT_TRUE(ctk_stale) << ctk_stale.error().message();
  EXPECT_EQ(ctk_stale->status, "exited");
  EXPECT_EQ(ctk_stale->pid, 0);
  EXPECT_FALSE(r.resolve("pid://7100")); // cron is not a container
}

TEST(DiscoveryResolver, AmbiguousNameListsCandidates) {
  auto r = open_node();
  auto web = r.resolve("web");
  ASSERT_FALSE(web);
  EXPECT_EQ(web.error().code, Errc::ambiguous);
  EXPECT_EQ(web.error().message(),
            "container name web is ambiguous: docker://web (541c0a1ddeba\u2026), "
            "podman://web (cb7eecd255e5\u2026)");
}

TEST(DiscoveryResolver, SchemesPickTheRuntime) {
  auto r = open_node();
  auto d = r.resolve("docker://web");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->id, kDockerWeb);
  EXPECT_EQ(d->pid, 5934);
  auto p = r.resolve("podman://web");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->pid, 6454);
  auto c = r.resolve("crio://c8102a");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->name, "nginx");
  auto k = r.resolve("containerd://k8s.io/" + kK8sCtr);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_EQ(k->pid, 9100);
  auto kn = r.resolve("containerd://k8s.io/coredns");
  ASSERT_TRUE(kn) << kn.error().message();
  EXPECT_EQ(kn->id, kK8sCtr);
  auto moby = r.resolve("containerd://moby/541c0a");
  ASSERT_TRUE(moby) << moby.error().message();
  EXPECT_EQ(moby->name, "web");
  auto t = r.resolve("ctk://toolbox");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, kCtkToolbox);
  EXPECT_EQ(r.resolve("containerd://default/" + kK8sCtr).error().message(),
            "no such container: containerd://default/" + kK8sCtr);
  EXPECT_EQ(r.resolve("podman://old").error().code, Errc::not_found);
}

TEST(DiscoveryResolver, NotFound) {
  auto r = open_node();
  auto w = r.resolve("nosuch");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::not_found);
  EXPECT_EQ(w.error().message(), "no such container: nosuch");
  EXPECT_EQ(r.resolve("docker://nosuch").error().message(), "no such container: docker://nosuch");
}

TEST(DiscoveryResolver, IdPrefixes) {
  auto r = open_node();
  auto amb = r.resolve("0ab2");
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().code, Errc::ambiguous);
  EXPECT_EQ(amb.error().message(), "container ID prefix 0ab2 is ambiguous: ctk://toolbox "
                                   "(0ab2c3d4e5f6\u2026), docker://old (0ab2b59ec860\u2026)");
  auto old = r.resolve("0ab2b");
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->name, "old");
  auto full = r.resolve(kRuncPlain);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->pid, 7000);
}

TEST(DiscoveryResolver, ExactNameBeatsIdPrefix) {
  auto r = open_node();
  // ctk container named "ba5eba11"; the runc container's ID starts with it.
  auto c = r.resolve("ba5eba11");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->runtime, Runtime::ctk);
  auto runc = r.resolve("ba5eba11ba5e");
  ASSERT_TRUE(runc) << runc.error().message();
  EXPECT_EQ(runc->runtime, Runtime::runc);
}

TEST(DiscoveryResolver, PidTargets) {
  auto r = open_node();
  // A process exec'd into web, in a sub-cgroup: the container, with its init PID.
  auto c = r.resolve("pid://5990");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id, kDockerWeb);
  EXPECT_EQ(c->name, "web");
  EXPECT_EQ(c->pid, 5934);
  auto n = r.resolve("8100");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->runtime, Runtime::crio);
  // runc's /runc-plain cgroup names no runtime: found as a known init PID.
  auto plain = r.resolve("7000");
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(plain->id, kRuncPlain);

  auto host = r.resolve("4242");
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code, Errc::not_found);
  EXPECT_EQ(host.error().message(), "process 4242 is not in a container");
  auto gone = r.resolve("pid://31337");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message(), "no such process: 31337");
}

TEST(DiscoveryResolver, ContainerOf) {
  auto r = open_node();
  proc::Process conmon;
  conmon.pid = 6443; // libpod-conmon-<id> cgroup: podman's monitor, not the container
  EXPECT_FALSE(r.container_of(conmon));
  proc::Process crio_conmon;
  crio_conmon.pid = 8040;
  EXPECT_FALSE(r.container_of(crio_conmon));

  // Cgroups handed in by the caller (proc::scan) are used as given.
  proc::Process p;
  p.pid = 123456;
  p.cgroups.push_back(
      {0, {}, "/kubepods/burstable/pod7f3c1e2d-4b5a-6978-8a9b-0c1d2e3f4a5b/" + kK8sCtr});
  auto c = r.container_of(p);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->name, "coredns");

  // A container no state knows about is still reported from its cgroup.
  proc::Process q;
  q.pid = 123457;
  q.cgroups.push_back({1, {"memory"}, "/system.slice/docker-" + std::string(64, 'e') + ".scope"});
  auto u = r.container_of(q);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->runtime, Runtime::docker);
  EXPECT_EQ(u->id, std::string(64, 'e'));
  EXPECT_EQ(u->source, "cgroup:/system.slice/docker-" + std::string(64, 'e') + ".scope");
}

TEST(DiscoveryResolver, DockerdDownResolvesByNameThroughTheContainersMounts) {
  // Nothing at the standard paths; only a shim and the container live on.
  auto r = Resolver::open(fixture("dockerd-down"));
  ASSERT_TRUE(r);
  auto web = r->resolve("docker://web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->id, kDockerWeb);
  EXPECT_EQ(web->pid, 5934);
  EXPECT_EQ(web->status, "running");
  // The data root came from /proc/5934/mountinfo (254:1 /x/data/...), translated
  // through the host's "254:1 / /tmp" mount.
  const auto &roots = r->options().roots.docker_data_roots;
  EXPECT_NE(std::find(roots.begin(), roots.end(), "/tmp/x/data"), roots.end());
  const auto &states = r->options().roots.containerd_states;
  EXPECT_NE(std::find(states.begin(), states.end(), "/tmp/x/exec/containerd/daemon"), states.end());

  auto by_name = r->resolve("web");
  ASSERT_TRUE(by_name) << by_name.error().message();
  EXPECT_EQ(by_name->id, kDockerWeb);
}

TEST(DiscoveryResolver, DockerdDownWithoutLookingAtProcessesFindsNothing) {
  Options o = fixture("dockerd-down");
  o.detect_from_daemons = false;
  auto r = Resolver::open(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resolve("docker://web").error().code, Errc::not_found);
  // The cgroup still says it is a docker container.
  auto c = r->resolve("pid://5934");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->runtime, Runtime::docker);
  EXPECT_EQ(c->id, kDockerWeb);
}

} // namespace
