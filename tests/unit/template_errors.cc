// Every class of template error names its cause and the line:column where
// the user typed the mistake.
#include "template_test_util.h"

namespace ctk::tools {
namespace {

using tmpltest::Json;
using tmpltest::render_template;
using tmpltest::sample_container;

std::string parse_error(std::string_view text) {
  auto t = Template::parse(text);
  if (t)
    return "parsed";
  return t.error().message();
}

TEST(TemplateErrors, UnknownFieldNamesFieldAndPosition) {
  EXPECT_EQ(render_template("{{.Pidd}}", sample_container()),
            R"(ERR:template: 1:3: unknown field "Pidd")");
  EXPECT_EQ(render_template("pid: {{.State.Pidd}}", sample_container()),
            R"(ERR:template: 1:8: unknown field "State.Pidd")");
  EXPECT_EQ(render_template("{{range .Mounts}}{{.Src}}{{end}}", sample_container()),
            R"(ERR:template: 1:20: unknown field "Src")");
}

TEST(TemplateErrors, PositionCountsLinesAndKeepsTablePrefix) {
  EXPECT_EQ(render_template("line1\n  {{.Nope}}", sample_container()),
            R"(ERR:template: 2:5: unknown field "Nope")");
  // Columns count from what the user typed, "table " included.
  EXPECT_EQ(render_template("table {{.ID}}\t{{.Nope}}", sample_container()),
            R"(ERR:template: 1:17: unknown field "Nope")");
}

TEST(TemplateErrors, FieldOfNonObject) {
  EXPECT_EQ(render_template("{{.Image.Tag}}", sample_container()),
            "ERR:template: 1:3: can't evaluate field Tag in type string");
}

TEST(TemplateErrors, UnknownFunction) {
  EXPECT_EQ(parse_error("{{foo .ID}}"), R"(template: 1:3: unknown function "foo")");
  EXPECT_EQ(parse_error("{{.ID | nope}}"), R"(template: 1:9: unknown function "nope")");
}

TEST(TemplateErrors, UnexpectedCharacterInOperand) {
  EXPECT_EQ(parse_error("{{.ID}"), R"(template: 1:6: unexpected "}" in operand)");
  EXPECT_EQ(parse_error("{{.ID ; .X}}"), R"(template: 1:7: unexpected ";" in operand)");
}

TEST(TemplateErrors, UnclosedActionAndComment) {
  EXPECT_EQ(parse_error("ab {{.ID"), "template: 1:4: unclosed action");
  EXPECT_EQ(parse_error("{{/* never closed"), "template: 1:1: unclosed comment");
  EXPECT_EQ(parse_error("{{/* x */ .ID}}"), "template: 1:1: comment ends before closing delimiter");
}

TEST(TemplateErrors, ControlStructureMismatch) {
  EXPECT_EQ(parse_error("{{if .A}}x"), "template: 1:1: unexpected EOF: missing {{end}} for {{if}}");
  EXPECT_EQ(parse_error("x{{range .L}}{{else}}y"),
            "template: 1:2: unexpected EOF: missing {{end}} for {{range}}");
  EXPECT_EQ(parse_error("a{{end}}"), "template: 1:2: unexpected {{end}}");
  EXPECT_EQ(parse_error("a{{else}}"), "template: 1:2: unexpected {{else}}");
  EXPECT_EQ(parse_error("{{if .A}}{{else}}{{else}}{{end}}"),
            "template: 1:18: expected {{end}}; found {{else}}");
  EXPECT_EQ(parse_error("{{define \"x\"}}{{end}}"), "template: 1:3: {{define}} is not supported");
  EXPECT_EQ(parse_error("{{if 1}}{{break}}{{end}}"), "template: 1:11: {{break}} outside {{range}}");
  EXPECT_EQ(parse_error("{{range .L}}{{else}}{{continue}}{{end}}"),
            "template: 1:23: {{continue}} outside {{range}}");
}

TEST(TemplateErrors, MissingValuesAndEmptyCommands) {
  EXPECT_EQ(parse_error("{{}}"), "template: 1:3: missing value for command");
  EXPECT_EQ(parse_error("{{if}}{{end}}"), "template: 1:5: missing value for if");
  EXPECT_EQ(parse_error("{{.A | }}"), R"(template: 1:6: missing command after "|")");
  EXPECT_EQ(parse_error("{{.A | | upper}}"), R"(template: 1:8: unexpected "|" in command)");
  EXPECT_EQ(parse_error("{{upper (.A | )}}"), R"(template: 1:13: missing command after "|")");
}

TEST(TemplateErrors, StringAndNumberSyntax) {
  EXPECT_EQ(parse_error(R"({{"abc}})"), "template: 1:3: unterminated quoted string");
  EXPECT_EQ(parse_error("{{`abc}}"), "template: 1:3: unterminated raw quoted string");
  EXPECT_EQ(parse_error(R"({{"\q"}})"), "template: 1:3: invalid syntax in quoted string");
  EXPECT_EQ(parse_error("{{12ab}}"), R"(template: 1:3: bad number syntax: "12ab")");
}

TEST(TemplateErrors, ParenthesesAndVariables) {
  EXPECT_EQ(parse_error("{{(upper .A}}"), "template: 1:12: unclosed left paren");
  EXPECT_EQ(parse_error("{{.A)}}"), "template: 1:5: unexpected right paren");
  EXPECT_EQ(parse_error("{{$nope}}"), R"(template: 1:3: undefined variable "$nope")");
  EXPECT_EQ(parse_error("{{$x = 1}}"), R"(template: 1:3: undefined variable "$x")");
  EXPECT_EQ(parse_error("{{if $y := 1}}{{end}}{{$y}}"),
            R"(template: 1:24: undefined variable "$y")");
  EXPECT_EQ(parse_error("{{$a, $b := .L}}"), "template: 1:5: too many declarations in command");
}

TEST(TemplateErrors, NonFunctionsCannotTakeArguments) {
  EXPECT_EQ(parse_error("{{.A .B}}"), "template: 1:6: can't give argument to non-function .A");
  EXPECT_EQ(parse_error("{{.A | .B}}"),
            "template: 1:8: non executable command in pipeline stage 2");
  EXPECT_EQ(parse_error("{{nil}}"), "template: 1:3: nil is not a command");
  // A literal that is not UTF-8 is still named without failing.
  EXPECT_EQ(parse_error("{{\"\xff\" 1}}"),
            "template: 1:7: can't give argument to non-function \"\xef\xbf\xbd\"");
}

TEST(TemplateErrors, FunctionArgumentsAtRuntime) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{index .Names 5}}", c),
            "ERR:template: 1:3: error calling index: index out of range: 5");
  EXPECT_EQ(render_template("{{not 1 2}}", c),
            "ERR:template: 1:3: wrong number of args for not: want 1 got 2");
  EXPECT_EQ(
      render_template(R"({{eq .State.Pid "4242"}})", c),
      "ERR:template: 1:3: error calling eq: incompatible types for comparison: int and string");
  EXPECT_EQ(render_template("{{lt .Names 1}}", c),
            "ERR:template: 1:3: error calling lt: invalid type for comparison");
  EXPECT_EQ(render_template("{{len .Count}}", c),
            "ERR:template: 1:3: error calling len: len of type int");
  EXPECT_EQ(render_template("{{upper .Count}}", c),
            "ERR:template: 1:3: wrong type for value; expected string; got int");
  EXPECT_EQ(render_template("{{range .Image}}{{end}}", c),
            "ERR:template: 1:9: range can't iterate over nginx:1.25");
}

TEST(TemplateErrors, DeepNestingFailsWithAMessageNotACrash) {
  std::string parens = "{{" + std::string(100000, '(') + "1" + std::string(100000, ')') + "}}";
  EXPECT_NE(parse_error(parens).find("nests deeper than 200 levels"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 5000; ++i)
    ifs += "{{if 1}}";
  EXPECT_NE(parse_error(ifs).find("nests deeper than 200 levels"), std::string::npos);
}

TEST(TemplateErrors, HugePrintfWidthIsBounded) {
  std::string out = render_template(R"({{printf "%99999999999d" 1}})", Json::object());
  EXPECT_EQ(out.size(), 1000000u);
}

TEST(TemplateErrors, ErrorCodeIsInvalidArgument) {
  auto t = Template::parse("{{foo}}");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ctk::rt::Errc::invalid_argument);
}

} // namespace
} // namespace ctk::tools

namespace ctk::tools {
namespace {

// Hostile --format strings: random sequences of template pieces must parse
// or fail with a positioned message, and never crash or hang.
TEST(TemplateHostile, RandomTemplatesNeverCrash) {
  static const char *const pieces[] = {
      "{{",   "}}",    "{{- ",  " -}}",    ".",     ".State", ".Names", ".Pid",
      "$",    "$x",    ":=",    "=",       "|",     "(",      ")",      "\"s\"",
      "`r`",  "'c'",   "\"",    "`",       "range", "if",     "with",   "end",
      "else", "break", " ",     "\n",      "/*",    "*/",     "printf", "\"%5.2f %q %x %[3]d %*d\"",
      "1",    "-2.5",  "index", "json",    "len",   "eq",     "and",    "or",
      "not",  "join",  "split", "slice",   ",",     "nil",    "true",   "\\t",
      "\xff", "}",     "{",     "\"\xff\""};
  constexpr size_t n = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto rnd = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  Json data = tmpltest::sample_container();
  size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (size_t k = 0, len = rnd() % 24; k < len; ++k)
      text += pieces[rnd() % n];
    auto t = Template::parse(text);
    if (!t) {
      EXPECT_EQ(t.error().message().rfind("template: ", 0), 0u) << text;
      continue;
    }
    ++parsed;
    auto out = t->execute(data);
    if (!out) {
      EXPECT_EQ(out.error().message().rfind("template: ", 0), 0u) << text;
    }
  }
  RecordProperty("parsed", static_cast<int>(parsed));
  EXPECT_GT(parsed, 100u); // the generator does reach execution
}

} // namespace
} // namespace ctk::tools
