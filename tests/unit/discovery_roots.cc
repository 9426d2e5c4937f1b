// Runtime roots from daemons' command lines and from the environment.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
using namespace ctk::rt::discovery;

namespace {

bool has(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Options fixture(const std::string &name) {
  Options o;
  std::string base = std::string(CTK_FIXTURES_DIR) + "/runtimes/" + name;
  o.paths.root = base + "/root";
  o.paths.proc = base + "/proc";
  o.ask_daemons = false;
  o.apply_environment = false;
  return o;
}

TEST(DiscoveryRoots, FromDaemonCommandLines) {
  // Real command lines: dockerd --data-root /tmp/ctkdisc/data --exec-root
  // /tmp/ctkdisc/exec -H unix:///tmp/ctkdisc/docker.sock, its containerd
  // --config (root/state in the TOML), a crio, a conmon, a shim.
  auto r = Resolver::open(fixture("daemons"));
  ASSERT_TRUE(r);
  const RuntimeRoots &roots = r->options().roots;
  EXPECT_TRUE(has(roots.docker_data_roots, "/tmp/ctkdisc/data"));
  EXPECT_TRUE(has(roots.docker_data_roots, "/var/lib/docker")); // defaults stay
  EXPECT_TRUE(has(roots.docker_exec_roots, "/tmp/ctkdisc/exec"));
  EXPECT_TRUE(has(roots.docker_sockets, "/tmp/ctkdisc/docker.sock"));
  EXPECT_TRUE(has(roots.containerd_states, "/tmp/ctkdisc/exec/containerd/daemon"));
  EXPECT_TRUE(has(roots.containerd_roots, "/tmp/ctkdisc/data/containerd/daemon"));
  EXPECT_TRUE(has(roots.containerd_states, "/srv/ctrd-state")); // the shim's cwd
  EXPECT_TRUE(has(roots.storage_roots, "/srv/crio/storage"));
  EXPECT_TRUE(has(roots.storage_run_roots, "/run/crio-storage"));
  EXPECT_TRUE(has(roots.storage_roots, "/tmp/ctkdisc/pm/graph"));   // conmon -b
  EXPECT_TRUE(has(roots.storage_run_roots, "/tmp/ctkdisc/pm/run")); // conmon -p
  // A non-daemon with the same flag is not believed.
  EXPECT_FALSE(has(roots.docker_data_roots, "/not/a/daemon"));
}

TEST(DiscoveryRoots, FromProcessesTheCallerScanned) {
  // An empty /proc: only the handed-in processes can tell.
  Options o = fixture("daemons");
  o.paths.proc = std::string(CTK_FIXTURES_DIR) + "/runtimes/no-such-proc";
  std::vector<proc::Process> ps(2);
  ps[0].pid = 10;
  ps[0].comm = "dockerd";
  ps[0].cmdline = {"/usr/sbin/dockerd", "--data-root=/srv/docker", "--host", "unix:///srv/d.sock"};
  ps[1].pid = 11; // no comm (not requested from the scan): taken from argv[0]
  ps[1].cmdline = {"/usr/bin/crio", "--runroot=/srv/crio-run"};
  o.processes = &ps;
  auto r = Resolver::open(o);
  ASSERT_TRUE(r);
  const RuntimeRoots &roots = r->options().roots;
  EXPECT_TRUE(has(roots.docker_data_roots, "/srv/docker"));
  EXPECT_TRUE(has(roots.docker_sockets, "/srv/d.sock"));
  EXPECT_TRUE(has(roots.storage_run_roots, "/srv/crio-run"));
  EXPECT_FALSE(has(roots.docker_data_roots, "/tmp/ctkdisc/data")); // /proc was not walked
}

TEST(DiscoveryRoots, NotReadWhenDisabled) {
  Options o = fixture("daemons");
  o.detect_from_daemons = false;
  auto r = Resolver::open(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options().roots.docker_data_roots, std::vector<std::string>{"/var/lib/docker"});
}

// Restores an environment variable when the test ends, pass or fail.
class EnvGuard {
public:
  EnvGuard(const char *name, const char *value) : name_(name) {
    if (const char *old = ::getenv(name))
      old_ = old;
    ::setenv(name, value, 1);
  }
  ~EnvGuard() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

private:
  const char *name_;
  std::optional<std::string> old_;
};

TEST(DiscoveryRoots, FromEnvironment) {
  EnvGuard host("DOCKER_HOST", "unix:///tmp/other/docker.sock");
  EnvGuard ctrd("CONTAINERD_ADDRESS", "/run/k3s/containerd/containerd.sock");
  EnvGuard conf("CONTAINERS_STORAGE_CONF", "/etc/containers/custom-storage.conf");
  Options o = fixture("node");
  o.apply_environment = true;
  o.detect_from_daemons = false;
  auto r = Resolver::open(o);
  ASSERT_TRUE(r);
  const RuntimeRoots &roots = r->options().roots;
  ASSERT_FALSE(roots.docker_sockets.empty());
  EXPECT_EQ(roots.docker_sockets.front(), "/tmp/other/docker.sock");
  EXPECT_TRUE(has(roots.containerd_states, "/run/k3s/containerd"));
  EXPECT_TRUE(has(roots.storage_roots, "/srv/storage"));
  EXPECT_TRUE(has(roots.storage_run_roots, "/run/srv-storage"));
  EXPECT_FALSE(has(roots.storage_roots, "/wrong")); // [storage.options] is another table
}

TEST(DiscoveryRoots, TcpDockerHostIsIgnored) {
  EnvGuard host("DOCKER_HOST", "tcp://10.0.0.1:2375");
  Options o = fixture("node");
  o.apply_environment = true;
  o.detect_from_daemons = false;
  auto r = Resolver::open(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options().roots.docker_sockets, std::vector<std::string>{"/var/run/docker.sock"});
}

} // namespace
