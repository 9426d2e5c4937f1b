// The Go template subset users type with docker: fields, values, control
// structures, variables, pipelines, literals, trim markers and comments.
#include "template_test_util.h"

namespace ctk::tools {
namespace {

using tmpltest::Json;
using tmpltest::render_template;
using tmpltest::sample_container;

TEST(TemplateFields, NestedFieldGivesRawNumber) {
  EXPECT_EQ(render_template("{{.State.Pid}}", sample_container()), "4242");
}

TEST(TemplateFields, TextAroundActionsIsKept) {
  EXPECT_EQ(render_template("pid={{.State.Pid}} img={{.Image}}!", sample_container()),
            "pid=4242 img=nginx:1.25!");
}

TEST(TemplateFields, DotPrintsTheWholeValue) {
  EXPECT_EQ(render_template("{{.}}", Json("plain")), "plain");
  EXPECT_EQ(render_template("{{.}}", Json::parse(R"({"b":2,"a":"x"})")), "map[a:x b:2]");
}

TEST(TemplateFields, FieldAfterParenthesizedPipeline) {
  EXPECT_EQ(render_template(R"({{(index .Mounts 1).Source}})", sample_container()), "/var/log/web");
}

TEST(TemplateValues, PrintLikeGo) {
  Json d = Json::parse(R"({"i": 7, "neg": -3, "f": 2.5, "whole": 3.0, "big": 1000000.0,
    "small": 0.00001, "t": true, "f2": false, "n": null, "s": "str",
    "arr": ["a", 1, null], "map": {"z": 1, "a": [1, 2], "m": null}, "u": 18446744073709551615})");
  EXPECT_EQ(render_template("{{.i}} {{.neg}} {{.f}} {{.whole}}", d), "7 -3 2.5 3");
  EXPECT_EQ(render_template("{{.big}} {{.small}}", d), "1e+06 1e-05");
  EXPECT_EQ(render_template("{{.t}} {{.f2}}", d), "true false");
  EXPECT_EQ(render_template("{{.n}}", d), "<no value>");
  EXPECT_EQ(render_template("{{.arr}}", d), "[a 1 <nil>]");
  EXPECT_EQ(render_template("{{.map}}", d), "map[a:[1 2] m:<nil> z:1]");
  EXPECT_EQ(render_template("{{.u}}", d), "18446744073709551615");
}

TEST(TemplateValues, JsonIsCompactAndUnescaped) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{json .Names}}", c), R"(["web","frontend"])");
  EXPECT_EQ(render_template("{{json .State}}", c),
            R"({"Status":"running","Pid":4242,"Running":true,"ExitCode":0})");
  EXPECT_EQ(render_template("{{json .Nothing}}", c), "null");
  EXPECT_EQ(render_template("{{json .}}", Json::parse(R"({"h":"<a&b>"})")), R"({"h":"<a&b>"})");
}

TEST(TemplateIndex, MapKeyWithDotsAndArrayPosition) {
  auto c = sample_container();
  EXPECT_EQ(render_template(R"({{index .Labels "com.example.team"}})", c), "infra");
  EXPECT_EQ(render_template("{{index .Names 1}}", c), "frontend");
  EXPECT_EQ(render_template(R"({{index .Mounts 0 "Destination"}})", c), "/usr/share/nginx/html");
}

TEST(TemplateIndex, MissingMapKeyIsNoValue) {
  EXPECT_EQ(render_template(R"({{index .Labels "nope"}})", sample_container()), "<no value>");
}

TEST(TemplateRange, RebindsDotAndJoinsOutput) {
  EXPECT_EQ(render_template("{{range .Names}}[{{.}}]{{end}}", sample_container()),
            "[web][frontend]");
  EXPECT_EQ(render_template("{{range .Mounts}}{{.Source}}:{{.RW}} {{end}}", sample_container()),
            "/srv/www:false /var/log/web:true ");
}

TEST(TemplateRange, ElseRunsForEmptyOrNull) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{range .Ports}}{{.}}{{else}}none{{end}}", c), "none");
  EXPECT_EQ(render_template("{{range .Nothing}}x{{else}}null{{end}}", c), "null");
  EXPECT_EQ(render_template("{{range .Names}}{{.}}{{else}}none{{end}}", c), "webfrontend");
}

TEST(TemplateRange, KeyValueOverMapInKeyOrder) {
  EXPECT_EQ(render_template("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", sample_container()),
            "app=web;com.example.team=infra;tier=front;");
}

TEST(TemplateRange, IndexElementOverList) {
  EXPECT_EQ(render_template("{{range $i, $e := .Names}}{{$i}}:{{$e}} {{end}}", sample_container()),
            "0:web 1:frontend ");
  EXPECT_EQ(render_template("{{range $e := .Names}}<{{$e}}>{{end}}", sample_container()),
            "<web><frontend>");
}

TEST(TemplateRange, DollarIsTheRecordInsideRange) {
  EXPECT_EQ(render_template("{{range .Names}}{{.}}@{{$.Image}} {{end}}", sample_container()),
            "web@nginx:1.25 frontend@nginx:1.25 ");
}

TEST(TemplateRange, OverIntegerCounts) {
  EXPECT_EQ(render_template("{{range .Count}}{{.}}{{end}}", sample_container()), "012");
}

TEST(TemplateRange, BreakAndContinue) {
  Json d = Json{{"L", {1, 2, 3, 4, 5}}};
  EXPECT_EQ(render_template("{{range .L}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", d), "123");
  EXPECT_EQ(render_template("{{range .L}}{{if eq . 2 4}}{{continue}}{{end}}{{.}}{{end}}", d),
            "135");
  EXPECT_EQ(render_template("{{range .L}}{{range .L}}{{break}}{{end}}{{.}}{{end}}",
                            Json{{"L", {Json{{"L", {1}}}}}}),
            "map[L:[1]]");
}

TEST(TemplateVariables, DeclareAssignAndScope) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{$p := .State.Pid}}pid {{$p}}", c), "pid 4242");
  EXPECT_EQ(render_template(R"({{$x := "a"}}{{if true}}{{$x = "b"}}{{end}}{{$x}})", c), "b");
  EXPECT_EQ(render_template("{{$s := .State}}{{$s.Status}}", c), "running");
  EXPECT_EQ(render_template(R"({{$x := "a"}}{{range .Names}}{{$x = .}}{{end}}{{$x}})", c),
            "frontend");
}

TEST(TemplateIf, GoTruthiness) {
  Json d = Json::parse(R"({"zero":0,"one":1,"es":"","s":"x","ea":[],"a":[1],"em":{},"m":{"k":1},
    "n":null,"f":false,"t":true,"fz":0.0})");
  for (const char *falsy : {"zero", "es", "ea", "em", "n", "f", "fz"})
    EXPECT_EQ(render_template(std::string("{{if .") + falsy + "}}T{{else}}F{{end}}", d), "F")
        << falsy;
  for (const char *truthy : {"one", "s", "a", "m", "t"})
    EXPECT_EQ(render_template(std::string("{{if .") + truthy + "}}T{{else}}F{{end}}", d), "T")
        << truthy;
}

TEST(TemplateIf, ElseIfChain) {
  const char *t =
      R"({{if eq .S "a"}}A{{else if eq .S "b"}}B{{else if eq .S "c"}}C{{else}}other{{end}})";
  EXPECT_EQ(render_template(t, Json{{"S", "a"}}), "A");
  EXPECT_EQ(render_template(t, Json{{"S", "b"}}), "B");
  EXPECT_EQ(render_template(t, Json{{"S", "c"}}), "C");
  EXPECT_EQ(render_template(t, Json{{"S", "z"}}), "other");
}

TEST(TemplateWith, RebindsDotWhenTruthy) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{with .State}}{{.Status}}{{end}}", c), "running");
  EXPECT_EQ(render_template("{{with .Empty}}x{{else}}empty{{end}}", c), "empty");
}

TEST(TemplateCompare, EqNeWithSeveralArguments) {
  auto c = sample_container();
  EXPECT_EQ(render_template(R"({{eq .State.Status "exited" "running"}})", c), "true");
  EXPECT_EQ(render_template(R"({{eq .State.Status "exited" "dead"}})", c), "false");
  EXPECT_EQ(render_template(R"({{ne .Image "busybox"}})", c), "true");
  EXPECT_EQ(render_template("{{eq .State.Pid 4242}}", c), "true");
  EXPECT_EQ(render_template("{{eq .CPU 12.5}} {{eq 3 3.0}}", c), "true true");
  EXPECT_EQ(render_template("{{eq .Nothing nil}}", c), "true");
}

TEST(TemplateCompare, OrderingNumbersAndStrings) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 3}}", c),
            "true true false false");
  EXPECT_EQ(render_template(R"({{lt "abc" "abd"}} {{gt .State.Pid 1000}})", c), "true true");
  EXPECT_EQ(render_template("{{lt -1 18446744073709551615}}", c), "true");
}

TEST(TemplateLogic, AndOrNotReturnOperands) {
  auto c = sample_container();
  EXPECT_EQ(render_template(R"({{and 1 "x"}} {{and 0 "x"}} {{or "" "y"}} {{or 0 ""}})", c),
            "x 0 y ");
  EXPECT_EQ(render_template("{{not .State.Running}} {{not .Empty}}", c), "false true");
  // Short-circuit: the failing operand after a false is never evaluated.
  EXPECT_EQ(render_template("{{and .Empty .NoSuchField}}", c), "");
  EXPECT_EQ(render_template("{{if and .State.Running (gt .State.Pid 0)}}up{{end}}", c), "up");
}

TEST(TemplateLen, StringsListsMaps) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{len .Names}} {{len .Labels}} {{len .Image}} {{len .Ports}}", c),
            "2 3 10 0");
}

TEST(TemplatePipeline, ValuePassesAsLastArgument) {
  auto c = sample_container();
  EXPECT_EQ(render_template("{{.Image | upper}}", c), "NGINX:1.25");
  EXPECT_EQ(render_template(R"({{.State.Pid | printf "pid=%d"}})", c), "pid=4242");
  EXPECT_EQ(render_template(R"({{join .Names ", " | upper}})", c), "WEB, FRONTEND");
  EXPECT_EQ(render_template(R"({{"running" | eq .State.Status}})", c), "true");
}

TEST(TemplatePipeline, Parentheses) {
  auto c = sample_container();
  EXPECT_EQ(render_template(R"({{printf "%s/%d" (upper .Image) (len .Names)}})", c),
            "NGINX:1.25/2");
  EXPECT_EQ(render_template(R"({{if (eq (index .Names 0) "web")}}yes{{end}})", c), "yes");
}

TEST(TemplateLiterals, StringEscapesRawStringsNumbersChars) {
  Json d = Json::object();
  EXPECT_EQ(render_template(R"({{"a\tb\n\"q\"\\ \x41\u00e9"}})", d), "a\tb\n\"q\"\\ A\xc3\xa9");
  EXPECT_EQ(render_template("{{`raw \\t {{x}}`}}", d), "raw \\t {{x}}");
  EXPECT_EQ(render_template("{{0x1F}} {{-5}} {{1_000}} {{0o17}} {{0b101}} {{1.5e3}}", d),
            "31 -5 1000 15 5 1500");
  EXPECT_EQ(render_template("{{'a'}} {{true}} {{false}}", d), "97 true false");
}

TEST(TemplateTrim, MarkersEatAdjacentWhitespace) {
  Json d = Json{{"A", 1}, {"B", 2}};
  EXPECT_EQ(render_template("x  \n {{- .A -}} \n\t y", d), "x1y");
  EXPECT_EQ(render_template("{{.A}} {{- .B}}", d), "12");
  EXPECT_EQ(render_template("{{.A -}} , {{.B}}", d), "1, 2");
  // "{{-3}}" is a number, not a trim marker.
  EXPECT_EQ(render_template("a {{-3}}", d), "a -3");
  EXPECT_EQ(render_template("{{range .L -}}\n  {{.}}\n{{- end}}", Json{{"L", {1, 2}}}), "12");
}

TEST(TemplateComments, ProduceNothing) {
  Json d = Json{{"A", 1}};
  EXPECT_EQ(render_template("a{{/* note {{.Nope}} */}}b", d), "ab");
  EXPECT_EQ(render_template("a {{- /* trimmed */ -}} b", d), "ab");
  EXPECT_EQ(render_template("{{/* multi\nline */}}{{.A}}", d), "1");
}

TEST(TemplateTable, DirectiveSetsTableAndIsStripped) {
  auto t = Template::parse("table {{.ID}}\t{{.Names}}");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->is_table());
  auto out = t->execute(Json{{"ID", "abc"}, {"Names", "web"}});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "abc\tweb");
  auto plain = Template::parse("{{.ID}}");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->is_table());
}

TEST(TemplateEscapes, BackslashTAndNTypedLiterallyBecomeTabAndNewline) {
  // The shell passes the two characters '\' 't'; docker turns them into a tab.
  Json d = Json{{"A", "x"}, {"B", "y"}};
  EXPECT_EQ(render_template(R"({{.A}}\t{{.B}}\n)", d), "x\ty\n");
  EXPECT_EQ(render_template(R"(table {{.A}}\t{{.B}})", d), "x\ty");
}

TEST(TemplateHeader, FieldsBecomeColumnHeaders) {
  auto t = Template::parse(
      R"(table {{.ID}}\t{{.State.Pid | printf "%d"}}\t{{json .Labels}}\t{{"lit"}})");
  ASSERT_TRUE(t) << t.error().message();
  std::string h = t->header([](const std::vector<std::string> &path) {
    std::string s = "<";
    for (const auto &p : path)
      s += p + ";";
    return s + ">";
  });
  EXPECT_EQ(h, "<ID;>\t<State;Pid;>\t<Labels;>\t");
}

TEST(TemplateKnownKeys, DeclaredColumnMissingFromRecordIsEmpty) {
  Json rec = Json{{"ID", "x"}};
  EXPECT_EQ(render_template("[{{.Ports}}]", rec, {"ID", "Ports"}), "[<no value>]");
  EXPECT_EQ(render_template("[{{.State.Pid}}]", rec, {"State.Pid"}), "[<no value>]");
  EXPECT_EQ(render_template("[{{json .State}}]", rec, {"State.Pid"}), "[null]");
  EXPECT_EQ(render_template("[{{if .Ports}}p{{end}}]", rec, {"Ports"}), "[]");
}

TEST(TemplateMisc, CombinationsUsersWrite) {
  auto c = sample_container();
  EXPECT_EQ(render_template(R"({{"x" | printf "%s %s" "a"}})", c), "a x");
  EXPECT_EQ(render_template("{{with $s := .State}}{{$s.Pid}}/{{.Status}}{{end}}", c),
            "4242/running");
  EXPECT_EQ(render_template("{{range .Mounts}}{{range .Nope2}}{{else}}-{{end}}{{end}}",
                            Json{{"Mounts", {Json{{"Nope2", Json::array()}}, Json::object()}}},
                            {"Nope2"}),
            "--");
  EXPECT_EQ(render_template(R"({{.Image}}
{{- .State.Pid}})",
                            c),
            "nginx:1.254242");
  EXPECT_EQ(render_template("{{if .Empty}}{{else}}{{end}}", c), "");
  EXPECT_EQ(render_template(R"({{range $k, $v := .State}}{{$k}} {{end}})", c),
            "ExitCode Pid Running Status ");
  EXPECT_EQ(render_template("{{len .}}", Json::array({1, 2, 3})), "3");
}

TEST(TemplateExecute, ParsedOnceRunsOnManyRecords) {
  auto t = Template::parse("{{.N}}-{{if gt .N 1}}big{{else}}small{{end}}");
  ASSERT_TRUE(t);
  for (int i = 0; i < 3; ++i) {
    auto out = t->execute(Json{{"N", i}});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, std::to_string(i) + (i > 1 ? "-big" : "-small"));
  }
}

} // namespace
} // namespace ctk::tools
