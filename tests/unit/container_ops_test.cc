// container_ops.h: --change parsing, the inspect document, the json-file
// log, finding and loading a container's record, the upper dir's changes.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ctk/runtime/container_ops.h"

using namespace ctk::rt;
using namespace ctk::rt::container;
using nlohmann::json;

namespace {

class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/ctk-ops-XXXXXX";
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

const std::string kId1 = std::string(64, 'a');
const std::string kId2 = "ab" + std::string(62, 'c');

json change(json cfg, const std::string &instr) {
  auto r = apply_change(cfg, instr);
  EXPECT_TRUE(r) << instr << ": " << (r ? "" : r.error().message());
  return cfg;
}

// ---- --change ------------------------------------------------------------------

TEST(ContainerChange, CmdExecAndShellForms) {
  EXPECT_EQ(change({}, R"(CMD ["sh", "-c", "echo hi"])")["Cmd"], json({"sh", "-c", "echo hi"}));
  EXPECT_EQ(change({}, "CMD echo hi there")["Cmd"], json({"/bin/sh", "-c", "echo hi there"}));
  // Not a JSON array of strings: shell form, as docker treats it.
  EXPECT_EQ(change({}, "CMD [1, 2]")["Cmd"], json({"/bin/sh", "-c", "[1, 2]"}));
  EXPECT_EQ(change({}, R"(entrypoint ["/init"])")["Entrypoint"], json({"/init"}));
}

TEST(ContainerChange, EnvSetsAndReplaces) {
  json cfg = {{"Env", {"PATH=/bin", "A=1"}}};
  cfg = change(cfg, R"(ENV A=2 B="two words" C=x\ y)");
  EXPECT_EQ(cfg["Env"], json({"PATH=/bin", "A=2", "B=two words", "C=x y"}));
  cfg = change(cfg, "ENV LEGACY value with spaces");
  EXPECT_EQ(cfg["Env"].back(), "LEGACY=value with spaces");
}

TEST(ContainerChange, LabelExposeUserWorkdirVolume) {
  json cfg = change({}, R"(LABEL org.x=1 "com.y"="a b")");
  EXPECT_EQ(cfg["Labels"], json({{"org.x", "1"}, {"com.y", "a b"}}));
  cfg = change(cfg, "EXPOSE 80 53/udp");
  EXPECT_EQ(cfg["ExposedPorts"], json({{"80/tcp", json::object()}, {"53/udp", json::object()}}));
  cfg = change(cfg, "USER nobody:nogroup");
  EXPECT_EQ(cfg["User"], "nobody:nogroup");
  cfg = change(cfg, "WORKDIR /srv");
  cfg = change(cfg, "WORKDIR app");
  EXPECT_EQ(cfg["WorkingDir"], "/srv/app");
  cfg = change(cfg, R"(VOLUME ["/data", "/logs"])");
  cfg = change(cfg, "VOLUME /cache");
  EXPECT_EQ(
      cfg["Volumes"],
      json({{"/data", json::object()}, {"/logs", json::object()}, {"/cache", json::object()}}));
}

TEST(ContainerChange, RejectsWhatDockerRejects) {
  json cfg;
  for (const char *bad : {"RUN apt-get update", "CMD", "EXPOSE 0", "EXPOSE 80/icmp", "EXPOSE http",
                          "ENV =x", "ENV lonely", "LABEL \"unterminated=1", ""}) {
    auto r = apply_change(cfg, bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
    }
  }
  auto r = apply_change(cfg, "RUN x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("RUN is not one of CMD"), std::string::npos);
}

// ---- inspect -------------------------------------------------------------------

Record sample_record() {
  Record r;
  ContainerConfig &c = r.config;
  c.id = kId1;
  c.name = "web";
  c.image = "busybox";
  c.image_id = "sha256:" + std::string(64, 'b');
  c.entrypoint = {"/bin/httpd"};
  c.cmd = {"-f", "-p", "80"};
  c.env = {"PATH=/bin", "A=1"};
  c.hostname = "web1";
  c.user = "1000:1000";
  c.working_dir = "/srv";
  c.tty = true;
  c.auto_remove = true;
  c.read_only = true;
  c.mounts = {{"bind", "/host/data", "/data", true, ""}, {"tmpfs", "", "/run", false, "size=1m"}};
  c.ports = {{"", 8080, 80, "tcp"}};
  c.security.cap_add = {"NET_ADMIN"};
  c.limits.memory = 64 << 20;
  c.limits.cpus = 0.5;
  c.limits.pids = 100;
  c.labels = {{"k", "v"}};
  c.created = "2026-11-27T18:00:00.5Z";
  State &s = r.state;
  s.status = "running";
  s.pid = 4242;
  s.started_at = "2026-11-27T18:00:01Z";
  s.endpoint = net::Endpoint{"10.89.0.2", "10.89.0.1", "02:42:0a:59:00:02",
                             "veth1",     16,          {{"", 8080, 80, "tcp"}}};
  return r;
}

TEST(ContainerInspect, DockerKeysForARunningContainer) {
  Paths p{"/var/lib/ctk", "/run/ctk"};
  auto doc = inspect_document(sample_record(), p, {.lowerdir = "/l2:/l1"});
  EXPECT_EQ(doc["Id"], kId1);
  EXPECT_EQ(doc["Name"], "/web");
  EXPECT_EQ(doc["Path"], "/bin/httpd");
  EXPECT_EQ(doc["Args"], json({"-f", "-p", "80"}));
  EXPECT_EQ(doc["State"]["Status"], "running");
  EXPECT_EQ(doc["State"]["Running"], true);
  EXPECT_EQ(doc["State"]["Pid"], 4242);
  EXPECT_EQ(doc["Image"], "sha256:" + std::string(64, 'b'));
  EXPECT_EQ(doc["Config"]["Image"], "busybox");
  EXPECT_EQ(doc["Config"]["Hostname"], "web1");
  EXPECT_EQ(doc["Config"]["User"], "1000:1000");
  EXPECT_EQ(doc["Config"]["Env"], json({"PATH=/bin", "A=1"}));
  EXPECT_EQ(doc["Config"]["Cmd"], json({"-f", "-p", "80"}));
  EXPECT_EQ(doc["Config"]["Entrypoint"], json({"/bin/httpd"}));
  EXPECT_EQ(doc["Config"]["Labels"], json({{"k", "v"}}));
  EXPECT_EQ(doc["Config"]["Tty"], true);
  EXPECT_EQ(doc["HostConfig"]["Memory"], 64 << 20);
  EXPECT_EQ(doc["HostConfig"]["NanoCpus"], 500000000);
  EXPECT_EQ(doc["HostConfig"]["PidsLimit"], 100);
  EXPECT_EQ(doc["HostConfig"]["CapAdd"], json({"NET_ADMIN"}));
  EXPECT_TRUE(doc["HostConfig"]["CapDrop"].is_null());
  EXPECT_EQ(doc["HostConfig"]["ReadonlyRootfs"], true);
  EXPECT_EQ(doc["HostConfig"]["AutoRemove"], true);
  EXPECT_EQ(doc["HostConfig"]["NetworkMode"], "bridge");
  EXPECT_EQ(doc["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
  ASSERT_EQ(doc["Mounts"].size(), 2u);
  EXPECT_EQ(doc["Mounts"][0]["Source"], "/host/data");
  EXPECT_EQ(doc["Mounts"][0]["Destination"], "/data");
  EXPECT_EQ(doc["Mounts"][0]["RW"], false);
  EXPECT_EQ(doc["Mounts"][1]["Type"], "tmpfs");
  EXPECT_EQ(doc["NetworkSettings"]["IPAddress"], "10.89.0.2");
  EXPECT_EQ(doc["NetworkSettings"]["Gateway"], "10.89.0.1");
  EXPECT_EQ(doc["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], "10.89.0.2");
  EXPECT_EQ(doc["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"], "0.0.0.0");
  EXPECT_EQ(doc["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"], "8080");
  EXPECT_EQ(doc["GraphDriver"]["Name"], "overlay");
  EXPECT_EQ(doc["GraphDriver"]["Data"]["UpperDir"], "/var/lib/ctk/containers/" + kId1 + "/upper");
  EXPECT_EQ(doc["GraphDriver"]["Data"]["MergedDir"], "/run/ctk/containers/" + kId1 + "/rootfs");
  EXPECT_EQ(doc["GraphDriver"]["Data"]["LowerDir"], "/l2:/l1");
  EXPECT_EQ(doc["LogPath"], "/var/lib/ctk/containers/" + kId1 + "/" + kId1 + "-json.log");
}

TEST(ContainerInspect, StoppedContainerHasNoPidNorAddress) {
  Record r = sample_record();
  r.state.status = "exited";
  r.state.exit_code = 3;
  r.config.cmd.clear();
  auto doc = inspect_document(r, {}, {});
  EXPECT_EQ(doc["State"]["Running"], false);
  EXPECT_EQ(doc["State"]["Pid"], 0);
  EXPECT_EQ(doc["State"]["ExitCode"], 3);
  EXPECT_EQ(doc["NetworkSettings"]["IPAddress"], "");
  EXPECT_TRUE(doc["NetworkSettings"]["Ports"]["80/tcp"].is_null()); // declared, not published
  EXPECT_TRUE(doc["Config"]["Cmd"].is_null());
  EXPECT_EQ(doc["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
}

// ---- the record on disk ------------------------------------------------------------

TEST(ContainerRecord, StateFromJsonReadsEveryKey) {
  auto s = state_from_json(json::parse(R"({"status":"running","pid":12,"pid_start":99,
    "monitor_pid":11,"exit_code":0,"oom_killed":true,"started_at":"t1","finished_at":"",
    "cgroup":"/ctk/x","endpoint":{"ip":"10.89.0.5","gateway":"10.89.0.1","mac":"m",
    "host_veth":"vethX","prefix":24,"ports":[{"host_ip":"127.0.0.1","host_port":8080,
    "container_port":80,"proto":"udp"}]}})"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 12);
  EXPECT_EQ(s->pid_start, 99u);
  EXPECT_EQ(s->monitor_pid, 11);
  EXPECT_TRUE(s->oom_killed);
  ASSERT_TRUE(s->endpoint);
  EXPECT_EQ(s->endpoint->prefix, 24);
  ASSERT_EQ(s->endpoint->ports.size(), 1u);
  EXPECT_EQ(s->endpoint->ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(s->endpoint->ports[0].proto, "udp");
  EXPECT_FALSE(state_from_json(json::array()));
  EXPECT_FALSE(state_from_json(json::parse(R"({"pid":"x"})")));
}

TEST(ContainerRecord, FindByNamePrefixAndAmbiguity) {
  TempDir t;
  Paths p{t.path() + "/root", t.path() + "/run"};
  write(p.dir(kId1) + "/config.json", json({{"id", kId1}, {"name", "web"}}).dump());
  write(p.dir(kId2) + "/config.json", json({{"id", kId2}, {"name", "db"}}).dump());
  write(p.root + "/containers/names.json", json({{"web", kId1}, {"db", kId2}}).dump());
  EXPECT_EQ(find_container(p, "web").value_or(""), kId1);
  EXPECT_EQ(find_container(p, "/db").value_or(""), kId2);
  EXPECT_EQ(find_container(p, "abc").value_or(""), kId2);
  EXPECT_EQ(find_container(p, kId1).value_or(""), kId1);
  auto amb = find_container(p, "a");
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().code, Errc::ambiguous);
  auto none = find_container(p, "nope");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  // Without names.json the config's name still finds it.
  std::filesystem::remove(p.root + "/containers/names.json");
  EXPECT_EQ(find_container(p, "db").value_or(""), kId2);
}

TEST(ContainerRecord, RunningWithDeadProcessReadsAsExited) {
  TempDir t;
  Paths p{t.path() + "/root", t.path() + "/run"};
  write(p.dir(kId1) + "/config.json",
        json({{"id", kId1}, {"name", "web"}, {"cmd", {"sh"}}}).dump());
  // A PID that cannot exist (above pid_max's ceiling).
  write(p.run_dir(kId1) + "/state.json",
        json({{"status", "running"}, {"pid", 4194305}, {"exit_code", 0}}).dump());
  auto rec = load_record(p, kId1);
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->config.name, "web");
  EXPECT_EQ(rec->state.status, "exited");
  EXPECT_EQ(rec->state.pid, 0);
  // Our own PID with the right start time is alive; with a wrong one it is
  // a reused PID.
  write(p.run_dir(kId1) + "/state.json",
        json({{"status", "running"}, {"pid", ::getpid()}, {"pid_start", 1}}).dump());
  EXPECT_EQ(load_record(p, kId1)->state.status, "exited");
  write(p.run_dir(kId1) + "/state.json", json({{"status", "running"}, {"pid", ::getpid()}}).dump());
  EXPECT_EQ(load_record(p, kId1)->state.status, "running");
  // No state file: created (or the run root was wiped).
  std::filesystem::remove(p.run_dir(kId1) + "/state.json");
  EXPECT_EQ(load_record(p, kId1)->state.status, "created");
}

// ---- logs ----------------------------------------------------------------------------

std::string log_line(const std::string &stream, const std::string &text, const std::string &time) {
  return json({{"log", text}, {"stream", stream}, {"time", time}}).dump() + "\n";
}

TEST(ContainerLogs, TailSinceAndStreams) {
  std::string text = log_line("stdout", "one\n", "2026-11-27T10:00:00.000000001Z") +
                     log_line("stderr", "two\n", "2026-11-27T10:00:01.5Z") +
                     log_line("stdout", "three\n", "2026-11-27T10:00:02Z");
  auto all = read_log(text, {});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].stream, "stderr");
  EXPECT_EQ((*all)[1].text, "two\n");
  EXPECT_EQ((*all)[0].time, "2026-11-27T10:00:00.000000001Z");
  auto tail = read_log(text, {.tail = 2});
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].text, "two\n");
  EXPECT_EQ(read_log(text, {.tail = 0})->size(), 0u);
  EXPECT_EQ(read_log(text, {.tail = 10})->size(), 3u);
  auto since = read_log(text, {.since = *parse_time_ns("2026-11-27T10:00:01Z")});
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ((*since)[0].text, "two\n");
}

TEST(ContainerLogs, TruncatedLastLineIsPendingMalformedIsAnError) {
  std::string good = log_line("stdout", "a\n", "2026-11-27T10:00:00Z");
  auto r = read_log(good + R"({"log":"b\n","str)", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u);
  auto bad = read_log(good + "garbage\n" + good, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("log line 2"), std::string::npos);
  EXPECT_FALSE(parse_log_line(R"({"log":"x","stream":"stdin"})"));
}

TEST(ContainerLogs, TimesAndSince) {
  EXPECT_EQ(parse_time_ns("1970-01-01T00:00:01Z"), 1000000000);
  EXPECT_EQ(parse_time_ns("1970-01-01T00:00:01.25Z"), 1250000000);
  EXPECT_EQ(parse_time_ns("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_time_ns("1970-01-01T00:00:00.123456789123Z"), 123456789);
  EXPECT_FALSE(parse_time_ns("1970-01-01"));
  EXPECT_FALSE(parse_time_ns("1970-01-01T00:00:00"));
  const int64_t now = 10'000'000'000'000;
  EXPECT_EQ(parse_since("10m", now).value_or(0), now - 600'000'000'000);
  EXPECT_EQ(parse_since("1h30m", now).value_or(0), now - 5400'000'000'000);
  EXPECT_EQ(parse_since("1700000000", now).value_or(0), 1700000000'000'000'000);
  EXPECT_EQ(parse_since("1700000000.5", now).value_or(0), 1700000000'500'000'000);
  EXPECT_EQ(parse_since("1970-01-01T00:00:02Z", now).value_or(0), 2'000'000'000);
  EXPECT_FALSE(parse_since("yesterday", now));
  EXPECT_FALSE(parse_since("10x", now));
}

// ---- upper dir changes (whiteout devices need root: privileged tests) ----------------

TEST(ContainerDiff, AddedAndChangedAgainstLowerDirs) {
  TempDir t;
  const std::string lower = t.path() + "/lower", upper = t.path() + "/upper";
  write(lower + "/etc/passwd", "root\n");
  write(lower + "/bin/sh", "x");
  write(upper + "/etc/passwd", "root\nme\n");
  write(upper + "/etc/new.conf", "n");
  write(upper + "/tmp/x/y", "y");
  auto ch = upper_changes(upper, {lower});
  ASSERT_TRUE(ch) << ch.error().message();
  std::vector<std::string> got;
  for (const auto &c : *ch)
    got.push_back(std::string(1, c.kind) + " " + c.path);
  EXPECT_EQ(got, (std::vector<std::string>{"C /etc", "A /etc/new.conf", "C /etc/passwd", "A /tmp",
                                           "A /tmp/x", "A /tmp/x/y"}));
}

TEST(ContainerDiff, RuntimeMountPointStubsAreNotChanges) {
  TempDir t;
  const std::string lower = t.path() + "/lower", upper = t.path() + "/upper";
  write(lower + "/etc/passwd", "root\n");
  // What the runtime leaves in the upper dir of an image without them: empty
  // mount points, and /etc copied up to hold them.
  write(upper + "/etc/hostname", "");
  write(upper + "/etc/resolv.conf", "");
  std::filesystem::create_directories(upper + "/dev");
  std::filesystem::create_directories(upper + "/proc");
  auto ch = upper_changes(upper, {lower});
  ASSERT_TRUE(ch) << ch.error().message();
  EXPECT_TRUE(ch->empty()) << ch->front().path;
  // Content the container wrote is a change, even at those paths.
  write(upper + "/etc/hosts", "127.0.0.1 x\n");
  write(upper + "/dev/thing", "x");
  ch = upper_changes(upper, {lower});
  ASSERT_TRUE(ch);
  std::vector<std::string> got;
  for (const auto &c : *ch)
    got.push_back(std::string(1, c.kind) + " " + c.path);
  EXPECT_EQ(got, (std::vector<std::string>{"A /dev", "A /dev/thing", "C /etc", "A /etc/hosts"}));
}

} // namespace

// A zombie (exited, not reaped: its monitor died and nobody reaps it) is not
// a running container, though kill(pid, 0) still succeeds on it.
TEST(ContainerProcessAlive, ZombieIsNotAlive) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  // Wait until it is a zombie without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(::kill(child, 0), 0);
  EXPECT_FALSE(ctk::rt::container::process_alive(child, 0));
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(ctk::rt::container::process_alive(child, 0));
  EXPECT_TRUE(ctk::rt::container::process_alive(::getpid(), 0));
  EXPECT_FALSE(ctk::rt::container::process_alive(::getpid(), 1)); // another start time: reused PID
}
