// dive's CI rules as users give them: threshold values typed on the
// command line ("20MB", "10%") and the `rules:` mapping of a .dive-ci file.
// Parsing what users type belongs to the plugin, not to libruntime, which
// only evaluates CiRules over an audit.
#include "dive_ci.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ctk::plugins::layers {

using rt::Errc;
using rt::fail;
using rt::Result;
using rt::split_lines;
using rt::trim;
using rt::image::CiRules;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A finite, non-negative decimal number and what follows it.
bool parse_number(std::string_view s, double &value, std::string_view &rest) {
  std::string buf(s);
  char *end = nullptr;
  errno = 0;
  value = std::strtod(buf.c_str(), &end);
  if (end == buf.c_str() || errno != 0 || !std::isfinite(value) || value < 0 || buf[0] == '+' ||
      std::isspace(static_cast<unsigned char>(buf[0])))
    return false;
  // strtod accepts hex and "inf"; a threshold is plain decimal.
  for (const char *p = buf.c_str(); p < end; ++p)
    if (!std::isdigit(static_cast<unsigned char>(*p)) && *p != '.' && *p != 'e' && *p != 'E' &&
        *p != '-')
      return false;
  rest = s.substr(static_cast<size_t>(end - buf.c_str()));
  return true;
}

} // namespace

Result<uint64_t> parse_byte_size(std::string_view text) {
  std::string_view s = trim(text);
  double value = 0;
  std::string_view rest;
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, "invalid byte size '" + std::string(text) + "': " +
                                            std::string(why) + " (examples: 1024, 20MB, 1.5GiB)");
  };
  if (s.empty())
    return bad("empty");
  if (!parse_number(s, value, rest))
    return bad("not a non-negative number");
  std::string unit = lower(trim(rest));
  // go-humanize's ParseBytes, which dive uses: k/kb/m/mb… are powers of
  // 1000, ki/kib/mi/mib… powers of 1024.
  static const struct {
    const char *suffix;
    double factor;
  } units[] = {{"", 1},
               {"b", 1},
               {"k", 1e3},
               {"kb", 1e3},
               {"ki", 1024.0},
               {"kib", 1024.0},
               {"m", 1e6},
               {"mb", 1e6},
               {"mi", 1048576.0},
               {"mib", 1048576.0},
               {"g", 1e9},
               {"gb", 1e9},
               {"gi", 1073741824.0},
               {"gib", 1073741824.0},
               {"t", 1e12},
               {"tb", 1e12},
               {"ti", 1099511627776.0},
               {"tib", 1099511627776.0}};
  for (const auto &u : units) {
    if (unit == u.suffix) {
      double bytes = value * u.factor;
      if (bytes >= 18446744073709551615.0)
        return bad("too large");
      return static_cast<uint64_t>(bytes);
    }
  }
  return bad("unknown unit '" + unit + "'");
}

Result<double> parse_ratio(std::string_view text) {
  std::string_view s = trim(text);
  double value = 0;
  std::string_view rest;
  if (s.empty() || !parse_number(s, value, rest))
    return fail(Errc::invalid_argument,
                "invalid ratio '" + std::string(text) +
                    "': expected a number like 0.1 or a percentage like 10%");
  rest = trim(rest);
  if (rest == "%")
    return value / 100.0;
  if (!rest.empty())
    return fail(Errc::invalid_argument, "invalid ratio '" + std::string(text) + "': unexpected '" +
                                            std::string(rest) + "'");
  return value;
}

Result<CiRules> parse_dive_ci(std::string_view text, CiRules rules) {
  bool in_rules = false;
  size_t indent = std::string_view::npos; // of the keys under rules:
  size_t lineno = 0;
  for (std::string_view raw : split_lines(text)) {
    ++lineno;
    auto err = [&](const std::string &why) {
      return fail(Errc::parse, ".dive-ci line " + std::to_string(lineno) + ": " + why);
    };
    std::string_view line = raw;
    if (size_t hash = line.find('#');
        hash != std::string_view::npos &&
        (hash == 0 || std::isspace(static_cast<unsigned char>(line[hash - 1]))))
      line = line.substr(0, hash);
    if (trim(line).empty())
      continue;
    size_t lead = line.find_first_not_of(' ');
    if (line.substr(0, lead).find('\t') != std::string_view::npos || line[lead] == '\t')
      return err("tab in indentation (YAML allows spaces only)");
    std::string_view body = trim(line);
    if (body == "---" || (lead > 0 && !in_rules))
      continue; // other sections (dive's plain/ignore options) are not ours
    size_t colon = body.find(':');
    if (colon == std::string_view::npos)
      return err("expected 'key: value', got '" + std::string(body) + "'");
    std::string_view key = trim(body.substr(0, colon));
    std::string_view value = trim(body.substr(colon + 1));
    if (lead == 0) {
      in_rules = key == "rules";
      indent = std::string_view::npos;
      if (in_rules && !value.empty())
        return err("'rules:' must be followed by indented keys, got a value '" +
                   std::string(value) + "'");
      continue;
    }
    if (indent == std::string_view::npos)
      indent = lead;
    else if (lead != indent)
      return err("unexpected indentation under 'rules:' (nested values are not supported)");
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (value.empty())
      return err("rule '" + std::string(key) + "' has no value");
    bool disabled = value == "disabled";
    if (key == "lowestEfficiency") {
      if (disabled) {
        rules.lowest_efficiency.reset();
        continue;
      }
      auto v = parse_ratio(value);
      if (!v)
        return err("lowestEfficiency: " + v.error().context);
      rules.lowest_efficiency = *v;
    } else if (key == "highestWastedBytes") {
      if (disabled) {
        rules.highest_wasted_bytes.reset();
        continue;
      }
      auto v = parse_byte_size(value);
      if (!v)
        return err("highestWastedBytes: " + v.error().context);
      rules.highest_wasted_bytes = *v;
    } else if (key == "highestUserWastedPercent") {
      if (disabled) {
        rules.highest_user_wasted_percent.reset();
        continue;
      }
      auto v = parse_ratio(value);
      if (!v)
        return err("highestUserWastedPercent: " + v.error().context);
      rules.highest_user_wasted_percent = *v;
    } else if (key == "noDeletedSecrets") {
      if (value == "true" || value == "yes")
        rules.no_deleted_secrets = true;
      else if (value == "false" || value == "no" || disabled)
        rules.no_deleted_secrets = false;
      else
        return err("noDeletedSecrets: expected true or false, got '" + std::string(value) + "'");
    } else {
      return err("unknown rule '" + std::string(key) +
                 "' (known: lowestEfficiency, highestWastedBytes, highestUserWastedPercent, "
                 "noDeletedSecrets)");
    }
  }
  return rules;
}

} // namespace ctk::plugins::layers
