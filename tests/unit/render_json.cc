// --format json: one array streamed record by record; JSON lines for
// streaming commands and jsonl; raw values, never human units.
#include <sstream>

#include <gtest/gtest.h>

#include "render/render.h"

namespace ctk::tools {
namespace {

// Keeps what is written and counts what reached it, and how often the
// renderer flushed.
class CountingBuf : public std::streambuf {
public:
  std::string data;
  size_t syncs = 0;

protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      data += static_cast<char>(c);
    return c;
  }
  std::streamsize xsputn(const char *s, std::streamsize n) override {
    data.append(s, static_cast<size_t>(n));
    return n;
  }
  int sync() override {
    ++syncs;
    return 0;
  }
};

std::vector<ColumnSpec> columns() {
  return {{"ID", "ID", CTK_COL_ID}, {"Mem", "MEM", CTK_COL_BYTES}};
}

std::unique_ptr<Renderer> make(const std::string &format, bool stream, std::ostream &out) {
  RenderOptions o;
  o.format = format;
  o.stream = stream;
  auto r = make_renderer(o, columns(), out);
  EXPECT_TRUE(r) << r.error().message();
  return std::move(*r);
}

TEST(RenderJson, EmptyResultIsEmptyArray) {
  std::ostringstream out;
  auto r = make("json", false, out);
  r->finish();
  EXPECT_EQ(out.str(), "[]\n");
}

TEST(RenderJson, ArrayOfRawRecordsOnePerLine) {
  std::ostringstream out;
  auto r = make("json", false, out);
  Json a = Json::parse(R"({"ID":"sha256:0123456789abcdef0123","Mem":100663296})");
  Json b = Json::parse(R"({"ID":"fedcba","Mem":0,"Extra":{"k":[1,2]}})");
  r->record(a);
  r->record(b);
  r->finish();
  EXPECT_EQ(out.str(), "[\n" + a.dump() + ",\n" + b.dump() + "\n]\n");
  Json parsed = Json::parse(out.str());
  ASSERT_EQ(parsed.size(), 2u);
  // Raw values: full ID, bytes as a number.
  EXPECT_EQ(parsed[0]["ID"], "sha256:0123456789abcdef0123");
  EXPECT_EQ(parsed[0]["Mem"], 100663296);
}

TEST(RenderJson, HundredThousandRecordsStreamWithoutBuffering) {
  CountingBuf buf;
  std::ostream out(&buf);
  auto r = make("json", false, out);
  constexpr int kRecords = 100000;
  for (int i = 0; i < kRecords; ++i)
    r->record(Json{{"ID", std::to_string(i)}, {"Mem", i * 4096LL}});
  // Everything but the closing bracket reached the stream before finish():
  // the renderer keeps no records.
  size_t before_finish = buf.data.size();
  r->finish();
  EXPECT_GE(before_finish + 3, buf.data.size());
  Json parsed = Json::parse(buf.data);
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(parsed[kRecords - 1]["ID"], std::to_string(kRecords - 1));
  EXPECT_EQ(parsed[12345]["Mem"], 12345 * 4096LL);
}

TEST(RenderJson, StreamingJsonIsJsonLinesFlushedPerRecord) {
  CountingBuf buf;
  std::ostream out(&buf);
  auto r = make("json", true, out);
  for (int i = 0; i < 3; ++i) {
    r->record(Json{{"ID", std::to_string(i)}});
    EXPECT_EQ(buf.syncs, static_cast<size_t>(i + 1)) << "record " << i << " was not flushed";
  }
  r->flush();
  r->finish();
  EXPECT_EQ(buf.data, "{\"ID\":\"0\"}\n{\"ID\":\"1\"}\n{\"ID\":\"2\"}\n");
}

TEST(RenderJson, JsonlAlwaysMeansLines) {
  std::ostringstream out;
  auto r = make("jsonl", false, out);
  r->record(Json{{"ID", "a"}});
  r->record(Json{{"ID", "b"}});
  r->finish();
  std::istringstream in(out.str());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(Json::parse(line).is_object()) << line;
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(RenderJson, InvalidUtf8InDataStillGivesValidJson) {
  // A process's command line is bytes: it must not abort the output.
  std::ostringstream out;
  auto r = make("json", false, out);
  r->record(Json{{"ID", std::string("bad\xff\xfe") + "cmd"}});
  r->finish();
  Json parsed = Json::parse(out.str());
  EXPECT_EQ(parsed[0]["ID"], "bad\xEF\xBF\xBD\xEF\xBF\xBD"
                             "cmd");
}

} // namespace
} // namespace ctk::tools
