// The builtin functions: Go text/template's (eq, index, len, printf, ...)
// and docker's additions (json, join, split, lower, upper, title, pad,
// truncate), with Go's argument checks and messages.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "render/gofmt.h"
#include "render/template_value.h"

namespace ctk::tools::tmpl {
namespace {

using ctk::rt::Errc;
using ctk::rt::Result;

struct FuncInfo {
  const char *name;
  Func func;
};
constexpr FuncInfo kFuncs[] = {
    {"and", Func::And},
    {"or", Func::Or},
    {"not", Func::Not},
    {"len", Func::Len},
    {"index", Func::Index},
    {"slice", Func::Slice},
    {"print", Func::Print},
    {"printf", Func::Printf},
    {"println", Func::Println},
    {"eq", Func::Eq},
    {"ne", Func::Ne},
    {"lt", Func::Lt},
    {"le", Func::Le},
    {"gt", Func::Gt},
    {"ge", Func::Ge},
    {"json", Func::Json},
    {"join", Func::Join},
    {"split", Func::Split},
    {"lower", Func::Lower},
    {"upper", Func::Upper},
    {"title", Func::Title},
    {"pad", Func::Pad},
    {"truncate", Func::Truncate},
};

tl::unexpected<ctk::rt::Error> cause(std::string text) {
  return ctk::rt::fail(Errc::invalid_argument, std::move(text));
}

Result<void> want(Func f, const std::vector<Val> &args, size_t n) {
  if (args.size() == n)
    return {};
  return cause(std::string("wrong number of args for ") + func_name(f) + ": want " +
               std::to_string(n) + " got " + std::to_string(args.size()));
}

Result<const std::string *> string_arg(const Val &v) {
  if (!v.get().is_string())
    return cause("wrong type for value; expected string; got " + gofmt::type_name(v.get()));
  return &v.get().get_ref<const std::string &>();
}

Result<int64_t> int_arg(const Json &v) {
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == std::trunc(v.get<double>()))
    return static_cast<int64_t>(v.get<double>());
  return cause("wrong type for value; expected int; got " + gofmt::type_name(v));
}

enum class Kind { Nil, Bool, Int, Float, String, Other };
Kind basic_kind(const Json &v) {
  switch (v.type()) {
  case Json::value_t::null:
    return Kind::Nil;
  case Json::value_t::boolean:
    return Kind::Bool;
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned:
    return Kind::Int;
  case Json::value_t::number_float:
    return Kind::Float;
  case Json::value_t::string:
    return Kind::String;
  default:
    return Kind::Other;
  }
}
bool numeric(Kind k) {
  return k == Kind::Int || k == Kind::Float;
}

// -1, 0, 1 for two numbers; exact for integers of either signedness.
int compare_numbers(const Json &a, const Json &b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    auto wide = [](const Json &j) -> __int128 {
      return j.is_number_unsigned() ? static_cast<__int128>(j.get<uint64_t>())
                                    : static_cast<__int128>(j.get<int64_t>());
    };
    __int128 x = wide(a), y = wide(b);
    return x < y ? -1 : x > y;
  }
  double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : x > y;
}

Result<bool> equal(const Json &a, const Json &b) {
  Kind ka = basic_kind(a), kb = basic_kind(b);
  if (ka == Kind::Other || kb == Kind::Other)
    return cause("non-comparable type " + gofmt::type_name(ka == Kind::Other ? a : b));
  if (ka == Kind::Nil || kb == Kind::Nil)
    return ka == kb;
  if (numeric(ka) && numeric(kb))
    return compare_numbers(a, b) == 0;
  if (ka != kb)
    return cause("incompatible types for comparison: " + gofmt::type_name(a) + " and " +
                 gofmt::type_name(b));
  return a == b;
}

Result<int> order(const Json &a, const Json &b) {
  Kind ka = basic_kind(a), kb = basic_kind(b);
  if (numeric(ka) && numeric(kb))
    return compare_numbers(a, b);
  if (ka == Kind::String && kb == Kind::String) {
    int c = a.get_ref<const std::string &>().compare(b.get_ref<const std::string &>());
    return c < 0 ? -1 : c > 0;
  }
  if ((ka != Kind::String && !numeric(ka)) || (kb != Kind::String && !numeric(kb)))
    return cause("invalid type for comparison");
  return cause("incompatible types for comparison: " + gofmt::type_name(a) + " and " +
               gofmt::type_name(b));
}

std::vector<const Json *> raw(const std::vector<Val> &args, size_t from = 0) {
  std::vector<const Json *> out;
  out.reserve(args.size());
  for (size_t i = from; i < args.size(); ++i)
    out.push_back(args[i].ptr);
  return out;
}

Result<Val> index(const std::vector<Val> &args) {
  Val cur = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    const Json &c = cur.get();
    const Json &k = args[i].get();
    if (c.is_null())
      return Val::null(); // Go: indexing a nil map gives the zero value
    if (c.is_object()) {
      if (!k.is_string())
        return cause("error calling index: value has type " + gofmt::type_name(k) +
                     "; should be string");
      auto it = c.find(k.get_ref<const std::string &>());
      if (it == c.end())
        return Val::null();
      cur = Val::ref(*it, cur.keep);
    } else if (c.is_array() || c.is_string()) {
      auto n = int_arg(k);
      if (!n)
        return cause("error calling index: cannot index slice/array with type " +
                     gofmt::type_name(k));
      size_t len = c.is_array() ? c.size() : c.get_ref<const std::string &>().size();
      if (*n < 0 || static_cast<size_t>(*n) >= len)
        return cause("error calling index: index out of range: " + std::to_string(*n));
      if (c.is_array())
        cur = Val::ref(c[static_cast<size_t>(*n)], cur.keep);
      else // Go indexes strings by byte and yields the byte value
        cur = Val::own(
            static_cast<int64_t>(static_cast<unsigned char>(c.get_ref<const std::string &>()[*n])));
    } else {
      return cause("error calling index: can't index item of type " + gofmt::type_name(c));
    }
  }
  return cur;
}

Result<Val> slice(const std::vector<Val> &args) {
  const Json &c = args[0].get();
  if (!c.is_array() && !c.is_string())
    return cause("error calling slice: can't slice item of type " + gofmt::type_name(c));
  size_t len = c.is_array() ? c.size() : c.get_ref<const std::string &>().size();
  size_t lo = 0, hi = len;
  if (args.size() > 3)
    return cause("error calling slice: too many slice indexes: " + std::to_string(args.size() - 1));
  for (size_t i = 1; i < args.size(); ++i) {
    auto n = int_arg(args[i].get());
    if (!n)
      return cause("error calling slice: cannot index slice/array with type " +
                   gofmt::type_name(args[i].get()));
    if (*n < 0 || static_cast<size_t>(*n) > len)
      return cause("error calling slice: index out of range: " + std::to_string(*n));
    (i == 1 ? lo : hi) = static_cast<size_t>(*n);
  }
  if (lo > hi)
    return cause("error calling slice: invalid slice index: " + std::to_string(lo) + " > " +
                 std::to_string(hi));
  if (c.is_string())
    return Val::own(c.get_ref<const std::string &>().substr(lo, hi - lo));
  Json out = Json::array();
  for (size_t i = lo; i < hi; ++i)
    out.push_back(c[i]);
  return Val::own(std::move(out));
}

std::string title(std::string s) {
  // strings.Title: upper-case the first letter of each word; letters,
  // digits, underscores and non-ASCII bytes do not separate words.
  char prev = ' ';
  for (char &c : s) {
    bool sep = !(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                 static_cast<unsigned char>(c) >= 0x80);
    bool prev_sep = !(std::isalnum(static_cast<unsigned char>(prev)) || prev == '_' ||
                      static_cast<unsigned char>(prev) >= 0x80);
    if (!sep && prev_sep && c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    prev = c;
  }
  return s;
}

} // namespace

Val Val::null() {
  static const Json kNull;
  return Val{&kNull, {}};
}

bool find_func(std::string_view name, Func &out) {
  for (const auto &f : kFuncs)
    if (name == f.name) {
      out = f.func;
      return true;
    }
  return false;
}

const char *func_name(Func f) {
  for (const auto &i : kFuncs)
    if (i.func == f)
      return i.name;
  return "?";
}

bool truthy(const Json &v) {
  switch (v.type()) {
  case Json::value_t::boolean:
    return v.get<bool>();
  case Json::value_t::number_integer:
    return v.get<int64_t>() != 0;
  case Json::value_t::number_unsigned:
    return v.get<uint64_t>() != 0;
  case Json::value_t::number_float:
    return v.get<double>() != 0;
  case Json::value_t::string:
    return !v.get_ref<const std::string &>().empty();
  case Json::value_t::array:
  case Json::value_t::object:
    return !v.empty();
  default:
    return false;
  }
}

Result<Val> call_func(Func f, const std::vector<Val> &args) {
  switch (f) {
  case Func::And:
  case Func::Or:
    break; // short-circuited by the executor
  case Func::Not:
    if (auto w = want(f, args, 1); !w)
      return tl::unexpected(w.error());
    return Val::own(!truthy(args[0].get()));
  case Func::Len: {
    if (auto w = want(f, args, 1); !w)
      return tl::unexpected(w.error());
    const Json &v = args[0].get();
    if (v.is_string() || v.is_array() || v.is_object())
      return Val::own(
          static_cast<int64_t>(v.is_string() ? v.get_ref<const std::string &>().size() : v.size()));
    return cause("error calling len: len of " +
                 (v.is_null() ? std::string("nil pointer") : "type " + gofmt::type_name(v)));
  }
  case Func::Index:
    if (args.empty())
      return cause("wrong number of args for index: want at least 1 got 0");
    return index(args);
  case Func::Slice:
    if (args.empty())
      return cause("wrong number of args for slice: want at least 1 got 0");
    return slice(args);
  case Func::Print:
    return Val::own(gofmt::sprint(raw(args)));
  case Func::Println:
    return Val::own(gofmt::sprintln(raw(args)));
  case Func::Printf: {
    if (args.empty())
      return cause("wrong number of args for printf: want at least 1 got 0");
    auto fmt = string_arg(args[0]);
    if (!fmt)
      return tl::unexpected(fmt.error());
    return Val::own(gofmt::sprintf(**fmt, raw(args, 1)));
  }
  case Func::Eq:
  case Func::Ne: {
    if (args.size() < 2 || (f == Func::Ne && args.size() != 2))
      return cause(std::string("wrong number of args for ") + func_name(f) +
                   (f == Func::Eq ? ": want at least 2 got " : ": want 2 got ") +
                   std::to_string(args.size()));
    // eq a b c is a == b || a == c, as in Go.
    bool any = false;
    for (size_t i = 1; i < args.size() && !any; ++i) {
      auto e = equal(args[0].get(), args[i].get());
      if (!e)
        return cause(std::string("error calling ") + func_name(f) + ": " + e.error().context);
      any = *e;
    }
    return Val::own(f == Func::Eq ? any : !any);
  }
  case Func::Lt:
  case Func::Le:
  case Func::Gt:
  case Func::Ge: {
    if (auto w = want(f, args, 2); !w)
      return tl::unexpected(w.error());
    auto c = order(args[0].get(), args[1].get());
    if (!c)
      return cause(std::string("error calling ") + func_name(f) + ": " + c.error().context);
    bool r = f == Func::Lt ? *c < 0 : f == Func::Le ? *c <= 0 : f == Func::Gt ? *c > 0 : *c >= 0;
    return Val::own(r);
  }
  case Func::Json: {
    if (auto w = want(f, args, 1); !w)
      return tl::unexpected(w.error());
    return Val::own(args[0].get().dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  case Func::Join: {
    if (auto w = want(f, args, 2); !w)
      return tl::unexpected(w.error());
    auto sep = string_arg(args[1]);
    if (!sep)
      return tl::unexpected(sep.error());
    const Json &list = args[0].get();
    if (list.is_null())
      return Val::own(std::string());
    if (!list.is_array())
      return cause("error calling join: wrong type for value; expected []string; got " +
                   gofmt::type_name(list));
    std::string out;
    for (size_t i = 0; i < list.size(); ++i) {
      if (i)
        out += **sep;
      gofmt::append_value(out, list[i]);
    }
    return Val::own(std::move(out));
  }
  case Func::Split: {
    if (auto w = want(f, args, 2); !w)
      return tl::unexpected(w.error());
    auto s = string_arg(args[0]);
    auto sep = s ? string_arg(args[1]) : s;
    if (!s || !sep)
      return tl::unexpected(!s ? s.error() : sep.error());
    Json out = Json::array();
    const std::string &str = **s, &d = **sep;
    if (d.empty()) { // strings.Split with "" splits into UTF-8 characters
      for (size_t i = 0; i < str.size();) {
        size_t n = 1;
        while (i + n < str.size() && (static_cast<unsigned char>(str[i + n]) & 0xC0) == 0x80)
          ++n;
        out.push_back(str.substr(i, n));
        i += n;
      }
    } else {
      size_t start = 0;
      for (size_t pos; (pos = str.find(d, start)) != std::string::npos; start = pos + d.size())
        out.push_back(str.substr(start, pos - start));
      out.push_back(str.substr(start));
    }
    return Val::own(std::move(out));
  }
  case Func::Lower:
  case Func::Upper:
  case Func::Title: {
    if (auto w = want(f, args, 1); !w)
      return tl::unexpected(w.error());
    auto s = string_arg(args[0]);
    if (!s)
      return tl::unexpected(s.error());
    std::string out = **s;
    if (f == Func::Title)
      return Val::own(title(std::move(out)));
    for (char &c : out)
      if (f == Func::Lower && c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
      else if (f == Func::Upper && c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
    return Val::own(std::move(out));
  }
  case Func::Pad: {
    if (auto w = want(f, args, 3); !w)
      return tl::unexpected(w.error());
    auto s = string_arg(args[0]);
    auto before = int_arg(args[1].get()), after = int_arg(args[2].get());
    if (!s || !before || !after)
      return tl::unexpected(!s ? s.error() : !before ? before.error() : after.error());
    std::string out(static_cast<size_t>(std::clamp<int64_t>(*before, 0, 4096)), ' ');
    out += **s;
    out.append(static_cast<size_t>(std::clamp<int64_t>(*after, 0, 4096)), ' ');
    return Val::own(std::move(out));
  }
  case Func::Truncate: {
    if (auto w = want(f, args, 2); !w)
      return tl::unexpected(w.error());
    auto s = string_arg(args[0]);
    auto n = int_arg(args[1].get());
    if (!s || !n)
      return tl::unexpected(!s ? s.error() : n.error());
    const std::string &str = **s;
    size_t runes = 0, i = 0;
    while (i < str.size() && static_cast<int64_t>(runes) < *n) {
      ++i;
      while (i < str.size() && (static_cast<unsigned char>(str[i]) & 0xC0) == 0x80)
        ++i;
      ++runes;
    }
    return Val::own(str.substr(0, i));
  }
  }
  return cause(std::string("function ") + func_name(f) + " is not callable here");
}

} // namespace ctk::tools::tmpl
