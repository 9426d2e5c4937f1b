// tools/cli: descriptor-driven parsing, without the binary.
#include <gtest/gtest.h>

#include "cli.h"

namespace ctk::tools {
namespace {

const ctk_option_v1 kOpts[] = {
    {"all", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, ""},
    {"name", 'n', 0, CTK_ARG_STRING, "NAME", nullptr, ""},
    {"env", 'e', CTK_OPT_MULTI, CTK_ARG_STRING, "E", nullptr, ""},
    {"net", 'N', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, ""},
    {"level", 0, 0, CTK_ARG_INT, "N", "5", ""},
};
const ctk_positional_v1 kPos[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0, ""},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_OPTIONAL | CTK_POS_VARIADIC, ""},
};
const ctk_column_v1 kCols[] = {{"ID", "ID", CTK_COL_ID, 0, ""}};

ctk_command_v1 command(uint32_t flags) {
  return {"run", "", nullptr, nullptr, kOpts, 5, kPos, 2, kCols, 1, flags, nullptr};
}

using Words = std::vector<std::string>;
using Opts = std::vector<std::pair<std::string, std::string>>;

TEST(FrontendCli, FirstPositionalSkipsOptionValues) {
  auto c = command(CTK_CMD_STOP_AT_POSITIONAL);
  EXPECT_EQ(first_positional(c, {"-a", "img", "ls", "-l"}), 1u);
  EXPECT_EQ(first_positional(c, {"--name", "x", "img"}), 2u);
  EXPECT_EQ(first_positional(c, {"--name=x", "img"}), 1u);
  EXPECT_EQ(first_positional(c, {"-an", "x", "img"}), 2u); // -n takes the next word
  EXPECT_EQ(first_positional(c, {"-anx", "img"}), 1u);     // ... or the rest of this one
  EXPECT_EQ(first_positional(c, {"-N", "img"}), 1u);       // optional values never take a word
  EXPECT_EQ(first_positional(c, {"--format", "json", "img"}), 2u); // host options count too
  EXPECT_EQ(first_positional(c, {"-a", "--", "-x"}), 1u);
  EXPECT_EQ(first_positional(c, {"-a"}), 1u);
}

TEST(FrontendCli, StopAtPositionalPassesTheRestVerbatim) {
  auto p = parse_command(command(CTK_CMD_STOP_AT_POSITIONAL), {"-a", "img", "ls", "-l", "--all"});
  EXPECT_EQ(p.args, (Words{"img", "ls", "-l", "--all"}));
  EXPECT_EQ(p.options, (Opts{{"all", "true"}, {"level", "5"}}));
}

TEST(FrontendCli, WithoutStopOptionsParseEverywhere) {
  auto p = parse_command(command(0), {"img", "-a", "x", "--level", "7"});
  EXPECT_EQ(p.args, (Words{"img", "x"}));
  EXPECT_EQ(p.options, (Opts{{"all", "true"}, {"level", "7"}}));
}

TEST(FrontendCli, MultiKeepsOrderAndOptionalValuesStayAttached) {
  auto p = parse_command(command(0), {"-e", "A", "--net", "img", "--env=B", "-eC"});
  EXPECT_EQ(p.args, (Words{"img"})); // --net did not swallow img
  EXPECT_EQ(p.options,
            (Opts{{"env", "A"}, {"net", ""}, {"env", "B"}, {"env", "C"}, {"level", "5"}}));
  EXPECT_EQ(parse_command(command(0), {"-N=/f", "img"}).options[0].second, "/f");
  EXPECT_EQ(parse_command(command(0), {"-N/f", "img"}).options[0].second, "/f");
  EXPECT_EQ(parse_command(command(0), {"--net=/f", "img"}).options[0].second, "/f");
}

TEST(FrontendCli, UsageErrorsNameTheProblem) {
  auto c = command(0);
  try {
    parse_command(c, {"-a"});
    FAIL();
  } catch (const UsageError &e) {
    EXPECT_EQ(e.command(), "run");
    EXPECT_STREQ(e.what(), "missing argument IMAGE");
  }
  EXPECT_THROW(parse_command(c, {"--bogus", "img"}), UsageError);
  EXPECT_THROW(parse_command(c, {"img", "--name"}), UsageError);
  EXPECT_THROW(parse_command(c, {"img", "--name", "a", "--name", "b"}), UsageError);
  EXPECT_THROW(parse_command(c, {"img", "-h"}), UsageError); // -h is not help
}

TEST(FrontendCli, HelpIsALongOptionOnly) {
  EXPECT_TRUE(parse_command(command(0), {"--help"}).help);
  // After the first positional of a stopping command, --help is the program's.
  EXPECT_FALSE(parse_command(command(CTK_CMD_STOP_AT_POSITIONAL), {"img", "--help"}).help);
}

TEST(FrontendCli, HostOptionsDependOnTheCommand) {
  auto c = command(0);
  EXPECT_TRUE(renders_output(c));
  EXPECT_TRUE(has_id_column(c));
  auto p = parse_command(c, {"--format", "json", "--no-trunc", "img"});
  EXPECT_EQ(p.options[0], (std::pair<std::string, std::string>{"format", "json"}));
  EXPECT_EQ(p.options[1], (std::pair<std::string, std::string>{"no-trunc", "true"}));
  EXPECT_THROW(parse_command(command(CTK_CMD_NO_OUTPUT), {"--format", "json", "img"}), UsageError);
}

TEST(FrontendCli, GlobalOptionsEndAtTheCommand) {
  const char *argv[] = {"ctk", "--root", "/r", "--log-level=debug", "ps", "--root", "x"};
  GlobalOptions g = parse_global(7, argv);
  EXPECT_EQ(g.root, "/r");
  EXPECT_EQ(g.run_root, "/run/ctk");
  EXPECT_EQ(g.log_level, CTK_LOG_DEBUG);
  EXPECT_EQ(g.words, (Words{"ps", "--root", "x"}));
  const char *bad[] = {"ctk", "--log-level", "loud", "ps"};
  EXPECT_THROW(parse_global(4, bad), UsageError);
}

} // namespace
} // namespace ctk::tools
