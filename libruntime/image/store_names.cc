// Image names, normalised as docker does (distribution/reference rules).
#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

static bool valid_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '/';
}
static bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t[0] == '.' || t[0] == '-')
    return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return false;
  return true;
}

Result<std::string> normalize_name(std::string_view name) {
  auto bad = [&](std::string why) {
    return fail(Errc::invalid_argument, "invalid image name " + std::string(name) + ": " + why);
  };
  if (name.empty())
    return bad("empty");
  if (name.find('@') != std::string_view::npos)
    return bad("digest references are not supported here; use a name:tag or an image ID");
  std::string_view domain, rest = name;
  auto slash = name.find('/');
  if (slash != std::string_view::npos) {
    auto first = name.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      domain = first;
      rest = name.substr(slash + 1);
    }
  }
  std::string_view path = rest, tag = "latest";
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    path = rest.substr(0, colon);
    tag = rest.substr(colon + 1);
  }
  if (path.empty())
    return bad("missing repository");
  if (!valid_tag(tag))
    return bad("invalid tag " + std::string(tag));
  for (char c : path)
    if (!valid_path_char(c))
      return bad(c >= 'A' && c <= 'Z' ? "repository names must be lowercase"
                                      : std::string("invalid character '") + c + "'");
  if (path.front() == '/' || path.back() == '/' || path.find("//") != std::string_view::npos)
    return bad("empty path component");
  std::string out;
  if (domain.empty()) {
    out = "docker.io/";
    if (path.find('/') == std::string_view::npos)
      out += "library/";
  } else {
    out = std::string(domain) + "/";
  }
  out += std::string(path) + ":" + std::string(tag);
  return out;
}

std::string familiar_name(std::string_view full) {
  std::string_view s = full;
  if (s.substr(0, 10) == "docker.io/") {
    s.remove_prefix(10);
    if (s.substr(0, 8) == "library/" && s.find('/', 8) == std::string_view::npos)
      s.remove_prefix(8);
  }
  return std::string(s);
}

void split_name(std::string_view full, std::string &repository, std::string &tag) {
  std::string fam = familiar_name(full);
  auto colon = fam.rfind(':');
  auto slash = fam.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    repository = fam;
    tag.clear();
    return;
  }
  repository = fam.substr(0, colon);
  tag = fam.substr(colon + 1);
}

} // namespace ctk::rt::image
