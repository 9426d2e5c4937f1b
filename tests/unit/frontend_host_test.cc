// tools/record_builder, host, progress and output: what a plugin's calls
// turn into.
#include <gtest/gtest.h>

#include <csignal>
#include <unistd.h>

#include "host.h"
#include "output.h"
#include "progress.h"
#include "record_builder.h"

namespace ctk::tools {
namespace {

using Json = nlohmann::ordered_json;

TEST(FrontendHost, BuilderAssemblesNestedRecords) {
  RecordBuilder b;
  b.begin_record();
  b.key("ID");
  b.value("abc");
  b.key("State");
  b.begin_object();
  b.key("Pid");
  b.value(42);
  b.end_object();
  b.key("Ports");
  b.begin_array();
  b.value(80);
  b.begin_object();
  b.key("p");
  b.value(true);
  b.end_object();
  b.end_array();
  auto rec = b.end_record();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->dump(), R"({"ID":"abc","State":{"Pid":42},"Ports":[80,{"p":true}]})");
}

TEST(FrontendHost, BuilderRefusesMalformedCalls) {
  RecordBuilder b;
  b.begin_record();
  b.value(1);
  EXPECT_FALSE(b.end_record());
  EXPECT_EQ(b.error(), "value without a key");

  b.begin_record();
  b.key("a");
  b.begin_array();
  EXPECT_FALSE(b.end_record());
  EXPECT_EQ(b.error(), "end_record with an object or array still open");

  b.begin_record();
  b.end_object();
  EXPECT_FALSE(b.end_record());

  b.begin_record();
  b.key("a");
  b.key("b");
  EXPECT_FALSE(b.end_record());

  // A good record after bad ones is fine.
  b.begin_record();
  b.key("a");
  b.value(nullptr);
  EXPECT_TRUE(b.end_record());
}

class Capture : public Renderer {
public:
  std::vector<Json> records;
  int flushes = 0;
  bool finished = false;
  void record(Json rec) override { records.push_back(std::move(rec)); }
  void flush() override { flushes++; }
  void finish() override { finished = true; }
};

TEST(FrontendHost, CallbacksReachTheRenderer) {
  Capture cap;
  StdoutBuf buf(1);
  std::ostream out(&buf);
  Host host({"t", CTK_LOG_WARN, false}, &cap, buf, out);
  const ctk_host_v1 *t = host.table();
  EXPECT_EQ(t->size, sizeof(ctk_host_v1));
  t->begin_record(&host);
  t->key(&host, "Name", 4);
  t->value_string(&host, "web", 3);
  t->key(&host, "N", 1);
  t->value_uint(&host, 7);
  t->end_record(&host);
  t->begin_record(&host);
  t->value_int(&host, 1); // malformed: dropped, never rendered
  t->end_record(&host);
  t->flush(&host);
  host.finish();
  ASSERT_EQ(cap.records.size(), 1u);
  EXPECT_EQ(cap.records[0].dump(), R"({"Name":"web","N":7})");
  EXPECT_EQ(cap.flushes, 1);
  EXPECT_TRUE(cap.finished);
}

TEST(FrontendHost, ProgressLine) {
  EXPECT_EQ(Progress::line("copy", 3, 10, 10), "copy [===>      ]  30% 3/10");
  EXPECT_EQ(Progress::line("copy", 10, 10, 10), "copy [==========] 100% 10/10");
  EXPECT_EQ(Progress::line("scan", 5, 0, 10), "scan 5");
}

TEST(FrontendHost, StdoutBufNoticesAClosedPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto old = std::signal(SIGPIPE, SIG_IGN);
  close(fds[0]);
  {
    StdoutBuf buf(fds[1], 16);
    std::ostream out(&buf);
    out << "more than sixteen bytes of output";
    out.flush();
    EXPECT_TRUE(buf.broken());
    EXPECT_TRUE(out.good()) << "the stream itself must not go bad mid-render";
  }
  close(fds[1]);
  std::signal(SIGPIPE, old);
}

} // namespace
} // namespace ctk::tools
