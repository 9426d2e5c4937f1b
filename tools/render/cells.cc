// Table cells: raw record values shown in human units by column type, the
// way docker's CLI shows them (go-units for sizes and "ago" times).
#include <cmath>
#include <cstdio>
#include <ctime>

#include "render/gofmt.h"
#include "render/render.h"

namespace ctk::tools {
namespace {

// Any value as plain text: strings raw, numbers as Go prints them, lists
// joined by ",", objects as compact JSON.
std::string plain(const Json &v) {
  if (v.is_null())
    return "";
  if (v.is_object())
    return v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (v.is_array()) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ',';
      out += v[i].is_object() || v[i].is_array()
                 ? v[i].dump(-1, ' ', false, Json::error_handler_t::replace)
                 : plain(v[i]);
    }
    return out;
  }
  return gofmt::value(v);
}

// RFC 3339 ("2024-05-01T12:00:00.123456789Z", "...+02:00") to unix seconds.
bool parse_rfc3339(const std::string &s, int64_t &out) {
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) !=
          6 ||
      n == 0)
    return false;
  size_t i = static_cast<size_t>(n);
  if (i < s.size() && s[i] == '.')
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2)
      return false;
    offset = (s[i] == '-' ? -1 : 1) * (oh * 3600LL + om * 60LL);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size())
    return false;
  // Go's zero time (0001-01-01T00:00:00Z) means "never": no timestamp.
  if (y <= 1)
    return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  out = static_cast<int64_t>(timegm(&tm)) - offset;
  return true;
}

} // namespace

const Json *lookup(const Json &rec, std::string_view dotted_key) {
  const Json *cur = &rec;
  for (;;) {
    if (!cur->is_object())
      return nullptr;
    // A key that itself holds dots (a label "com.docker.compose.project")
    // matches before the dots are read as nesting.
    auto it = cur->find(dotted_key);
    if (it != cur->end())
      return &*it;
    size_t dot = dotted_key.find('.');
    if (dot == std::string_view::npos)
      return nullptr;
    it = cur->find(dotted_key.substr(0, dot));
    if (it == cur->end())
      return nullptr;
    cur = &*it;
    dotted_key.remove_prefix(dot + 1);
  }
}

// go-units BytesSize: binary units, "%.4g" of the scaled value.
std::string human_bytes(double bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  if (!std::isfinite(bytes))
    return "";
  size_t i = 0;
  double v = bytes;
  while (std::fabs(v) >= 1024 && i + 1 < std::size(units)) {
    v /= 1024;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, units[i]);
  return buf;
}

std::string human_duration(double secs) {
  if (!std::isfinite(secs))
    return "";
  if (secs < 0) {
    std::string r = human_duration(-secs);
    r.insert(r.begin(), '-'); // not "-" + r: GCC 12 warns falsely (-Wrestrict)
    return r;
  }
  if (secs < 1) {
    auto ms = static_cast<long long>(std::llround(secs * 1000));
    return ms == 0 ? "0s" : ms == 1000 ? "1s" : std::to_string(ms) + "ms";
  }
  auto s = static_cast<long long>(secs);
  auto two = [](long long big, const char *bu, long long small, const char *su) {
    std::string r = std::to_string(big) + bu;
    if (small)
      r += std::to_string(small) + su;
    return r;
  };
  if (s < 60)
    return std::to_string(s) + "s";
  if (s < 3600)
    return two(s / 60, "m", s % 60, "s");
  if (s < 86400)
    return two(s / 3600, "h", s % 3600 / 60, "m");
  return two(s / 86400, "d", s % 86400 / 3600, "h");
}

// go-units HumanDuration + " ago", as `docker ps` shows CREATED.
std::string human_ago(int64_t then, int64_t now) {
  int64_t d = now - then;
  auto n = [](int64_t v, const char *unit) { return std::to_string(v) + " " + unit + " ago"; };
  if (d < 1)
    return "Less than a second ago";
  if (d == 1)
    return "1 second ago";
  if (d < 60)
    return n(d, "seconds");
  int64_t minutes = d / 60;
  if (minutes == 1)
    return "About a minute ago";
  if (minutes < 60)
    return n(minutes, "minutes");
  int64_t hours = (d + 1800) / 3600; // Go's d.Round(time.Hour)
  if (hours == 1)
    return "About an hour ago";
  if (hours < 48)
    return n(hours, "hours");
  if (hours < 24LL * 7 * 2)
    return n(hours / 24, "days");
  if (hours < 24LL * 30 * 2)
    return n(hours / 24 / 7, "weeks");
  if (hours < 24LL * 365 * 2)
    return n(hours / 24 / 30, "months");
  return n(d / 3600 / 24 / 365, "years");
}

std::string format_cell(const Json &value, const ColumnSpec &col, bool no_trunc, int64_t now) {
  if (value.is_null())
    return "";
  switch (col.type) {
  case CTK_COL_BYTES:
    if (value.is_number())
      return human_bytes(value.get<double>());
    break;
  case CTK_COL_DURATION:
    if (value.is_number())
      return human_duration(value.get<double>());
    break;
  case CTK_COL_TIMESTAMP: {
    int64_t then = 0;
    if (value.is_number()) {
      double t = value.get<double>();
      if (!std::isfinite(t) || t <= 0)
        return "";
      then = static_cast<int64_t>(t);
    } else if (value.is_string()) {
      if (value.get_ref<const std::string &>().empty())
        return "";
      if (!parse_rfc3339(value.get_ref<const std::string &>(), then))
        return value.get_ref<const std::string &>().starts_with("0001-01-01")
                   ? ""
                   : value.get<std::string>();
    } else {
      break;
    }
    return human_ago(then, now ? now : static_cast<int64_t>(std::time(nullptr)));
  }
  case CTK_COL_ID:
    if (value.is_string()) {
      // docker: "9d920698cfcf" in tables, "sha256:9d92…" whole with --no-trunc.
      std::string_view id = value.get_ref<const std::string &>();
      if (no_trunc)
        return std::string(id);
      if (id.starts_with("sha256:"))
        id.remove_prefix(7);
      return std::string(id.substr(0, 12));
    }
    break;
  case CTK_COL_OBJECT:
    if (!value.is_string())
      return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    break;
  case CTK_COL_PERCENT:
    if (value.is_number()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f%%", value.get<double>());
      return buf;
    }
    break;
  default:
    break;
  }
  return plain(value);
}

} // namespace ctk::tools
