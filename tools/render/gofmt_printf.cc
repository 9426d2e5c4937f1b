// fmt.Sprintf: verbs, flags, width and precision as Go applies them to
// values decoded from JSON, with Go's %!verb(type=value) for mismatches.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "render/gofmt.h"

namespace ctk::tools::gofmt {
namespace {

struct Spec {
  bool minus = false, plus = false, sharp = false, space = false, zero = false;
  int width = -1;
  int prec = -1;
  char verb = 'v';
};

bool is_int(const Json &v) {
  return v.is_number_integer();
}

// Numbers that are whole are accepted by %d, and all numbers by %f: JSON
// does not say int or float, so be as forgiving as the data needs.
bool integral_float(const Json &v, double &d) {
  if (!v.is_number_float())
    return false;
  d = v.get<double>();
  return std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18;
}

void pad(std::string &out, std::string_view body, const Spec &s, bool numeric) {
  size_t n = rune_count(body);
  size_t w = s.width > 0 ? static_cast<size_t>(s.width) : 0;
  if (n >= w) {
    out += body;
    return;
  }
  size_t fill = w - n;
  if (s.minus) {
    out += body;
    out.append(fill, ' ');
  } else if (s.zero) {
    // Zeros go after a sign: "-0042".
    size_t sign = numeric && !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ');
    out += body.substr(0, sign);
    out.append(fill, '0');
    out += body.substr(sign);
  } else {
    out.append(fill, ' ');
    out += body;
  }
}


std::string fmt_integer(const Json &v, const Spec &s) {
  bool neg = false;
  uint64_t mag = 0;
  if (v.is_number_unsigned()) {
    mag = v.get<uint64_t>();
  } else {
    int64_t i = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
    neg = i < 0;
    mag = neg ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  }
  if (s.verb == 'c') {
    std::string r;
    append_utf8(r, static_cast<uint32_t>(mag));
    return r;
  }
  if (s.verb == 'q') {
    std::string r;
    append_utf8(r, static_cast<uint32_t>(mag));
    std::string q = quote(r);
    return "'" + q.substr(1, q.size() - 2) + "'";
  }
  if (s.verb == 'U') {
    char buf[32];
    std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(mag));
    return buf;
  }
  int base = 10;
  bool upper = false;
  switch (s.verb) {
  case 'b':
    base = 2;
    break;
  case 'o':
  case 'O':
    base = 8;
    break;
  case 'x':
    base = 16;
    break;
  case 'X':
    base = 16, upper = true;
    break;
  default:
    break;
  }
  char buf[80];
  auto r = std::to_chars(buf, buf + sizeof buf, mag, base);
  std::string digits(buf, r.ptr);
  if (upper)
    std::transform(digits.begin(), digits.end(), digits.begin(), ::toupper);
  if (s.prec >= 0) {
    if (s.prec == 0 && mag == 0)
      digits.clear();
    else if (digits.size() < static_cast<size_t>(s.prec))
      digits.insert(0, static_cast<size_t>(s.prec) - digits.size(), '0');
  }
  std::string prefix = neg ? "-" : s.plus ? "+" : s.space ? " " : "";
  if (s.sharp || s.verb == 'O') {
    if (base == 16)
      prefix += upper ? "0X" : "0x";
    else if (base == 8 && (s.verb == 'O' || digits.empty() || digits[0] != '0'))
      prefix += s.verb == 'O' ? "0o" : "0";
    else if (base == 2)
      prefix += "0b";
  }
  return prefix + digits;
}

std::string fmt_float(double d, const Spec &s) {
  std::string body;
  char verb = s.verb == 'v' ? 'g' : s.verb;
  if (std::isinf(d)) {
    body = d < 0 ? "-Inf" : s.plus ? "+Inf" : "Inf";
  } else if (std::isnan(d)) {
    body = "NaN";
  } else if ((verb == 'g' || verb == 'G') && s.prec < 0) {
    body = format_g(d, -1);
    if (verb == 'G')
      std::transform(body.begin(), body.end(), body.begin(), ::toupper);
  } else {
    char fmtbuf[16];
    std::snprintf(fmtbuf, sizeof fmtbuf, "%%.%d%c", s.prec < 0 ? 6 : s.prec,
                  verb == 'F' ? 'f' : verb);
    char buf[512];
    std::snprintf(buf, sizeof buf, fmtbuf, d);
    body = buf;
  }
  if (!body.empty() && body[0] != '-' && body[0] != '+' && !std::isnan(d)) {
    if (s.plus)
      body.insert(0, "+");
    else if (s.space)
      body.insert(0, " ");
  }
  return body;
}

void bad_verb(std::string &out, char verb, const Json *arg) {
  out += "%!";
  out += verb;
  out += '(';
  if (!arg || arg->is_null()) {
    out += "<nil>";
  } else {
    out += type_name(*arg);
    out += '=';
    append_value(out, *arg);
  }
  out += ')';
}

// printValue: one argument under one verb; containers apply it to elements.
void print_arg(std::string &out, const Json *arg, const Spec &s) {
  const Json &v = *arg;
  char verb = s.verb;
  if (verb == 'T') {
    pad(out, type_name(v), s, false);
    return;
  }
  if (v.is_null()) {
    if (verb == 'v')
      pad(out, "<nil>", s, false);
    else
      bad_verb(out, verb, arg);
    return;
  }
  if (v.is_object()) {
    out += "map[";
    std::vector<const std::string *> keys;
    for (const auto &[k, _] : v.items())
      keys.push_back(&k);
    std::sort(keys.begin(), keys.end(), [](auto *a, auto *b) { return *a < *b; });
    bool first = true;
    for (const auto *k : keys) {
      if (!first)
        out += ' ';
      first = false;
      Json key = *k;
      print_arg(out, &key, s);
      out += ':';
      print_arg(out, &v.at(*k), s);
    }
    out += ']';
    return;
  }
  if (v.is_array()) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ' ';
      print_arg(out, &v[i], s);
    }
    out += ']';
    return;
  }
  if (v.is_boolean()) {
    if (verb == 'v' || verb == 't')
      pad(out, v.get<bool>() ? "true" : "false", s, false);
    else
      bad_verb(out, verb, arg);
    return;
  }
  if (v.is_string()) {
    const std::string &str = v.get_ref<const std::string &>();
    std::string_view sv = str;
    if (s.prec >= 0 && (verb == 's' || verb == 'v' || verb == 'q')) {
      // Precision truncates a string to that many runes.
      size_t runes = 0, k = 0;
      while (k < sv.size() && runes < static_cast<size_t>(s.prec)) {
        ++k;
        while (k < sv.size() && (static_cast<unsigned char>(sv[k]) & 0xC0) == 0x80)
          ++k;
        ++runes;
      }
      sv = sv.substr(0, k);
    }
    switch (verb) {
    case 'v':
    case 's':
      pad(out, sv, s, false);
      return;
    case 'q':
      pad(out, quote(sv), s, false);
      return;
    case 'x':
    case 'X': {
      std::string hex;
      const char *digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      for (size_t k = 0; k < sv.size(); ++k) {
        if (k && s.space)
          hex += ' ';
        unsigned char c = static_cast<unsigned char>(sv[k]);
        hex += digits[c >> 4];
        hex += digits[c & 15];
      }
      pad(out, hex, s, false);
      return;
    }
    default:
      bad_verb(out, verb, arg);
      return;
    }
  }
  // Numbers.
  double d = 0;
  bool int_like = is_int(v) || integral_float(v, d);
  switch (verb) {
  case 'd':
  case 'b':
  case 'o':
  case 'O':
  case 'x':
  case 'X':
  case 'c':
  case 'q':
  case 'U':
    if (!int_like) {
      bad_verb(out, verb, arg);
      return;
    }
    pad(out, fmt_integer(v, s), s, true);
    return;
  case 'v':
    if (is_int(v)) {
      pad(out, fmt_integer(v, s), s, true);
      return;
    }
    [[fallthrough]];
  case 'e':
  case 'E':
  case 'f':
  case 'F':
  case 'g':
  case 'G':
    pad(out, fmt_float(v.get<double>(), s), s, true);
    return;
  default:
    bad_verb(out, verb, arg);
    return;
  }
}

} // namespace

void append_utf8(std::string &out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
std::string sprintf(std::string_view f, const std::vector<const Json *> &args) {
  std::string out;
  size_t argi = 0;
  bool reordered = false;
  auto number = [&](size_t &i, int &dst) {
    if (i < f.size() && f[i] == '*') {
      ++i;
      if (argi < args.size() && args[argi]->is_number_integer())
        dst = static_cast<int>(std::clamp<int64_t>(args[argi]->get<int64_t>(), -1000000, 1000000));
      else
        out += "%!(BADWIDTH)";
      ++argi;
      return;
    }
    if (i >= f.size() || f[i] < '0' || f[i] > '9')
      return;
    // Go refuses widths past 1e6; clamping keeps a typo from eating memory.
    dst = 0;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9')
      dst = std::min(dst * 10 + (f[i++] - '0'), 1000000);
  };
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      size_t next = f.find('%', i);
      if (next == std::string_view::npos)
        next = f.size();
      out += f.substr(i, next - i);
      i = next;
      continue;
    }
    ++i;
    Spec s;
    for (; i < f.size(); ++i) {
      char c = f[i];
      if (c == '-')
        s.minus = true, s.zero = false;
      else if (c == '+')
        s.plus = true;
      else if (c == '#')
        s.sharp = true;
      else if (c == ' ')
        s.space = true;
      else if (c == '0')
        s.zero = !s.minus;
      else
        break;
    }
    // Explicit argument index: %[2]d.
    if (i < f.size() && f[i] == '[') {
      size_t close = f.find(']', i);
      int idx = 0;
      if (close != std::string_view::npos &&
          std::from_chars(f.data() + i + 1, f.data() + close, idx).ptr == f.data() + close &&
          idx >= 1) {
        argi = static_cast<size_t>(idx - 1);
        reordered = true;
        i = close + 1;
      }
    }
    number(i, s.width);
    if (s.width < 0 && s.width != -1) { // "%*d" with a negative width means left-justify
      s.minus = true;
      s.width = -s.width;
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      s.prec = 0;
      number(i, s.prec);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    s.verb = f[i++];
    if (s.verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += "%!";
      out += s.verb;
      out += "(MISSING)";
      continue;
    }
    print_arg(out, args[argi++], s);
  }
  if (!reordered && argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi)
        out += ", ";
      if (args[k]->is_null()) {
        out += "<nil>";
      } else {
        out += type_name(*args[k]);
        out += '=';
        append_value(out, *args[k]);
      }
    }
    out += ')';
  }
  return out;
}

} // namespace ctk::tools::gofmt
