// printf and the printing/string functions: Go's fmt verbs as docker users
// type them, and docker's join/split/lower/upper/title/pad/truncate.
#include "template_test_util.h"

namespace ctk::tools {
namespace {

using tmpltest::Json;
using tmpltest::render_template;

std::string pf(const std::string &args, const Json &d = Json::object()) {
  return render_template("{{printf " + args + "}}", d);
}

TEST(TemplatePrintf, StringVerbsWidthAndPrecision) {
  EXPECT_EQ(pf(R"("%s|%v" "a" "b")"), "a|b");
  EXPECT_EQ(pf(R"("[%5s]" "ab")"), "[   ab]");
  EXPECT_EQ(pf(R"("[%-10s]" "web")"), "[web       ]");
  EXPECT_EQ(pf(R"("[%.3s]" "abcdef")"), "[abc]");
  EXPECT_EQ(pf(R"("[%5.1s]" "xyz")"), "[    x]");
  // Width counts runes, not bytes.
  EXPECT_EQ(pf(R"("[%4s]" "é")"), "[   é]");
}

TEST(TemplatePrintf, IntegerVerbs) {
  EXPECT_EQ(pf(R"("%d %d" 42 -7)"), "42 -7");
  EXPECT_EQ(pf(R"("[%5d][%-5d][%05d][%+d]" 42 42 -42 3)"), "[   42][42   ][-0042][+3]");
  EXPECT_EQ(pf(R"("%x %X %#x %o %b" 255 255 255 8 5)"), "ff FF 0xff 10 101");
  EXPECT_EQ(pf(R"("%c%c %q %U" 72 105 65 65)"), "Hi 'A' U+0041");
  EXPECT_EQ(pf(R"("%.3d" 7)"), "007");
}

TEST(TemplatePrintf, FloatVerbs) {
  EXPECT_EQ(pf(R"("%.2f" 3.14159)"), "3.14");
  EXPECT_EQ(pf(R"("%f" 1.5)"), "1.500000");
  EXPECT_EQ(pf(R"("[%8.2f]" 2.5)"), "[    2.50]");
  EXPECT_EQ(pf(R"("%e" 123456.0)"), "1.234560e+05");
  EXPECT_EQ(pf(R"("%g %g %v" 0.5 1e21 2.0)"), "0.5 1e+21 2");
  // JSON does not tell ints from floats: whole numbers work with both.
  EXPECT_EQ(pf(R"("%.1f %d" 12 3.0)"), "12.0 3");
}

TEST(TemplatePrintf, QuoteAndHex) {
  EXPECT_EQ(pf(R"("%q" "a\"b\n")"), R"("a\"b\n")");
  EXPECT_EQ(pf(R"("%x %X" "hi" "hi")"), "6869 6869");
  EXPECT_EQ(pf(R"("%q" .L)", Json{{"L", {"a", "b"}}}), R"(["a" "b"])");
}

TEST(TemplatePrintf, ValuesBoolsAndTypes) {
  Json d = Json::parse(R"({"m":{"b":1,"a":"x"},"l":[1,"two"],"t":true,"n":null})");
  EXPECT_EQ(pf(R"("%v|%v|%t|%v" .m .l .t .n)", d), "map[a:x b:1]|[1 two]|true|<nil>");
  EXPECT_EQ(pf(R"("%T %T %T %T %T" 1 1.5 "s" .m .l)", d),
            "int float64 string map[string]interface {} []interface {}");
  EXPECT_EQ(pf(R"("%%")"), "%");
}

TEST(TemplatePrintf, MistakesShowLikeGo) {
  EXPECT_EQ(pf(R"("%d" "x")"), "%!d(string=x)");
  EXPECT_EQ(pf(R"("%s" 5)"), "%!s(int=5)");
  EXPECT_EQ(pf(R"("%d %d" 1)"), "1 %!d(MISSING)");
  EXPECT_EQ(pf(R"("%d" 1 "x")"), "1%!(EXTRA string=x)");
  EXPECT_EQ(pf(R"("%d" 1.5)"), "%!d(float64=1.5)");
  EXPECT_EQ(pf(R"("%s" .n)", Json{{"n", nullptr}}), "%!s(<nil>)");
  EXPECT_EQ(pf(R"("abc%")"), "abc%!(NOVERB)");
}

TEST(TemplatePrintf, ExplicitArgumentIndexAndStarWidth) {
  EXPECT_EQ(pf(R"("%[2]s-%[1]s" "a" "b")"), "b-a");
  EXPECT_EQ(pf(R"("[%*d]" 4 7)"), "[   7]");
}

TEST(TemplatePrint, SprintSpacesOnlyBetweenNonStrings) {
  EXPECT_EQ(render_template(R"({{print "a" "b" 1 2 "c"}})", Json::object()), "ab1 2c");
  EXPECT_EQ(render_template(R"({{println "a" 1 true}})", Json::object()), "a 1 true\n");
  EXPECT_EQ(render_template(R"({{println}})", Json::object()), "\n");
}

TEST(TemplateStrings, JoinSplitCase) {
  Json d = Json::parse(R"({"Names":["a","b","c"],"Ports":[80,443],"S":"x,y,,z","N":null})");
  EXPECT_EQ(render_template(R"({{join .Names ","}})", d), "a,b,c");
  EXPECT_EQ(render_template(R"({{join .Ports "/"}})", d), "80/443");
  EXPECT_EQ(render_template(R"({{join .N ","}})", d), "");
  EXPECT_EQ(render_template(R"({{split .S ","}})", d), "[x y  z]");
  EXPECT_EQ(render_template(R"({{len (split .S ",")}})", d), "4");
  EXPECT_EQ(render_template(R"({{index (split .S ",") 3}})", d), "z");
  EXPECT_EQ(render_template(R"({{lower "MiXeD"}} {{upper "MiXeD"}})", d), "mixed MIXED");
  EXPECT_EQ(render_template(R"({{title "hello wide-world foo_bar"}})", d),
            "Hello Wide-World Foo_bar");
}

TEST(TemplateStrings, DockerPadAndTruncate) {
  Json d = Json::object();
  EXPECT_EQ(render_template(R"([{{pad "x" 2 1}}])", d), "[  x ]");
  EXPECT_EQ(render_template(R"({{truncate "abcdef" 3}})", d), "abc");
}

TEST(TemplateStrings, SliceOfStringsAndLists) {
  Json d = Json::parse(R"({"ID":"0123456789abcdef","L":[1,2,3]})");
  EXPECT_EQ(render_template("{{slice .ID 0 12}}", d), "0123456789ab");
  EXPECT_EQ(render_template("{{slice .L 1}}", d), "[2 3]");
}

} // namespace
} // namespace ctk::tools
