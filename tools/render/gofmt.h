// Private to the renderer: Go's fmt printing of JSON values, so that template
// output matches what docker users see (`{{.Labels}}` -> "map[a:b]",
// `{{printf "%-10s" .Name}}`, 1e+06 for a large float, "<nil>" inside maps).
// Integers are Go ints, other numbers float64, objects
// map[string]interface {} and arrays []interface {}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ctk::tools::gofmt {

using Json = nlohmann::ordered_json;

// fmt's %v.
void append_value(std::string &out, const Json &v);
std::string value(const Json &v);
// fmt.Sprintf, fmt.Sprint and fmt.Sprintln over JSON arguments.
std::string sprintf(std::string_view format, const std::vector<const Json *> &args);
std::string sprint(const std::vector<const Json *> &args);
std::string sprintln(const std::vector<const Json *> &args);
// strconv.Quote.
std::string quote(std::string_view s);
// The Go type name of a JSON value: "string", "int", "float64", "bool",
// "map[string]interface {}", "[]interface {}", "<nil>".
std::string type_name(const Json &v);
// strconv.FormatFloat(f, 'g', prec, 64); prec -1 is the shortest exact form.
std::string format_g(double f, int prec);
// Number of UTF-8 code points (Go counts widths in runes).
size_t rune_count(std::string_view s);

// Appends code point `cp` as UTF-8; invalid ones become U+FFFD, as Go does.
void append_utf8(std::string &out, uint32_t cp);

} // namespace ctk::tools::gofmt
