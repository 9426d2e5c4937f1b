// Table cells in human units by column type, and dotted-key lookup.
#include <gtest/gtest.h>

#include "render/render.h"

namespace ctk::tools {
namespace {

constexpr int64_t kNow = 1700000000;

std::string cell(const Json &v, uint32_t type, bool no_trunc = false) {
  ColumnSpec c;
  c.key = "X";
  c.header = "X";
  c.type = type;
  return format_cell(v, c, no_trunc, kNow);
}

TEST(RenderHumanBytes, BinaryUnitsLikeDockerStats) {
  EXPECT_EQ(human_bytes(0), "0B");
  EXPECT_EQ(human_bytes(512), "512B");
  EXPECT_EQ(human_bytes(1023), "1023B");
  EXPECT_EQ(human_bytes(1024), "1KiB");
  EXPECT_EQ(human_bytes(1536), "1.5KiB");
  EXPECT_EQ(human_bytes(100663296), "96MiB");
  EXPECT_EQ(human_bytes(2097152000), "1.953GiB");
  EXPECT_EQ(human_bytes(5.5 * 1024 * 1024 * 1024 * 1024), "5.5TiB");
}

TEST(RenderHumanDuration, CompactTwoUnits) {
  EXPECT_EQ(human_duration(0), "0s");
  EXPECT_EQ(human_duration(0.25), "250ms");
  EXPECT_EQ(human_duration(3), "3s");
  EXPECT_EQ(human_duration(59.9), "59s");
  EXPECT_EQ(human_duration(120), "2m");
  EXPECT_EQ(human_duration(150), "2m30s");
  EXPECT_EQ(human_duration(3900), "1h5m");
  EXPECT_EQ(human_duration(7200), "2h");
  EXPECT_EQ(human_duration(2 * 86400 + 3 * 3600 + 59), "2d3h");
  EXPECT_EQ(human_duration(-3), "-3s");
}

TEST(RenderHumanAgo, DockerWording) {
  EXPECT_EQ(human_ago(kNow, kNow), "Less than a second ago");
  EXPECT_EQ(human_ago(kNow + 50, kNow), "Less than a second ago"); // clock skew
  EXPECT_EQ(human_ago(kNow - 1, kNow), "1 second ago");
  EXPECT_EQ(human_ago(kNow - 3, kNow), "3 seconds ago");
  EXPECT_EQ(human_ago(kNow - 90, kNow), "About a minute ago");
  EXPECT_EQ(human_ago(kNow - 5 * 60, kNow), "5 minutes ago");
  EXPECT_EQ(human_ago(kNow - 3600, kNow), "About an hour ago");
  EXPECT_EQ(human_ago(kNow - 2 * 3600, kNow), "2 hours ago");
  EXPECT_EQ(human_ago(kNow - 3 * 86400, kNow), "3 days ago");
  EXPECT_EQ(human_ago(kNow - 15 * 86400, kNow), "2 weeks ago");
  EXPECT_EQ(human_ago(kNow - 95 * 86400, kNow), "3 months ago");
  EXPECT_EQ(human_ago(kNow - 800 * 86400LL, kNow), "2 years ago");
}

TEST(RenderFormatCell, BytesDurationPercent) {
  EXPECT_EQ(cell(100663296, CTK_COL_BYTES), "96MiB");
  EXPECT_EQ(cell(150, CTK_COL_DURATION), "2m30s");
  EXPECT_EQ(cell(12.5, CTK_COL_PERCENT), "12.50%");
  EXPECT_EQ(cell(0, CTK_COL_PERCENT), "0.00%");
}

TEST(RenderFormatCell, TimestampFromUnixSecondsOrRfc3339) {
  EXPECT_EQ(cell(kNow - 3, CTK_COL_TIMESTAMP), "3 seconds ago");
  EXPECT_EQ(cell("2023-11-14T22:13:17Z", CTK_COL_TIMESTAMP), "3 seconds ago");
  EXPECT_EQ(cell("2023-11-14T22:13:17.123456789Z", CTK_COL_TIMESTAMP), "3 seconds ago");
  EXPECT_EQ(cell("2023-11-15T00:13:17+02:00", CTK_COL_TIMESTAMP), "3 seconds ago");
  EXPECT_EQ(cell("2023-11-14T20:13:20Z", CTK_COL_TIMESTAMP), "2 hours ago");
  // Go's zero time and 0 mean "never".
  EXPECT_EQ(cell("0001-01-01T00:00:00Z", CTK_COL_TIMESTAMP), "");
  EXPECT_EQ(cell(0, CTK_COL_TIMESTAMP), "");
  EXPECT_EQ(cell("not a time", CTK_COL_TIMESTAMP), "not a time");
}

TEST(RenderFormatCell, IdShortUnlessNoTrunc) {
  std::string full = "sha256:4f2a1c9d8e7b6a5f4e3d2c1b0a998877665544332211ffeeddccbbaa99887766";
  EXPECT_EQ(cell(full, CTK_COL_ID), "4f2a1c9d8e7b");
  EXPECT_EQ(cell(full, CTK_COL_ID, true), full); // docker images --no-trunc keeps "sha256:"
  EXPECT_EQ(cell("abc", CTK_COL_ID), "abc");
}

TEST(RenderFormatCell, ListObjectBoolIntStringNull) {
  EXPECT_EQ(cell(Json::array({"web", "frontend"}), CTK_COL_LIST), "web,frontend");
  EXPECT_EQ(cell(Json::array({80, 443}), CTK_COL_LIST), "80,443");
  EXPECT_EQ(cell(Json::array(), CTK_COL_LIST), "");
  EXPECT_EQ(cell(Json::parse(R"({"a":1,"b":[true]})"), CTK_COL_OBJECT), R"({"a":1,"b":[true]})");
  EXPECT_EQ(cell(true, CTK_COL_BOOL), "true");
  EXPECT_EQ(cell(false, CTK_COL_BOOL), "false");
  EXPECT_EQ(cell(-42, CTK_COL_INT), "-42");
  EXPECT_EQ(cell(18446744073709551615ULL, CTK_COL_INT), "18446744073709551615");
  EXPECT_EQ(cell("as is", CTK_COL_STRING), "as is");
  EXPECT_EQ(cell(2.5, CTK_COL_STRING), "2.5");
  for (uint32_t t = CTK_COL_STRING; t <= CTK_COL_PERCENT; ++t)
    EXPECT_EQ(cell(nullptr, t), "") << "type " << t;
}

TEST(RenderFormatCell, WrongTypedValueFallsBackToPlainText) {
  EXPECT_EQ(cell("n/a", CTK_COL_BYTES), "n/a");
  EXPECT_EQ(cell("5s", CTK_COL_DURATION), "5s");
  EXPECT_EQ(cell(7, CTK_COL_LIST), "7");
}

TEST(RenderLookup, DottedKeysAndKeysWithDots) {
  Json rec = Json::parse(
      R"({"State":{"Pid":7,"Health":{"Status":"ok"}},"Labels":{"com.example.team":"infra"},"a.b":1})");
  ASSERT_NE(lookup(rec, "State.Pid"), nullptr);
  EXPECT_EQ(*lookup(rec, "State.Pid"), 7);
  EXPECT_EQ(*lookup(rec, "State.Health.Status"), "ok");
  EXPECT_EQ(*lookup(rec, "Labels.com.example.team"), "infra");
  EXPECT_EQ(*lookup(rec, "a.b"), 1);
  EXPECT_EQ(lookup(rec, "State.Nope"), nullptr);
  EXPECT_EQ(lookup(rec, "State.Pid.X"), nullptr);
  EXPECT_EQ(lookup(rec, "Nope"), nullptr);
}

} // namespace
} // namespace ctk::tools
