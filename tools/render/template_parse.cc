// Recursive-descent parser for the Go text/template subset, shaped after Go's
// text/template/parse so that what parses (and what fails, and where) matches
// what docker users know.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "render/template_ast.h"
#include "render/template_lex.h"

namespace ctk::tools {
namespace tmpl {
namespace {

// Thrown inside the parser only and caught by Template::parse: it keeps the
// recursive descent readable; nothing escapes this file.
struct ParseError {
  Pos pos;
  std::string cause;
};

enum class TermKind { Eof, End, Else, ElseIf, ElseWith };
struct Terminator {
  TermKind kind;
  Pos pos;
};

bool parse_number(const std::string &raw, Json &out) {
  std::string s;
  for (char c : raw)
    if (c != '_')
      s += c;
  if (s.empty())
    return false;
  bool neg = s[0] == '-';
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  std::string_view body(s.data() + i, s.size() - i);
  bool hex = body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X');
  bool is_float = hex ? body.find_first_of(".pP") != std::string_view::npos
                      : body.find_first_of(".eE") != std::string_view::npos;
  if (body.empty())
    return false;
  if (is_float) {
    char *endp = nullptr;
    double d = std::strtod(s.c_str(), &endp);
    if (endp != s.c_str() + s.size() || !std::isfinite(d))
      return false;
    out = d;
    return true;
  }
  int base = 10;
  if (body.size() > 1 && body[0] == '0') {
    char p = static_cast<char>(body[1] | 0x20);
    if (p == 'x' || p == 'o' || p == 'b') {
      base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      body.remove_prefix(2);
    } else {
      base = 8;
      body.remove_prefix(1);
    }
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v, base);
  if (ec != std::errc() || ptr != body.data() + body.size())
    return false;
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1)
      return false;
    out = v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v);
  } else if (v <= static_cast<uint64_t>(INT64_MAX)) {
    out = static_cast<int64_t>(v);
  } else {
    out = v;
  }
  return true;
}

bool is_keyword(const std::string &id) {
  static const char *const words[] = {"if",     "else",     "end",   "range", "with",
                                      "define", "template", "block", "break", "continue"};
  return std::any_of(std::begin(words), std::end(words), [&](const char *w) { return id == w; });
}

class Parser {
public:
  explicit Parser(std::vector<Token> toks) : toks_(std::move(toks)) { vars_.push_back("$"); }

  List parse_all() {
    List list;
    Terminator t = parse_list(list);
    if (t.kind == TermKind::End)
      throw ParseError{t.pos, "unexpected {{end}}"};
    if (t.kind != TermKind::Eof)
      throw ParseError{t.pos, "unexpected {{else}}"};
    return list;
  }

private:
  // The stream always ends with Eof; reading past it keeps returning Eof,
  // and backup() after any next() is exact.
  const Token &at(size_t k) const { return toks_[std::min(k, toks_.size() - 1)]; }
  const Token &peek() const { return at(i_); }
  const Token &next() {
    const Token &t = at(i_++);
    check(t);
    return t;
  }
  void backup() { --i_; }
  const Token &peek_non_space() {
    while (peek().kind == Tok::Space)
      ++i_;
    check(peek());
    return peek();
  }
  const Token &next_non_space() {
    peek_non_space();
    return next();
  }
  static void check(const Token &t) {
    if (t.kind == Tok::Error)
      throw ParseError{t.pos, t.text};
  }
  [[noreturn]] static void unexpected(const Token &t, const std::string &context) {
    if (t.kind == Tok::Eof)
      throw ParseError{t.pos, "unclosed action"};
    throw ParseError{t.pos, "unexpected " + describe(t) + " in " + context};
  }

  Terminator parse_list(List &out) {
    for (;;) {
      const Token &t = next();
      if (t.kind == Tok::Eof)
        return {TermKind::Eof, t.pos};
      if (t.kind == Tok::Text) {
        Node n;
        n.kind = NodeKind::Text;
        n.pos = t.pos;
        n.text = t.text;
        out.push_back(std::move(n));
        continue;
      }
      // Tok::LeftDelim: the lexer emits nothing else outside actions.
      Pos open = t.pos;
      const Token &first = peek_non_space();
      if (first.kind == Tok::Identifier) {
        const std::string &id = first.text;
        if (id == "if" || id == "range" || id == "with") {
          next();
          out.push_back(control(id == "if"      ? NodeKind::If
                                : id == "range" ? NodeKind::Range
                                                : NodeKind::With,
                                open));
          continue;
        }
        if (id == "end") {
          next();
          expect_right_delim("end");
          return {TermKind::End, open};
        }
        if (id == "else") {
          next();
          const Token &after = peek_non_space();
          if (after.kind == Tok::Identifier && (after.text == "if" || after.text == "with")) {
            bool is_if = after.text == "if";
            next();
            return {is_if ? TermKind::ElseIf : TermKind::ElseWith, open};
          }
          expect_right_delim("else");
          return {TermKind::Else, open};
        }
        if (id == "break" || id == "continue") {
          if (range_depth_ == 0)
            throw ParseError{first.pos, "{{" + id + "}} outside {{range}}"};
          next();
          expect_right_delim(id);
          Node n;
          n.kind = id == "break" ? NodeKind::Break : NodeKind::Continue;
          n.pos = open;
          out.push_back(std::move(n));
          continue;
        }
        if (is_keyword(id))
          throw ParseError{first.pos, "{{" + id + "}} is not supported"};
      }
      Node n;
      n.kind = NodeKind::Action;
      n.pos = open;
      n.pipe = pipeline("command", Tok::RightDelim);
      out.push_back(std::move(n));
    }
  }

  void expect_right_delim(const std::string &context) {
    const Token &t = next_non_space();
    if (t.kind != Tok::RightDelim)
      unexpected(t, context);
  }

  Node control(NodeKind kind, Pos open) {
    Depth guard(*this);
    const char *ctx = kind == NodeKind::If ? "if" : kind == NodeKind::Range ? "range" : "with";
    size_t scope = vars_.size();
    Node n;
    n.kind = kind;
    n.pos = open;
    n.pipe = pipeline(ctx, Tok::RightDelim);
    size_t body_scope = vars_.size();
    range_depth_ += kind == NodeKind::Range;
    Terminator t = parse_list(n.body);
    range_depth_ -= kind == NodeKind::Range;
    vars_.resize(body_scope);
    switch (t.kind) {
    case TermKind::Eof:
      throw ParseError{open, std::string("unexpected EOF: missing {{end}} for {{") + ctx + "}}"};
    case TermKind::End:
      break;
    case TermKind::Else: {
      Terminator e = parse_list(n.else_body);
      if (e.kind == TermKind::Eof)
        throw ParseError{open, std::string("unexpected EOF: missing {{end}} for {{") + ctx + "}}"};
      if (e.kind != TermKind::End)
        throw ParseError{e.pos, "expected {{end}}; found {{else}}"};
      break;
    }
    case TermKind::ElseIf:
    case TermKind::ElseWith: {
      NodeKind chained = t.kind == TermKind::ElseIf ? NodeKind::If : NodeKind::With;
      if (chained != kind)
        throw ParseError{t.pos, std::string("{{else ") + (chained == NodeKind::If ? "if" : "with") +
                                    "}} is only allowed in {{" +
                                    (chained == NodeKind::If ? "if" : "with") + "}}"};
      // {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}:
      // the nested control consumes the one {{end}}.
      n.else_body.push_back(control(chained, t.pos));
      break;
    }
    }
    vars_.resize(scope);
    return n;
  }

  std::unique_ptr<Pipe> pipeline(const char *context, Tok end) {
    Depth guard(*this);
    auto pipe = std::make_unique<Pipe>();
    pipe->pos = peek_non_space().pos;
    declarations(*pipe, context);
    for (;;) {
      const Token &t = next_non_space();
      if (t.kind == end) {
        if (after_pipe_)
          throw ParseError{*after_pipe_, "missing command after \"|\""};
        if (pipe->cmds.empty())
          throw ParseError{t.pos, std::string("missing value for ") + context};
        check_pipeline(*pipe);
        return pipe;
      }
      switch (t.kind) {
      case Tok::Dot:
      case Tok::Field:
      case Tok::Variable:
      case Tok::Identifier:
      case Tok::Number:
      case Tok::String:
      case Tok::CharConst:
      case Tok::LeftParen:
        backup();
        pipe->cmds.push_back(command());
        break;
      case Tok::RightDelim:
        throw ParseError{t.pos, "unclosed left paren"};
      case Tok::RightParen:
        throw ParseError{t.pos, "unexpected right paren"};
      default:
        unexpected(t, context);
      }
    }
  }

  void declarations(Pipe &pipe, const char *context) {
    for (;;) {
      size_t save = i_;
      const Token &v = peek_non_space();
      if (v.kind != Tok::Variable) {
        i_ = save;
        return;
      }
      next();
      const Token &op = peek_non_space();
      if (op.kind == Tok::Declare || op.kind == Tok::Assign) {
        next();
        pipe.assign = op.kind == Tok::Assign;
        if (pipe.assign && !defined(v.text))
          throw ParseError{v.pos, "undefined variable \"" + v.text + "\""};
        pipe.decl.push_back(v.text);
        for (const auto &d : pipe.decl)
          vars_.push_back(d);
        return;
      }
      if (op.kind == Tok::Comma && std::string_view(context) == "range" && pipe.decl.empty()) {
        next();
        pipe.decl.push_back(v.text);
        if (peek_non_space().kind != Tok::Variable)
          throw ParseError{peek().pos, "range can only initialize variables"};
        continue;
      }
      if (op.kind == Tok::Comma)
        throw ParseError{op.pos, std::string("too many declarations in ") + context};
      if (!pipe.decl.empty())
        unexpected(op, "declaration");
      i_ = save; // not a declaration: an operand
      return;
    }
  }

  void check_pipeline(const Pipe &pipe) {
    for (size_t k = 0; k < pipe.cmds.size(); ++k) {
      const Command &c = pipe.cmds[k];
      const Arg &head = c.args.front();
      if (head.kind == ArgKind::Function)
        continue;
      if (k > 0)
        throw ParseError{c.pos,
                         "non executable command in pipeline stage " + std::to_string(k + 1)};
      if (c.args.size() > 1)
        throw ParseError{c.args[1].pos, "can't give argument to non-function " + show(head)};
      if (head.kind == ArgKind::Literal && head.literal.is_null())
        throw ParseError{head.pos, "nil is not a command"};
    }
  }

  static std::string show(const Arg &a) {
    std::string s;
    switch (a.kind) {
    case ArgKind::Dot:
      return ".";
    case ArgKind::Variable:
      s = a.name;
      break;
    case ArgKind::Paren:
      s = "(...)";
      break;
    case ArgKind::Literal:
      return a.literal.dump(-1, ' ', false, Json::error_handler_t::replace);
    default:
      break;
    }
    for (const auto &f : a.fields)
      s += "." + f;
    return s;
  }

  Command command() {
    after_pipe_.reset();
    Command cmd;
    cmd.pos = peek_non_space().pos;
    for (;;) {
      peek_non_space();
      if (auto a = operand())
        cmd.args.push_back(std::move(*a));
      const Token &t = next();
      if (t.kind == Tok::Space)
        continue;
      if (t.kind == Tok::RightDelim || t.kind == Tok::RightParen) {
        backup();
      } else if (t.kind == Tok::Pipe) {
        after_pipe_ = t.pos;
      } else {
        unexpected(t, "operand");
      }
      break;
    }
    if (cmd.args.empty())
      throw ParseError{cmd.pos, "empty command"};
    return cmd;
  }

  std::optional<Arg> operand() {
    std::optional<Arg> a = term();
    if (!a)
      return a;
    while (peek().kind == Tok::Field) {
      const Token &f = next();
      if (a->kind == ArgKind::Dot) { // "..A" is not a thing; Go reads ".A"
        a->kind = ArgKind::Field;
      } else if (a->kind != ArgKind::Field && a->kind != ArgKind::Variable &&
                 a->kind != ArgKind::Paren) {
        throw ParseError{f.pos, "unexpected ." + f.text + " after term " + show(*a)};
      }
      a->fields.push_back(f.text);
    }
    return a;
  }

  std::optional<Arg> term() {
    const Token &t = next();
    Arg a;
    a.pos = t.pos;
    switch (t.kind) {
    case Tok::Dot:
      a.kind = ArgKind::Dot;
      return a;
    case Tok::Field:
      a.kind = ArgKind::Field;
      a.fields.push_back(t.text);
      return a;
    case Tok::Variable:
      if (!defined(t.text))
        throw ParseError{t.pos, "undefined variable \"" + t.text + "\""};
      a.kind = ArgKind::Variable;
      a.name = t.text;
      return a;
    case Tok::String:
      a.kind = ArgKind::Literal;
      a.literal = t.text;
      return a;
    case Tok::CharConst: {
      a.kind = ArgKind::Literal;
      a.literal = static_cast<int64_t>(first_rune(t.text));
      return a;
    }
    case Tok::Number:
      a.kind = ArgKind::Literal;
      if (!parse_number(t.text, a.literal))
        throw ParseError{t.pos, "bad number syntax: \"" + t.text + "\""};
      return a;
    case Tok::Identifier:
      a.kind = ArgKind::Literal;
      if (t.text == "true" || t.text == "false") {
        a.literal = t.text == "true";
        return a;
      }
      if (t.text == "nil")
        return a; // literal null
      if (is_keyword(t.text))
        throw ParseError{t.pos, "unexpected <" + t.text + "> in operand"};
      a.kind = ArgKind::Function;
      a.name = t.text;
      if (!find_func(t.text, a.func))
        throw ParseError{t.pos, "unknown function \"" + t.text + "\""};
      return a;
    case Tok::LeftParen:
      a.kind = ArgKind::Paren;
      a.pipe = pipeline("parenthesized pipeline", Tok::RightParen);
      return a;
    default:
      backup();
      return std::nullopt;
    }
  }

  static uint32_t first_rune(const std::string &s) {
    unsigned char c = static_cast<unsigned char>(s[0]);
    if (c < 0x80 || s.size() < 2)
      return c;
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    uint32_t v = c & (0x3F >> n);
    for (int k = 1; k <= n && k < static_cast<int>(s.size()); ++k)
      v = (v << 6) | (static_cast<unsigned char>(s[k]) & 0x3F);
    return v;
  }

  bool defined(const std::string &name) const {
    return std::find(vars_.begin(), vars_.end(), name) != vars_.end();
  }

  // Parsing and executing recurse per nesting level: bound it so that a
  // pathological --format fails with a message instead of a stack overflow.
  static constexpr int kMaxDepth = 200;
  struct Depth {
    explicit Depth(Parser &p) : p_(p) {
      if (++p_.depth_ > kMaxDepth)
        throw ParseError{p_.peek().pos,
                         "template nests deeper than " + std::to_string(kMaxDepth) + " levels"};
    }
    ~Depth() { --p_.depth_; }
    Parser &p_;
  };

  std::vector<Token> toks_;
  size_t i_ = 0;
  int depth_ = 0;
  int range_depth_ = 0; // {{break}} and {{continue}} belong to the innermost range
  std::vector<std::string> vars_;
  std::optional<Pos> after_pipe_; // the last command ended with "|"
};

// First field reference of a pipeline: the column a table header names.
const std::vector<std::string> *first_field(const Pipe *pipe) {
  if (!pipe)
    return nullptr;
  for (const auto &cmd : pipe->cmds)
    for (const auto &a : cmd.args) {
      if ((a.kind == ArgKind::Field || (a.kind == ArgKind::Variable && a.name == "$")) &&
          !a.fields.empty())
        return &a.fields;
      if (a.kind == ArgKind::Paren)
        if (const auto *f = first_field(a.pipe.get()))
          return f;
    }
  return nullptr;
}

} // namespace
} // namespace tmpl

Template::Template() = default;
Template::Template(Template &&) noexcept = default;
Template &Template::operator=(Template &&) noexcept = default;
Template::~Template() = default;

ctk::rt::Result<Template> Template::parse(std::string_view text) {
  Template t;
  size_t begin = 0, end = text.size();
  // Docker: a leading "table" asks for a header and aligned columns; spaces
  // around the rest are not part of the template.
  if (text.starts_with("table")) {
    t.table_ = true;
    begin = 5;
  }
  while (begin < end && text[begin] == ' ')
    ++begin;
  while (end > begin && text[end - 1] == ' ')
    --end;
  try {
    tmpl::Parser p(tmpl::lex(text, begin, end));
    t.root_ = std::make_unique<Node>();
    t.root_->list = p.parse_all();
  } catch (const tmpl::ParseError &e) {
    return ctk::rt::fail(ctk::rt::Errc::invalid_argument, tmpl::error_text(e.pos, e.cause));
  }
  return t;
}

void Template::set_known_keys(std::vector<std::string> dotted_keys) {
  known_ = std::move(dotted_keys);
}

std::string Template::header(
    const std::function<std::string(const std::vector<std::string> &)> &header_of) const {
  std::string out;
  if (!root_)
    return out;
  for (const auto &n : root_->list) {
    if (n.kind == tmpl::NodeKind::Text) {
      out += n.text;
    } else if (const auto *f = tmpl::first_field(n.pipe.get())) {
      out += header_of(*f);
    }
  }
  return out;
}

} // namespace ctk::tools
