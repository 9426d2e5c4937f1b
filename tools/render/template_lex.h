// Private to the template engine: splits a Go template into tokens, as Go's
// text/template/parse lexer does (text, delimiters, and the items inside an
// action). Lexing errors become an Error token at their place in the stream,
// so the parser reports whichever problem comes first in the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "render/template_ast.h"

namespace ctk::tools::tmpl {

enum class Tok : uint8_t {
  Text,       // literal text between actions (escapes and trim markers applied)
  LeftDelim,  // {{
  RightDelim, // }}
  Space,      // spaces inside an action
  Field,      // .Name (text without the dot)
  Variable,   // $x or $
  Identifier, // function names and keywords (if, range, end, true, nil, ...)
  String,     // "..." or `...`, unquoted
  Number,     // 12 -3 0x1f 1.5e3 (raw text)
  CharConst,  // 'a' (unquoted text)
  Pipe,       // |
  LeftParen,
  RightParen,
  Declare, // :=
  Assign,  // =
  Comma,
  Dot,   // .
  Other, // any other printable character: the parser reports it
  Error, // lexing failed here: text holds the cause
  Eof,
};

struct Token {
  Tok kind = Tok::Eof;
  Pos pos;
  std::string text;
};

// Tokenises text[begin, end). Positions count from the start of `text`, so
// they match what the user typed even when a "table" prefix was cut off.
std::vector<Token> lex(std::string_view text, size_t begin, size_t end);

// Printable description of a token for "unexpected X in operand" messages.
std::string describe(const Token &t);

} // namespace ctk::tools::tmpl
