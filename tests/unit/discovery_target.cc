// parse_target, parse_runtime and parse_image_ref.
#include <gtest/gtest.h>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
using namespace ctk::rt::discovery;

namespace {

TEST(DiscoveryTarget, Schemes) {
  auto t = parse_target("docker://web");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->runtime, Runtime::docker);
  EXPECT_EQ(t->name, "web");

  t = parse_target("podman://db");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->runtime, Runtime::podman);

  t = parse_target("crio://c8102a6f");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->runtime, Runtime::crio);
  EXPECT_EQ(t->name, "c8102a6f");

  t = parse_target("ctk://toolbox");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->runtime, Runtime::ctk);

  t = parse_target("containerd://k8s.io/d00d1e5b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->runtime, Runtime::containerd);
  EXPECT_EQ(t->ns, "k8s.io");
  EXPECT_EQ(t->name, "d00d1e5b");
}

TEST(DiscoveryTarget, Pids) {
  auto t = parse_target("pid://4242");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pid, 4242);
  EXPECT_FALSE(t->runtime);
  t = parse_target("4242");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pid, 4242);
  EXPECT_TRUE(t->name.empty());
}

TEST(DiscoveryTarget, BareNameSearchesAll) {
  auto t = parse_target("web");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->runtime);
  EXPECT_EQ(t->name, "web");
  EXPECT_EQ(t->pid, 0);
  t = parse_target("541c0a");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "541c0a");
}

TEST(DiscoveryTarget, Malformed) {
  for (const char *bad : {"", "docker://", "pid://abc", "pid://0", "pid://-3", "-5",
                          "containerd://x", "containerd://k8s.io/", "containerd:///id",
                          "nosuch://web", "docker://a/b", "99999999999"}) {
    auto t = parse_target(bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().code, Errc::invalid_argument) << bad;
  }
  EXPECT_NE(parse_target("pid://abc").error().message().find("pid://abc"), std::string::npos);
  EXPECT_NE(parse_target("containerd://x").error().message().find("containerd://NAMESPACE/ID"),
            std::string::npos);
}

TEST(DiscoveryTarget, RuntimeNames) {
  EXPECT_STREQ(runtime_name(Runtime::crio), "cri-o");
  EXPECT_STREQ(runtime_name(Runtime::unknown), "-");
  EXPECT_EQ(parse_runtime("crio"), Runtime::crio);
  EXPECT_EQ(parse_runtime("cri-o"), Runtime::crio);
  for (auto r : {Runtime::ctk, Runtime::docker, Runtime::podman, Runtime::containerd, Runtime::runc,
                 Runtime::crun})
    EXPECT_EQ(parse_runtime(runtime_name(r)), r);
  EXPECT_FALSE(parse_runtime("lxc"));
}

void expect_ref(const char *text, const char *transport, const char *reference) {
  auto r = parse_image_ref(text);
  ASSERT_TRUE(r) << text << ": " << r.error().message();
  EXPECT_EQ(r->transport, transport) << text;
  EXPECT_EQ(r->reference, reference) << text;
}

TEST(DiscoveryImageRef, Transports) {
  expect_ref("docker-archive:/tmp/img.tar", "docker-archive", "/tmp/img.tar");
  expect_ref("docker-archive:/tmp/img.tar:busybox:latest", "docker-archive",
             "/tmp/img.tar:busybox:latest");
  expect_ref("oci-archive:img.tar", "oci-archive", "img.tar");
  expect_ref("oci:/srv/layout:v1", "oci", "/srv/layout:v1");
  expect_ref("docker-daemon:busybox:latest", "docker-daemon", "busybox:latest");
  expect_ref("containers-storage:localhost/busybox", "containers-storage", "localhost/busybox");
  expect_ref("docker://registry.local:5000/app:v1", "docker", "registry.local:5000/app:v1");
}

TEST(DiscoveryImageRef, CtkNames) {
  expect_ref("busybox", "ctk", "busybox");
  expect_ref("busybox:1.36", "ctk", "busybox:1.36");
  expect_ref("localhost:5000/app@sha256:abcd", "ctk", "localhost:5000/app@sha256:abcd");
}

TEST(DiscoveryImageRef, Invalid) {
  for (const char *bad : {"", "  ", "oci:", "docker-archive:", "docker://",
                          "containers-storage:", "docker-daemon:", "bad name"}) {
    auto r = parse_image_ref(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
  EXPECT_NE(parse_image_ref("oci:").error().message().find("needs a path"), std::string::npos);
}

} // namespace
