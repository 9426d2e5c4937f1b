// Package databases: dpkg's status file (deb822 stanzas) and apk's
// installed database (one-letter records), and the diff of two package sets.
#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "ctk/runtime/image_diff.h"

namespace ctk::rt::image {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

uint64_t to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : 0;
}

// Calls line(number, text) for each line, without its newline.
template <class F> void for_each_line(std::string_view text, F &&line) {
  size_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    line(++n, l);
    if (nl == std::string_view::npos)
      break;
    text.remove_prefix(nl + 1);
  }
}

} // namespace

std::string_view manager_name(PackageManager m) {
  return m == PackageManager::apk ? "apk" : "dpkg";
}

std::string_view change_name(PackageChangeKind k) {
  switch (k) {
  case PackageChangeKind::added:
    return "added";
  case PackageChangeKind::removed:
    return "removed";
  case PackageChangeKind::upgraded:
    return "upgraded";
  case PackageChangeKind::downgraded:
    break;
  }
  return "downgraded";
}

Result<std::vector<Package>> parse_dpkg_status(std::string_view text) {
  std::vector<Package> out;
  Package cur;
  std::string status;
  bool any_field = false;
  auto finish = [&] {
    // Removed packages whose configuration files remain ("deinstall ok
    // config-files") and half-installed ones are not installed.
    if (any_field && !cur.name.empty() && status == "install ok installed")
      out.push_back(std::move(cur));
    cur = Package{};
    status.clear();
    any_field = false;
  };
  std::optional<Error> error;
  for_each_line(text, [&](size_t n, std::string_view l) {
    if (error)
      return;
    if (trim(l).empty()) {
      finish();
      return;
    }
    if (l.front() == ' ' || l.front() == '\t') // continuation of a multi-line field
      return;
    if (l.front() == '#') // dpkg accepts comment lines in deb822 files
      return;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = Error(Errc::parse, "line " + std::to_string(n) + ": not a field (\"Name: value\")");
      return;
    }
    any_field = true;
    std::string_view key = l.substr(0, colon), value = trim(l.substr(colon + 1));
    if (iequals(key, "Package"))
      cur.name = value;
    else if (iequals(key, "Version"))
      cur.version = value;
    else if (iequals(key, "Architecture"))
      cur.arch = value;
    else if (iequals(key, "Installed-Size"))
      cur.size = to_u64(value) * 1024;
    else if (iequals(key, "Status"))
      status = value;
  });
  if (error)
    return tl::unexpected(*error);
  finish();
  return out;
}

Result<std::vector<Package>> parse_apk_installed(std::string_view text) {
  std::vector<Package> out;
  Package cur;
  cur.manager = PackageManager::apk;
  auto finish = [&] {
    if (!cur.name.empty())
      out.push_back(std::move(cur));
    cur = Package{};
    cur.manager = PackageManager::apk;
  };
  std::optional<Error> error;
  for_each_line(text, [&](size_t n, std::string_view l) {
    if (error)
      return;
    if (!l.empty() && l.back() == '\r')
      l.remove_suffix(1);
    if (l.empty()) {
      finish();
      return;
    }
    if (l.size() < 2 || l[1] != ':') {
      error = Error(Errc::parse, "line " + std::to_string(n) + ": not a record line (\"X:value\")");
      return;
    }
    std::string_view value = l.substr(2);
    switch (l[0]) {
    case 'P':
      cur.name = value;
      break;
    case 'V':
      cur.version = value;
      break;
    case 'A':
      cur.arch = value;
      break;
    case 'I':
      cur.size = to_u64(value);
      break;
    default: // files (F:, R:, Z:...), checksums, dependencies: not needed here
      break;
    }
  });
  if (error)
    return tl::unexpected(*error);
  finish();
  return out;
}

std::vector<PackageChange> diff_packages(const std::vector<Package> &a,
                                         const std::vector<Package> &b) {
  // A name installed for several architectures (dpkg multiarch: libc6:amd64
  // and libc6:i386) is keyed with its architecture, in both images, so each
  // is paired with its own kind.
  std::map<std::pair<PackageManager, std::string>, size_t> per_name;
  for (const auto *set : {&a, &b}) {
    std::map<std::pair<PackageManager, std::string>, size_t> here;
    for (const Package &p : *set)
      ++here[{p.manager, p.name}];
    for (auto &[k, n] : here)
      per_name[k] = std::max(per_name[k], n);
  }
  auto key = [&](const Package &p) {
    bool multi = per_name[{p.manager, p.name}] > 1;
    return std::pair<PackageManager, std::string>{p.manager,
                                                  multi ? p.name + ":" + p.arch : p.name};
  };
  std::map<std::pair<PackageManager, std::string>, std::pair<const Package *, const Package *>>
      joined;
  for (const Package &p : a)
    joined[key(p)].first = &p;
  for (const Package &p : b)
    joined[key(p)].second = &p;

  std::vector<PackageChange> out;
  for (const auto &[k, pair] : joined) {
    const auto [old_p, new_p] = pair;
    PackageChange c;
    c.name = k.second;
    c.manager = k.first;
    if (old_p) {
      c.old_version = old_p->version;
      c.old_size = old_p->size;
      c.arch = old_p->arch;
    }
    if (new_p) {
      c.new_version = new_p->version;
      c.new_size = new_p->size;
      c.arch = new_p->arch;
    }
    if (!old_p) {
      c.change = PackageChangeKind::added;
    } else if (!new_p) {
      c.change = PackageChangeKind::removed;
    } else {
      int cmp = k.first == PackageManager::apk
                    ? compare_apk_versions(old_p->version, new_p->version)
                    : compare_dpkg_versions(old_p->version, new_p->version);
      if (cmp == 0)
        continue;
      c.change = cmp < 0 ? PackageChangeKind::upgraded : PackageChangeKind::downgraded;
    }
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(), [](const PackageChange &x, const PackageChange &y) {
    return x.name != y.name ? x.name < y.name : x.manager < y.manager;
  });
  return out;
}

} // namespace ctk::rt::image
