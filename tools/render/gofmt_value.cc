// Go's fmt %v of JSON values, strconv.Quote and fmt.Sprint/Sprintln.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "render/gofmt.h"

namespace ctk::tools::gofmt {

size_t rune_count(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string type_name(const Json &v) {
  switch (v.type()) {
  case Json::value_t::null:
    return "<nil>";
  case Json::value_t::boolean:
    return "bool";
  case Json::value_t::number_integer:
    return "int";
  case Json::value_t::number_unsigned:
    return v.get<uint64_t>() > INT64_MAX ? "uint64" : "int";
  case Json::value_t::number_float:
    return "float64";
  case Json::value_t::string:
    return "string";
  case Json::value_t::array:
    return "[]interface {}";
  case Json::value_t::object:
    return "map[string]interface {}";
  default:
    return "interface {}";
  }
}

std::string format_g(double f, int prec) {
  if (prec >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*g", prec == 0 ? 1 : prec, f);
    return buf;
  }
  if (f == 0)
    return std::signbit(f) ? "-0" : "0";
  // Shortest digits that round-trip, laid out as strconv's 'g' with
  // precision -1 does: the exponent form when exp < -4 || exp >= 6
  // (fmt.Println(1e6) prints "1e+06").
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, r.ptr); // "-1.2345e+06"
  bool neg = sci[0] == '-';
  size_t epos = sci.find('e');
  std::string mant = sci.substr(neg ? 1 : 0, epos - (neg ? 1 : 0));
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.')
      digits += c;
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits.substr(0, 1);
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + e;
  }
  if (exp < 0) {
    out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
           digits.substr(static_cast<size_t>(exp) + 1);
  }
  return out;
}

void append_value(std::string &out, const Json &v) {
  switch (v.type()) {
  case Json::value_t::null:
    out += "<nil>";
    return;
  case Json::value_t::string:
    out += v.get_ref<const std::string &>();
    return;
  case Json::value_t::number_integer:
    out += std::to_string(v.get<int64_t>());
    return;
  case Json::value_t::number_unsigned:
    out += std::to_string(v.get<uint64_t>());
    return;
  case Json::value_t::number_float:
    out += format_g(v.get<double>(), -1);
    return;
  case Json::value_t::boolean:
    out += v.get<bool>() ? "true" : "false";
    return;
  case Json::value_t::array:
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ' ';
      append_value(out, v[i]);
    }
    out += ']';
    return;
  case Json::value_t::object: {
    // fmt prints maps sorted by key.
    std::vector<std::pair<const std::string *, const Json *>> items;
    items.reserve(v.size());
    for (auto it = v.begin(); it != v.end(); ++it)
      items.emplace_back(&it.key(), &it.value());
    std::sort(items.begin(), items.end(), [](auto &a, auto &b) { return *a.first < *b.first; });
    out += "map[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += ' ';
      out += *items[i].first;
      out += ':';
      append_value(out, *items[i].second);
    }
    out += ']';
    return;
  }
  default:
    out += v.dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
}

std::string value(const Json &v) {
  std::string s;
  append_value(s, v);
  return s;
}

std::string quote(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
      }
      ++i;
      continue;
    }
    // A valid multi-byte sequence is kept; a stray byte is escaped as \x.
    size_t n = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out += s.substr(i, n);
      i += n;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  out += '"';
  return out;
}

std::string sprint(const std::vector<const Json *> &args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_string = args[i]->is_string();
    if (i > 0 && !is_string && !prev_string)
      out += ' ';
    if (args[i]->is_null())
      out += "<nil>";
    else
      append_value(out, *args[i]);
    prev_string = is_string;
  }
  return out;
}

std::string sprintln(const std::vector<const Json *> &args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0)
      out += ' ';
    if (args[i]->is_null())
      out += "<nil>";
    else
      append_value(out, *args[i]);
  }
  out += '\n';
  return out;
}

} // namespace ctk::tools::gofmt
