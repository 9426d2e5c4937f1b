// The security module without privileges: capability names and docker's
// cap_add/cap_drop rules, the masked path lists, moby's profile format (the
// shipped default.json and malformed ones), and compiling a profile to BPF.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "ctk/runtime/security.h"

using namespace ctk::rt;
using namespace ctk::rt::security;

namespace {

uint64_t mask_of(std::initializer_list<const char *> names) {
  uint64_t m = 0;
  for (auto n : names)
    m |= uint64_t{1} << *capability_from_name(n);
  return m;
}

uint64_t default_mask() {
  uint64_t m = 0;
  for (const auto &n : default_capabilities())
    m |= uint64_t{1} << *capability_from_name(n);
  return m;
}

const uint64_t kAll = (uint64_t{1} << 41) - 1; // CAP_CHOWN .. CAP_CHECKPOINT_RESTORE

std::string source_profile() {
  return std::string(CTK_SOURCE_DIR) + "/share/seccomp/default.json";
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rules of `rules` that name `syscall`.
std::vector<SeccompRule> rules_for(const std::vector<SeccompRule> &rules, const std::string &name) {
  std::vector<SeccompRule> out;
  for (const auto &r : rules)
    if (std::find(r.names.begin(), r.names.end(), name) != r.names.end())
      out.push_back(r);
  return out;
}

std::string parse_error(const std::string &text) {
  auto p = parse_seccomp_profile(text, "/etc/x.json");
  EXPECT_FALSE(p) << text;
  return p ? std::string() : p.error().message();
}

} // namespace

TEST(SecurityCaps, NamesParseInEveryForm) {
  for (const char *n :
       {"NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin", "Net_Admin", "cap_NET_admin"}) {
    auto cap = capability_from_name(n);
    ASSERT_TRUE(cap) << n;
    EXPECT_EQ(*cap, 12) << n;
  }
  EXPECT_EQ(*capability_from_name("CHOWN"), 0);
  EXPECT_EQ(*capability_from_name("checkpoint_restore"), 40);
  EXPECT_EQ(capability_name(12), "CAP_NET_ADMIN");
  EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(capability_name(99), "CAP_99");
  for (const char *bad : {"", "CAP_", "NET_ADMINX", "ALL", "CAP_CAP_CHOWN", "12"}) {
    auto cap = capability_from_name(bad);
    ASSERT_FALSE(cap) << bad;
    EXPECT_EQ(cap.error().code, Errc::invalid_argument);
    EXPECT_NE(cap.error().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(SecurityCaps, DockerDefaultsAreTheFourteen) {
  std::set<std::string> got(default_capabilities().begin(), default_capabilities().end());
  std::set<std::string> want = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  EXPECT_EQ(default_capabilities().size(), 14u);
  EXPECT_EQ(got, want);
  // The mask docker containers show as CapBnd: 00000000a80425fb.
  EXPECT_EQ(default_mask(), 0xa80425fbULL);
}

TEST(SecurityCaps, ResolveFollowsDockerRules) {
  SecurityOptions o;
  EXPECT_EQ(*resolve_capabilities(o, kAll), default_mask());

  o.cap_add = {"net_admin"};
  o.cap_drop = {"CAP_CHOWN", "mknod"};
  EXPECT_EQ(*resolve_capabilities(o, kAll),
            (default_mask() | mask_of({"NET_ADMIN"})) & ~mask_of({"CHOWN", "MKNOD"}));

  o = {};
  o.cap_add = {"ALL"};
  o.cap_drop = {"NET_RAW"};
  EXPECT_EQ(*resolve_capabilities(o, kAll), kAll & ~mask_of({"NET_RAW"}));

  o = {};
  o.cap_drop = {"all"};
  o.cap_add = {"KILL"};
  EXPECT_EQ(*resolve_capabilities(o, kAll), mask_of({"KILL"}));

  // ALL and the defaults are cut to what ctk holds; a named cap is not.
  uint64_t no_resource = kAll & ~mask_of({"SYS_RESOURCE", "MKNOD"});
  o = {};
  o.cap_add = {"ALL"};
  EXPECT_EQ(*resolve_capabilities(o, no_resource), no_resource);
  o = {};
  EXPECT_EQ(*resolve_capabilities(o, no_resource), default_mask() & ~mask_of({"MKNOD"}));
  o.cap_add = {"SYS_RESOURCE"};
  auto r = resolve_capabilities(o, no_resource);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  EXPECT_NE(r.error().message().find("CAP_SYS_RESOURCE"), std::string::npos);

  o = {};
  o.cap_drop = {"NOT_A_CAP"};
  r = resolve_capabilities(o, kAll);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "invalid --cap-drop: unknown capability \"NOT_A_CAP\"");

  o = {};
  o.privileged = true;
  o.cap_drop = {"ALL"};
  EXPECT_EQ(*resolve_capabilities(o, no_resource), no_resource);
  EXPECT_EQ(capability_names(mask_of({"KILL", "CHOWN"})),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL"}));
}

TEST(SecurityPaths, MobyMaskedAndReadonlyLists) {
  const auto &m = masked_paths();
  for (const char *p :
       {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi",
        "/proc/scsi", "/proc/latency_stats", "/sys/firmware", "/sys/devices/virtual/powercap"})
    EXPECT_NE(std::find(m.begin(), m.end(), p), m.end()) << p;
  const auto &ro = readonly_paths();
  for (const char *p : {"/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"})
    EXPECT_NE(std::find(ro.begin(), ro.end(), p), ro.end()) << p;
  for (const auto *list : {&m, &ro}) {
    std::set<std::string> unique(list->begin(), list->end());
    EXPECT_EQ(unique.size(), list->size());
    for (const auto &p : *list)
      EXPECT_EQ(p.front(), '/') << p;
  }
  // A path both masked and read-only would be mounted twice.
  for (const auto &p : ro)
    EXPECT_EQ(std::find(m.begin(), m.end(), p), m.end()) << p;
}

TEST(SecurityProfile, DefaultProfileParses) {
  auto p = load_seccomp_profile(source_profile());
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->default_action.kind, SeccompAction::errno_ret);
  EXPECT_EQ(p->default_action.data, 1u); // EPERM
  if (native_goarch() == "amd64") {
    EXPECT_EQ(p->architectures, (std::vector<std::string>{"x86_64", "x86", "x32"}));
  }
  size_t names = 0;
  for (const auto &r : p->syscalls)
    names += r.names.size();
  EXPECT_GT(names, 350u);
}

TEST(SecurityProfile, DefaultCapsSelectDockersPolicy) {
  auto p = load_seccomp_profile(source_profile());
  ASSERT_TRUE(p);
  auto rules = select_seccomp_rules(*p, default_mask(), "amd64", {6, 1});

  for (const char *allowed : {"read", "execve", "openat", "wait4", "capset", "prctl", "arch_prctl",
                              "modify_ldt", "ptrace", "chroot"}) {
    auto rs = rules_for(rules, allowed);
    ASSERT_FALSE(rs.empty()) << allowed;
    EXPECT_EQ(rs[0].action.kind, SeccompAction::allow) << allowed;
    EXPECT_TRUE(rs[0].args.empty()) << allowed;
  }
  for (const char *denied :
       {"mount", "umount2", "unshare", "setns", "bpf", "reboot", "init_module", "kexec_load",
        "open_by_handle_at", "perf_event_open", "keyctl", "add_key", "io_uring_setup",
        "s390_runtime_instr", "set_tls", "sethostname", "iopl", "clock_settime"})
    EXPECT_TRUE(rules_for(rules, denied).empty()) << denied;

  // clone only without CLONE_NEW* flags (argument 0 on amd64).
  auto clone = rules_for(rules, "clone");
  ASSERT_EQ(clone.size(), 1u);
  ASSERT_EQ(clone[0].args.size(), 1u);
  EXPECT_EQ(clone[0].args[0].index, 0u);
  EXPECT_EQ(clone[0].args[0].op, SeccompArg::masked_eq);
  EXPECT_EQ(clone[0].args[0].value, 0x7E020000u);
  EXPECT_EQ(clone[0].args[0].value_two, 0u);

  // clone3 answers ENOSYS so glibc falls back to clone.
  auto clone3 = rules_for(rules, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0].action, (SeccompAction{SeccompAction::errno_ret, 38}));

  // personality: the five values docker allows.
  std::set<uint64_t> personas;
  for (const auto &r : rules_for(rules, "personality")) {
    ASSERT_EQ(r.args.size(), 1u);
    EXPECT_EQ(r.args[0].op, SeccompArg::eq);
    personas.insert(r.args[0].value);
  }
  EXPECT_EQ(personas, (std::set<uint64_t>{0, 8, 0x20000, 0x20008, 0xffffffff}));

  // socket: everything but AF_VSOCK.
  auto socket = rules_for(rules, "socket");
  ASSERT_EQ(socket.size(), 1u);
  EXPECT_EQ(socket[0].args[0].op, SeccompArg::ne);
  EXPECT_EQ(socket[0].args[0].value, 40u);
}

TEST(SecurityProfile, CapabilitiesArchesAndKernelGateRules) {
  auto p = load_seccomp_profile(source_profile());
  ASSERT_TRUE(p);
  uint64_t admin = default_mask() | mask_of({"SYS_ADMIN"});
  auto rules = select_seccomp_rules(*p, admin, "amd64", {6, 1});
  for (const char *n : {"mount", "umount2", "unshare", "setns", "sethostname", "clone3"}) {
    auto rs = rules_for(rules, n);
    ASSERT_FALSE(rs.empty()) << n;
    EXPECT_EQ(rs[0].action.kind, SeccompAction::allow) << n;
  }
  auto clone = rules_for(rules, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_TRUE(clone[0].args.empty()); // no flag filter with CAP_SYS_ADMIN

  // Dropping SYS_CHROOT takes chroot away.
  auto no_chroot =
      select_seccomp_rules(*p, default_mask() & ~mask_of({"SYS_CHROOT"}), "amd64", {6, 1});
  EXPECT_TRUE(rules_for(no_chroot, "chroot").empty());

  // Architecture-specific rules follow the Go arch; s390 reads clone's flags
  // from argument 1.
  auto arm = select_seccomp_rules(*p, default_mask(), "arm64", {6, 1});
  EXPECT_TRUE(rules_for(arm, "arch_prctl").empty());
  EXPECT_FALSE(rules_for(arm, "set_tls").empty());
  auto s390 = select_seccomp_rules(*p, default_mask(), "s390x", {6, 1});
  auto s390_clone = rules_for(s390, "clone");
  ASSERT_EQ(s390_clone.size(), 1u);
  EXPECT_EQ(s390_clone[0].args[0].index, 1u);

  // ptrace is allowed from kernel 4.8 on (earlier ones let it bypass seccomp).
  auto old = select_seccomp_rules(*p, default_mask(), "amd64", {4, 4});
  EXPECT_TRUE(rules_for(old, "ptrace").empty());
  auto old_ptrace =
      select_seccomp_rules(*p, default_mask() | mask_of({"SYS_PTRACE"}), "amd64", {4, 4});
  EXPECT_FALSE(rules_for(old_ptrace, "ptrace").empty());
}

TEST(SecurityProfile, RulesLikeTheDefaultActionAreDropped) {
  auto p = parse_seccomp_profile(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["read"],"action":"SCMP_ACT_ALLOW"},
      {"names":["mount"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
      {"name":"kexec_load","action":"SCMP_ACT_KILL_PROCESS","comment":"legacy one-name form"}]})",
                                 "t.json");
  ASSERT_TRUE(p) << p.error().message();
  auto rules = select_seccomp_rules(*p, 0, "amd64", {6, 1});
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].names, std::vector<std::string>{"mount"});
  EXPECT_EQ(rules[0].action, (SeccompAction{SeccompAction::errno_ret, 13}));
  EXPECT_EQ(rules[1].action.kind, SeccompAction::kill_process);
  EXPECT_TRUE(p->architectures.empty()); // no archMap: the native arch only
}

TEST(SecurityProfile, MalformedProfilesNameFileAndProblem) {
  std::string e = parse_error("{\"defaultAction\": ");
  EXPECT_NE(e.find("seccomp profile /etc/x.json: malformed JSON"), std::string::npos) << e;

  EXPECT_EQ(parse_error("[]"), "seccomp profile /etc/x.json: the profile is not a JSON object");
  EXPECT_EQ(parse_error(R"({"syscalls":[]})"),
            "seccomp profile /etc/x.json: defaultAction is missing");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                            {"names":["read"],"action":"SCMP_ACT_ALLOW"},
                            {"names":["x"],"action":"SCMP_ACT_FOO"}]})"),
            "seccomp profile /etc/x.json: syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                            {"names":"read","action":"SCMP_ACT_ALLOW"}]})"),
            "seccomp profile /etc/x.json: syscalls[0].names: expected an array of strings, found "
            "string");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                            {"action":"SCMP_ACT_ALLOW"}]})"),
            "seccomp profile /etc/x.json: syscalls[0]: a rule needs names");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],
                            "action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]})"),
            "seccomp profile /etc/x.json: syscalls[0].args[0].index: 6 is not an argument index "
            "(0-5)");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],
                            "action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]})"),
            "seccomp profile /etc/x.json: syscalls[0].args[0].op: unknown operator "
            "\"SCMP_CMP_ABOUT\"");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],
                            "action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]})"),
            "seccomp profile /etc/x.json: syscalls[0].args[0].value: expected a non-negative "
            "integer, found -1");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],
                            "action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_WIZARD"]}}]})"),
            "seccomp profile /etc/x.json: syscalls[0].includes.caps[0]: unknown capability "
            "\"CAP_SYS_WIZARD\"");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ptrace"],
                            "action":"SCMP_ACT_ALLOW","includes":{"minKernel":"four"}}]})"),
            "seccomp profile /etc/x.json: syscalls[0].includes.minKernel: \"four\" is not a "
            "kernel version (MAJOR.MINOR)");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"X86"}]})"),
            "seccomp profile /etc/x.json: archMap[0].architecture: \"X86\" is not an "
            "architecture (SCMP_ARCH_...)");
  EXPECT_EQ(parse_error(R"({"defaultAction":"SCMP_ACT_NOTIFY"})"),
            "seccomp profile /etc/x.json: defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent, "
            "which ctk does not run");

  auto missing = load_seccomp_profile("/nonexistent/ctk/p.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message().find("cannot read seccomp profile /nonexistent/ctk/p.json"),
            std::string::npos);
}

TEST(SecurityProfile, BuildTreeShipsTheProfileLikeAnInstall) {
  std::string dir = default_profile_dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/default.json")) << dir;
  EXPECT_EQ(slurp(dir + "/default.json"), slurp(source_profile()));
}

class SecurityPrepare : public ::testing::Test {
protected:
  std::filesystem::path dir_;
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("ctk-security-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string &name, const std::string &text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
};

TEST_F(SecurityPrepare, UnknownSyscallNamesAreSkipped) {
  SecurityOptions o;
  o.seccomp = write("p.json", R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["read","ctk_no_such_syscall","write","chown32"],"action":"SCMP_ACT_ALLOW"}]})");
  auto p = prepare_security(o);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(has_seccomp(**p));
  // chown32 exists on x86 only, which libseccomp knows: not skipped.
  EXPECT_EQ(skipped_syscalls(**p), std::vector<std::string>{"ctk_no_such_syscall"});
}

TEST_F(SecurityPrepare, ModesAndErrors) {
  SecurityOptions o;
  o.seccomp = "unconfined";
  auto p = prepare_security(o);
  ASSERT_TRUE(p);
  EXPECT_FALSE(has_seccomp(**p));

  o = {};
  o.privileged = true;
  p = prepare_security(o);
  ASSERT_TRUE(p);
  EXPECT_FALSE(has_seccomp(**p));
  EXPECT_EQ(effective_capabilities(**p), capability_names(current_bounding_set()));

  o = {};
  o.profile_dir = dir_.string(); // no default.json there
  p = prepare_security(o);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find(dir_.string() + "/default.json"), std::string::npos);

  o = {};
  o.seccomp =
      write("bad.json", R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]})");
  p = prepare_security(o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(),
            "seccomp profile " + o.seccomp + ": syscalls[0]: action is missing");

  o = {};
  o.cap_add = {"CAP_NOPE"};
  p = prepare_security(o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(), "invalid --cap-add: unknown capability \"CAP_NOPE\"");
}

namespace {
double median_prepare_ms(const SecurityOptions &o, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto p = prepare_security(o);
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_TRUE(p);
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

std::vector<std::filesystem::path> entries(const std::filesystem::path &dir) {
  std::vector<std::filesystem::path> out;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
} // namespace

TEST_F(SecurityPrepare, CompiledFiltersAreCachedByTheirFullInputs) {
  SecurityOptions o;
  o.cache_dir = (dir_ / "cache").string();
  auto fresh = prepare_security(o);
  ASSERT_TRUE(fresh) << fresh.error().message();
  auto files = entries(o.cache_dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(std::filesystem::status(o.cache_dir).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  auto size = std::filesystem::file_size(files[0]);

  auto hit = prepare_security(o);
  ASSERT_TRUE(hit);
  EXPECT_EQ(seccomp_instructions(**hit), seccomp_instructions(**fresh));
  EXPECT_EQ(entries(o.cache_dir).size(), 1u);

  // Another capability set is another filter (CAP_SYS_ADMIN allows mount).
  o.cap_add = {"SYS_ADMIN"};
  auto admin = prepare_security(o);
  ASSERT_TRUE(admin);
  EXPECT_EQ(entries(o.cache_dir).size(), 2u);
  EXPECT_NE(seccomp_instructions(**admin), seccomp_instructions(**fresh));
  o.cap_add.clear();

  // A damaged entry is a miss: compiled again and rewritten.
  { std::ofstream(files[0], std::ios::trunc) << "CTKSECC1 garbage"; }
  auto again = prepare_security(o);
  ASSERT_TRUE(again);
  EXPECT_EQ(seccomp_instructions(**again), seccomp_instructions(**fresh));
  EXPECT_EQ(std::filesystem::file_size(files[0]), size);

  // A cache directory others can write is not trusted, read or written.
  std::filesystem::path open_dir = dir_ / "open";
  std::filesystem::create_directories(open_dir);
  std::filesystem::permissions(open_dir, std::filesystem::perms::all);
  std::filesystem::copy_file(files[0], open_dir / files[0].filename());
  o.cache_dir = open_dir.string();
  o.cap_add = {"NET_ADMIN"};
  auto untrusted = prepare_security(o);
  ASSERT_TRUE(untrusted);
  EXPECT_EQ(entries(open_dir).size(), 1u);
}

TEST_F(SecurityPrepare, DefaultProfileCompilesFast) {
  SecurityOptions o;
  auto first = prepare_security(o);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(has_seccomp(**first));
  EXPECT_GT(seccomp_instructions(**first), 100u);
  EXPECT_LE(seccomp_instructions(**first), 4096u);

  // prepare_security runs on every `ctk run`: libseccomp alone is slow for
  // three ABIs, so the runtime keeps compiled filters in a cache.
  double uncached = median_prepare_ms(o, 7);
  o.cache_dir = (dir_ / "cache").string();
  ASSERT_TRUE(prepare_security(o));
  double cached = median_prepare_ms(o, 21);
  std::printf("prepare_security, default profile (%zu BPF instructions): compiled %.3f ms, "
              "cached %.3f ms (medians)\n",
              seccomp_instructions(**first), uncached, cached);
  RecordProperty("prepare_security_compiled_us", static_cast<int>(uncached * 1000));
  RecordProperty("prepare_security_cached_us", static_cast<int>(cached * 1000));
  EXPECT_LT(cached, 5.0);
}
