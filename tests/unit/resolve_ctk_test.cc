// discovery::resolve_ctk, the one lookup of ctk's own containers that every
// lifecycle command (stop, kill, rm, logs, commit, diff...) goes through,
// over the files ctk's container module writes (write_state, config.json).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ctk/runtime/container.h"
#include "ctk/runtime/container_ops.h"
#include "ctk/runtime/discovery.h"

using namespace ctk::rt;
namespace ct = ctk::rt::container;
namespace ds = ctk::rt::discovery;
using nlohmann::json;

namespace {

class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/ctk-resolve-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

void write(const std::string &path, const std::string &text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A container as `ctk run` leaves it: config.json in the state root and a
// state.json written by write_state in the run root.
void add(const ct::Paths &p, const std::string &id, const std::string &name, const ct::State &s) {
  ct::ContainerConfig c;
  c.id = id;
  c.name = name;
  c.image = "busybox:latest";
  c.created = "2026-11-27T18:09:57.34Z";
  write(p.dir(id) + "/config.json", json({{"id", id}, {"name", name}}).dump());
  std::filesystem::create_directories(p.run_dir(id));
  ASSERT_TRUE(ct::write_state(p, c, s));
}

uint64_t own_start() {
  std::ifstream f("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(f)), {});
  auto rest = text.substr(text.rfind(')') + 2);
  std::istringstream in(rest);
  std::string field;
  for (int i = 3; i <= 22 && in >> field; ++i) {
  }
  return std::stoull(field);
}

const std::string kWeb = "ab" + std::string(62, '1');
const std::string kDb = "ab" + std::string(62, '2');

} // namespace

TEST(ResolveCtk, ReadsWhatTheContainerModuleWrites) {
  TempDir t;
  ct::Paths p{t.path() + "/root", t.path() + "/run"};
  ct::State running;
  running.status = "running";
  running.pid = ::getpid();
  running.pid_start = own_start();
  running.cgroup = "/ctk/" + kWeb;
  add(p, kWeb, "web", running);
  ct::State reused = running;
  reused.pid_start = running.pid_start + 1; // the PID now belongs to someone else
  add(p, kDb, "db", reused);

  auto web = ds::resolve_ctk(p.root, p.run_root, "web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->id, kWeb);
  EXPECT_EQ(web->runtime, ds::Runtime::ctk);
  EXPECT_EQ(web->status, "running");
  EXPECT_EQ(web->pid, ::getpid());
  EXPECT_EQ(web->image, "busybox:latest");
  EXPECT_EQ(web->cgroup_path, "/ctk/" + kWeb);
  EXPECT_GT(web->created, 0);

  auto db = ds::resolve_ctk(p.root, p.run_root, "ctk://db");
  ASSERT_TRUE(db) << db.error().message();
  EXPECT_EQ(db->status, "exited");
  EXPECT_EQ(db->pid, 0);
}

TEST(ResolveCtk, AmbiguousPrefixListsCandidates) {
  TempDir t;
  ct::Paths p{t.path() + "/root", t.path() + "/run"};
  add(p, kWeb, "web", {});
  add(p, kDb, "db", {});
  auto amb = ds::resolve_ctk(p.root, p.run_root, "ab");
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().code, Errc::ambiguous);
  EXPECT_EQ(amb.error().message(), "container ID prefix ab is ambiguous: ctk://db (" +
                                       kDb.substr(0, 12) + "…), ctk://web (" + kWeb.substr(0, 12) +
                                       "…)");
  // The same through find_container, which the commands call.
  auto amb2 = ct::find_container(p, "ab");
  ASSERT_FALSE(amb2);
  EXPECT_EQ(amb2.error().code, Errc::ambiguous);
  EXPECT_EQ(ct::find_container(p, "ab1").value_or(""), kWeb);
  EXPECT_EQ(ct::find_container(p, "/db").value_or(""), kDb);
  auto none = ct::find_container(p, "nope");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message(), "no such ctk container: nope");
}

TEST(ResolveCtk, OtherRuntimesSchemesAreRefused) {
  TempDir t;
  ct::Paths p{t.path() + "/root", t.path() + "/run"};
  add(p, kWeb, "web", {});
  for (const char *target : {"docker://web", "podman://web", "containerd://moby/web"}) {
    auto r = ds::resolve_ctk(p.root, p.run_root, target);
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << target;
    EXPECT_NE(r.error().message().find("ctk acts only on its own containers"), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find(target), std::string::npos) << r.error().message();
  }
}

TEST(ResolveCtk, CreatedContainerWithoutStateIsFound) {
  // Before its first start (or after a reboot emptied the run root) only
  // config.json exists.
  TempDir t;
  ct::Paths p{t.path() + "/root", t.path() + "/run"};
  write(p.dir(kWeb) + "/config.json",
        json({{"id", kWeb}, {"name", "web"}, {"image", "busybox"}}).dump());
  write(p.root + "/containers/names.json", json({{"web", kWeb}}).dump());
  auto web = ds::resolve_ctk(p.root, p.run_root, "web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->id, kWeb);
  EXPECT_EQ(web->status, "created");
  EXPECT_EQ(web->image, "busybox");
}
