// Private to the template engine: the parsed form of a template, shared by
// the parser (template_parse.cc), the executor (template_exec.cc) and the
// header builder. Built once by Template::parse and only read afterwards, so
// executing a template per record never re-parses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "render/template.h"

namespace ctk::tools::tmpl {

using Json = nlohmann::ordered_json;

// 1-based line and column of a token in the text the user typed.
struct Pos {
  int line = 1;
  int col = 1;
};

// "template: 1:3: unknown field \"Pidd\"".
std::string error_text(Pos pos, const std::string &cause);

enum class Func : uint8_t {
  And,
  Or,
  Not,
  Len,
  Index,
  Slice,
  Print,
  Printf,
  Println,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Json,
  Join,
  Split,
  Lower,
  Upper,
  Title,
  Pad,
  Truncate,
};
// nullptr-like result for names that are not functions.
bool find_func(std::string_view name, Func &out);
const char *func_name(Func f);

struct Pipe;

enum class ArgKind : uint8_t {
  Dot,      // .
  Field,    // .A.B          (fields = {A, B})
  Variable, // $x.A          (name = "$x", fields = {A})
  Literal,  // "s" 1 2.5 true nil 'c'
  Function, // upper         (func)
  Paren,    // (pipeline).A  (pipe, fields = {A})
};

struct Arg {
  ArgKind kind = ArgKind::Dot;
  Pos pos;
  std::string name;
  std::vector<std::string> fields;
  Json literal;
  Func func = Func::And;
  std::unique_ptr<Pipe> pipe;
};

// One stage of a pipeline: a function and its arguments, or a single value.
struct Command {
  Pos pos;
  std::vector<Arg> args;
};

struct Pipe {
  Pos pos;
  std::vector<std::string> decl; // "$k", "$v" of `$k, $v := ...`
  bool assign = false;           // `$x = ...` rather than `$x := ...`
  std::vector<Command> cmds;
};

enum class NodeKind : uint8_t { Text, Action, If, Range, With, Break, Continue };

struct Node;
using List = std::vector<Node>;

struct Node {
  NodeKind kind = NodeKind::Text;
  Pos pos;
  std::string text;           // Text
  std::unique_ptr<Pipe> pipe; // Action, If, Range, With
  List body;                  // If, Range, With
  List else_body;             // {{else}} branch ({{else if}} nests an If here)
};

} // namespace ctk::tools::tmpl

namespace ctk::tools {
struct Template::Node {
  tmpl::List list;
};
} // namespace ctk::tools
