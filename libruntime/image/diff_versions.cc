// Version orderings of dpkg and apk, written from their specifications
// (Debian policy 5.6.12; apk-tools' documented version format), so that a
// package diff says "upgraded" exactly when the package manager would.
#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "ctk/runtime/image_diff.h"

namespace ctk::rt::image {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int sign(long long v) {
  return v < 0 ? -1 : v > 0 ? 1 : 0;
}

// Debian's character weight in the non-digit runs: '~' below the end of the
// string, the end below letters, letters below everything else.
int dpkg_weight(std::string_view s, size_t i) {
  if (i >= s.size())
    return 0;
  char c = s[i];
  if (c == '~')
    return -1;
  if (is_alpha(c))
    return static_cast<unsigned char>(c);
  if (is_digit(c))
    return 0;
  return static_cast<unsigned char>(c) + 256;
}

// Compares two upstream versions or two revisions.
int dpkg_part_compare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    // The non-digit run, character by character.
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int wa = dpkg_weight(a, i), wb = dpkg_weight(b, j);
      if (wa != wb)
        return sign(wa - wb);
      ++i, ++j;
    }
    // The digit run, as a number of any length: leading zeros dropped, then
    // the longer run is larger, else the first differing digit decides.
    while (i < a.size() && a[i] == '0')
      ++i;
    while (j < b.size() && b[j] == '0')
      ++j;
    size_t si = i, sj = j;
    while (i < a.size() && is_digit(a[i]))
      ++i;
    while (j < b.size() && is_digit(b[j]))
      ++j;
    size_t la = i - si, lb = j - sj;
    if (la != lb)
      return la < lb ? -1 : 1;
    if (int c = a.substr(si, la).compare(b.substr(sj, lb)); c != 0)
      return sign(c);
  }
  return 0;
}

struct DpkgVersion {
  std::string_view epoch, upstream, revision;
};

DpkgVersion split_dpkg(std::string_view v) {
  DpkgVersion out;
  if (size_t colon = v.find(':'); colon != std::string_view::npos) {
    out.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  if (size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    out.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  out.upstream = v;
  return out;
}

// ---- apk ----------------------------------------------------------------

// Rank of a suffix; "none" (no suffix) sits between the pre-releases and
// the post-releases.
constexpr int kNoSuffix = 4;
std::optional<int> apk_suffix_rank(std::string_view s) {
  static constexpr std::string_view names[] = {"alpha", "beta", "pre", "rc", "",
                                               "cvs",   "svn",  "git", "hg", "p"};
  for (size_t i = 0; i < std::size(names); ++i)
    if (!names[i].empty() && s == names[i])
      return static_cast<int>(i);
  return std::nullopt;
}

struct ApkVersion {
  std::vector<std::string_view> numbers; // "1", "2", "03"
  char letter = 0;
  std::vector<std::pair<int, unsigned long long>> suffixes; // rank, number
  unsigned long long revision = 0;
};

unsigned long long to_number(std::string_view s) {
  unsigned long long n = 0;
  for (char c : s)
    n = n * 10 + static_cast<unsigned>(c - '0');
  return n;
}

std::string_view take_digits(std::string_view v, size_t &i) {
  size_t s = i;
  while (i < v.size() && is_digit(v[i]))
    ++i;
  return v.substr(s, i - s);
}

std::optional<ApkVersion> parse_apk(std::string_view v) {
  ApkVersion out;
  size_t i = 0;
  std::string_view n = take_digits(v, i);
  if (n.empty())
    return std::nullopt;
  out.numbers.push_back(n);
  while (i < v.size() && v[i] == '.') {
    ++i;
    n = take_digits(v, i);
    if (n.empty())
      return std::nullopt;
    out.numbers.push_back(n);
  }
  if (i < v.size() && v[i] >= 'a' && v[i] <= 'z')
    out.letter = v[i++];
  while (i < v.size() && v[i] == '_') {
    size_t s = ++i;
    while (i < v.size() && v[i] >= 'a' && v[i] <= 'z')
      ++i;
    auto rank = apk_suffix_rank(v.substr(s, i - s));
    if (!rank)
      return std::nullopt;
    out.suffixes.emplace_back(*rank, to_number(take_digits(v, i)));
  }
  if (i < v.size() && v[i] == '~') { // a commit hash: not ordered
    ++i;
    while (i < v.size() && std::isxdigit(static_cast<unsigned char>(v[i])))
      ++i;
  }
  if (i + 1 < v.size() && v[i] == '-' && v[i + 1] == 'r') {
    i += 2;
    std::string_view r = take_digits(v, i);
    if (r.empty())
      return std::nullopt;
    out.revision = to_number(r);
  }
  if (i != v.size())
    return std::nullopt;
  return out;
}

// A number after the first that starts with 0 is compared as a fraction
// ("1.02" < "1.1"), as apk does; others by value.
int apk_number_compare(std::string_view a, std::string_view b, bool first) {
  if (!first && ((a.size() > 1 && a[0] == '0') || (b.size() > 1 && b[0] == '0')))
    return sign(a.compare(b));
  while (a.size() > 1 && a[0] == '0')
    a.remove_prefix(1);
  while (b.size() > 1 && b[0] == '0')
    b.remove_prefix(1);
  if (a.size() != b.size())
    return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

} // namespace

int compare_dpkg_versions(std::string_view a, std::string_view b) {
  DpkgVersion va = split_dpkg(a), vb = split_dpkg(b);
  // An epoch is a plain number; a missing one is 0.
  if (int c =
          dpkg_part_compare(va.epoch.empty() ? "0" : va.epoch, vb.epoch.empty() ? "0" : vb.epoch);
      c != 0)
    return c;
  if (int c = dpkg_part_compare(va.upstream, vb.upstream); c != 0)
    return c;
  return dpkg_part_compare(va.revision, vb.revision);
}

int compare_apk_versions(std::string_view a, std::string_view b) {
  auto va = parse_apk(a), vb = parse_apk(b);
  if (!va || !vb)
    return sign(a.compare(b));
  size_t common = std::min(va->numbers.size(), vb->numbers.size());
  for (size_t i = 0; i < common; ++i)
    if (int c = apk_number_compare(va->numbers[i], vb->numbers[i], i == 0); c != 0)
      return c;
  // More dot-parts is newer: 1.0.1 > 1.0a > 1.0_p1 > 1.0 > 1.0_rc1.
  if (va->numbers.size() != vb->numbers.size())
    return va->numbers.size() < vb->numbers.size() ? -1 : 1;
  if (va->letter != vb->letter)
    return va->letter < vb->letter ? -1 : 1;
  size_t n = std::max(va->suffixes.size(), vb->suffixes.size());
  for (size_t i = 0; i < n; ++i) {
    auto at = i < va->suffixes.size() ? va->suffixes[i]
                                      : std::pair<int, unsigned long long>{kNoSuffix, 0};
    auto bt = i < vb->suffixes.size() ? vb->suffixes[i]
                                      : std::pair<int, unsigned long long>{kNoSuffix, 0};
    if (at != bt)
      return at < bt ? -1 : 1;
  }
  if (va->revision != vb->revision)
    return va->revision < vb->revision ? -1 : 1;
  return 0;
}

} // namespace ctk::rt::image
