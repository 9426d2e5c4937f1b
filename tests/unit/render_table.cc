// The default table and `--format 'table ...'` templates: docker's
// tabwriter alignment, hidden columns, streaming samples, hostile cells.
#include <chrono>
#include <sstream>

#include <gtest/gtest.h>

#include "render/render.h"

namespace ctk::tools {
namespace {

std::vector<ColumnSpec> ps_columns() {
  return {
      {"ID", "CONTAINER ID", CTK_COL_ID, 0, "container ID"},
      {"Names", "NAMES", CTK_COL_LIST, 0, "names"},
      {"State.Pid", "PID", CTK_COL_INT, 0, "host PID"},
      {"Secret", "SECRET", CTK_COL_STRING, CTK_COL_HIDDEN, "never in tables"},
  };
}

std::vector<Json> ps_records() {
  return {
      Json::parse(R"({"ID":"sha256:aaaaaaaaaaaaaaaaaaaaaaaa","Names":["web"],"State":{"Pid":42},
                      "Secret":"hunter2"})"),
      Json::parse(
          R"({"ID":"bbbbbbbbbbbbbbbbbbbb","Names":["database","db"],"State":{"Pid":1234567}})"),
  };
}

std::string render_all(RenderOptions opt, std::vector<ColumnSpec> cols,
                       const std::vector<Json> &recs) {
  std::ostringstream out;
  opt.now = 1700000000;
  auto r = make_renderer(opt, std::move(cols), out);
  if (!r)
    return "ERR:" + r.error().message();
  try {
    for (const auto &rec : recs)
      (*r)->record(rec);
  } catch (const RenderError &e) {
    // The host catches this at the plugin boundary and reports it.
    EXPECT_NE((*r)->error(), nullptr);
    return out.str() + "ERR:" + e.what();
  }
  (*r)->finish();
  return out.str();
}

TEST(RenderTable, AlignsLikeDockerTabwriter) {
  // Columns are at least 10 wide, 3 spaces past the widest cell; the last
  // column is not padded; hidden columns are not shown.
  EXPECT_EQ(render_all({}, ps_columns(), ps_records()), "CONTAINER ID   NAMES         PID\n"
                                                        "aaaaaaaaaaaa   web           42\n"
                                                        "bbbbbbbbbbbb   database,db   1234567\n");
}

TEST(RenderTable, NoTruncKeepsFullIds) {
  RenderOptions o;
  o.no_trunc = true;
  std::string out = render_all(o, ps_columns(), ps_records());
  EXPECT_NE(out.find("aaaaaaaaaaaaaaaaaaaaaaaa   web"), std::string::npos) << out;
}

TEST(RenderTable, EmptyResultPrintsHeaderOnly) {
  EXPECT_EQ(render_all({}, ps_columns(), {}), "CONTAINER ID   NAMES     PID\n");
}

TEST(RenderTable, MissingValuesAreEmptyCells) {
  EXPECT_EQ(render_all({}, ps_columns(), {Json{{"Names", {"x"}}}}), "CONTAINER ID   NAMES     PID\n"
                                                                    "               x         \n");
}

TEST(RenderTable, CellsCannotForgeRowsColumnsOrTerminalEscapes) {
  std::vector<ColumnSpec> cols = {{"Name", "NAME"}, {"Cmd", "COMMAND"}};
  std::string out =
      render_all({}, cols, {Json{{"Name", "evil\nFAKE\tROW"}, {"Cmd", "sh -c \x1b[2Jclear\r"}}});
  EXPECT_EQ(out, "NAME            COMMAND\n"
                 "evil FAKE ROW   sh -c  [2Jclear \n");
}

TEST(RenderTable, WideUnicodeCellsAlignByRunes) {
  std::vector<ColumnSpec> cols = {{"A", "A"}, {"B", "B"}};
  EXPECT_EQ(
      render_all({}, cols, {Json{{"A", "héllo wörld"}, {"B", 1}}, Json{{"A", "x"}, {"B", 2}}}),
      "A             B\n"
      "héllo wörld   1\n"
      "x             2\n");
}

TEST(RenderTable, StreamingPrintsEachSampleAndClearsScreenOnTty) {
  std::vector<ColumnSpec> cols = {{"Name", "NAME"}, {"CPU", "CPU %", CTK_COL_PERCENT}};
  for (bool tty : {false, true}) {
    std::ostringstream out;
    RenderOptions o;
    o.stream = true;
    o.tty = tty;
    auto r = make_renderer(o, cols, out);
    ASSERT_TRUE(r);
    (*r)->record(Json{{"Name", "web"}, {"CPU", 1.5}});
    (*r)->flush();
    std::string first = out.str();
    (*r)->record(Json{{"Name", "web"}, {"CPU", 2.25}});
    (*r)->flush();
    (*r)->finish();
    std::string clear = tty ? "\033[2J\033[H" : "";
    EXPECT_EQ(first, clear + "NAME      CPU %\nweb       1.50%\n");
    EXPECT_EQ(out.str(), first + clear + "NAME      CPU %\nweb       2.25%\n") << "tty=" << tty;
  }
}

TEST(RenderTable, TenThousandRowsRenderQuickly) {
  std::vector<Json> recs;
  for (int i = 0; i < 10000; ++i)
    recs.push_back(Json{{"ID", "sha256:" + std::string(64, 'a' + i % 6)},
                        {"Names", {"container-" + std::to_string(i)}},
                        {"State", {{"Pid", 1000 + i}}}});
  auto start = std::chrono::steady_clock::now();
  std::string out = render_all({}, ps_columns(), recs);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10001);
  EXPECT_EQ(out.substr(0, out.find('\n')), "CONTAINER ID   NAMES            PID");
  // A few ms in an optimised build; generous here for Debug and sanitizers.
  EXPECT_LT(ms, 1500) << "rendering 10,000 rows took " << ms << " ms";
  RecordProperty("table_10k_ms", std::to_string(ms));
}

TEST(RenderTemplateTable, HeaderFromColumnsThenAlignedRows) {
  RenderOptions o;
  o.format = R"(table {{.ID}}\t{{.State.Pid}}\t{{.Image}})";
  std::string out =
      render_all(o, ps_columns(),
                 {Json{{"ID", "abc"}, {"State", {{"Pid", 7}}}, {"Image", "busybox:latest"}},
                  Json{{"ID", "abcdef0123456789"}, {"State", {{"Pid", 12345}}}, {"Image", "x"}}});
  // Fields are raw values in templates: the ID is not shortened.
  EXPECT_EQ(out, "CONTAINER ID       PID       IMAGE\n"
                 "abc                7         busybox:latest\n"
                 "abcdef0123456789   12345     x\n");
}

TEST(RenderTemplateTable, EmptyResultPrintsHeader) {
  RenderOptions o;
  o.format = "table {{.Names}}\t{{.State.Pid}}";
  EXPECT_EQ(render_all(o, ps_columns(), {}), "NAMES     PID\n");
}

TEST(RenderTemplateTable, PlainTableDirectiveIsTheDefaultTable) {
  RenderOptions o;
  o.format = "table";
  EXPECT_EQ(render_all(o, ps_columns(), {}), "CONTAINER ID   NAMES     PID\n");
}

TEST(RenderTemplate, OneLinePerRecordWithRawValues) {
  RenderOptions o;
  o.format = "{{.State.Pid}} {{join .Names \",\"}}";
  EXPECT_EQ(render_all(o, ps_columns(), ps_records()), "42 web\n1234567 database,db\n");
}

TEST(RenderTemplate, DeclaredColumnMayBeAbsentButTypoFails) {
  RenderOptions o;
  o.format = "{{.ID}}|{{.State.Pid}}";
  EXPECT_EQ(render_all(o, ps_columns(), {Json{{"ID", "x"}}}), "x|<no value>\n");
  o.format = "{{.State.Pidd}}";
  EXPECT_EQ(render_all(o, ps_columns(), ps_records()),
            R"(ERR:template: 1:3: unknown field "State.Pidd")");
}

TEST(RenderTemplate, ParseErrorIsReturnedByMakeRenderer) {
  RenderOptions o;
  o.format = "{{.ID | foo}}";
  std::ostringstream out;
  auto r = make_renderer(o, ps_columns(), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), R"(template: 1:9: unknown function "foo")");
}

TEST(RenderTemplate, ExecutionErrorThrowsOnceAndStopsOutput) {
  RenderOptions o;
  o.format = "{{.Name}} {{.Extra}}"; // Extra is not a declared column
  std::ostringstream out;
  auto r = make_renderer(o, {{"Name", "NAME"}}, out);
  ASSERT_TRUE(r);
  (*r)->record(Json{{"Name", "a"}, {"Extra", 1}});
  EXPECT_THROW((*r)->record(Json{{"Name", "b"}}), RenderError);
  ASSERT_NE((*r)->error(), nullptr);
  EXPECT_EQ((*r)->error()->message(), R"(template: 1:13: unknown field "Extra")");
  // Later records and finish() add nothing and do not throw again.
  EXPECT_NO_THROW((*r)->record(Json{{"Name", "c"}, {"Extra", 3}}));
  EXPECT_NO_THROW((*r)->finish());
  EXPECT_EQ(out.str(), "a 1\n");
}

} // namespace
} // namespace ctk::tools
