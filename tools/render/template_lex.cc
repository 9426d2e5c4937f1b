#include "render/template_lex.h"

#include "render/gofmt.h"

#include <algorithm>

namespace ctk::tools::tmpl {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_alnum(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  // Bytes of multi-byte UTF-8 sequences count as letters, as Go's
  // unicode.IsLetter does for most of them.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         u >= 0x80;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}


// Go's strconv.Unquote for the body of an interpreted string or a char
// constant. Returns false on a malformed escape.
bool unquote(std::string_view body, char quote, std::string &out) {
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size())
      return false;
    c = body[i];
    switch (c) {
    case 'a':
      out += '\a';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'v':
      out += '\v';
      break;
    case '\\':
      out += '\\';
      break;
    case '\'':
    case '"':
      if (c != quote)
        return false;
      out += c;
      break;
    case 'x':
    case 'u':
    case 'U': {
      size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (size_t k = 1; k <= n; ++k) {
        int h = i + k < body.size() ? hex_value(body[i + k]) : -1;
        if (h < 0)
          return false;
        v = v * 16 + static_cast<uint32_t>(h);
      }
      i += n;
      if (c == 'x')
        out += static_cast<char>(v);
      else
        gofmt::append_utf8(out, v);
      break;
    }
    default:
      if (c >= '0' && c <= '7') {
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
          if (i + k >= body.size() || body[i + k] < '0' || body[i + k] > '7')
            return false;
          v = v * 8 + static_cast<uint32_t>(body[i + k] - '0');
        }
        if (v > 255)
          return false;
        i += 2;
        out += static_cast<char>(v);
        break;
      }
      return false;
    }
  }
  return true;
}

// Docker replaces a backslash-t or backslash-n typed in a --format string by
// a tab or newline (the shell passes them literally), so "table {{.A}}\t{{.B}}"
// works without $'...' quoting.
std::string docker_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

class Lexer {
public:
  Lexer(std::string_view text, size_t begin, size_t end) : s_(text), i_(begin), end_(end) {
    line_starts_.push_back(0);
    for (size_t k = 0; k < text.size(); ++k)
      if (text[k] == '\n')
        line_starts_.push_back(k + 1);
  }

  std::vector<Token> run() {
    bool trim_left = false; // the previous action ended with " -}}"
    while (i_ < end_) {
      size_t open = s_.substr(0, end_).find("{{", i_);
      if (open == std::string_view::npos)
        open = end_;
      bool trim_right = open + 3 < end_ && s_[open + 2] == '-' && is_space(s_[open + 3]);
      std::string text = docker_escapes(s_.substr(i_, open - i_));
      if (trim_left)
        text.erase(0, std::find_if_not(text.begin(), text.end(), is_space) - text.begin());
      if (trim_right)
        text.erase(std::find_if_not(text.rbegin(), text.rend(), is_space).base(), text.end());
      if (!text.empty())
        emit(Tok::Text, i_, std::move(text));
      if (open >= end_)
        break;
      i_ = open + 2 + (trim_right ? 1 : 0);
      if (!action(open, trim_left))
        break;
    }
    emit(Tok::Eof, std::min(i_, end_), "");
    return std::move(toks_);
  }

private:
  Pos pos_of(size_t off) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    return Pos{static_cast<int>(line), static_cast<int>(off - line_starts_[line - 1] + 1)};
  }
  void emit(Tok kind, size_t off, std::string text) {
    toks_.push_back(Token{kind, pos_of(off), std::move(text)});
  }
  bool error(size_t off, std::string cause) {
    emit(Tok::Error, off, std::move(cause));
    return false;
  }
  bool at(std::string_view what) const { return s_.substr(0, end_).substr(i_).starts_with(what); }

  // At i_ just after "{{" (and a "-" trim marker). Returns false after an error.
  bool action(size_t open, bool &trim_left) {
    trim_left = false;
    // "{{/*" or "{{- /*": Go allows spaces only after a trim marker.
    size_t probe = i_;
    if (probe > open + 2)
      while (probe < end_ && is_space(s_[probe]))
        ++probe;
    if (s_.substr(0, end_).substr(probe).starts_with("/*"))
      return comment(open, probe, trim_left);
    emit(Tok::LeftDelim, open, "{{");
    for (;;) {
      if (i_ >= end_)
        return error(open, "unclosed action");
      if (at("}}")) {
        emit(Tok::RightDelim, i_, "}}");
        i_ += 2;
        return true;
      }
      char c = s_[i_];
      size_t start = i_;
      if (is_space(c)) {
        while (i_ < end_ && is_space(s_[i_]))
          ++i_;
        if (at("-}}")) { // " -}}": right trim marker
          emit(Tok::RightDelim, i_, "}}");
          i_ += 3;
          trim_left = true;
          return true;
        }
        emit(Tok::Space, start, " ");
        continue;
      }
      ++i_;
      switch (c) {
      case '=':
        emit(Tok::Assign, start, "=");
        continue;
      case ':':
        if (i_ < end_ && s_[i_] == '=') {
          ++i_;
          emit(Tok::Declare, start, ":=");
          continue;
        }
        return error(start, "expected :=");
      case '|':
        emit(Tok::Pipe, start, "|");
        continue;
      case '(':
        emit(Tok::LeftParen, start, "(");
        continue;
      case ')':
        emit(Tok::RightParen, start, ")");
        continue;
      case ',':
        emit(Tok::Comma, start, ",");
        continue;
      case '"':
      case '\'':
        if (!quoted(start, c))
          return false;
        continue;
      case '`': {
        size_t close = s_.substr(0, end_).find('`', i_);
        if (close == std::string_view::npos)
          return error(start, "unterminated raw quoted string");
        emit(Tok::String, start, std::string(s_.substr(i_, close - i_)));
        i_ = close + 1;
        continue;
      }
      case '$':
        while (i_ < end_ && is_alnum(s_[i_]))
          ++i_;
        emit(Tok::Variable, start, std::string(s_.substr(start, i_ - start)));
        continue;
      case '.':
        if (i_ < end_ && is_digit(s_[i_])) {
          number(start);
          continue;
        }
        if (i_ < end_ && is_alnum(s_[i_])) {
          while (i_ < end_ && is_alnum(s_[i_]))
            ++i_;
          emit(Tok::Field, start, std::string(s_.substr(start + 1, i_ - start - 1)));
          continue;
        }
        emit(Tok::Dot, start, ".");
        continue;
      default:
        break;
      }
      if (c == '+' || c == '-' || is_digit(c)) {
        number(start);
        continue;
      }
      if (is_alnum(c)) {
        while (i_ < end_ && is_alnum(s_[i_]))
          ++i_;
        emit(Tok::Identifier, start, std::string(s_.substr(start, i_ - start)));
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return error(start, "unrecognized character in action");
      emit(Tok::Other, start, std::string(1, c));
    }
  }

  // {{/* ... */}}: produces no token; may carry trim markers on both sides.
  bool comment(size_t open, size_t probe, bool &trim_left) {
    size_t close = s_.substr(0, end_).find("*/", probe + 2);
    if (close == std::string_view::npos)
      return error(open, "unclosed comment");
    i_ = close + 2;
    if (at("}}")) {
      i_ += 2;
      return true;
    }
    if (i_ < end_ && is_space(s_[i_])) {
      size_t k = i_;
      while (k < end_ && is_space(s_[k]))
        ++k;
      if (s_.substr(0, end_).substr(k).starts_with("-}}")) {
        i_ = k + 3;
        trim_left = true;
        return true;
      }
    }
    return error(open, "comment ends before closing delimiter");
  }

  bool quoted(size_t start, char quote) {
    std::string body;
    for (;;) {
      if (i_ >= end_ || s_[i_] == '\n')
        return error(start, quote == '"' ? "unterminated quoted string"
                                         : "unterminated character constant");
      char c = s_[i_++];
      if (c == quote)
        break;
      body += c;
      if (c == '\\' && i_ < end_ && s_[i_] != '\n')
        body += s_[i_++];
    }
    std::string value;
    if (!unquote(body, quote, value))
      return error(start, std::string("invalid syntax in ") +
                              (quote == '"' ? "quoted string" : "character constant"));
    if (quote == '\'') {
      if (value.empty())
        return error(start, "empty character constant");
      emit(Tok::CharConst, start, std::move(value));
    } else {
      emit(Tok::String, start, std::move(value));
    }
    return true;
  }

  // Scans a number loosely, as Go's lexer does; the parser validates it.
  void number(size_t start) {
    while (i_ < end_) {
      char c = s_[i_];
      char prev = s_[i_ - 1];
      bool exp_sign = (c == '+' || c == '-') &&
                      (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P') &&
                      !(s_.substr(start, 2) == "0x" || s_.substr(start, 2) == "0X");
      if (is_alnum(c) || c == '.' || exp_sign)
        ++i_;
      else
        break;
    }
    emit(Tok::Number, start, std::string(s_.substr(start, i_ - start)));
  }

  std::string_view s_;
  size_t i_;
  size_t end_;
  std::vector<size_t> line_starts_;
  std::vector<Token> toks_;
};

} // namespace

std::vector<Token> lex(std::string_view text, size_t begin, size_t end) {
  return Lexer(text, begin, end).run();
}

std::string describe(const Token &t) {
  switch (t.kind) {
  case Tok::Eof:
    return "EOF";
  case Tok::RightDelim:
    return "<}}>";
  case Tok::LeftDelim:
    return "<{{>";
  case Tok::Space:
    return "space";
  case Tok::Field:
    return "<." + t.text + ">";
  case Tok::String:
    return "quoted string";
  case Tok::Text:
    return "text";
  default:
    return "\"" + t.text + "\"";
  }
}

std::string error_text(Pos pos, const std::string &cause) {
  return "template: " + std::to_string(pos.line) + ":" + std::to_string(pos.col) + ": " + cause;
}

} // namespace ctk::tools::tmpl
