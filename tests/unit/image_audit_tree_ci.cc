// The merged tree rows and the CI rules (.dive-ci parsing and evaluation).
#include <gtest/gtest.h>

#include "unit/image_audit_stack.h"
#include "dive_ci.h"

using namespace ctk::rt::image;
using namespace ctk::plugins::layers;
using ctk::test::sample_stack;

namespace {

Audit sample() {
  auto a = audit_layers(sample_stack());
  EXPECT_TRUE(a) << a.error().message();
  return a ? std::move(*a) : Audit{};
}

// "path status layer size" per row, indented by depth.
std::vector<std::string> render(const std::vector<TreeRow> &rows) {
  std::vector<std::string> out;
  for (const TreeRow &r : rows)
    out.push_back(std::string(2 * r.depth, ' ') + r.name + " " + status_letter(r.status) + " " +
                  std::to_string(r.layer) + " " + std::to_string(r.size));
  return out;
}

} // namespace

TEST(ImageAuditTree, FinalTreeWithStatusesAndLayers) {
  Audit a = sample();
  auto rows = tree_rows(a);
  ASSERT_TRUE(rows) << rows.error().message();
  EXPECT_EQ(render(*rows), (std::vector<std::string>{
                               "app A 0 200",
                               "  data.bin M 2 200",
                               "  deploy D 1 49",
                               "bin A 0 80",
                               "  su M 2 50",
                               "  tool M 1 30",
                               "cache D 1 0",
                               "  a D 1 10",
                               "  sub D 1 0",
                               "    .env D 1 21",
                               "etc A 0 100",
                               "  passwd M 1 100",
                               "opt A 0 9",
                               "  x D 2 5",
                               "  y D 2 7",
                               "  z A 2 9",
                               "shared A 1 0",
                               "tmp A 0 0",
                           }));
}

TEST(ImageAuditTree, OneLayerChangesOnly) {
  Audit a = sample();
  TreeOptions opt;
  opt.layer = 2;
  opt.changes_only = true;
  auto rows = tree_rows(a, opt);
  ASSERT_TRUE(rows) << rows.error().message();
  EXPECT_EQ(render(*rows), (std::vector<std::string>{
                               "app   0 200", // a parent of a change, itself unchanged
                               "  data.bin M 2 200",
                               "bin   0 80",
                               "  su M 2 50",
                               "opt   0 9",
                               "  x D 2 5",
                               "  y D 2 7",
                               "  z A 2 9",
                           }));
}

TEST(ImageAuditTree, AsOfFirstLayerWithoutDeleted) {
  Audit a = sample();
  TreeOptions opt;
  opt.layer = 1;
  opt.show_deleted = false;
  auto rows = tree_rows(a, opt);
  ASSERT_TRUE(rows);
  std::vector<std::string> paths;
  for (const TreeRow &r : *rows)
    paths.push_back(r.path);
  // Layer 1 deleted app/deploy and cache/; opt/x and opt/y still exist then.
  EXPECT_EQ(paths,
            (std::vector<std::string>{"app", "app/data.bin", "bin", "bin/su", "bin/tool", "etc",
                                      "etc/passwd", "opt", "opt/x", "opt/y", "shared", "tmp"}));
  opt.layer = 9;
  auto bad = tree_rows(a, opt);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("layers 0 to 3"), std::string::npos)
      << bad.error().message();
}

TEST(ImageAuditCi, ByteSizesLikeDive) {
  EXPECT_EQ(parse_byte_size("20MB").value(), 20'000'000u);
  EXPECT_EQ(parse_byte_size("20 mib").value(), 20u << 20);
  EXPECT_EQ(parse_byte_size("1.5GB").value(), 1'500'000'000u);
  EXPECT_EQ(parse_byte_size("1024").value(), 1024u);
  EXPECT_EQ(parse_byte_size("2k").value(), 2000u);
  EXPECT_FALSE(parse_byte_size("20 parsecs"));
  EXPECT_FALSE(parse_byte_size("-5MB"));
  EXPECT_FALSE(parse_byte_size(""));
  EXPECT_FALSE(parse_byte_size("0x10"));
  EXPECT_DOUBLE_EQ(parse_ratio("0.1").value(), 0.1);
  EXPECT_DOUBLE_EQ(parse_ratio("10%").value(), 0.1);
  EXPECT_FALSE(parse_ratio("ten"));
  EXPECT_FALSE(parse_ratio("0.1x"));
}

TEST(ImageAuditCi, ParsesDiveCiRulesOverDefaults) {
  auto r = parse_dive_ci("# gate\n"
                         "plain: true\n"
                         "rules:\n"
                         "  # If the efficiency is measured below X%, mark as failed.\n"
                         "  lowestEfficiency: 0.95\n"
                         "  highestWastedBytes: \"20MB\"\n"
                         "  highestUserWastedPercent: disabled\n"
                         "  noDeletedSecrets: true\n"
                         "ignore:\n"
                         "  - foo\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_DOUBLE_EQ(r->lowest_efficiency.value(), 0.95);
  EXPECT_EQ(r->highest_wasted_bytes.value(), 20'000'000u);
  EXPECT_FALSE(r->highest_user_wasted_percent);
  EXPECT_TRUE(r->no_deleted_secrets);

  auto defaults = parse_dive_ci("rules:\n  highestWastedBytes: 1KiB\n");
  ASSERT_TRUE(defaults);
  EXPECT_DOUBLE_EQ(defaults->lowest_efficiency.value(), 0.9);           // dive's default kept
  EXPECT_DOUBLE_EQ(defaults->highest_user_wasted_percent.value(), 0.1); // likewise
  EXPECT_EQ(defaults->highest_wasted_bytes.value(), 1024u);
}

TEST(ImageAuditCi, DiveCiErrorsNameTheLine) {
  auto unknown = parse_dive_ci("rules:\n  lowestEfficency: 0.9\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("line 2: unknown rule 'lowestEfficency'"),
            std::string::npos)
      << unknown.error().message();
  auto bad = parse_dive_ci("rules:\n  lowestEfficiency: 0.9\n  highestWastedBytes: lots\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("line 3: highestWastedBytes: invalid byte size 'lots'"),
            std::string::npos)
      << bad.error().message();
  EXPECT_FALSE(parse_dive_ci("rules:\n\tlowestEfficiency: 0.9\n"));
  EXPECT_FALSE(parse_dive_ci("rules:\n  lowestEfficiency:\n"));
  EXPECT_FALSE(parse_dive_ci("rules: 3\n"));
}

TEST(ImageAuditCi, EvaluateNamesFailingRulesAndValues) {
  Audit a = sample(); // efficiency 0.457, wasted 1001, user wasted 2.047, 2 deleted secrets
  CiRules rules;
  rules.lowest_efficiency = 0.9;
  rules.highest_wasted_bytes = 2000;
  rules.highest_user_wasted_percent = 0.1;
  rules.no_deleted_secrets = true;
  CiVerdict v = evaluate_ci(a, rules);
  EXPECT_FALSE(v.pass);
  ASSERT_EQ(v.rules.size(), 4u);
  EXPECT_EQ(v.rules[0].rule, "lowestEfficiency");
  EXPECT_FALSE(v.rules[0].pass);
  EXPECT_EQ(v.rules[0].message, "image efficiency is too low (efficiency=0.4568 < threshold=0.9)");
  EXPECT_TRUE(v.rules[1].pass); // 1001 <= 2000
  EXPECT_FALSE(v.rules[2].pass);
  EXPECT_NE(v.rules[2].message.find("2.047 > threshold=0.1"), std::string::npos)
      << v.rules[2].message;
  EXPECT_FALSE(v.rules[3].pass);
  EXPECT_NE(v.rules[3].message.find("/app/deploy (layer 0, deleted in layer 1)"), std::string::npos)
      << v.rules[3].message;

  CiRules lenient;
  lenient.lowest_efficiency = 0.4;
  lenient.highest_wasted_bytes = 1001; // equal passes, as in dive
  CiVerdict ok = evaluate_ci(a, lenient);
  EXPECT_TRUE(ok.pass);
  EXPECT_FALSE(ok.rules[2].enabled);
  EXPECT_EQ(ok.rules[2].message, "rule disabled");
}
