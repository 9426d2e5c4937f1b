// docker's json-file log format, as the container monitor writes it.
#include <ctime>

#include <fmt/format.h>

#include "ctk/runtime/container_ops.h"

namespace ctk::rt::container {

using nlohmann::json;

Result<LogLine> parse_log_line(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("log") || !j["log"].is_string())
    return fail(Errc::parse, "not a json-file log line");
  LogLine l;
  l.text = j["log"].get<std::string>();
  l.stream = j.value("stream", "stdout");
  l.time = j.value("time", "");
  if (l.stream != "stdout" && l.stream != "stderr")
    return fail(Errc::parse, "unknown log stream " + l.stream);
  return l;
}

std::optional<int64_t> parse_time_ns(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto num = [&](size_t pos, size_t n) -> std::optional<int> {
    long long v = 0;
    if (!parse_int(t.substr(pos, n), v))
      return std::nullopt;
    return static_cast<int>(v);
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s)
    return std::nullopt;
  struct tm tm {};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  int64_t secs = ::timegm(&tm);
  size_t i = 19;
  int64_t frac = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (t[i] - '0');
        ++digits;
      }
      ++i;
    }
    for (; digits < 9; ++digits)
      frac *= 10;
  }
  if (i >= t.size())
    return std::nullopt;
  if (t[i] == 'Z' || t[i] == 'z') {
    ++i;
  } else if (t[i] == '+' || t[i] == '-') {
    if (i + 6 > t.size() || t[i + 3] != ':')
      return std::nullopt;
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om)
      return std::nullopt;
    int64_t off = (*oh * 60 + *om) * 60;
    secs += t[i] == '+' ? -off : off;
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size())
    return std::nullopt;
  return secs * 1'000'000'000 + frac;
}

Result<int64_t> parse_since(std::string_view text, int64_t now_ns) {
  if (auto t = parse_time_ns(text))
    return *t;
  // A unix timestamp, optionally with a fraction.
  {
    auto dot = text.find('.');
    long long secs = 0, frac = 0;
    std::string_view whole = text.substr(0, dot);
    if (!whole.empty() && parse_int(whole, secs)) {
      if (dot == std::string_view::npos)
        return secs * 1'000'000'000LL;
      std::string f(text.substr(dot + 1));
      if (!f.empty() && f.size() <= 9 && parse_int(f, frac)) {
        f.resize(9, '0');
        parse_int(f, frac);
        return secs * 1'000'000'000LL + frac;
      }
    }
  }
  // A Go duration before now: 1h30m, 10m, 45s, 500ms.
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && ((text[j] >= '0' && text[j] <= '9') || text[j] == '.'))
      ++j;
    if (j == i)
      break;
    double v = std::stod(std::string(text.substr(i, j - i)));
    size_t k = j;
    while (k < text.size() && !((text[k] >= '0' && text[k] <= '9') || text[k] == '.'))
      ++k;
    std::string_view unit = text.substr(j, k - j);
    double mult = 0;
    if (unit == "h")
      mult = 3600e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "ms")
      mult = 1e6;
    else
      break;
    total += static_cast<int64_t>(v * mult);
    any = true;
    i = k;
  }
  if (any && i == text.size())
    return now_ns - total;
  return fail(Errc::invalid_argument,
              fmt::format("invalid --since {}: not a timestamp or a duration (10m, 1h30m)", text));
}

Result<std::vector<LogLine>> read_log(std::string_view text, const LogFilter &f) {
  std::vector<LogLine> out;
  const auto lines = split_lines(text);
  const bool complete_last = !text.empty() && text.back() == '\n';
  for (size_t n = 0; n < lines.size(); ++n) {
    if (lines[n].empty())
      continue;
    auto l = parse_log_line(lines[n]);
    if (!l) {
      if (n + 1 == lines.size() && !complete_last)
        break; // being written
      return wrap(l, fmt::format("log line {}", n + 1));
    }
    if (f.since) {
      auto t = parse_time_ns(l->time);
      if (t && *t < *f.since)
        continue;
    }
    out.push_back(std::move(*l));
  }
  if (f.tail && out.size() > *f.tail)
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(*f.tail));
  return out;
}

} // namespace ctk::rt::container
