// State files written by the tests themselves, read against the real /proc:
// docker's PID guard with this test process as the "container init", and
// hostile containers/storage entries.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
using namespace ctk::rt::discovery;
namespace fs = std::filesystem;

namespace {

const std::string kId = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";

class StateRoot : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctk-disc-state-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write(const std::string &rel, const std::string &text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  Resolver open() {
    Options o;
    o.paths.root = root_.string(); // /proc stays the real one
    o.apply_environment = false;
    o.detect_from_daemons = false;
    o.ask_daemons = false;
    auto r = Resolver::open(o);
    EXPECT_TRUE(r);
    return std::move(*r);
  }
  void write_docker(const std::string &started_at) {
    write(
        "var/lib/docker/containers/" + kId + "/config.v2.json",
        R"({"State":{"Running":true,"Paused":false,"Pid":)" + std::to_string(::getpid()) +
            R"(,"StartedAt":")" + started_at + R"("},"ID":")" + kId +
            R"(","Created":"2001-01-01T00:00:00Z","Config":{"Image":"busybox","Labels":{"a":"b"}},"Name":"/web"})");
  }
  fs::path root_;
};

TEST_F(StateRoot, DockerPidOfALaterProcessIsNotTheContainer) {
  // dockerd says web runs as our PID since 2001; this process started much
  // later, so it reused the PID of a container that died unseen.
  write_docker("2001-01-01T00:00:01.5Z");
  auto r = open();
  auto web = r.resolve("docker://web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->status, "exited");
  EXPECT_EQ(web->pid, 0);
}

TEST_F(StateRoot, DockerPidStartedWithTheContainerIsRunning) {
  write_docker("2099-01-01T00:00:00Z"); // any start time before it is plausible
  auto r = open();
  auto web = r.resolve("docker://web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->status, "running");
  EXPECT_EQ(web->pid, ::getpid());
  EXPECT_EQ(web->labels.at("a"), "b");
  EXPECT_EQ(web->created, 978307200);
}

TEST_F(StateRoot, HostileStorageIdsAreSkipped) {
  write("var/lib/containers/storage/overlay-containers/containers.json",
        R"([{"id":"../../../../etc","names":["evil"],"metadata":"{}"},
            {"id":")" +
            kId + R"(","names":["ok"],"metadata":"not json"},
            {"names":["noid"]}, 42])");
  auto r = open();
  auto all = r.list(true);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().name, "ok");
  EXPECT_EQ(all->front().runtime, Runtime::podman);
  EXPECT_EQ(all->front().status, "created");
  ASSERT_EQ(r.warnings().size(), 1u);
  EXPECT_NE(r.warnings()[0].find("malformed metadata"), std::string::npos) << r.warnings()[0];
}

TEST_F(StateRoot, StorageListThatIsNotAListIsAWarning) {
  write("var/lib/containers/storage/overlay-containers/containers.json", R"({"id":"x"})");
  auto r = open();
  auto all = r.list(true);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  ASSERT_EQ(r.warnings().size(), 1u);
  EXPECT_NE(r.warnings()[0].find("containers.json is not a list"), std::string::npos);
}

TEST_F(StateRoot, EmptyHostHasNoContainers) {
  auto r = open();
  auto all = r.list(true);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(r.warnings().empty());
  EXPECT_EQ(r.resolve("web").error().message(), "no such container: web");
  // This test process is on the host, not in a container (unless the test
  // runner itself runs in one: then it must name a runtime).
  auto self = r.resolve("pid://" + std::to_string(::getpid()));
  if (!self) {
    EXPECT_EQ(self.error().message(),
              "process " + std::to_string(::getpid()) + " is not in a container");
  }
}

} // namespace
