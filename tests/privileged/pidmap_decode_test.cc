// Decoding of the pidmap iterator's byte stream (no root needed: synthetic
// records). A truncated or corrupt stream must be an error, never garbage.
#include <cstring>
#include <linux/types.h>

#include <gtest/gtest.h>

#include "ctk/runtime/proc_bpf.h"

extern "C" {
#include "pidmap.h"
}

namespace proc = ctk::rt::proc;

namespace {

struct StreamBuilder {
  std::string data;
  template <class T> void raw(const T &v) {
    data.append(reinterpret_cast<const char *>(&v), sizeof(v));
  }
  void process(uint32_t pid, std::vector<uint32_t> chain, std::string argv, uint64_t pidns,
               std::vector<std::pair<int, std::vector<std::string>>> cgroups) {
    pidmap_event ev;
    std::memset(&ev, 0, sizeof(ev));
    ev.magic = PIDMAP_MAGIC;
    ev.pid = pid;
    ev.ppid = 1;
    ev.uid = 1000;
    ev.start_boottime_ns = 12340000000ull; // 1234 ticks at USER_HZ 100
    ev.level = static_cast<uint32_t>(chain.size() - 1);
    for (size_t i = 0; i < chain.size(); i++)
      ev.nspid[i] = chain[i];
    ev.ns_inum[PIDMAP_NS_PID] = static_cast<uint32_t>(pidns);
    std::strcpy(ev.comm, "sleep");
    ev.argv_len = static_cast<uint32_t>(argv.size());
    raw(ev);
    data += argv;
    for (const auto &[hid, names] : cgroups) {
      pidmap_cgroup cg{hid, static_cast<uint32_t>(names.size()), 0, 0};
      raw(cg);
      for (const auto &n : names)
        data.append(n.c_str(), n.size() + 1);
    }
    pidmap_cgroup end{PIDMAP_CG_END, 0, 0, 0};
    raw(end);
  }
};

const std::map<int, std::vector<std::string>> kHier = {{4, {"memory"}}, {1, {"cpu", "cpuacct"}}};

} // namespace

TEST(PidmapDecode, RecordsBecomeProcesses) {
  StreamBuilder b;
  std::string id(64, 'a');
  b.process(4242, {4242, 17, 1},
            std::string("sleep\0"
                        "100\0",
                        10),
            4026532999u, {{0, {}}, {4, {"docker", id}}, {1, {"docker", id}}});
  b.process(7, {7}, "", 4026531836u, {});
  auto r = proc::decode_pidmap_stream(b.data, kHier, 100);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  const auto &p = (*r)[0];
  EXPECT_EQ(p.pid, 4242);
  EXPECT_EQ(p.nspid, (std::vector<pid_t>{4242, 17, 1}));
  EXPECT_EQ(p.cmdline, (std::vector<std::string>{"sleep", "100"}));
  EXPECT_EQ(p.comm, "sleep");
  EXPECT_EQ(p.start_time, 1234u);
  EXPECT_EQ(p.ns[proc::ns_index(proc::NsType::pid)], 4026532999u);
  ASSERT_EQ(p.cgroups.size(), 3u);
  // Newest hierarchy first, v2 last, as /proc/PID/cgroup lists them.
  EXPECT_EQ(p.cgroups[0].hierarchy, 4);
  EXPECT_EQ(p.cgroups[0].controllers, (std::vector<std::string>{"memory"}));
  EXPECT_EQ(p.cgroups[0].path, "/docker/" + id);
  EXPECT_EQ(p.cgroups[1].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(p.cgroups[2].hierarchy, 0);
  EXPECT_EQ(p.cgroups[2].path, "/");
  EXPECT_TRUE((*r)[1].cmdline.empty());
  EXPECT_EQ((*r)[1].nspid, (std::vector<pid_t>{7}));
}

TEST(PidmapDecode, TruncatedStreamIsAnErrorNamingTheOffset) {
  StreamBuilder b;
  b.process(10, {10}, std::string("a\0", 2), 1, {{0, {"x"}}});
  for (size_t cut :
       {size_t{1}, sizeof(pidmap_event) - 1, sizeof(pidmap_event) + 1, b.data.size() - 1}) {
    auto r = proc::decode_pidmap_stream(std::string_view(b.data).substr(0, cut), kHier, 100);
    ASSERT_FALSE(r.has_value()) << "cut at " << cut;
    EXPECT_NE(r.error().message().find("pidmap"), std::string::npos) << r.error().message();
  }
}

TEST(PidmapDecode, BadMagicIsRejected) {
  StreamBuilder b;
  b.process(10, {10}, "", 1, {});
  b.data[0] ^= 0x55;
  auto r = proc::decode_pidmap_stream(b.data, kHier, 100);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("magic"), std::string::npos);
}

TEST(PidmapDecode, ProcCgroupsNamesHierarchies) {
  auto h = proc::parse_proc_cgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                    "cpuset\t3\t6\t1\ncpu\t1\t6\t1\ncpuacct\t1\t6\t1\n"
                                    "net_cls\t0\t5\t1\nmemory\t4\t42\t0\n");
  EXPECT_EQ(h[1], (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(h[3], (std::vector<std::string>{"cpuset"}));
  EXPECT_EQ(h.count(0), 0u); // bound to v2 / unused
  EXPECT_EQ(h.count(4), 0u); // disabled
}
