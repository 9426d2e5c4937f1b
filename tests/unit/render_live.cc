// The live view's model (sorting, filtering, selection across samples, the
// detail pane, the interval keys), when the host chooses it, and the SDK's
// wait between samples. No terminal needed: tests/cli/live.sh drives the
// real screen.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <thread>

#include <sys/eventfd.h>
#include <unistd.h>

#include "ctk/runtime/plugin.h"
#include "host.h"
#include "output.h"
#include "render/live_model.h"
#include "render/live_view.h"

namespace ctk::tools {
namespace {

using live::Action;
using live::Model;

std::vector<ColumnSpec> stats_columns() {
  return {
      {"Name", "NAME", CTK_COL_STRING, 0, ""},
      {"ID", "ID", CTK_COL_ID, 0, ""},
      {"CPUPerc", "CPU %", CTK_COL_PERCENT, 0, ""},
      {"MemUsage", "MEM USAGE", CTK_COL_BYTES, 0, ""},
      {"Limits", "LIMITS", CTK_COL_OBJECT, CTK_COL_HIDDEN, ""},
      {"Processes", "PROCESSES", CTK_COL_LIST, CTK_COL_HIDDEN, ""},
  };
}

Json box(const std::string &name, const std::string &id, Json cpu, Json mem) {
  Json r;
  r["Name"] = name;
  r["ID"] = id;
  r["CPUPerc"] = std::move(cpu);
  r["MemUsage"] = std::move(mem);
  return r;
}

std::vector<Json> sample1() {
  return {box("web", "aaaa1111", 5.0, 100 << 20), box("db", "bbbb2222", 50.0, 2048LL << 20),
          box("Cache", "cccc3333", nullptr, 1 << 20), box("api", "dddd4444", 12.5, 300 << 20)};
}

std::vector<std::string> names(const Model &m, const std::vector<Json> &recs) {
  std::vector<std::string> out;
  for (size_t i : m.rows())
    out.push_back(recs[i]["Name"].get<std::string>());
  return out;
}

std::string selected_name(const Model &m) {
  const Json *r = m.selected_record();
  return r ? (*r)["Name"].get<std::string>() : "";
}

void type(Model &m, std::string_view keys) {
  for (char c : keys)
    m.on_key(static_cast<unsigned char>(c));
}

TEST(LiveModel, KeepsTheCommandsOrderUntilASortKey) {
  Model m(stats_columns(), {"stats"});
  auto recs = sample1();
  m.set_sample(recs, 0);
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"web", "db", "Cache", "api"}));
  EXPECT_EQ(m.sort_column(), -1);
  EXPECT_EQ(selected_name(m), "web");
}

TEST(LiveModel, SortsByRawValuesNumbersBiggestFirstBlanksLast) {
  Model m(stats_columns(), {"stats"});
  auto recs = sample1();
  m.set_sample(recs, 0);
  type(m, "s"); // NAME, ascending, case-insensitive
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"api", "Cache", "db", "web"}));
  type(m, "ss"); // CPU %: descending; the blank (vanished) cell stays last
  EXPECT_EQ(m.sort_column(), 2);
  EXPECT_TRUE(m.sort_descending());
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"db", "api", "web", "Cache"}));
  type(m, "r");
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"web", "api", "db", "Cache"}));
  // MEM USAGE by bytes, not by the text ("2GiB" < "300MiB" as text).
  type(m, ">");
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"db", "api", "web", "Cache"}));
  EXPECT_NE(m.header_line().find("MEM USAGE v"), std::string::npos) << m.header_line();
  // Past the last column: back to the command's order; '<' goes the other way.
  type(m, "s");
  EXPECT_EQ(m.sort_column(), -1);
  type(m, "<");
  EXPECT_EQ(m.sort_column(), 3);
  EXPECT_NE(m.status_line().find("sort: MEM USAGE (desc)"), std::string::npos) << m.status_line();
}

TEST(LiveModel, TextColumnsOfQuantitiesSortByQuantity) {
  // docker stats' "MEM USAGE / LIMIT" and "NET I/O" are text cells.
  std::vector<ColumnSpec> cols = {{"Name", "NAME", CTK_COL_STRING, 0, ""},
                                  {"MemUsage", "MEM USAGE / LIMIT", CTK_COL_STRING, 0, ""}};
  std::vector<Json> recs = {Json{{"Name", "a"}, {"MemUsage", "900KiB / 1GiB"}},
                            Json{{"Name", "b"}, {"MemUsage", "1.5GiB / 2GiB"}},
                            Json{{"Name", "c"}, {"MemUsage", "12MiB / 1GiB"}},
                            Json{{"Name", "d"}, {"MemUsage", "2kB / 0B"}}};
  Model m(cols, {"stats"});
  m.set_sample(recs, 0);
  type(m, "ss");
  EXPECT_TRUE(m.sort_descending());
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"b", "c", "a", "d"}));
}

TEST(LiveModel, SelectionFollowsTheRecordAcrossSamplesByID) {
  Model m(stats_columns(), {"stats"});
  m.set_sample(sample1(), 0);
  type(m, "sss");                     // NAME, ID, CPU %: db api web Cache
  EXPECT_EQ(selected_name(m), "web"); // sorting kept the selected record
  m.on_key(live::kHome);
  m.on_key(live::kDown);
  EXPECT_EQ(selected_name(m), "api");
  // Next sample: api's CPU falls to the bottom, names change, IDs stay.
  auto recs = sample1();
  recs[3]["CPUPerc"] = 0.5;
  recs[3]["Name"] = "api-renamed";
  m.set_sample(recs, 1);
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"db", "web", "api-renamed", "Cache"}));
  EXPECT_EQ(m.selected(), 2u);
  EXPECT_EQ(selected_name(m), "api-renamed");
  // The selected record is gone: the selection stays at its place.
  recs.erase(recs.begin() + 3);
  m.set_sample(recs, 2);
  EXPECT_EQ(m.selected(), 2u);
  EXPECT_EQ(selected_name(m), "Cache");
  // Bounds, and the page keys.
  type(m, "jjjj");
  EXPECT_EQ(selected_name(m), "Cache");
  m.on_key(live::kHome);
  EXPECT_EQ(selected_name(m), "db");
  m.on_key(live::kUp);
  EXPECT_EQ(m.selected(), 0u);
  m.set_page(2);
  m.on_key(live::kPageDown);
  EXPECT_EQ(m.selected(), 2u);
  m.on_key(live::kEnd);
  EXPECT_EQ(m.selected(), 2u);
  EXPECT_EQ(m.scroll_top(2), 1u);
}

TEST(LiveModel, FiltersByNameOrIDWhileTyping) {
  Model m(stats_columns(), {"stats"});
  auto recs = sample1();
  m.set_sample(recs, 0);
  m.on_key('/');
  EXPECT_TRUE(m.editing_filter());
  type(m, "CA"); // case-insensitive
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"Cache"}));
  EXPECT_NE(m.prompt_line().find("filter"), std::string::npos);
  m.on_key(live::kBackspace);
  m.on_key(live::kBackspace);
  type(m, "bbbb2"); // an ID prefix
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"db"}));
  m.on_key(live::kEnter);
  EXPECT_FALSE(m.editing_filter());
  EXPECT_EQ(m.filter(), "bbbb2");
  EXPECT_NE(m.status_line().find("filter: bbbb2   1 of 4"), std::string::npos) << m.status_line();
  // The filter holds over the next sample.
  m.set_sample(recs, 1);
  EXPECT_EQ(names(m, recs), (std::vector<std::string>{"db"}));
  // Esc while typing puts the previous filter back; Esc after clears it.
  m.on_key('/');
  type(m, "zz");
  EXPECT_TRUE(m.rows().empty());
  EXPECT_EQ(m.selected_record(), nullptr);
  m.on_key(live::kEscape);
  EXPECT_EQ(m.filter(), "bbbb2");
  m.on_key(live::kEscape);
  EXPECT_EQ(m.filter(), "");
  EXPECT_EQ(m.rows().size(), 4u);
  // Keys typed into the filter are text, not commands.
  m.on_key('/');
  EXPECT_EQ(m.on_key('q'), Action::None);
  EXPECT_EQ(m.filter(), "q");
  EXPECT_EQ(m.on_key(live::kCtrlC), Action::Quit);
}

TEST(LiveModel, DetailShowsEveryColumnHiddenOnesAndProcessesAsATable) {
  Model m(stats_columns(), {"stats"});
  auto recs = sample1();
  recs[0]["Limits"] = Json{{"Memory", 512}, {"Pids", nullptr}};
  recs[0]["Processes"] =
      Json::array({Json{{"PID", 4242}, {"NsPID", 1}, {"Command", "nginx\tmaster"}},
                   Json{{"PID", 4250}, {"NsPID", 7}, {"Command", "nginx: worker"}}});
  recs[0]["Extra"] = "undeclared";
  m.set_sample(recs, 0);
  EXPECT_FALSE(m.detail_open());
  m.on_key(live::kEnter);
  ASSERT_TRUE(m.detail_open());
  auto lines = m.detail_lines();
  std::vector<std::string> want = {
      "NAME:       web",
      "ID:         aaaa1111",
      "CPU %:      5.00%",
      "MEM USAGE:  100MiB",
      "LIMITS:     ",
      "    Memory: 512",
      "    Pids: ",
      "PROCESSES:  2 entries",
      "    PID    NsPID   Command",
      "    4242   1       nginx master", // a tab inside a cell cannot forge a column
      "    4250   7       nginx: worker",
      "Extra:      undeclared",
  };
  EXPECT_EQ(lines, want);
  // The pane follows the selection.
  m.on_key(live::kDown);
  EXPECT_EQ(m.detail_lines()[0], "NAME:       db");
  m.on_key(live::kEscape);
  EXPECT_FALSE(m.detail_open());
}

TEST(LiveModel, TableLinesAlignOverTheSampleAndCleanControlCharacters) {
  Model m(stats_columns(), {"stats"});
  auto recs = sample1();
  recs[1]["Name"] = "d\x1b[2Jb";
  m.set_sample(recs, 0);
  // Each column as wide as its widest cell or its header and a sort mark,
  // then 3 spaces, as the table renderer pads.
  EXPECT_EQ(m.header_line(), "NAME     ID         CPU %     MEM USAGE");
  EXPECT_EQ(m.row_line(0), "web      aaaa1111   5.00%     100MiB");
  EXPECT_EQ(m.row_line(1), "d [2Jb   bbbb2222   50.00%    2GiB");
  EXPECT_EQ(m.row_line(2), "Cache    cccc3333             1MiB");
}

TEST(LiveModel, IntervalKeys) {
  Model m(stats_columns(), {"stats"});
  m.set_interval(2);
  EXPECT_EQ(m.on_key('+'), Action::IntervalChanged);
  EXPECT_EQ(m.interval(), 3);
  EXPECT_EQ(m.on_key('-'), Action::IntervalChanged);
  EXPECT_EQ(m.on_key('-'), Action::IntervalChanged);
  EXPECT_EQ(m.interval(), 1);
  EXPECT_NE(m.status_line().find("every 1s"), std::string::npos);
  m.set_interval(0.5);
  EXPECT_EQ(m.on_key('-'), Action::None); // the floor
  m.set_interval(0.7);                    // --interval 0.7: the next step either way
  EXPECT_EQ(m.on_key('+'), Action::IntervalChanged);
  EXPECT_EQ(m.interval(), 1);
  EXPECT_EQ(live::step_interval(60, true), 60);
  EXPECT_EQ(m.on_key('q'), Action::Quit);
}

TEST(LiveModel, FitCutsByRunes) {
  EXPECT_EQ(live::fit("héllo", 2), "hé");
  EXPECT_EQ(live::fit("abc", 10), "abc");
  EXPECT_EQ(live::rune_width("héllo"), 5u);
}

TEST(LiveView, ChosenForLiveCommandsUnlessAnOptionTurnsItOff) {
  const ctk_option_v1 opts[] = {
      {"no-stream", 0, CTK_OPT_FLAG | CTK_OPT_NO_LIVE, CTK_ARG_STRING, nullptr, nullptr, ""},
      {"iterations", 0, CTK_OPT_NO_LIVE, CTK_ARG_INT, "N", "0", ""},
      {"interval", 0, 0, CTK_ARG_STRING, "S", "1", ""},
  };
  ctk_command_v1 cmd{};
  cmd.name = "stats";
  cmd.options = opts;
  cmd.n_options = 3;
  cmd.flags = CTK_CMD_STREAM | CTK_CMD_LIVE;
  using Opts = std::vector<std::pair<std::string, std::string>>;
  EXPECT_TRUE(wants_live_view(cmd, Opts{{"interval", "5"}, {"iterations", "0"}}));
  EXPECT_FALSE(wants_live_view(cmd, Opts{{"no-stream", "true"}, {"iterations", "0"}}));
  EXPECT_FALSE(wants_live_view(cmd, Opts{{"iterations", "3"}}));
  cmd.flags = CTK_CMD_STREAM;
  EXPECT_FALSE(wants_live_view(cmd, Opts{}));
  cmd.flags = CTK_CMD_LIVE; // not a stream: nothing to show live
  EXPECT_FALSE(wants_live_view(cmd, Opts{}));
}

// What the host does for a renderer that has the terminal: its lines go to
// the renderer, not over the screen; the interval and wake fd come from it.
class ScreenRenderer final : public Renderer {
public:
  void record(Json) override {}
  void flush() override {}
  void finish() override {}
  double interval(double requested) override { return requested * 10; }
  int wake_fd() const override { return 42; }
  bool owns_terminal() const override { return owns; }
  void diagnostic(int level, const std::string &line) override {
    lines.push_back(std::to_string(level) + " " + line);
  }
  bool owns = true;
  std::vector<std::string> lines;
};

TEST(LiveView, HostHandsItsLinesToTheScreenWhileItIsUp) {
  ScreenRenderer r;
  StdoutBuf buf(-1);
  std::ostream out(&buf);
  Host host({"stats", CTK_LOG_INFO, false}, &r, buf, out);
  const ctk_host_v1 *t = host.table();
  ASSERT_GE(t->size, offsetof(ctk_host_v1, wake_fd) + sizeof t->wake_fd);
  EXPECT_EQ(t->interval(&host, 1.5), 15);
  EXPECT_EQ(t->wake_fd(&host), 42);
  testing::internal::CaptureStderr();
  t->warn(&host, "container web vanished");
  t->error(&host, "stats: boom");
  t->log(&host, CTK_LOG_DEBUG, "not at this level");
  r.owns = false; // the screen is gone: stderr again
  t->warn(&host, "after");
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.lines, (std::vector<std::string>{"1 ctk: warning: container web vanished\n",
                                               "0 ctk: stats: boom\n"}));
  EXPECT_EQ(err, "ctk: warning: after\n");
}

// A host table with only what Call::interval and wait_interval use.
struct FakeHost {
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int intr = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::atomic<double> chosen{0};
  std::atomic<bool> stop{false};
  ctk_host_v1 table{};
  ctk_call_v1 call{};
  FakeHost() {
    table.size = sizeof table;
    table.interrupted = [](void *c) { return static_cast<FakeHost *>(c)->stop ? 1 : 0; };
    table.interrupt_fd = [](void *c) { return static_cast<FakeHost *>(c)->intr; };
    table.interval = [](void *c, double requested) {
      auto *h = static_cast<FakeHost *>(c);
      uint64_t n;
      while (::read(h->wake, &n, sizeof n) > 0) {
      }
      return h->chosen > 0 ? h->chosen.load() : requested;
    };
    table.wake_fd = [](void *c) { return static_cast<FakeHost *>(c)->wake; };
    call.size = sizeof call;
    call.host = &table;
    call.host_ctx = this;
  }
  ~FakeHost() {
    ::close(wake);
    ::close(intr);
  }
  void poke(int fd) {
    uint64_t one = 1;
    ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(PluginSdk, WaitIntervalSleepsTheChosenIntervalAndWakesOnAChange) {
  FakeHost h;
  ctk::rt::plugin::Call call(&h.call);
  EXPECT_EQ(call.interval(2.5), 2.5);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(call.wait_interval(0.05));
  EXPECT_GE(seconds_since(t0), 0.05);
  // Asked for 30 s; the user picks 0.2 s after 0.1 s: the wait ends at 0.2 s
  // from its start, not 30 s.
  std::thread user([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    h.chosen = 0.2;
    h.poke(h.wake);
  });
  t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(call.wait_interval(30));
  double took = seconds_since(t0);
  user.join();
  EXPECT_GE(took, 0.2);
  EXPECT_LT(took, 5);
  EXPECT_EQ(call.interval(30), 0.2);
}

TEST(PluginSdk, WaitIntervalEndsOnInterrupt) {
  FakeHost h;
  ctk::rt::plugin::Call call(&h.call);
  std::thread user([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    h.stop = true;
    h.poke(h.intr);
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(call.wait_interval(30));
  user.join();
  EXPECT_LT(seconds_since(t0), 5);
}

TEST(PluginSdk, AHostWithoutIntervalLeavesTheRequestedOne) {
  FakeHost h;
  h.table.size = offsetof(ctk_host_v1, interval); // an ABI 1.0 host
  h.chosen = 9;
  ctk::rt::plugin::Call call(&h.call);
  EXPECT_EQ(call.interval(0.05), 0.05);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(call.wait_interval(0.05));
  EXPECT_LT(seconds_since(t0), 5);
}

} // namespace
} // namespace ctk::tools
