// docker commit --change: the Dockerfile instructions that only touch the
// image config (CMD ENTRYPOINT ENV EXPOSE LABEL USER VOLUME WORKDIR).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "ctk/runtime/container_ops.h"

namespace ctk::rt::container {

using nlohmann::json;

namespace {

// A JSON array of strings ("exec form"), or nullopt when `s` is not one, as
// docker treats anything that does not parse as an array as shell form.
std::optional<std::vector<std::string>> exec_form(std::string_view s) {
  if (s.empty() || s.front() != '[')
    return std::nullopt;
  json j = json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array())
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto &e : j) {
    if (!e.is_string())
      return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::string> command_of(std::string_view args) {
  if (auto v = exec_form(args))
    return *v;
  return {"/bin/sh", "-c", std::string(args)};
}

// Words of "K=V K2="a b"" with docker's quoting: double or single quotes
// group, a backslash escapes the next character (outside single quotes).
Result<std::vector<std::string>> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (quote) {
      if (ch == quote)
        quote = 0;
      else if (ch == '\\' && quote == '"' && i + 1 < s.size())
        cur += s[++i];
      else
        cur += ch;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(ch))) {
      if (in_word)
        out.push_back(std::exchange(cur, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (ch == '"' || ch == '\'')
      quote = ch;
    else if (ch == '\\' && i + 1 < s.size())
      cur += s[++i];
    else
      cur += ch;
  }
  if (quote)
    return fail(Errc::invalid_argument, fmt::format("unterminated quote in {}", s));
  if (in_word)
    out.push_back(cur);
  return out;
}

// ENV/LABEL arguments: "K=V ..." pairs, or the legacy "K V" (one pair, the
// rest of the line is the value).
Result<std::vector<std::pair<std::string, std::string>>> pairs(std::string_view kw,
                                                               std::string_view args) {
  std::vector<std::pair<std::string, std::string>> out;
  auto ws = words(args);
  if (!ws)
    return wrap(ws, kw);
  if (ws->empty())
    return fail(Errc::invalid_argument, fmt::format("{} needs at least one argument", kw));
  if ((*ws)[0].find('=') == std::string::npos) {
    auto sp = args.find_first_of(" \t");
    if (sp == std::string_view::npos)
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: expected KEY=VALUE or KEY VALUE", kw, args));
    std::string key(args.substr(0, sp));
    std::string value(trim(args.substr(sp)));
    out.emplace_back(key, value);
    return out;
  }
  for (const auto &w : *ws) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(Errc::invalid_argument, fmt::format("{} {}: {} is not KEY=VALUE", kw, args, w));
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

json &object_at(json &config, const char *key) {
  json &o = config[key];
  if (!o.is_object())
    o = json::object();
  return o;
}

} // namespace

Result<void> apply_change(json &config, std::string_view instruction) {
  if (!config.is_object())
    config = json::object();
  std::string_view line = trim(instruction);
  auto sp = line.find_first_of(" \t");
  std::string kw(line.substr(0, sp));
  std::transform(kw.begin(), kw.end(), kw.begin(), [](unsigned char c) { return std::toupper(c); });
  std::string_view args = sp == std::string_view::npos ? "" : trim(line.substr(sp));
  const std::string what = fmt::format("invalid --change {}", std::string(line));
  if (kw.empty())
    return fail(Errc::invalid_argument, "invalid --change: empty instruction");
  if (args.empty())
    return fail(Errc::invalid_argument, what + ": " + kw + " needs an argument");

  if (kw == "CMD") {
    config["Cmd"] = command_of(args);
  } else if (kw == "ENTRYPOINT") {
    config["Entrypoint"] = command_of(args);
    // docker: a new ENTRYPOINT resets an inherited CMD only in builds; a
    // commit change keeps Cmd, which is what docker commit does too.
  } else if (kw == "ENV") {
    auto ps = pairs(kw, args);
    if (!ps)
      return wrap(ps, what);
    json &env = config["Env"];
    if (!env.is_array())
      env = json::array();
    for (const auto &[k, v] : *ps) {
      const std::string prefix = k + "=";
      auto it = std::find_if(env.begin(), env.end(), [&](const json &e) {
        return e.is_string() && e.get<std::string>().compare(0, prefix.size(), prefix) == 0;
      });
      if (it != env.end())
        *it = prefix + v;
      else
        env.push_back(prefix + v);
    }
  } else if (kw == "LABEL") {
    auto ps = pairs(kw, args);
    if (!ps)
      return wrap(ps, what);
    json &labels = object_at(config, "Labels");
    for (const auto &[k, v] : *ps)
      labels[k] = v;
  } else if (kw == "EXPOSE") {
    auto ws = words(args);
    if (!ws)
      return wrap(ws, what);
    json &ports = object_at(config, "ExposedPorts");
    for (std::string p : *ws) {
      auto slash = p.find('/');
      std::string port = p.substr(0, slash);
      std::string proto = slash == std::string::npos ? "tcp" : p.substr(slash + 1);
      unsigned long long n = 0;
      if (!parse_uint(port, n) || n == 0 || n > 65535 ||
          (proto != "tcp" && proto != "udp" && proto != "sctp"))
        return fail(Errc::invalid_argument, what + ": " + p + " is not PORT[/tcp|udp|sctp]");
      ports[fmt::format("{}/{}", n, proto)] = json::object();
    }
  } else if (kw == "USER") {
    config["User"] = std::string(args);
  } else if (kw == "WORKDIR") {
    std::string dir(args);
    if (dir.front() != '/') {
      std::string base = config.value("WorkingDir", "");
      dir = (base.empty() ? std::string("/") : base + (base.back() == '/' ? "" : "/")) + dir;
    }
    config["WorkingDir"] = dir;
  } else if (kw == "VOLUME") {
    std::vector<std::string> vols;
    if (auto v = exec_form(args)) {
      vols = *v;
    } else {
      auto ws = words(args);
      if (!ws)
        return wrap(ws, what);
      vols = *ws;
    }
    json &o = object_at(config, "Volumes");
    for (const auto &v : vols) {
      if (v.empty())
        return fail(Errc::invalid_argument, what + ": empty volume path");
      o[v] = json::object();
    }
  } else {
    return fail(Errc::invalid_argument,
                what + ": " + kw +
                    " is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR");
  }
  return {};
}

} // namespace ctk::rt::container
